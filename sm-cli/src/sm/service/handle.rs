//! The SM value itself ([`SmService`]: its store and its policy), what it wants next
//! ([`Next`]), and the refusal every step gives for an answer of the wrong function.
//! The steps live in one file per flow (`impl SmService` there); [`dispatch`](super::dispatch)
//! routes each answer to them.

use super::error::SmError;
use super::order::Policy;
use super::report::FlowReport;
use crate::sm::credential::SmCredential;
use crate::sm::store::Store;
use apdu::devchange::{DcRequest, DcResponse};

/// What the SM wants next.
#[derive(Debug)]
pub enum Next {
    /// Send this request to the card and give its answer to [`SmService::step`].
    Send(DcRequest),
    /// The flow is complete.
    Finished(Box<FlowReport>),
}

/// The SM: its store, its policy and its credential (CERT.DPpb and key).
pub struct SmService<'s> {
    pub(super) store: &'s Store,
    pub(super) policy: Policy,
    pub(super) credential: &'s SmCredential,
}

impl<'s> SmService<'s> {
    pub fn new(store: &'s Store, policy: Policy, credential: &'s SmCredential) -> SmService<'s> {
        SmService {
            store,
            policy,
            credential,
        }
    }
}

/// The refusal for an answer of the wrong function.
pub(super) fn unexpected(expected: &'static str, got: &DcResponse) -> SmError {
    SmError::Protocol {
        expected,
        got: format!("the answer of {}", got.function()),
    }
}
