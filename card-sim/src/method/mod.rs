//! The card's side of the device-change method (docs/device-change-protocol.md):
//! the functions BF66-BF6D and the proactive (CAT) sessions they run. BF69 and BF6B
//! change what the card holds: each needs the SM's authorisation over a one-time card
//! challenge (BF6D) with a certificate chained to a CI the card trusts, and the card
//! answers them with a result signed by its identity key (issue 10, findings 1, 2, 9).
//!
//! [`MethodSession`] is volatile state: a reset or power off drops it, and with it
//! every key derived from a parameter (device-change.md "Secrets leave memory").
//! The card hands it complete requests and the card view it needs ([`CardView`]);
//! it answers with an [`Outcome`]: bytes to return, a proactive command to announce
//! with `91xx`, or a profile to install / remove, which the card performs and persists.
//!
//! - `session`: [`MethodSession`], one method per request, and the proactive session;
//! - `keys`: the key work of BF67/BF68 (checked SM values, derivation, signatures);
//! - `kdf_floor`: the KDF parameters the card accepts ([`KdfFloor`] and the ceiling);
//! - `prompts`: the questions asked to the terminal.

mod kdf_floor;
mod keys;
mod prompts;
mod session;

pub use kdf_floor::KdfFloor;
pub use session::MethodSession;

use apdu::crypto::IdentityKey;
use apdu::devchange::DcResult;
use apdu::devchange::OperatorProfile;
use apdu::sgp22::es10::Iccid;
use apdu::sgp22::pki::Cert;
use apdu::Eid;

/// What the method needs to know about the card.
pub trait CardView {
    fn eid(&self) -> Eid;
    fn identity(&self) -> &IdentityKey;
    /// The identity encryption key, when the card has made it (the card makes it before
    /// a request that needs it: an identity-only BF68, a BF69 with key source 1).
    fn encryption_key(&self) -> Option<&IdentityKey>;
    /// Whether a profile for this OP ID (MSISDN) is installed.
    fn holds_op(&self, op_id: &str) -> bool;
    /// The cheapest KDF parameters the card derives a key with (`kdf_floor`).
    fn kdf_floor(&self) -> KdfFloor;
    /// The CI certificates the card trusts (its PKI, SGP.22 §4.5.2): the SM's
    /// certificate must chain to one of them.
    fn trusted_cis(&self) -> Vec<Cert>;
}

/// What a signed BF69/BF6B result is made over: the request's OP ID and the SM's
/// challenge (`89`).
#[derive(Debug, Clone)]
pub struct ResultContext {
    pub op_id: String,
    pub sm_challenge: Vec<u8>,
}

/// What the card does next.
#[derive(Debug)]
pub enum Outcome {
    /// Answer these bytes with `9000` (the transport splits long answers with `61xx`).
    Answer(Vec<u8>),
    /// A proactive command is pending: answer `91xx` with xx its length; FETCH returns it.
    Proactive(Vec<u8>),
    /// Install and enable this operator profile (or, on `Err`, install nothing), then
    /// answer BF69 with the signed result.
    Install {
        profile: Result<Box<OperatorProfile>, DcResult>,
        ctx: ResultContext,
    },
    /// Disable (re-enabling the provisioning profile) and delete this profile when
    /// `authorised` is `Ok`, then answer BF6B with the signed result.
    Remove {
        iccid: Iccid,
        authorised: Result<(), DcResult>,
        ctx: ResultContext,
    },
}
