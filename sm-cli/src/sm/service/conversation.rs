//! The state of one flow between the SM and one card: what the SM asked last and what
//! it must check in the answer (docs/device-change-protocol.md "Flows").

use super::super::store::{Actor, Device, OperatorProfile as StoredProfile, PendingRemoval};
use super::report::FlowReport;
use super::Order;
use apdu::crypto::{KdfParams, PublicKey, Salt};
use apdu::devchange::KeySource;
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
    /// What both signatures of the answer vouch for besides the challenge: the salt and
    /// KDF parameters sent (issue 10, finding 3; `apdu::crypto::kdf_binding`).
    pub bound: Vec<u8>,
}

/// Waiting for BF69; its result must be signed by `card`'s identity key over
/// `sm_challenge`.
#[derive(Debug)]
pub(super) struct InstallStep {
    pub op_id: String,
    pub iccid: String,
    pub card: CardClaim,
    pub sm_challenge: Vec<u8>,
}

/// What the SM authorises once the card's challenge (BF6D) is there.
#[derive(Debug)]
pub(super) enum Authorise {
    /// BF69: seal `profile` for `key` and send it.
    Install {
        op_id: String,
        card: CardClaim,
        key: PublicKey,
        key_source: KeySource,
        profile: Box<StoredProfile>,
    },
    /// BF6B of `current` (sync); `rest` follow.
    Remove {
        current: PendingRemoval,
        rest: VecDeque<PendingRemoval>,
    },
}

/// Where a flow stands.
#[derive(Debug)]
pub(super) enum Phase {
    /// BF6C sent with this challenge.
    SyncProof {
        challenge: Vec<u8>,
    },
    /// BF6B sent for `current` with `sm_challenge` for its signed result; `rest` follow.
    SyncRemove {
        current: PendingRemoval,
        rest: VecDeque<PendingRemoval>,
        sm_challenge: Vec<u8>,
    },
    /// BF6D sent: the card's challenge for the authorisation of what follows.
    CardChallenge(Authorise),
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
        Phase::CardChallenge(Authorise::Install { op_id, .. }) => Some(op_id),
        Phase::CardChallenge(Authorise::Remove { current, .. }) => Some(&current.op_id),
        _ => None,
    }
}
