//! The sync of a card, at the start of every flow and as `sm-cli sync` (issue 3,
//! Security behaviour: "After a device change, the old card learns it when it next talks
//! to the SM ... the SM has it disable and delete the moved profile, and the audit log
//! records it"; docs/device-change-protocol.md "Sync").
//!
//! BF6C: the card signs a fresh challenge with its identity key (OP ID `sync`, IMEI
//! `-`). Only removals recorded for this EID *and* this identity key are the card's: a
//! new card that happens to reuse an EID is not asked to remove anything. Each removal is
//! one BF6B, authorised over a card challenge (BF6D) and answered with a result the
//! card signs; the card's "not found" also closes the removal (the profile is gone).

use super::super::store::{ChallengeSubject, PendingRemoval, Purpose as StorePurpose};
use super::authorise::check_result;
use super::conversation::{Authorise, Conversation};
use super::error::SmError;
use super::proof::check_signature;
use super::report::RemovalView;
use super::{unexpected, Next, SmService};
use apdu::crypto::{PublicKey, Purpose};
use apdu::devchange::{DcResponse, DcResult, Function, SYNC_IMEI, SYNC_OP_ID};
use std::collections::VecDeque;

impl SmService<'_> {
    /// BF6C answered.
    pub(super) fn on_sync_proof(
        &self,
        conv: &mut Conversation,
        challenge: &[u8],
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let DcResponse::Identity {
            eid,
            identity_key,
            signature,
        } = answer
        else {
            return Err(unexpected("the BF6C answer", &answer));
        };
        self.consume(
            ChallengeSubject::Eid(conv.eid.to_string()),
            StorePurpose::Sync,
            challenge,
        )?;
        if eid != conv.eid {
            return Err(SmError::Protocol {
                expected: "the EID the card reported to GetEID",
                got: format!("an identity proof for EID {eid}"),
            });
        }
        let key = PublicKey::from_der(&identity_key).map_err(|_| SmError::BadProof {
            what: "identity public key",
        })?;
        let card = super::conversation::CardClaim {
            eid,
            imei: SYNC_IMEI.into(),
            identity: key.clone(),
            identity_der: identity_key.clone(),
        };
        check_signature(
            &key,
            Purpose::IdentityProof,
            challenge,
            SYNC_OP_ID,
            &card,
            &[],
            &signature,
            "identity proof (sync)",
        )?;
        let (mine, others): (Vec<PendingRemoval>, Vec<PendingRemoval>) = self
            .store
            .pending_removals_for(&conv.eid.to_string())?
            .into_iter()
            .partition(|r| r.identity_public_key == identity_key);
        for r in others {
            conv.report.notes.push(format!(
                "A removal of {} is pending for EID {} but for another card's identity key; \
                 this card was not asked to remove anything for it",
                r.op_id, r.eid
            ));
        }
        self.next_removal(conv, mine.into())
    }

    fn next_removal(
        &self,
        conv: &mut Conversation,
        mut queue: VecDeque<PendingRemoval>,
    ) -> Result<Next, SmError> {
        let Some(current) = queue.pop_front() else {
            return self.after_sync(conv);
        };
        // Each BF6B is authorised over a card challenge of its own (BF6D).
        self.authorise(
            conv,
            Authorise::Remove {
                current,
                rest: queue,
            },
        )
    }

    /// BF6B answered.
    pub(super) fn on_removed(
        &self,
        conv: &mut Conversation,
        current: PendingRemoval,
        rest: VecDeque<PendingRemoval>,
        sm_challenge: &[u8],
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let DcResponse::Removed { code, signature } = answer else {
            return Err(unexpected("the BF6B answer", &answer));
        };
        // Only the card whose identity key the removal names can vouch for it
        // (issue 10, findings 8, 9).
        let identity =
            PublicKey::from_der(&current.identity_public_key).map_err(|_| SmError::BadProof {
                what: "stored identity key of the removal",
            })?;
        check_result(
            &identity,
            Purpose::RemovalResult,
            sm_challenge,
            &current.op_id,
            conv.eid,
            code,
            None,
            &signature,
        )?;
        let was_on_card = match code {
            DcResult::Ok => true,
            DcResult::NotFound => false,
            c => return Err(SmError::card(Function::RemoveProfile, c)),
        };
        let eid = conv.eid.to_string();
        self.store.confirm_removal(
            &current.op_id,
            &eid,
            &current.identity_public_key,
            &super::super::store::Actor::Card(eid.clone()),
        )?;
        conv.report.removed.push(RemovalView {
            op_id: current.op_id,
            iccid: current.iccid,
            was_on_card,
        });
        self.next_removal(conv, rest)
    }
}
