//! The card's side of the device-change method (docs/device-change-protocol.md):
//! the functions BF66-BF6C and the proactive (CAT) sessions they run.
//!
//! [`MethodSession`] is volatile state: a reset or power off drops it, and with it
//! every key derived from a parameter (device-change.md "Secrets leave memory").
//! The card hands it complete requests and the card view it needs ([`CardView`]);
//! it answers with an [`Outcome`]: bytes to return, a proactive command to announce
//! with `91xx`, or a profile to install / remove, which the card performs and persists.
//!
//! - `session`: [`MethodSession`], one method per request, and the proactive session;
//! - `keys`: the key work of BF67/BF68 (checked SM values, derivation, signatures);
//! - `prompts`: the questions asked to the terminal.

mod keys;
mod prompts;
mod session;

pub use session::MethodSession;

use apdu::crypto::IdentityKey;
use apdu::devchange::OperatorProfile;
use apdu::sgp22::es10::Iccid;
use apdu::Eid;

/// What the method needs to know about the card.
pub trait CardView {
    fn eid(&self) -> Eid;
    fn identity(&self) -> &IdentityKey;
    /// Whether a profile for this OP ID (MSISDN) is installed.
    fn holds_op(&self, op_id: &str) -> bool;
}

/// What the card does next.
#[derive(Debug)]
pub enum Outcome {
    /// Answer these bytes with `9000` (the transport splits long answers with `61xx`).
    Answer(Vec<u8>),
    /// A proactive command is pending: answer `91xx` with xx its length; FETCH returns it.
    Proactive(Vec<u8>),
    /// Install and enable this operator profile, then answer BF69 with the result.
    Install(Box<OperatorProfile>),
    /// Disable (re-enabling the provisioning profile) and delete this profile, then
    /// answer BF6B with the result.
    Remove { op_id: String, iccid: Iccid },
}
