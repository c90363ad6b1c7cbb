//! The subscription manager's policy (spec device-change.md flows A, B, C and "What the
//! text leaves open"; docs/device-change-protocol.md "Flows"): what the SM asks a card,
//! what it checks in the answers, and what it records in its [`Store`].
//!
//! The SM speaks only `apdu::devchange` messages: [`SmService::start`] gives the first
//! [`DcRequest`] for a card, [`SmService::step`] takes the card's [`DcResponse`] and
//! gives the next request or the finished [`FlowReport`]. Nothing here touches PC/SC or
//! the terminal, so the SM could sit behind a network with the terminal in front.
//!
//! Every flow starts with the sync of the card (BF6C identity proof over a fresh
//! challenge, then BF6B for each profile that moved away from it), then runs its own
//! steps:
//! - provision (A): BF66 → new record, salt, challenge → BF67 → possession and identity
//!   signatures verified, key/IMEI/EID/identity key recorded → OP sealed → BF69 →
//!   delivered.
//! - device change (B): BF66 → record by OP ID (unknown, locked: refused) → the bound
//!   card proving its pinned identity key gets the OP again without the parameter
//!   ([0074]); any other card must sign with the parameter's key (3 attempts, durable)
//!   → old binding stopped, new device recorded (515-518) → OP sealed → BF69.
//! - rekey (C): BF66 → BF68 with the current parameter (same counter) → BF67 → the new
//!   key, salt and KDF parameters replace the old ones.
//! - sync: only the sync.
//!
//! Challenges are single use ([`Store::consume_challenge`]), so an answer replayed from
//! another session is refused. Files: [`error`] (refusals and exit codes), [`profile`]
//! (the operator profile's content), [`report`], [`conversation`] (the state of one
//! flow), [`proof`] (challenges, signatures, sealing), and one file per flow.

pub mod conversation;
pub mod error;
pub mod profile;
pub mod report;

mod device_change;
mod install;
mod proof;
mod provision;
mod rekey;
mod sync;

#[cfg(test)]
mod tests;

pub use conversation::Conversation;
pub use error::SmError;
pub use profile::ProfileSpec;
pub use report::FlowReport;

use super::store::Store;
use apdu::crypto::KdfParams;
use apdu::devchange::{DcRequest, DcResponse, Flow};
use apdu::Eid;
use conversation::Phase;
use std::time::Duration;

/// The OP ID and IMEI a card signs its BF6C identity proof over (it has no session).
pub const SYNC_OP_ID: &str = "sync";
pub const SYNC_IMEI: &str = "-";

/// How long a challenge stays valid: it must cover a person typing the parameter twice.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(600);

/// What the operator asked for.
#[derive(Debug, Clone)]
pub enum Order {
    /// Flow A for a new OP ID, with the KDF parameters the record will keep.
    Provision {
        op_id: String,
        kdf: KdfParams,
        profile: ProfileSpec,
    },
    /// Flow B (the OP ID comes from the card's user).
    DeviceChange,
    /// Flow C; `kdf: None` keeps the record's KDF parameters.
    Rekey { kdf: Option<KdfParams> },
    /// Only the sync.
    Sync,
}

impl Order {
    /// The flow of the method.
    pub fn flow(&self) -> Flow {
        match self {
            Order::Provision { .. } => Flow::Provision,
            Order::DeviceChange => Flow::DeviceChange,
            Order::Rekey { .. } => Flow::KeyChange,
            Order::Sync => Flow::Sync,
        }
    }
}

/// Tunables of the SM policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub challenge_ttl: Duration,
    /// Failed authentications that lock a record (spec B.6, C.3).
    pub max_attempts: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            challenge_ttl: CHALLENGE_TTL,
            max_attempts: super::store::MAX_ATTEMPTS,
        }
    }
}

/// What the SM wants next.
#[derive(Debug)]
pub enum Next {
    /// Send this request to the card and give its answer to [`SmService::step`].
    Send(DcRequest),
    /// The flow is complete.
    Finished(Box<FlowReport>),
}

/// The SM: its store and its policy.
pub struct SmService<'s> {
    store: &'s Store,
    policy: Policy,
}

/// Checks an OP ID the operator allocates: a phone number, `+` and 3 to 19 digits or
/// 3 to 20 digits (the card's GET INPUT for the OP ID takes 3 to 20 characters).
pub fn check_op_id(op_id: &str) -> Result<(), SmError> {
    let digits = op_id.strip_prefix('+').unwrap_or(op_id);
    let ok = (3..=20).contains(&op_id.len())
        && digits.len() >= 3
        && digits.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(SmError::Invalid(format!(
            "OP ID '{op_id}' is not a phone number: use an optional '+' and 3 to 20 digits, \
             e.g. +8613800000001"
        )))
    }
}

impl<'s> SmService<'s> {
    pub fn new(store: &'s Store, policy: Policy) -> SmService<'s> {
        SmService { store, policy }
    }

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
            Phase::SyncRemove { current, rest } => self.on_removed(conv, current, rest, answer),
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
    fn after_sync(&self, conv: &mut Conversation) -> Result<Next, SmError> {
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

/// The refusal for an answer of the wrong function.
fn unexpected(expected: &'static str, got: &DcResponse) -> SmError {
    SmError::Protocol {
        expected,
        got: format!("the answer of {}", error::function_name(got.tag())),
    }
}
