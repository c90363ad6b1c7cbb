//! Why a profile package was refused, and what the card answers for it: the SGP.22
//! `ErrorReason` of ProfileInstallationResult (SGP.22 §5.7.6, BppCommandId
//! loadProfileElements) and the SAIP `PEStatus` code for the `EUICCResponse` that goes
//! into `simaResponse` (SAIP v3.3.1 §8.4, PEDefinitions `PEStatus`).

use crate::sgp22::es10b::ErrorReason;
use thiserror::Error;

/// What was wrong.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SaipErrorKind {
    /// The package is larger than [`super::MAX_PACKAGE_SIZE`].
    #[error("package of {len} bytes exceeds {max}")]
    PackageTooLarge { len: usize, max: usize },
    /// One element is larger than the TLV cap ([`crate::iso7816::tlv::MAX_TLV_SIZE`]).
    #[error("profile element of {len} bytes exceeds {max}")]
    ElementTooLarge { len: usize, max: usize },
    /// More elements than [`super::MAX_ELEMENTS`].
    #[error("more than {max} profile elements")]
    TooManyElements { max: usize },
    /// The bytes are not DER (truncated, bad lengths, too deep).
    #[error("not a well-formed TLV: {0}")]
    Tlv(crate::Error),
    /// The first element is not a ProfileHeader, or a second header follows.
    #[error("the package must start with exactly one ProfileHeader")]
    HeaderPlacement,
    /// No PE-End, or elements after it.
    #[error("the package must end with PE-End")]
    EndPlacement,
    /// A major version this decoder does not read (SAIP v2 and v3 are read).
    #[error("unsupported SAIP major version {0}")]
    UnsupportedVersion(u8),
    /// A mandatory field is absent.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A field has a value the ASN.1 does not allow.
    #[error("bad value: {0}")]
    BadValue(&'static str),
    /// An element marked `mandated` that this eUICC cannot execute.
    #[error("mandated profile element with tag {0:X} is not supported")]
    MandatedNotSupported(u32),
    /// The file system the package describes is inconsistent (path, duplicate FID...).
    #[error("file system: {0}")]
    FileSystem(&'static str),
    /// The header's ICCID is not the one of the profile metadata (StoreMetadata).
    #[error("ICCID of the package differs from the profile metadata")]
    IccidMismatch,
}

/// A refused package: what was wrong, and in which element (index in the package and
/// the PEHeader identification number, when known).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} (element {index:?}, identification {identification:?})")]
pub struct SaipError {
    pub kind: SaipErrorKind,
    pub index: Option<usize>,
    pub identification: Option<u16>,
}

/// SAIP `PEStatus.status` values (PEDefinitions, SAIP v3.3.1 §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PeStatus {
    PeNotSupported = 1,
    BadValues = 3,
    NotEnoughMemory = 4,
    InvalidRequestFormat = 5,
    InvalidParameter = 6,
    UnsupportedProfileVersion = 31,
}

impl SaipError {
    /// An error not yet attributed to an element.
    pub fn new(kind: SaipErrorKind) -> SaipError {
        SaipError {
            kind,
            index: None,
            identification: None,
        }
    }

    /// Attributes the error to element `index` (keeps an earlier attribution).
    pub fn at(mut self, index: usize, identification: Option<u16>) -> SaipError {
        self.index.get_or_insert(index);
        if self.identification.is_none() {
            self.identification = identification;
        }
        self
    }

    /// The SGP.22 `ErrorReason` the card reports in ProfileInstallationResult
    /// (bppCommandId loadProfileElements): sizes are insufficient memory (10), an ICCID
    /// that differs from the metadata is iccidMismatch (13), everything else is a PE
    /// processing error (12). unsupportedProfileClass (6) and pprNotAllowed (15) come
    /// from the metadata checks, not from the package.
    pub fn error_reason(&self) -> ErrorReason {
        match self.kind {
            SaipErrorKind::PackageTooLarge { .. }
            | SaipErrorKind::ElementTooLarge { .. }
            | SaipErrorKind::TooManyElements { .. } => ErrorReason::InsufficientMemoryForProfile,
            SaipErrorKind::IccidMismatch => ErrorReason::IccidMismatch,
            _ => ErrorReason::PeProcessingError,
        }
    }

    /// The `PEStatus.status` for the element that failed.
    pub fn pe_status(&self) -> PeStatus {
        match self.kind {
            SaipErrorKind::PackageTooLarge { .. }
            | SaipErrorKind::ElementTooLarge { .. }
            | SaipErrorKind::TooManyElements { .. } => PeStatus::NotEnoughMemory,
            SaipErrorKind::Tlv(_)
            | SaipErrorKind::HeaderPlacement
            | SaipErrorKind::EndPlacement
            | SaipErrorKind::Missing(_) => PeStatus::InvalidRequestFormat,
            SaipErrorKind::UnsupportedVersion(_) => PeStatus::UnsupportedProfileVersion,
            SaipErrorKind::MandatedNotSupported(_) => PeStatus::PeNotSupported,
            SaipErrorKind::FileSystem(_) => PeStatus::InvalidParameter,
            SaipErrorKind::BadValue(_) | SaipErrorKind::IccidMismatch => PeStatus::BadValues,
        }
    }
}

impl From<crate::Error> for SaipError {
    fn from(e: crate::Error) -> SaipError {
        SaipError::new(SaipErrorKind::Tlv(e))
    }
}

/// Shorthand for a missing field.
pub(crate) fn missing(what: &'static str) -> SaipError {
    SaipError::new(SaipErrorKind::Missing(what))
}

/// Shorthand for a bad value.
pub(crate) fn bad(what: &'static str) -> SaipError {
    SaipError::new(SaipErrorKind::BadValue(what))
}

/// A file-system error of the installer ([`SaipErrorKind::FileSystem`]).
pub(crate) fn fs_err(what: &'static str) -> SaipError {
    SaipError::new(SaipErrorKind::FileSystem(what))
}

pub(crate) const SIZE_TR: &str = "transparent file without size";
pub(crate) const SIZE_REC: &str = "record file without size";
