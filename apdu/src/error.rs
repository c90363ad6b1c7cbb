//! The decoding error of this crate: what went wrong when bytes did not make a message.
//! It implements `std::error::Error`, so it works with `?` and `anyhow`.

use thiserror::Error;

/// Why bytes could not be decoded (or, [`Error::InvalidTag`], encoded).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("TLV data of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("TLV nesting deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("TLV data truncated")]
    Truncated,
    #[error("malformed TLV: {0}")]
    Malformed(&'static str),
    #[error("expected tag {expected:X}, found {found:X}")]
    UnexpectedTag { expected: u32, found: u32 },
    #[error("missing mandatory tag {0:X}")]
    MissingTag(u32),
    #[error("invalid value in tag {tag:X}: {reason}")]
    InvalidValue { tag: u32, reason: &'static str },
    /// A tag number that is no valid BER-TLV tag of the kind asked for (encoding side).
    #[error("{0:X} is not a valid tag for this TLV")]
    InvalidTag(u32),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
