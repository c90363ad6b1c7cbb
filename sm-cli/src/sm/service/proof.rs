//! The SM's checks and cryptography (device-change.md "No replay", "Hybrid encryption";
//! docs/device-change-protocol.md "Signed messages"): fresh single-use challenges,
//! verification of the card's signatures over (purpose, challenge, OP ID, EID, IMEI),
//! the card's claims in BF66, and sealing the OP for a public key.

use super::super::store::{
    Actor, AuditAction, AuditResult, ChallengeSubject, OperatorProfile as StoredProfile,
    Purpose as StorePurpose,
};
use super::conversation::{phase_op_id, CardClaim, Conversation, Phase};
use super::error::SmError;
use super::profile::to_wire;
use super::SmService;
use apdu::cat::imei_is_valid;
use apdu::crypto::identity::verify_identity_proof;
use apdu::crypto::{
    new_challenge, profile_aad, seal, verify, PublicKey, Purpose, SignedMessage, SysRng,
};
use apdu::devchange::{DcResult, Function};
use apdu::Eid;

/// Checks what the card said in BF66 and keeps it as a claim.
pub(super) fn claim(
    conv: &Conversation,
    eid: Eid,
    imei: String,
    identity_key: &[u8],
) -> Result<CardClaim, SmError> {
    if eid != conv.eid {
        return Err(SmError::Protocol {
            expected: "the EID the card reported to GetEID",
            got: format!("EID {eid}"),
        });
    }
    if !imei_is_valid(&imei) {
        return Err(SmError::InvalidImei(imei));
    }
    let identity = PublicKey::from_der(identity_key).map_err(|_| SmError::BadProof {
        what: "identity public key",
    })?;
    Ok(CardClaim {
        eid,
        imei,
        identity,
        identity_der: identity_key.to_vec(),
    })
}

/// Verifies `sig` by `key` over the message of `purpose` for this card and challenge,
/// vouching for `bound` too (docs/device-change-protocol.md "Signed messages").
#[allow(clippy::too_many_arguments)]
pub(super) fn check_signature(
    key: &PublicKey,
    purpose: Purpose,
    challenge: &[u8],
    op_id: &str,
    card: &CardClaim,
    bound: &[u8],
    sig: &[u8],
    what: &'static str,
) -> Result<(), SmError> {
    let msg = SignedMessage::new(purpose, challenge, op_id, card.eid, &card.imei)
        .and_then(|m| m.bound(bound))
        .map_err(|_| SmError::BadProof { what })?;
    let verdict = if purpose == Purpose::IdentityProof {
        verify_identity_proof(key, &msg, sig)
    } else {
        verify(key, &msg, sig)
    };
    verdict.map_err(|_| SmError::BadProof { what })
}

/// Encodes `profile` and seals it for `key`, bound to `op_id`, the card `eid` and the
/// card's one-time challenge of the BF69 it travels in.
pub(super) fn seal_profile(
    profile: &StoredProfile,
    key: &PublicKey,
    op_id: &str,
    eid: &Eid,
    card_challenge: &[u8; 16],
) -> Result<Vec<u8>, SmError> {
    let plain = to_wire(profile)?.encode();
    let aad = profile_aad(op_id, eid, card_challenge)?;
    Ok(seal(key, &plain, &aad, &mut SysRng)?.to_bytes())
}

impl SmService<'_> {
    /// Draws a challenge and records it as outstanding for `subject` and `purpose`.
    pub(super) fn challenge(
        &self,
        subject: ChallengeSubject,
        purpose: StorePurpose,
    ) -> Result<Vec<u8>, SmError> {
        let value = new_challenge(&mut SysRng)?;
        self.store
            .issue_challenge(&subject, purpose, &value, self.policy.challenge_ttl)?;
        Ok(value.to_vec())
    }

    /// The sync's challenge for the card `eid`.
    pub(super) fn sync_challenge(&self, eid: &Eid) -> Result<Vec<u8>, SmError> {
        self.challenge(ChallengeSubject::Eid(eid.to_string()), StorePurpose::Sync)
    }

    /// Accepts the challenge once; a replayed or unknown one is refused.
    pub(super) fn consume(
        &self,
        subject: ChallengeSubject,
        purpose: StorePurpose,
        value: &[u8],
    ) -> Result<(), SmError> {
        self.store.consume_challenge(&subject, purpose, value)?;
        Ok(())
    }

    /// Audits a refusal (the audit row is keyed by OP ID; unknown OP IDs are kept too).
    pub(super) fn audit_refusal(
        &self,
        op_id: &str,
        actor: &Actor,
        what: &str,
        err: &SmError,
    ) -> Result<(), SmError> {
        self.store.append_audit(
            op_id,
            actor,
            AuditAction::Other("request-refused".into()),
            AuditResult::Refused,
            &format!("{what}: {err}"),
        )?;
        Ok(())
    }

    /// Audits a card answering a device-change function with a failure result code.
    pub(super) fn audit_card_failure(
        &self,
        conv: &Conversation,
        phase: &Phase,
        function: Function,
        code: DcResult,
    ) -> Result<(), SmError> {
        let Some(op_id) = phase_op_id(phase).or(conv.report.op_id.as_deref()) else {
            return Ok(());
        };
        if super::check_op_id(op_id).is_err() {
            return Ok(());
        }
        self.store.append_audit(
            op_id,
            &Actor::Card(conv.eid.to_string()),
            AuditAction::Other("card-error".into()),
            AuditResult::Failed,
            &format!("{function}: {} (result {code})", code.meaning()),
        )?;
        Ok(())
    }
}
