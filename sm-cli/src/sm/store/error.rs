//! The store's error type: one variant per refusal a caller must tell apart (the CLI
//! turns them into sentences and exit codes), plus wrapped SQLite, PostgreSQL and I/O failures.

use std::path::PathBuf;
use thiserror::Error;

/// Everything the SM store can refuse or fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    /// `create_subscription` for an OP ID that already has a record.
    #[error("a subscription for OP ID {0} already exists")]
    AlreadyExists(String),
    /// Another subscription already uses this ICCID.
    #[error("ICCID {0} is already used by another subscription")]
    IccidInUse(String),
    /// No record for this OP ID.
    #[error("no subscription for OP ID {0}")]
    NotFound(String),
    /// The record is locked after too many failed authentications (spec B.6, C.3);
    /// only an operator's `unlock` clears it.
    #[error("subscription {0} is locked after too many failed authentications; an operator must unlock it")]
    Locked(String),
    /// `unlock` on a record that is not locked.
    #[error("subscription {0} is not locked")]
    NotLocked(String),
    /// `mark_delivered` for a card that is not the subscription's bound device.
    #[error("EID {eid} is not the device bound to {op_id}")]
    NotBoundDevice { op_id: String, eid: String },
    /// `confirm_removal` with nothing pending for that card.
    #[error("no removal of {op_id} is pending on EID {eid}")]
    NoPendingRemoval { op_id: String, eid: String },
    /// The challenge was never issued, or was already used.
    #[error("unknown or already used challenge")]
    ChallengeUnknown,
    /// The challenge was issued but its time ran out.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// The challenge was issued for another card/subscription or another purpose.
    #[error("the challenge was issued for another subject or purpose")]
    ChallengeMismatch,
    /// A caller-supplied value is malformed (empty, too long, wrong length, ...).
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// The database was written by a newer sm-cli.
    #[error("the SM database has schema version {found}, newer than this sm-cli supports ({supported}); use a newer sm-cli")]
    NewerSchema { found: u32, supported: u32 },
    /// A schema step failed; the database stays at the previous version.
    #[error("upgrading the SM database to schema version {version} ({name}) failed: {reason}")]
    Migration {
        version: u32,
        name: &'static str,
        reason: String,
    },
    /// The file is an SQLite database, but not an SM store.
    #[error("{0} is not an SM store database")]
    NotOurDatabase(String),
    /// No data directory to put the default database in.
    #[error("cannot find the user's data directory for the SM database; pass --sm-db PATH")]
    NoDataDir,
    /// A command that needs an existing store found none at the path.
    #[error("there is no SM database at {0}: check --sm-db / SM_CLI_DB (provision creates one)")]
    Missing(String),
    /// The directory of an explicitly given store does not exist.
    #[error("the directory {0} of the SM database does not exist: check --sm-db / SM_CLI_DB")]
    NoDirectory(PathBuf),
    /// The database could not be opened or configured.
    #[error("cannot open the SM database {path}: {reason}")]
    Open { path: String, reason: String },
    /// Creating the database's directory or file failed.
    #[error("cannot create {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A stored value does not decode (the file was edited or damaged).
    #[error("the SM database holds a malformed value: {0}")]
    Corrupt(String),
    /// Any other SQLite failure.
    #[error("SM database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Any other PostgreSQL failure (serialization failures never reach here: the store
    /// re-runs the transaction).
    #[error("SM database error (PostgreSQL): {0}")]
    Postgres(#[from] postgres::Error),
}

impl StoreError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
