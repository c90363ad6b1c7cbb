//! The Bound Profile Package (SGP.22 v2.x §2.5.4, §2.6.4, §5.5, §5.7.6): everything both
//! ends need to protect and unprotect a BPP, with no I/O.
//!
//! - [`keys`]: the session keys (ECKA shared secret, the X9.63 KDF of §2.6.4.2 / Annex G);
//! - [`scp03t`]: SCP03t segment protection (C-MAC with AES-CMAC and a MAC chaining value,
//!   C-ENC with AES-CBC and a counter-derived ICV, §2.6.4.3-§2.6.4.4);
//! - [`structure`]: InitialiseSecureChannelRequest (BF23), lpac's split of a BF36 into
//!   STORE DATA messages ([`split_segments`]) and the SM side's [`BppBuilder`];
//! - [`loader`]: the card side's streaming [`BppLoader`], fed one segment at a time,
//!   yielding typed, verified and decrypted [`BppEvent`]s or the SGP.22 error
//!   ([`BppError`]: the failing `bppCommandId` with its `errorReason`).

pub mod keys;
pub mod loader;
pub mod scp03t;
pub mod structure;

pub use keys::ControlRefTemplate;
pub use keys::SessionKeys;
pub use loader::{BppEvent, BppLoader};
pub use scp03t::Scp03t;
pub use structure::{split_segments, BppBuilder, InitialiseSecureChannel};

/// `BppCommandId` and `ErrorReason` of ProfileInstallationResult's ErrorResult (SGP.22
/// v2.x §5.7.6): one declaration, in [`crate::sgp22::es10b`] (unknown values kept as
/// `Other(n)`; `u8::from` gives the INTEGER on the wire).
pub use crate::sgp22::es10b::{BppCommandId, ErrorReason};

/// Why a BPP segment was refused: the step (`bppCommandId`) and the reason, as the card
/// reports them in ProfileInstallationResult (BF37).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("BPP refused at {command:?}: {reason:?}")]
pub struct BppError {
    pub command: BppCommandId,
    pub reason: ErrorReason,
}

impl BppError {
    pub fn new(command: BppCommandId, reason: ErrorReason) -> Self {
        BppError { command, reason }
    }
}
