//! Why the card's state cannot be read or written: [`StateError`] for the document
//! itself (persistent.rs), [`StorageError`] for the [`super::Storage`] that keeps it.
//! Each message is a whole sentence with its cause (causes are in the text, not chained
//! as `source`, so that nothing prints twice), so one log line is enough.

use std::io;
use std::path::PathBuf;
use thiserror::Error;

/// A state document that does not read, validate or write.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("not valid JSON: {0}")]
    Json(serde_json::Error),
    #[error("no \"schema\" version number")]
    NoSchema,
    #[error("schema version {found} is not supported (this card-sim reads versions {readable:?})")]
    UnsupportedSchema {
        found: u64,
        readable: &'static [u32],
    },
    #[error("does not match schema version {schema}: {reason}")]
    Mismatch {
        schema: u64,
        reason: serde_json::Error,
    },
    /// An invariant the card relies on does not hold (persistent.rs `validate`).
    #[error("{0}")]
    Invalid(String),
    #[error("the state cannot be written as JSON: {0}")]
    Serialize(serde_json::Error),
}

/// A failed load or save of the persistent state.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("cannot {action} {}: {cause}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error(
        "state file {} is corrupt or of another version; it was left untouched (repair it, \
         or move it away to start a new card): {cause}",
        path.display()
    )]
    Corrupt { path: PathBuf, cause: StateError },
    #[error(
        "state file {} is in use by another card-sim (lock {} is held)",
        path.display(),
        lock.display()
    )]
    InUse { path: PathBuf, lock: PathBuf },
    #[error("the state path {} names no file", .0.display())]
    NoFileName(PathBuf),
    /// The state did not serialize (nothing was written).
    #[error(transparent)]
    State(#[from] StateError),
    /// [`super::MemoryStorage::set_failing`].
    #[error("simulated storage failure")]
    Simulated,
    #[error("memory storage lock poisoned")]
    Poisoned,
}

impl StorageError {
    /// For `map_err`: the I/O error of `action` on `path`.
    pub(super) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.into();
        move |cause| StorageError::Io {
            action,
            path,
            cause,
        }
    }
}
