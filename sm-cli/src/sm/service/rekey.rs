//! Flow C, changing the stored public key, from the old or the new terminal (spec
//! device-change.md C.1-C.5; docs/device-change-protocol.md "C, key change"): BF68 with
//! the CURRENT parameter, verified against the stored key with the same 3-attempt
//! counter as flow B; then BF67 for the NEW parameter under a fresh salt and challenge;
//! the new key (possession proven) replaces the old one with its salt and KDF parameters.

use super::super::store::{ChallengeSubject, KeyMaterial, Purpose as StorePurpose};
use super::conversation::{AuthStep, CardClaim, NewKeyStep, Phase};
use super::device_change::{begun_op_id, Authenticated};
use super::error::SmError;
use super::{unexpected, Conversation, Next, Order, SmService};
use apdu::crypto::{KdfParams, Purpose, Salt, SysRng};
use apdu::devchange::{DcRequest, DcResponse, Flow};

impl SmService<'_> {
    /// BF66 answered in flow C: authenticate with the current parameter (BF68).
    pub(super) fn begin_rekey(
        &self,
        conv: &mut Conversation,
        card: CardClaim,
        op_id: Option<String>,
    ) -> Result<Next, SmError> {
        let op_id = begun_op_id(conv, op_id)?;
        let sub = self.unlocked_subscription(&op_id, &card, "key change")?;
        self.ask_authentication(conv, card, op_id, &sub, StorePurpose::KeyChange, false)
    }

    /// BF68 answered in flow C: check the current parameter, then ask for the new key.
    pub(super) fn on_rekey_auth(
        &self,
        conv: &mut Conversation,
        step: AuthStep,
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let Authenticated {
            sub,
            parameter_signature,
            identity_signature,
            ..
        } = self.accept_authenticated(&step, StorePurpose::KeyChange, "key change", answer)?;
        self.prove_parameter(
            conv,
            &step,
            &sub,
            &identity_signature,
            parameter_signature.as_deref(),
            (Purpose::KeyChange, StorePurpose::KeyChange),
        )?;
        let kdf = match &conv.order {
            Order::Rekey { kdf: Some(k) } => *k,
            _ => KdfParams::from_bytes(&sub.key.kdf_params)?,
        };
        let salt = Salt::random(&mut SysRng)?;
        let challenge = self.challenge(
            ChallengeSubject::OpId(step.op_id.clone()),
            StorePurpose::KeyChange,
        )?;
        let req = DcRequest::GenerateKey {
            flow: Flow::KeyChange,
            op_id: step.op_id.clone(),
            challenge: challenge.clone(),
            salt: salt.0.to_vec(),
            kdf: kdf.to_bytes().to_vec(),
        };
        conv.phase = Phase::NewKey(NewKeyStep {
            op_id: step.op_id,
            challenge,
            salt,
            kdf,
            card: step.card,
        });
        Ok(Next::Send(req))
    }

    /// BF67 answered in flow C: replace the key.
    pub(super) fn on_rekey_key(
        &self,
        conv: &mut Conversation,
        step: NewKeyStep,
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        if !matches!(answer, DcResponse::KeyGenerated { .. }) {
            return Err(unexpected("the BF67 answer", &answer));
        }
        let key = self.check_new_key(&step, StorePurpose::KeyChange, answer)?;
        let material = KeyMaterial {
            public_key: key.to_der(),
            kdf_salt: step.salt.0.to_vec(),
            kdf_params: step.kdf.to_bytes().to_vec(),
        };
        self.store
            .replace_public_key(&step.op_id, &material, &step.card.actor())?;
        conv.report.key_recorded(&key, &step.kdf);
        Ok(Next::Finished(Box::new(conv.report.clone())))
    }
}
