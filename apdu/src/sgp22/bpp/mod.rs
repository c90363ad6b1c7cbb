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

pub use keys::SessionKeys;
pub use loader::{BppEvent, BppLoader};
pub use scp03t::Scp03t;
pub use structure::{split_segments, BppBuilder, ControlRefTemplate, InitialiseSecureChannel};

/// `BppCommandId` of ProfileInstallationResult's ErrorResult (SGP.22 v2.x §5.7.6, ASN.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BppCommandId {
    InitialiseSecureChannel = 0,
    ConfigureIsdp = 1,
    StoreMetadata = 2,
    StoreMetadata2 = 3,
    ReplaceSessionKeys = 4,
    LoadProfileElements = 5,
}

/// `ErrorReason` of ProfileInstallationResult's ErrorResult (SGP.22 v2.x ASN.1, numbers
/// as in RSPDefinitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    IncorrectInputValues = 1,
    InvalidSignature = 2,
    InvalidTransactionId = 3,
    UnsupportedCrtValues = 4,
    UnsupportedRemoteOperationType = 5,
    UnsupportedProfileClass = 6,
    Scp03tStructureError = 7,
    Scp03tSecurityError = 8,
    InstallFailedDueToIccidAlreadyExistsOnEuicc = 9,
    InstallFailedDueToInsufficientMemoryForProfile = 10,
    InstallFailedDueToInterruption = 11,
    InstallFailedDueToPeProcessingError = 12,
    InstallFailedDueToIccidMismatch = 13,
    TestProfileInstallFailedDueToInvalidNaaKey = 14,
    PprNotAllowed = 15,
    InstallFailedDueToUnknownError = 127,
}

impl BppCommandId {
    /// The INTEGER value on the wire.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl ErrorReason {
    /// The INTEGER value on the wire.
    pub fn code(self) -> u8 {
        self as u8
    }
}

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
