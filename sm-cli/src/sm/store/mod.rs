//! The subscription manager's persistent store (issue 3, "The three parties", SM; spec
//! device-change.md, steps A.8, B.4-B.7, C.3-C.4, and "What the text leaves open").
//!
//! One SQLite file (bundled SQLite, no system library) holds the subscription records,
//! the MNO bindings, the removals old cards still owe, the audit log and the
//! outstanding challenges. Pure storage: no card I/O, no cryptography.
//!
//! Durability and concurrency (issue 5): WAL journal with `synchronous=FULL` (a
//! committed change survives a crash of the process or the machine), a 10 s busy
//! timeout, and every read-modify-write in one `BEGIN IMMEDIATE` transaction together
//! with its audit rows, so parallel sm-cli processes on one file neither lose updates
//! nor see "database is locked". Secret columns are overwritten on disk when freed
//! (`secure_delete`). A new file is created with mode 0600, its directory 0700.
//!
//! Layout: [`schema`] (migrations), [`model`] (records), [`audit`], [`subscriptions`],
//! [`attempts`] (failure counter and lock, and [`Store::attempt`]: challenge, check and
//! count of a guess in one transaction), [`removals`], [`challenges`], [`orders`] and
//! [`sessions`] (the SM-DP+'s download orders and ES9+ sessions, issue 11), [`bench`]
//! (populate and time, for the benchmarks of issue 5).

pub mod attempts;
pub mod audit;
pub mod bench;
pub mod challenges;
pub mod clock;
pub mod error;
pub mod model;
pub mod orders;
pub mod removals;
pub mod schema;
pub mod sessions;
pub mod subscriptions;
pub mod validate;

#[cfg(test)]
mod tests;

// The store's public API (re-exported for callers of the sm-cli library).
pub use attempts::{Attempt, AttemptOutcome, Verdict};
pub use audit::{Actor, AuditAction, AuditEntry, AuditResult};
pub use challenges::{Challenge, ChallengeSubject};
pub use error::StoreError;
pub use model::{
    Binding, BindingState, Delivery, Device, FailureOutcome, KeyMaterial, NewSubscription,
    OperatorProfile, PendingRemoval, PreviousDevice, Purpose, SecretBytes, Subscription,
    SubscriptionSummary,
};
pub use orders::{NewOrder, Order, OrderSource, OrderState, MAX_CC_FAILURES};
pub use sessions::{Authenticated, BindRefusal, SessionState, SmdpSession};

use clock::Now;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Failed authentications that lock a record (spec B.6 and C.3, [0155], [0192]).
pub const MAX_ATTEMPTS: u32 = 3;

/// How long a call waits for another process's write transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Directory under the user's data directory, and file name, of the default store.
pub const DEFAULT_DIR: &str = "veuicc";
pub const DEFAULT_FILE: &str = "sm.sqlite3";

/// An open SM store: one SQLite connection. Open one per thread or process.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

/// What [`Store::open_with`] does when the store is not there yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Create the file (mode 0600); its directory must exist.
    Create,
    /// Create the file and its directory (mode 0700): the default location.
    CreateWithDirectory,
    /// Refuse with [`StoreError::Missing`].
    Refuse,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// `$XDG_DATA_HOME/veuicc/sm.sqlite3` (`~/.local/share/veuicc/sm.sqlite3` on Linux;
    /// the platform's data directory elsewhere).
    pub fn default_path() -> Result<PathBuf, StoreError> {
        let base = dirs::data_dir().ok_or(StoreError::NoDataDir)?;
        Ok(base.join(DEFAULT_DIR).join(DEFAULT_FILE))
    }

    /// Opens the store at [`Store::default_path`], creating it and its directory if
    /// needed.
    pub fn open_default() -> Result<Store, StoreError> {
        Store::open_with(Store::default_path()?, IfMissing::CreateWithDirectory)
    }

    /// Opens (creating the file if needed) the store at `path` and brings its schema up
    /// to date. The directory must exist: a typo in it is an error naming it, not a new
    /// empty store somewhere else.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, IfMissing::Create)
    }

    /// Opens the store at `path`, which must exist (commands that only read, or change
    /// records that must be there, never create a store).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, IfMissing::Refuse)
    }

    /// Opens the store at `path`; `missing` says what to do when it is not there yet.
    pub fn open_with(path: impl AsRef<Path>, missing: IfMissing) -> Result<Store, StoreError> {
        let path = path.as_ref();
        match missing {
            IfMissing::Refuse if !path.exists() => {
                return Err(StoreError::Missing(path.to_path_buf()))
            }
            IfMissing::Refuse => {}
            IfMissing::Create => create_private(path, false)?,
            IfMissing::CreateWithDirectory => create_private(path, true)?,
        }
        let open_err = |e: rusqlite::Error| StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode = enable_wal(&conn).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("the file system does not allow WAL mode (got {mode})"),
            });
        }
        Store::configure(conn, Some(path.to_path_buf()))
    }

    /// A private store in memory, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::configure(Connection::open_in_memory()?, None)
    }

    fn configure(conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        let name = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        let open_err = |e: rusqlite::Error| StoreError::Open {
            path: name.clone(),
            reason: e.to_string(),
        };
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        conn.pragma_update(None, "secure_delete", true)
            .map_err(open_err)?;
        schema::migrate(&conn, schema::MIGRATIONS, &name)?;
        Ok(Store { conn, path })
    }

    /// The file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let v: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("user_version {v}")))
    }

    /// `PRAGMA integrity_check` and `foreign_key_check`: an empty list means healthy.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let line = row?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        for row in stmt.query_map([], |r| {
            Ok(format!(
                "foreign key: {} row {:?} -> {}",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?
            ))
        })? {
            problems.push(row?);
        }
        Ok(problems)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction (the write lock is taken first, so
    /// no other writer can slip in between read and write); commits if `f` succeeds,
    /// rolls back otherwise. The clock is read once the lock is held.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &Now) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let now = Now::read();
        let out = f(&tx, &now)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in one read transaction: a consistent snapshot across its queries.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Switches a file to WAL mode (persistent: later opens only read the mode) and
/// returns the resulting mode. The switch needs an exclusive lock, and SQLite answers
/// `SQLITE_BUSY` at once, without its busy handler, when waiting could deadlock (two
/// processes opening a new file together), so contention is retried here until
/// [`BUSY_TIMEOUT`].
fn enable_wal(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        let attempt = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                }
            });
        match attempt {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Creates the file's directory (0700 when we create it) and an empty file with mode
/// 0600 if none exists, so that SQLite, which gives the WAL and shared-memory files the
/// database's mode, never makes the secrets world-readable.
fn create_private(path: &Path, with_directory: bool) -> Result<(), StoreError> {
    let io_err = |p: &Path, source| StoreError::Io {
        path: p.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() && !with_directory {
            return Err(StoreError::NoDirectory(dir.to_path_buf()));
        }
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|e| io_err(dir, e))?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}
