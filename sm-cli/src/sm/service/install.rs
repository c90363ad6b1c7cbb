//! The last step of flows A and B (spec A.6-A.8, B.8): the card's BF69 answer. Result
//! 0 marks the profile delivered to the bound card (audited); "already installed" and
//! every other result are refusals the operator sees. "Already installed" from the bound
//! card also marks the record delivered: an earlier BF69 was installed and saved, but
//! its answer never reached the SM (the card was reset or pulled right after its state
//! write; issue 5, "Faults"), and the bound card's retry is how that record completes.

use super::authorise::check_result;
use super::conversation::InstallStep;
use super::error::SmError;
use super::{unexpected, Conversation, Next, SmService};
use apdu::crypto::Purpose;
use apdu::devchange::{DcResponse, DcResult, Function, InstallResult};

impl SmService<'_> {
    /// BF69 answered.
    pub(super) fn on_installed(
        &self,
        conv: &mut Conversation,
        step: InstallStep,
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let DcResponse::Installed(InstallResult {
            code,
            iccid,
            signature,
        }) = answer
        else {
            return Err(unexpected("the BF69 answer", &answer));
        };
        // Nothing is recorded on the card's word alone: the result must carry the
        // identity signature of the card the SM sealed for, over this BF69's challenge
        // (issue 10, finding 9).
        check_result(
            &step.card.identity,
            Purpose::InstallResult,
            &step.sm_challenge,
            &step.op_id,
            step.card.eid,
            code,
            iccid.as_ref(),
            &signature,
        )?;
        if !code.is_ok() {
            let op_id = step.op_id.clone();
            let (eid, actor) = (step.card.eid.to_string(), step.card.actor());
            let step_identity = step.card.identity_der.clone();
            let phase = super::conversation::Phase::Install(step);
            self.audit_card_failure(conv, &phase, Function::InstallProfile, code)?;
            if code == DcResult::AlreadyInstalled {
                // The card opened the sealed profile (it answers this only after that) and
                // holds this OP ID's profile: the record's ICCID, which never changes.
                // `mark_delivered` refuses a card that is not the bound device.
                self.store
                    .mark_delivered(&op_id, &eid, &step_identity, &actor)?;
            }
            return Err(match code {
                DcResult::AlreadyInstalled => SmError::AlreadyOnCard(op_id),
                c => SmError::card(Function::InstallProfile, c),
            });
        }
        match iccid {
            Some(i) if i.digits() == step.iccid => {}
            other => {
                return Err(SmError::Protocol {
                    expected: "the ICCID of the profile the SM sealed",
                    got: other.map_or("no ICCID".into(), |i| format!("ICCID {}", i.digits())),
                })
            }
        }
        self.store.mark_delivered(
            &step.op_id,
            &step.card.eid.to_string(),
            &step.card.identity_der,
            &step.card.actor(),
        )?;
        conv.report.iccid = Some(step.iccid);
        Ok(Next::Finished(Box::new(conv.report.clone())))
    }
}
