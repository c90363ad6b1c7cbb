//! Flow B, device change (spec device-change.md B.3-B.8; docs/device-change-protocol.md
//! "B, device change"; issue 3, Security behaviour).
//!
//! After BF66 the SM looks the OP ID up: unknown or locked records are refused (and
//! audited). A card claiming the bound EID *with the pinned identity key* is asked for
//! an identity proof only (BF68 without parameter): if it verifies, the OP is sealed to
//! that identity key again ([0074], re-serving the recorded device). Every other card is
//! a device change: BF68 with the parameter, verified against the stored key; a failure
//! counts towards the lock (3, durable), a success resets the count, stops the old
//! device's binding and records the new device (steps 515-518), and the OP is sealed
//! for the stored key (step 519).

use super::super::store::{
    Attempt, AttemptOutcome, ChallengeSubject, Purpose as StorePurpose, Subscription, Verdict,
};
use super::authorise::install_of;
use super::conversation::{AuthStep, CardClaim, Phase};
use super::error::SmError;
use super::proof::check_signature;
use super::report::DeviceView;
use super::{unexpected, Conversation, Next, SmService};
use apdu::crypto::{KdfParams, PublicKey, Purpose};
use apdu::devchange::{DcRequest, DcResponse, KeySource};

/// What a BF68 answer gives the SM once accepted ([`SmService::accept_authenticated`]).
pub(super) struct Authenticated {
    pub sub: Subscription,
    pub parameter_signature: Option<Vec<u8>>,
    pub identity_signature: Vec<u8>,
    /// The identity encryption key of an identity-only answer (`92`).
    pub encryption_key: Option<Vec<u8>>,
}

