//! The SM-DP+ (issue 11; GSMA SGP.22 v2.x §3.1.3, §5.6): the ES9+ functions an LPA calls
//! to download a profile, behind [`crate::es9p::Es9Handler`], so the HTTPS server
//! (`sm-cli smdp serve`) and the in-process tests drive the same code.
//!
//! - [`credentials`]: CERT.DPauth / CERT.DPpb with their keys and the CIs, from an
//!   SGP.26 folder or the project's test PKI;
//! - [`order`]: download orders (matchingId, EID, confirmation code) and activation codes;
//! - [`auth`]: initiateAuthentication (§5.6.1) and authenticateClient (§5.6.3);
//! - [`bind`]: getBoundProfilePackage (§5.6.2, the BPP of §2.5: one-time ECKA keys,
//!   session keys, SCP03t, ReplaceSessionKeys);
//! - [`notify`]: handleNotification (§5.6.4) and cancelSession (§5.6.5);
//! - [`service`]: [`SmdpConfig`] and [`Smdp`]; `handler` dispatches the ES9+ functions,
//!   `common` holds what they share (how a call ends, the request parser).
//!
//! Orders and sessions live in the SM store (`sm::store::orders`, `sm::store::sessions`):
//! a session is keyed by its transactionId and expires, so a restarted server refuses
//! stale sessions (8.10.1 / 3.9) and every step's state change is one transaction.
//! Every request byte is untrusted: the body is capped before it is parsed
//! ([`crate::es9p::MAX_REQUEST_BODY`]), a body that is not the function's JSON is HTTP
//! 400, a refusal is HTTP 200 with an SGP.22 status code, a store failure HTTP 500;
//! nothing on these paths panics.

pub mod auth;
pub mod bind;
mod common;
pub mod credentials;
mod handler;
pub mod notify;
pub mod order;
pub mod service;

#[cfg(test)]
mod tests;

pub use credentials::SmdpCredentials;
pub use order::{activation_code, create_order, CreatedOrder, OrderRequest, OrderSpec};
pub use service::{Smdp, SmdpConfig, DEFAULT_SESSION_TTL, TEST_HOST};
