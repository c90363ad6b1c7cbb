//! Where a flow starts and where each card answer goes: [`SmService::start`] gives the
//! first request (the sync's BF6C), [`SmService::step`] routes the answer to the step of
//! the conversation's phase.

use super::conversation::{Conversation, Phase};
use super::error::SmError;
use super::handle::{unexpected, Next, SmService};
use super::order::{check_op_id, Order};
use super::proof;
use apdu::devchange::{DcRequest, DcResponse, Flow};
use apdu::Eid;

impl<'s> SmService<'s> {
    /// Starts `order` with the card whose EID the terminal read (GetEID); returns the
    /// first request (the sync's BF6C). A provisioning order for an OP ID that exists is
    /// refused here, before the user is asked for anything.
    pub fn start(&self, order: Order, eid: Eid) -> Result<(Conversation, DcRequest), SmError> {
        if let Order::Provision { op_id, .. } = &order {
            check_op_id(op_id)?;
            if self.store.get(op_id)?.is_some() {
                return Err(SmError::AlreadyProvisioned(op_id.clone()));
            }
        }
        let challenge = self.sync_challenge(&eid)?;
        let req = DcRequest::Identity {
            challenge: challenge.clone(),
        };
        let conv = Conversation::new(order, eid, Phase::SyncProof { challenge });
        Ok((conv, req))
    }

    /// Takes the card's answer to the last request.
    pub fn step(&self, conv: &mut Conversation, answer: DcResponse) -> Result<Next, SmError> {
        let phase = std::mem::replace(&mut conv.phase, Phase::Done);
        if let DcResponse::Failed { tag, code } = answer {
            self.audit_card_failure(conv, &phase, tag, code)?;
            return Err(SmError::card(tag, code));
        }
        match phase {
            Phase::SyncProof { challenge } => self.on_sync_proof(conv, &challenge, answer),
            Phase::SyncRemove {
                current,
                rest,
                sm_challenge,
            } => self.on_removed(conv, current, rest, &sm_challenge, answer),
            Phase::CardChallenge(what) => self.on_card_challenge(conv, what, answer),
            Phase::Begin => self.on_begun(conv, answer),
            Phase::NewKey(nk) => match conv.order.flow() {
                Flow::Provision => self.on_provision_key(conv, nk, answer),
                _ => self.on_rekey_key(conv, nk, answer),
            },
            Phase::Authenticate(auth) => match conv.order.flow() {
                Flow::KeyChange => self.on_rekey_auth(conv, auth, answer),
                _ => self.on_device_change_auth(conv, auth, answer),
            },
            Phase::Install(inst) => self.on_installed(conv, inst, answer),
            Phase::Done => Err(SmError::Protocol {
                expected: "nothing (the flow is over)",
                got: format!("{:?}", answer.tag()),
            }),
        }
    }

    /// After the sync: the flow's own first step.
    pub(super) fn after_sync(&self, conv: &mut Conversation) -> Result<Next, SmError> {
        match conv.order.flow() {
            Flow::Sync => Ok(Next::Finished(Box::new(conv.report.clone()))),
            flow => {
                conv.phase = Phase::Begin;
                Ok(Next::Send(DcRequest::Begin { flow }))
            }
        }
    }

    /// BF66 answered: the card's EID, IMEI and identity key, and for B and C the OP ID.
    fn on_begun(&self, conv: &mut Conversation, answer: DcResponse) -> Result<Next, SmError> {
        let DcResponse::Begun {
            flow,
            op_id,
            eid,
            imei,
            identity_key,
        } = answer
        else {
            return Err(unexpected("the BF66 answer", &answer));
        };
        if flow != conv.order.flow() {
            return Err(SmError::Protocol {
                expected: "the flow the SM started",
                got: format!("flow {}", flow.name()),
            });
        }
        let card = proof::claim(conv, eid, imei, &identity_key)?;
        conv.report.imei = Some(card.imei.clone());
        match conv.order.clone() {
            Order::Provision { op_id, kdf, .. } => self.begin_provision(conv, card, op_id, kdf),
            Order::DeviceChange => self.begin_device_change(conv, card, op_id),
            Order::Rekey { .. } => self.begin_rekey(conv, card, op_id),
            Order::Sync => Err(SmError::Protocol {
                expected: "no BF66 in a sync",
                got: "a BF66 answer".into(),
            }),
        }
    }
}
