//! The SM behind the network (issue 12, "The SM as a service"): the terminal relays the
//! card's device-change messages to an SM that runs elsewhere, on its own store.
//!
//! - [`SmEndpoint`]: what the terminal's loop (`commands::method::drive`) needs of an
//!   SM, start a flow and take each card answer; implemented by the local
//!   [`SmService`] (`--sm-db`: the terminal opens the store itself) and by
//!   [`client::RemoteSm`] (`--sm https://HOST:PORT`: it never sees the store);
//! - [`wire`]: the JSON messages (`/veuicc/sm/v1/startFlow`, `stepFlow`);
//! - [`server`]: the SM as a service ([`server::SmServer`], behind `sm-cli smdp serve`),
//!   its sessions and the idempotent steps;
//! - [`client`]: the terminal's side, HTTPS or in process;
//! - [`admin`], [`token`], [`admin_client`]: the operator's `sm list|show|audit|unlock`
//!   against the server (`/veuicc/sm/v1/admin/<function>`), with the operator token of
//!   `smdp serve --operator-token-file` (no token: no admin endpoint);
//! - [`with_sm`]: the SM-DP+ and the SM behind one `smdp serve`.
//!
//! In both cases the key-generation parameter stays between the user and the card: the
//! terminal types it into the card (CAT GET INPUT) and the SM only sees its proofs.

pub mod admin;
pub mod admin_client;
pub mod client;
pub mod server;
pub mod token;
pub mod wire;
pub mod with_sm;

#[cfg(test)]
mod tests;

use crate::errors::CliError;
use crate::sm::service::{Conversation, Next, Order, SmService};
use apdu::devchange::{DcRequest, DcResponse};
use apdu::Eid;

/// An SM as the terminal sees it: a flow is started with the card's EID and gives the
/// first request; each answer of the card gives the next request or the report.
pub trait SmEndpoint {
    /// What the endpoint keeps of a flow in progress.
    type Flow;
    fn start(&self, order: Order, eid: Eid) -> Result<(Self::Flow, DcRequest), CliError>;
    fn step(&self, flow: &mut Self::Flow, answer: DcResponse) -> Result<Next, CliError>;
}

impl SmEndpoint for SmService<'_> {
    type Flow = Conversation;

    fn start(&self, order: Order, eid: Eid) -> Result<(Conversation, DcRequest), CliError> {
        Ok(SmService::start(self, order, eid)?)
    }

    fn step(&self, flow: &mut Conversation, answer: DcResponse) -> Result<Next, CliError> {
        Ok(SmService::step(self, flow, answer)?)
    }
}
