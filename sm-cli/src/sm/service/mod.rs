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
//! flow), [`proof`] (challenges, signatures, sealing), `order` (what the operator asks,
//! the policy), `handle` (the SM value), `dispatch` (start, and where each answer goes),
//! and one file per flow.

pub mod conversation;
pub mod error;
pub mod profile;
pub mod report;

mod authorise;
mod device_change;
mod dispatch;
mod handle;
mod install;
mod order;
mod proof;
mod provision;
mod rekey;
mod sync;

#[cfg(test)]
mod tests;

pub use conversation::Conversation;
pub use error::SmError;
use handle::unexpected;
pub use handle::{Next, SmService};
pub use order::{check_op_id, Order, Policy, CHALLENGE_TTL};
pub use profile::ProfileSpec;
pub use report::FlowReport;
