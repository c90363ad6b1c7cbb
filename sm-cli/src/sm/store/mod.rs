//! The subscription manager's persistent store (issue 3, "The three parties", SM; spec
//! device-change.md, steps A.8, B.4-B.7, C.3-C.4, and "What the text leaves open").
//!
//! One database holds the subscription records, the MNO bindings, the removals old cards
//! still owe, the audit log and the outstanding challenges: an SQLite file (bundled
//! SQLite, no system library; the embedded default) or a PostgreSQL database (issue 12:
//! `--sm-db postgres://...`, for several servers on one store). Pure storage: no card
//! I/O, no cryptography.
//!
//! Durability and concurrency (issue 5, issue 12): every read-modify-write runs in one
//! transaction together with its audit rows, as if alone: SQLite's `BEGIN IMMEDIATE`
//! on a WAL file with `synchronous=FULL` ([`db::sqlite`]), PostgreSQL's SERIALIZABLE
//! with transparent retry ([`db::postgres`]). Parallel processes on one store neither
//! lose updates nor see "database is locked" or a serialization failure.
//!
//! Layout: [`db`] (the two databases behind one interface), [`schema`] (migrations, one
//! list for both), [`model`] (records), [`audit`], [`subscriptions`],
//! [`attempts`] (failure counter and lock, and [`Store::attempt`]: challenge, check and
//! count of a guess in one transaction), [`removals`], [`challenges`], [`orders`] and
//! [`sessions`] (the SM-DP+'s download orders and ES9+ sessions, issue 11), [`bench`]
//! (populate and time, for the benchmarks of issue 5).

pub mod attempts;
pub mod audit;
pub mod bench;
pub mod challenges;
pub mod clock;
pub mod db;
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

/// A fresh store for the tests of other modules: in memory, or a new schema of the
/// `SM_TEST_POSTGRES` database when that is set (the schema is left for the test
/// server's teardown, since the store is handed over by value).
#[cfg(test)]
pub(crate) fn test_store() -> Store {
    tests::leaked_store()
}

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

pub use db::types::IfMissing;
use db::Conn;
use std::path::{Path, PathBuf};

/// Failed authentications that lock a record (spec B.6 and C.3, [0155], [0192]).
pub const MAX_ATTEMPTS: u32 = 3;

pub use db::sqlite::BUSY_TIMEOUT;

/// Directory under the user's data directory, and file name, of the default store.
pub const DEFAULT_DIR: &str = "veuicc";
pub const DEFAULT_FILE: &str = "sm.sqlite3";

/// An open SM store: one database connection. Open one per thread or process.
pub struct Store {
    conn: Conn,
    /// The file, for SQLite stores on disk.
    path: Option<PathBuf>,
    /// The file or the server's address without its password, for messages.
    name: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("name", &self.name).finish()
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
    /// empty store somewhere else. A `postgres://` address opens a PostgreSQL store.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, IfMissing::Create)
    }

    /// Opens the store at `path`, which must exist (commands that only read, or change
    /// records that must be there, never create a store).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path, IfMissing::Refuse)
    }

    /// Opens the store at `path` (a file, or a `postgres://` / `postgresql://` address);
    /// `missing` says what to do when it is not there yet.
    pub fn open_with(path: impl AsRef<Path>, missing: IfMissing) -> Result<Store, StoreError> {
        let path = path.as_ref();
        if let Some(url) = path.to_str().filter(|s| db::pg_connect::is_url(s)) {
            return Store::open_postgres(url, missing);
        }
        let conn = Conn::Sqlite(db::sqlite::open(path, missing)?);
        Store::migrated(conn, Some(path.to_path_buf()), path.display().to_string())
    }

    /// Opens the PostgreSQL store at `url` (libpq's URI form; a password not in it is
    /// taken from `PGPASSWORD`, as libpq does, so it need not appear in `ps`).
    fn open_postgres(url: &str, missing: IfMissing) -> Result<Store, StoreError> {
        let pg = db::postgres::PgConn::connect(url)?;
        let name = pg.name().to_string();
        let conn = Conn::Postgres(Box::new(pg));
        if missing == IfMissing::Refuse && schema::version(&conn)? == 0 {
            return Err(StoreError::Missing(name));
        }
        Store::migrated(conn, None, name)
    }

    /// A private store in memory, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Conn::Sqlite(db::sqlite::open_in_memory()?);
        Store::migrated(conn, None, ":memory:".into())
    }

    fn migrated(conn: Conn, path: Option<PathBuf>, name: String) -> Result<Store, StoreError> {
        schema::migrate(&conn, schema::MIGRATIONS, &name)?;
        Ok(Store { conn, path, name })
    }

    /// The file, or `None` for an in-memory or PostgreSQL store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file or the server's address (without password), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which database holds the store.
    pub fn dialect(&self) -> db::Dialect {
        self.conn.dialect()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::version(&self.conn)
    }

    /// SQLite: `PRAGMA integrity_check` and `foreign_key_check`. PostgreSQL: the
    /// server checks constraints and foreign keys on every write and pages by its own
    /// checksums, so there is nothing for a client to scan; the check reads the schema
    /// version instead, which proves the tables are there and ours. An empty list means
    /// healthy.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let conn = match &self.conn {
            Conn::Sqlite(c) => c,
            Conn::Postgres(_) => {
                self.schema_version()?;
                return Ok(Vec::new());
            }
        };
        let mut problems = Vec::new();
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let line = row?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
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

    /// Runs `f` in one write transaction ([`Conn::write`]): commits if `f` succeeds,
    /// rolls back otherwise. `f` may run more than once (PostgreSQL re-runs it after a
    /// serialization failure), so it must act only through the transaction.
    pub(crate) fn write<T>(
        &self,
        f: impl FnMut(&db::Tx<'_>, &clock::Now) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.write(f)
    }

    /// Deletes what expired, in a transaction of its own ([`Conn::sweep`]).
    pub(crate) fn sweep(&self, sql: &str) -> Result<(), StoreError> {
        self.conn
            .sweep(|tx, now| tx.execute(sql, db::args![now.ms]))
            .map(|_| ())
    }

    /// Runs `f` in one read transaction: a consistent snapshot across its queries.
    pub(crate) fn read<T>(
        &self,
        f: impl FnMut(&db::Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.read(f)
    }
}
