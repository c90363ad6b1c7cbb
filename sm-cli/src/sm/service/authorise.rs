//! The SM's authorisation of BF69 and BF6B, and its check of the card's signed results
//! (issue 10, findings 1, 2, 9; `apdu::devchange::authorisation`;
//! docs/device-change-protocol.md "Threat model"):
//!
//! 1. before each BF69 or BF6B the SM asks the card for a one-time challenge (BF6D);
//! 2. it seals the profile bound to that challenge (AAD), draws a challenge of its own
//!    for the result, and signs both with its CERT.DPpb key ([`SmCredential`]);
//! 3. the card's answer counts only with the card's identity signature over the SM's
//!    challenge, the OP ID, the EID, the result code and the ICCID.
//!
//! A relay that fakes "installed" or "removed", or replays such an answer from another
//! session, is refused before the store changes.

use super::super::credential::SmCredential;
use super::conversation::{Authorise, CardClaim, Conversation, InstallStep, Phase};
use super::error::SmError;
use super::proof::seal_profile;
use super::{unexpected, Next, SmService};
use apdu::crypto::identity::verify_identity_proof;
use apdu::crypto::{new_challenge, result_binding, PublicKey, Purpose, SignedMessage, SysRng};
use apdu::devchange::authorisation::{install_payload_hash, removal_payload_hash};
use apdu::devchange::{AuthMessage, DcRequest, DcResponse, DcResult, Function, SmAuth, SYNC_IMEI};
use apdu::sgp22::es10::Iccid;
use apdu::Eid;

/// Signs the authorisation of `function` over the card's challenge; the SM's challenge
/// for the result is drawn here and returned inside the [`SmAuth`].
fn sign(
    cred: &SmCredential,
    function: Function,
    card_challenge: &[u8; 16],
    eid: Eid,
    op_id: &str,
    payload_hash: [u8; 32],
) -> Result<SmAuth, SmError> {
    let sm_challenge = new_challenge(&mut SysRng)?.to_vec();
    let msg = AuthMessage {
        function,
        card_challenge,
        eid,
        op_id,
        sm_challenge: &sm_challenge,
        payload_hash,
    };
    let signature = msg
        .sign(&cred.key)
        .map_err(|e| SmError::Invalid(format!("cannot sign the authorisation: {e}")))?;
    Ok(SmAuth {
        sm_challenge,
        certificate: cred.cert.der().to_vec(),
        signature: signature.to_vec(),
    })
}

/// Checks the card's signed result of BF69 (`InstallResult`) or BF6B (`RemovalResult`).
#[allow(clippy::too_many_arguments)]
pub(super) fn check_result(
    identity: &PublicKey,
    purpose: Purpose,
    sm_challenge: &[u8],
    op_id: &str,
    eid: Eid,
    code: DcResult,
    iccid: Option<&Iccid>,
    signature: &[u8],
) -> Result<(), SmError> {
    let what = if purpose == Purpose::InstallResult {
        "signed install result (BF69)"
    } else {
        "signed removal result (BF6B)"
    };
    let bound = result_binding(code.code(), iccid.map(|i| &i.0));
    let msg = SignedMessage::new(purpose, sm_challenge, op_id, eid, SYNC_IMEI)
        .and_then(|m| m.bound(&bound))
        .map_err(|_| SmError::BadProof { what })?;
    verify_identity_proof(identity, &msg, signature).map_err(|_| SmError::BadProof { what })
}

impl SmService<'_> {
    /// Asks the card for its one-time challenge (BF6D); `what` follows once it is there.
    pub(super) fn authorise(
        &self,
        conv: &mut Conversation,
        what: Authorise,
    ) -> Result<Next, SmError> {
        conv.phase = Phase::CardChallenge(what);
        Ok(Next::Send(DcRequest::CardChallenge))
    }

    /// BF6D answered: the authorised BF69 or BF6B.
    pub(super) fn on_card_challenge(
        &self,
        conv: &mut Conversation,
        what: Authorise,
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let DcResponse::CardChallenge { challenge } = answer else {
            return Err(unexpected("the BF6D answer", &answer));
        };
        match what {
            Authorise::Install {
                op_id,
                card,
                key,
                key_source,
                profile,
            } => {
                let sealed = seal_profile(&profile, &key, &op_id, &card.eid, &challenge)?;
                let auth = sign(
                    self.credential,
                    Function::InstallProfile,
                    &challenge,
                    card.eid,
                    &op_id,
                    install_payload_hash(key_source as u8, &sealed),
                )?;
                let sm_challenge = auth.sm_challenge.clone();
                let req = DcRequest::InstallProfile {
                    op_id: op_id.clone(),
                    sealed,
                    key: key_source,
                    auth,
                };
                conv.phase = Phase::Install(InstallStep {
                    op_id,
                    iccid: profile.iccid.clone(),
                    card,
                    sm_challenge,
                });
                Ok(Next::Send(req))
            }
            Authorise::Remove { current, rest } => {
                let iccid = Iccid::from_digits(&current.iccid).map_err(|e| {
                    SmError::Invalid(format!(
                        "stored ICCID {} of {}: {e}",
                        current.iccid, current.op_id
                    ))
                })?;
                let auth = sign(
                    self.credential,
                    Function::RemoveProfile,
                    &challenge,
                    conv.eid,
                    &current.op_id,
                    removal_payload_hash(&iccid),
                )?;
                let sm_challenge = auth.sm_challenge.clone();
                let req = DcRequest::RemoveProfile {
                    op_id: current.op_id.clone(),
                    iccid,
                    auth,
                };
                conv.phase = Phase::SyncRemove {
                    current,
                    rest,
                    sm_challenge,
                };
                Ok(Next::Send(req))
            }
        }
    }
}

/// The install of `profile` for `key` to the card of `card`, to authorise.
pub(super) fn install_of(
    op_id: String,
    card: CardClaim,
    key: PublicKey,
    key_source: apdu::devchange::KeySource,
    profile: super::super::store::OperatorProfile,
) -> Authorise {
    Authorise::Install {
        op_id,
        card,
        key,
        key_source,
        profile: Box::new(profile),
    }
}