impl SmService<'_> {
    /// The record of `op_id` for a flow that needs it unlocked; unknown and locked
    /// records are refused and the refusal audited.
    pub(super) fn unlocked_subscription(
        &self,
        op_id: &str,
        card: &CardClaim,
        what: &str,
    ) -> Result<Subscription, SmError> {
        let refuse = |e: SmError| -> Result<Subscription, SmError> {
            self.audit_refusal(op_id, &card.actor(), what, &e)?;
            Err(e)
        };
        match self.store.get(op_id)? {
            None => refuse(SmError::UnknownOpId(op_id.to_string())),
            Some(s) if s.locked => refuse(SmError::Locked {
                op_id: op_id.to_string(),
                just_now: false,
            }),
            Some(s) => Ok(s),
        }
    }

    /// BF66 answered in flow B: ask for the proof (BF68).
    pub(super) fn begin_device_change(
        &self,
        conv: &mut Conversation,
        card: CardClaim,
        op_id: Option<String>,
    ) -> Result<Next, SmError> {
        let op_id = begun_op_id(conv, op_id)?;
        let sub = self.unlocked_subscription(&op_id, &card, "device change")?;
        let identity_only = sub.device.eid == card.eid.to_string()
            && sub.device.identity_public_key == card.identity_der;
        let purpose = if identity_only {
            StorePurpose::RecordedDevice
        } else {
            StorePurpose::DeviceChange
        };
        self.ask_authentication(conv, card, op_id, &sub, purpose, identity_only)
    }

    /// BF68 (flows B and C) with a fresh challenge for `purpose` and the record's salt
    /// and KDF parameters; the parameter is asked for unless `identity_only`.
    pub(super) fn ask_authentication(
        &self,
        conv: &mut Conversation,
        card: CardClaim,
        op_id: String,
        sub: &Subscription,
        purpose: StorePurpose,
        identity_only: bool,
    ) -> Result<Next, SmError> {
        let challenge = self.challenge(ChallengeSubject::OpId(op_id.clone()), purpose)?;
        let req = DcRequest::Authenticate {
            flow: conv.order.flow(),
            op_id: op_id.clone(),
            challenge: challenge.clone(),
            salt: sub.key.kdf_salt.clone(),
            kdf: sub.key.kdf_params.clone(),
            need_parameter: !identity_only,
        };
        conv.phase = Phase::Authenticate(AuthStep {
            op_id,
            challenge,
            card,
            identity_only,
            bound: apdu::crypto::kdf_binding(&sub.key.kdf_salt, &sub.key.kdf_params),
        });
        Ok(Next::Send(req))
    }

    /// A BF68 answer (flows B and C) for `step`: its signatures, once the challenge is
    /// consumed for `purpose` and the record is found unlocked (`what` names the flow in
    /// the refusal).
    pub(super) fn accept_authenticated(
        &self,
        step: &AuthStep,
        purpose: StorePurpose,
        what: &str,
        answer: DcResponse,
    ) -> Result<Authenticated, SmError> {
        let DcResponse::Authenticated {
            parameter_signature,
            identity_signature,
            encryption_key,
        } = answer
        else {
            return Err(unexpected("the BF68 answer", &answer));
        };
        if step.identity_only {
            self.consume(
                ChallengeSubject::OpId(step.op_id.clone()),
                purpose,
                &step.challenge,
            )?;
        }
        // A parameter proof's challenge is consumed in the transaction that counts the
        // guess (check_parameter; issue 10, finding 6).
        let sub = self.unlocked_subscription(&step.op_id, &step.card, what)?;
        Ok(Authenticated {
            sub,
            parameter_signature,
            identity_signature,
            encryption_key,
        })
    }

    /// BF68 answered in flow B.
    pub(super) fn on_device_change_auth(
        &self,
        conv: &mut Conversation,
        step: AuthStep,
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let purpose = if step.identity_only {
            StorePurpose::RecordedDevice
        } else {
            StorePurpose::DeviceChange
        };
        let Authenticated {
            sub,
            parameter_signature,
            identity_signature,
            encryption_key,
        } = self.accept_authenticated(&step, purpose, "device change", answer)?;
        if step.identity_only {
            let encryption_key = encryption_key.ok_or(SmError::Protocol {
                expected: "the identity encryption key (92) in the identity-only BF68 answer",
                got: "none".into(),
            })?;
            return self.reserve_recorded_device(
                conv,
                step,
                sub,
                &identity_signature,
                &encryption_key,
            );
        }
        let stored = self.prove_parameter(
            conv,
            &step,
            &sub,
            &identity_signature,
            parameter_signature.as_deref(),
            (Purpose::DeviceChange, StorePurpose::DeviceChange),
        )?;
        let old = self
            .store
            .change_device(&step.op_id, &step.card.device(), &step.card.actor())?;
        conv.report.previous_device = Some(DeviceView {
            imei: old.imei,
            eid: old.eid,
        });
        conv.report.key_source(KeySource::Parameter);
        self.install(conv, step, sub, stored, KeySource::Parameter)
    }

    /// The checks of a BF68 answer made with the parameter (flows B and C): the identity
    /// signature (the card holds the identity key it will be pinned with) and the
    /// parameter signature against the stored key. Either failing is a failed attempt,
    /// counted and audited: a proof replayed from another session fails both
    /// (issue 10, "a replayed signature is refused, counted, audited"). Returns the
    /// stored key.
    pub(super) fn prove_parameter(
        &self,
        conv: &mut Conversation,
        step: &AuthStep,
        sub: &Subscription,
        identity_signature: &[u8],
        parameter_signature: Option<&[u8]>,
        (purpose, store_purpose): (Purpose, StorePurpose),
    ) -> Result<PublicKey, SmError> {
        let identity_ok = check_signature(
            &step.card.identity,
            Purpose::IdentityProof,
            &step.challenge,
            &step.op_id,
            &step.card,
            &step.bound,
            identity_signature,
            "identity signature",
        )
        .is_ok();
        let parameter_signature = parameter_signature.ok_or(SmError::Protocol {
            expected: "a parameter signature in the BF68 answer",
            got: "none".into(),
        })?;
        let stored = stored_key(sub)?;
        self.check_parameter(
            step,
            &stored,
            (purpose, store_purpose),
            parameter_signature,
            identity_ok,
            conv,
        )?;
        Ok(stored)
    }

    /// Verifies a parameter signature against the stored key (`identity_ok`: the
    /// identity signature beside it verified); counts a failure (the third locks the
    /// record) or a success (clears the count).
    pub(super) fn check_parameter(
        &self,
        step: &AuthStep,
        stored: &PublicKey,
        (purpose, store_purpose): (Purpose, StorePurpose),
        signature: &[u8],
        identity_ok: bool,
        conv: &mut Conversation,
    ) -> Result<(), SmError> {
        // Challenge consumed, signature checked and verdict counted in one store
        // transaction (issue 10, finding 6).
        let attempt = Attempt {
            op_id: &step.op_id,
            actor: &step.card.actor(),
            purpose: store_purpose,
            challenge: &step.challenge,
            max_attempts: self.policy.max_attempts,
        };
        let outcome = self.store.attempt(&attempt, |_| {
            if !identity_ok {
                return Verdict::<SmError>::Wrong;
            }
            let verdict = check_signature(
                stored,
                purpose,
                &step.challenge,
                &step.op_id,
                &step.card,
                &step.bound,
                signature,
                "parameter signature",
            );
            match verdict {
                Ok(()) => Verdict::Verified,
                Err(_) => Verdict::<SmError>::Wrong,
            }
        })?;
        let cleared = match outcome {
            AttemptOutcome::Verified { failures_cleared } => failures_cleared,
            AttemptOutcome::Refused(e) => return Err(e),
            AttemptOutcome::Wrong(out) => {
                return Err(if out.locked {
                    SmError::Locked {
                        op_id: step.op_id.clone(),
                        just_now: out.newly_locked,
                    }
                } else {
                    SmError::WrongParameter {
                        op_id: step.op_id.clone(),
                        remaining: out.remaining(),
                    }
                })
            }
        };
        conv.report.failures_cleared = Some(cleared);
        Ok(())
    }

    /// The bound card proved its identity: seal the OP to the identity encryption key
    /// its pinned identity key vouched for ([0074]; issue 10, finding 10: signing and
    /// decryption keys apart).
    fn reserve_recorded_device(
        &self,
        conv: &mut Conversation,
        step: AuthStep,
        sub: Subscription,
        identity_signature: &[u8],
        encryption_key: &[u8],
    ) -> Result<Next, SmError> {
        let pinned = PublicKey::from_der(&sub.device.identity_public_key)
            .map_err(|e| SmError::Invalid(format!("the pinned identity key is unusable: {e}")))?;
        let bound = apdu::crypto::encryption_key_binding(&step.bound, encryption_key);
        let verdict = check_signature(
            &pinned,
            Purpose::IdentityProof,
            &step.challenge,
            &step.op_id,
            &step.card,
            &bound,
            identity_signature,
            "identity proof of the recorded device",
        )
        .and_then(|()| {
            PublicKey::from_der(encryption_key).map_err(|_| SmError::BadProof {
                what: "identity encryption key",
            })
        });
        let sealing_key = match verdict {
            Ok(k) => k,
            Err(e) => {
                self.audit_refusal(&step.op_id, &step.card.actor(), "recorded device", &e)?;
                return Err(e);
            }
        };
        if sub.device.imei != step.card.imei {
            // The same card in another terminal: record the new IMEI (same EID, so no
            // removal is asked of anyone).
            let old =
                self.store
                    .change_device(&step.op_id, &step.card.device(), &step.card.actor())?;
            conv.report.previous_device = Some(DeviceView {
                imei: old.imei,
                eid: old.eid,
            });
        }
        self.store.append_audit(
            &step.op_id,
            &step.card.actor(),
            super::super::store::AuditAction::Other("recorded-device".into()),
            super::super::store::AuditResult::Ok,
            "identity proof verified with the pinned key; profile sealed to the identity encryption key it vouched for",
        )?;
        conv.report.key_source(KeySource::Identity);
        self.install(conv, step, sub, sealing_key, KeySource::Identity)
    }

    /// BF69 with the OP sealed for `key`, once the card's challenge is there (BF6D).
    fn install(
        &self,
        conv: &mut Conversation,
        step: AuthStep,
        sub: Subscription,
        key: PublicKey,
        key_source: KeySource,
    ) -> Result<Next, SmError> {
        let what = install_of(step.op_id, step.card, key, key_source, sub.profile);
        self.authorise(conv, what)
    }
}

/// The record's public key and KDF parameters, checked.
/// The OP ID the user typed on the card (the BF66 answer of flows B and C), recorded in
/// the report.
pub(super) fn begun_op_id(
    conv: &mut Conversation,
    op_id: Option<String>,
) -> Result<String, SmError> {
    let op_id = op_id.ok_or(SmError::Protocol {
        expected: "an OP ID in the BF66 answer",
        got: "none".into(),
    })?;
    conv.report.op_id = Some(op_id.clone());
    Ok(op_id)
}

pub(super) fn stored_key(sub: &Subscription) -> Result<PublicKey, SmError> {
    KdfParams::from_bytes(&sub.key.kdf_params)
        .map_err(|e| SmError::Invalid(format!("the record's KDF parameters are unusable: {e}")))?;
    PublicKey::from_der(&sub.key.public_key)
        .map_err(|e| SmError::Invalid(format!("the record's public key is unusable: {e}")))
}
