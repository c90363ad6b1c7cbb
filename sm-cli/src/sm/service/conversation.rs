//! The state of one flow between the SM and one card: what the SM asked last and what
//! it must check in the answer (docs/device-change-protocol.md "Flows").

use super::super::store::{Actor, Device, PendingRemoval};
use super::report::FlowReport;
use super::Order;
use apdu::crypto::{KdfParams, PublicKey, Salt};
use apdu::Eid;
use std::collections::VecDeque;

/// What a card told the SM about itself in BF66: not yet trusted, except that the
/// signatures it makes later are checked against this identity key.
#[derive(Debug, Clone)]
pub(super) struct CardClaim {
    pub eid: Eid,
    pub imei: String,
    pub identity: PublicKey,
    pub identity_der: Vec<u8>,
}

impl CardClaim {
    /// The device record for the store.
    pub fn device(&self) -> Device {
        Device {
            imei: self.imei.clone(),
            eid: self.eid.to_string(),
            identity_public_key: self.identity_der.clone(),
        }
    }

    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor::Card(self.eid.to_string())
    }
}

/// Waiting for BF67 (flow A, or C after the authentication).
#[derive(Debug)]
pub(super) struct NewKeyStep {
    pub op_id: String,
    pub challenge: Vec<u8>,
    pub salt: Salt,
    pub kdf: KdfParams,
    pub card: CardClaim,
}

/// Waiting for BF68 (flow B or C).
#[derive(Debug)]
pub(super) struct AuthStep {
    pub op_id: String,
    pub challenge: Vec<u8>,
    pub card: CardClaim,
    /// The bound card proving its pinned identity key: no parameter ([0074]).
    pub identity_only: bool,
}

/// Waiting for BF69.
#[derive(Debug)]
pub(super) struct InstallStep {
    pub op_id: String,
    pub iccid: String,
    pub card: CardClaim,
}

/// Where a flow stands.
#[derive(Debug)]
pub(super) enum Phase {
    /// BF6C sent with this challenge.
    SyncProof {
        challenge: Vec<u8>,
    },
    /// BF6B sent for `current`; `rest` follow.
    SyncRemove {
        current: PendingRemoval,
        rest: VecDeque<PendingRemoval>,
    },
    /// BF66 sent.
    Begin,
    NewKey(NewKeyStep),
    Authenticate(AuthStep),
    Install(InstallStep),
    Done,
}

/// One flow with one card.
#[derive(Debug)]
pub struct Conversation {
    pub(super) order: Order,
    /// The card's EID as the terminal read it (GetEID); every answer must match it.
    pub(super) eid: Eid,
    pub(super) phase: Phase,
    pub(super) report: FlowReport,
}

impl Conversation {
    pub(super) fn new(order: Order, eid: Eid, phase: Phase) -> Conversation {
        let report = FlowReport::new(order.flow(), &eid);
        Conversation {
            order,
            eid,
            phase,
            report,
        }
    }
}

/// The OP ID a phase is about.
pub(super) fn phase_op_id(phase: &Phase) -> Option<&str> {
    match phase {
        Phase::NewKey(s) => Some(&s.op_id),
        Phase::Authenticate(s) => Some(&s.op_id),
        Phase::Install(s) => Some(&s.op_id),
        Phase::SyncRemove { current, .. } => Some(&current.op_id),
        _ => None,
    }
}
