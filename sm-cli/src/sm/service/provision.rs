//! Flow A, first provisioning (spec device-change.md A.2-A.8; docs/device-change-protocol.md
//! "A, provision"): after BF66 the SM picks the salt and a challenge and sends BF67; the
//! card answers with the new public key, a possession signature made with it and an
//! identity signature. Both verified, the SM creates the record (key, IMEI, EID, pinned
//! identity key, operator profile, active binding) and seals the OP for the new key.

use super::super::store::{
    ChallengeSubject, KeyMaterial, NewSubscription, Purpose as StorePurpose, StoreError,
};
use super::authorise::install_of;
use super::conversation::{CardClaim, NewKeyStep, Phase};
use super::error::SmError;
use super::profile::new_profile;
use super::proof::check_signature;
use super::{unexpected, Conversation, Next, Order, SmService};
use apdu::crypto::{key_binding, KdfParams, PublicKey, Purpose, Salt, SysRng};
use apdu::devchange::{DcRequest, DcResponse, Flow, KeySource};

/// ICCID collisions tolerated before giving up (20 random digits: never in practice).
const ICCID_TRIES: usize = 5;

impl SmService<'_> {
    /// BF66 answered in flow A: ask for the key (BF67).
    pub(super) fn begin_provision(
        &self,
        conv: &mut Conversation,
        card: CardClaim,
        op_id: String,
        kdf: KdfParams,
    ) -> Result<Next, SmError> {
        conv.report.op_id = Some(op_id.clone());
        if self.store.get(&op_id)?.is_some() {
            return Err(SmError::AlreadyProvisioned(op_id));
        }
        let salt = Salt::random(&mut SysRng)?;
        let challenge = self.challenge(
            ChallengeSubject::OpId(op_id.clone()),
            StorePurpose::Provision,
        )?;
        let req = DcRequest::GenerateKey {
            flow: Flow::Provision,
            op_id: op_id.clone(),
            challenge: challenge.clone(),
            salt: salt.0.to_vec(),
            kdf: kdf.to_bytes().to_vec(),
        };
        conv.phase = Phase::NewKey(NewKeyStep {
            op_id,
            challenge,
            salt,
            kdf,
            card,
        });
        Ok(Next::Send(req))
    }

    /// BF67 answered in flow A.
    pub(super) fn on_provision_key(
        &self,
        conv: &mut Conversation,
        step: NewKeyStep,
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let key = self.check_new_key(&step, StorePurpose::Provision, answer)?;
        let Order::Provision { profile: spec, .. } = &conv.order else {
            return Err(SmError::Protocol {
                expected: "a provisioning flow",
                got: "another flow".into(),
            });
        };
        let material = KeyMaterial {
            public_key: key.to_der(),
            kdf_salt: step.salt.0.to_vec(),
            kdf_params: step.kdf.to_bytes().to_vec(),
        };
        let mut created = None;
        for _ in 0..ICCID_TRIES {
            let new = NewSubscription {
                op_id: step.op_id.clone(),
                profile: new_profile(&step.op_id, spec)?,
                key: material.clone(),
                device: step.card.device(),
            };
            match self.store.create_subscription(&new, &step.card.actor()) {
                Ok(()) => {
                    created = Some(new.profile);
                    break;
                }
                Err(StoreError::IccidInUse(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let profile = created
            .ok_or_else(|| SmError::Invalid("could not allocate a free ICCID; try again".into()))?;
        conv.report.key_recorded(&key, &step.kdf);
        conv.report.key_source(KeySource::Parameter);
        let what = install_of(step.op_id, step.card, key, KeySource::Parameter, profile);
        self.authorise(conv, what)
    }

    /// Checks a BF67 answer (flows A and C): the challenge is fresh, the new key is
    /// RSA-2048, the card holds its private half (possession signature) and the request
    /// comes from the card that began the flow (identity signature).
    pub(super) fn check_new_key(
        &self,
        step: &NewKeyStep,
        purpose: StorePurpose,
        answer: DcResponse,
    ) -> Result<PublicKey, SmError> {
        let DcResponse::KeyGenerated {
            public_key,
            possession_signature,
            identity_signature,
        } = answer
        else {
            return Err(unexpected("the BF67 answer", &answer));
        };
        self.consume(
            ChallengeSubject::OpId(step.op_id.clone()),
            purpose,
            &step.challenge,
        )?;
        let key = PublicKey::from_der(&public_key).map_err(|_| SmError::BadProof {
            what: "new public key",
        })?;
        // Both signatures vouch for this key, the salt and the KDF parameters the SM
        // sent: a relay's own key fails here (issue 10, finding 3).
        let bound = key_binding(&public_key, &step.salt.0, &step.kdf.to_bytes());
        check_signature(
            &key,
            Purpose::NewKey,
            &step.challenge,
            &step.op_id,
            &step.card,
            &bound,
            &possession_signature,
            "possession signature (new key)",
        )?;
        check_signature(
            &step.card.identity,
            Purpose::IdentityProof,
            &step.challenge,
            &step.op_id,
            &step.card,
            &bound,
            &identity_signature,
            "identity signature",
        )?;
        Ok(key)
    }
}
