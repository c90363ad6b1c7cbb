//! The last step of flows A and B (spec A.6-A.8, B.8): the card's BF69 answer. Result
//! 0 marks the profile delivered to the bound card (audited); "already installed" and
//! every other result are refusals the operator sees. "Already installed" from the bound
//! card also marks the record delivered: an earlier BF69 was installed and saved, but
//! its answer never reached the SM (the card was reset or pulled right after its state
//! write; issue 5, "Faults"), and the bound card's retry is how that record completes.

use super::conversation::InstallStep;
use super::error::SmError;
use super::{unexpected, Conversation, Next, SmService};
use apdu::devchange::{DcResponse, DcResult, Function, InstallResult};

impl SmService<'_> {
    /// BF69 answered.
    pub(super) fn on_installed(
        &self,
        conv: &mut Conversation,
        step: InstallStep,
        answer: DcResponse,
    ) -> Result<Next, SmError> {
        let DcResponse::Installed(InstallResult { code, iccid }) = answer else {
            return Err(unexpected("the BF69 answer", &answer));
        };
        if !code.is_ok() {
            let op_id = step.op_id.clone();
            let (eid, actor) = (step.card.eid.to_string(), step.card.actor());
            let phase = super::conversation::Phase::Install(step);
            self.audit_card_failure(conv, &phase, Function::InstallProfile, code)?;
            if code == DcResult::AlreadyInstalled {
                // The card opened the sealed profile (it answers this only after that) and
                // holds this OP ID's profile: the record's ICCID, which never changes.
                // `mark_delivered` refuses a card that is not the bound device.
                self.store.mark_delivered(&op_id, &eid, &actor)?;
            }
            return Err(match code {
                DcResult::AlreadyInstalled => SmError::AlreadyOnCard(op_id),
                c => SmError::card(Function::InstallProfile, c),
            });
        }
        if let Some(i) = iccid {
            if i.digits() != step.iccid {
                return Err(SmError::Protocol {
                    expected: "the ICCID of the profile the SM sealed",
                    got: format!("ICCID {}", i.digits()),
                });
            }
        }
        self.store
            .mark_delivered(&step.op_id, &step.card.eid.to_string(), &step.card.actor())?;
        conv.report.iccid = Some(step.iccid);
        Ok(Next::Finished(Box::new(conv.report.clone())))
    }
}
