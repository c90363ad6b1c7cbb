//! The database schema and its migrations, one list for both databases: [`MIGRATIONS`]
//! holds each step's SQL for SQLite and for PostgreSQL (`migrations/vN.*.sql`). A
//! database records the last step applied (SQLite: `PRAGMA user_version`; PostgreSQL:
//! the one row of `veuicc_schema`). Each step runs in its own transaction that re-reads
//! the version under a lock first (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction
//! advisory lock), so two sm-cli processes opening a new database at once apply every
//! step exactly once. A database newer than the binary is refused, never downgraded.
//!
//! Rules for new steps: append, never edit a released step (the file
//! `sm-cli/tests/data/sm-v1.sqlite3` is a version-1 database and must keep migrating),
//! and write both dialects of a step together.

use super::db::{Conn, Tx};
use super::error::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// The application id of an SM store ("vSM1"), set by step 1 (SQLite: `PRAGMA
/// application_id`; PostgreSQL: `veuicc_schema.application_id`).
pub const APPLICATION_ID: i32 = i32::from_be_bytes(*b"vSM1");

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The version after this step.
    pub version: u32,
    pub name: &'static str,
    /// The step for SQLite.
    pub sqlite: &'static str,
    /// The same step for PostgreSQL.
    pub postgres: &'static str,
}

/// The schema history, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "subscriptions, bindings, removals, audit, challenges",
        sqlite: include_str!("migrations/v1.sqlite.sql"),
        postgres: include_str!("migrations/v1.postgres.sql"),
    },
    // The SM-DP+ (issue 11, SGP.22 §3.1.3, §5.6): download orders (one successful
    // download each) and the ES9+ sessions by transactionId, with their expiry, so that
    // a restarted server refuses stale sessions.
    Migration {
        version: 2,
        name: "SM-DP+ download orders and ES9+ sessions",
        sqlite: include_str!("migrations/v2.sqlite.sql"),
        postgres: include_str!("migrations/v2.postgres.sql"),
    },
];

/// The version this binary writes.
pub fn current_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the database to the last step of `steps`; returns the resulting version.
/// `name` only names the database in errors.
pub(crate) fn migrate(conn: &Conn, steps: &[Migration], name: &str) -> Result<u32, StoreError> {
    match conn {
        Conn::Sqlite(c) => migrate_sqlite(c, steps, name),
        Conn::Postgres(_) => migrate_postgres(conn, steps, name),
    }
}

/// The version of an open database (0: no schema yet).
pub(crate) fn version(conn: &Conn) -> Result<u32, StoreError> {
    match conn {
        Conn::Sqlite(c) => user_version(c),
        Conn::Postgres(_) => Ok(conn.read(pg_state)?.map_or(0, |(_, v)| v)),
    }
}

fn refuse_newer(version: u32, supported: u32) -> Result<(), StoreError> {
    if version > supported {
        return Err(StoreError::NewerSchema {
            found: version,
            supported,
        });
    }
    Ok(())
}

fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("user_version {v}")))
}

fn application_id(conn: &Connection) -> Result<i32, StoreError> {
    Ok(conn.pragma_query_value(None, "application_id", |r| r.get(0))?)
}

/// Refuses files that are SQLite databases of some other program.
fn check_ours(conn: &Connection, version: u32, name: &str) -> Result<(), StoreError> {
    let ours = if version == 0 {
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        objects == 0
    } else {
        application_id(conn)? == APPLICATION_ID
    };
    if ours {
        Ok(())
    } else {
        Err(StoreError::NotOurDatabase(name.to_string()))
    }
}

/// [`migrate`] for SQLite.
pub(crate) fn migrate_sqlite(
    conn: &Connection,
    steps: &[Migration],
    name: &str,
) -> Result<u32, StoreError> {
    let supported = steps.last().map_or(0, |m| m.version);
    for step in steps {
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let version = user_version(&tx)?;
        check_ours(&tx, version, name)?;
        refuse_newer(version, supported)?;
        if version >= step.version {
            continue; // dropping `tx` ends the read-only transaction
        }
        tx.execute_batch(step.sqlite)
            .map_err(|e| StoreError::Migration {
                version: step.version,
                name: step.name,
                reason: e.to_string(),
            })?;
        if step.version == 1 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        tx.pragma_update(None, "user_version", step.version)?;
        tx.commit()?;
    }
    // Also covers `steps` being empty and a file newer than every step.
    let version = user_version(conn)?;
    check_ours(conn, version, name)?;
    refuse_newer(version, supported)?;
    Ok(version)
}

/// The key of the transaction advisory lock that serializes migrations on PostgreSQL
/// ("vSM1" again: any fixed number works, one per application).
const PG_MIGRATION_LOCK: i64 = APPLICATION_ID as i64;

/// `(application_id, version)` of a PostgreSQL database, `None` before step 1. Refuses
/// a database whose tables are another program's.
fn pg_state(tx: &Tx<'_>) -> Result<Option<(i32, u32)>, StoreError> {
    let meta: Option<String> = tx.query_one(
        "SELECT CAST(to_regclass('veuicc_schema') AS TEXT)",
        &[],
        |r| r.get(0),
    )?;
    if meta.is_none() {
        return Ok(None);
    }
    let (app, version): (i64, i64) = tx.query_one(
        "SELECT application_id, version FROM veuicc_schema",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let app =
        i32::try_from(app).map_err(|_| StoreError::Corrupt(format!("application id {app}")))?;
    let version = u32::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("schema version {version}")))?;
    Ok(Some((app, version)))
}

/// [`migrate`] for PostgreSQL. The tables live in the first schema of the connection's
/// `search_path` (`public` unless the address sets `options=-csearch_path=...`); other
/// programs' tables in the same database are left alone, but a `subscriptions` table
/// without our `veuicc_schema` beside it is refused.
fn migrate_postgres(conn: &Conn, steps: &[Migration], name: &str) -> Result<u32, StoreError> {
    let supported = steps.last().map_or(0, |m| m.version);
    let not_ours = || StoreError::NotOurDatabase(name.to_string());
    for step in steps {
        // READ COMMITTED, not the store's SERIALIZABLE: every statement after the lock
        // must see the steps that the process which held it before us committed.
        conn.read_committed(|tx| {
            tx.query_one(
                "SELECT CAST(pg_advisory_xact_lock(?1) AS TEXT)",
                super::db::args![PG_MIGRATION_LOCK],
                |_| Ok(()),
            )?;
            let version = match pg_state(tx)? {
                Some((app, _)) if app != APPLICATION_ID => return Err(not_ours()),
                Some((_, v)) => v,
                None => {
                    let clash: Option<String> = tx.query_one(
                        "SELECT CAST(to_regclass('subscriptions') AS TEXT)",
                        &[],
                        |r| r.get(0),
                    )?;
                    if clash.is_some() {
                        return Err(not_ours());
                    }
                    0
                }
            };
            refuse_newer(version, supported)?;
            if version >= step.version {
                return Ok(());
            }
            let Tx::Postgres(pg) = tx else {
                return Err(StoreError::Corrupt(
                    "a PostgreSQL migration on SQLite".into(),
                ));
            };
            pg.batch(step.postgres).map_err(|e| StoreError::Migration {
                version: step.version,
                name: step.name,
                reason: e.to_string(),
            })?;
            if version == 0 {
                pg.batch(
                    "CREATE TABLE veuicc_schema (
                         one            BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                         application_id BIGINT NOT NULL,
                         version        BIGINT NOT NULL)",
                )?;
                tx.execute(
                    "INSERT INTO veuicc_schema (application_id, version) VALUES (?1, 0)",
                    super::db::args![i64::from(APPLICATION_ID)],
                )?;
            }
            tx.execute(
                "UPDATE veuicc_schema SET version = ?1",
                super::db::args![step.version],
            )?;
            Ok(())
        })?;
    }
    // Also covers `steps` being empty and a database newer than every step.
    let version = match conn.read(pg_state)? {
        Some((app, _)) if app != APPLICATION_ID => return Err(not_ours()),
        Some((_, v)) => v,
        None => 0,
    };
    refuse_newer(version, supported)?;
    Ok(version)
}
