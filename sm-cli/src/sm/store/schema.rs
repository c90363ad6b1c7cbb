//! The database schema and its migrations. `PRAGMA user_version` holds the number of
//! the last applied step; [`MIGRATIONS`] lists the steps in order. Each step runs in its
//! own `BEGIN IMMEDIATE` transaction that re-reads the version first, so two sm-cli
//! processes opening a new file at once apply every step exactly once. A database newer
//! than the binary is refused, never downgraded.
//!
//! Rules for new steps: append, never edit a released step (the file
//! `sm-cli/tests/data/sm-v1.sqlite3` is a version-1 database and must keep migrating).

use super::error::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// `PRAGMA application_id` of an SM store ("vSM1"), set by step 1.
pub const APPLICATION_ID: i32 = i32::from_be_bytes(*b"vSM1");

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The `user_version` after this step.
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The schema history, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "subscriptions, bindings, removals, audit, challenges",
        sql: V1,
    },
    Migration {
        version: 2,
        name: "SM-DP+ download orders and ES9+ sessions",
        sql: V2,
    },
];

/// The version this binary writes.
pub fn current_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

const V1: &str = r#"
CREATE TABLE subscriptions (
    op_id                    TEXT PRIMARY KEY NOT NULL,
    iccid                    TEXT NOT NULL UNIQUE,
    imsi                     TEXT NOT NULL,
    msisdn                   TEXT NOT NULL,
    ki                       BLOB NOT NULL CHECK (length(ki) IN (16, 32)),
    opc                      BLOB NOT NULL CHECK (length(opc) IN (16, 32)),
    spn                      TEXT NOT NULL,
    profile_name             TEXT NOT NULL,
    public_key               BLOB NOT NULL,
    kdf_salt                 BLOB NOT NULL,
    kdf_params               BLOB NOT NULL,
    imei                     TEXT NOT NULL,
    eid                      TEXT NOT NULL,
    identity_public_key      BLOB NOT NULL,
    prev_imei                TEXT,
    prev_eid                 TEXT,
    prev_identity_public_key BLOB,
    prev_stopped_at          TEXT,
    failures                 INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    total_failures           INTEGER NOT NULL DEFAULT 0 CHECK (total_failures >= failures),
    locked                   INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    locked_at                TEXT,
    delivery                 TEXT NOT NULL CHECK (delivery IN ('pending', 'delivered')),
    delivered_eid            TEXT,
    delivered_at             TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    CHECK ((locked = 1) = (locked_at IS NOT NULL)),
    CHECK ((delivery = 'delivered') = (delivered_eid IS NOT NULL AND delivered_at IS NOT NULL)),
    CHECK ((prev_eid IS NULL) = (prev_imei IS NULL))
) STRICT;
CREATE INDEX subscriptions_by_eid ON subscriptions (eid);

-- The lifetime failure count only grows (issue 5: counters never go backwards).
CREATE TRIGGER subscriptions_total_failures_monotone
BEFORE UPDATE OF total_failures ON subscriptions
WHEN NEW.total_failures < OLD.total_failures
BEGIN
    SELECT RAISE(ABORT, 'total_failures never decreases');
END;

-- MNO bindings (spec B.7, steps 515-518): at most one active per subscription.
CREATE TABLE bindings (
    id          INTEGER PRIMARY KEY,
    op_id       TEXT NOT NULL REFERENCES subscriptions (op_id),
    imei        TEXT NOT NULL,
    eid         TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'stopped')),
    started_at  TEXT NOT NULL,
    stopped_at  TEXT,
    stop_reason TEXT,
    CHECK ((state = 'stopped') = (stopped_at IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX bindings_one_active ON bindings (op_id) WHERE state = 'active';
CREATE INDEX bindings_by_op ON bindings (op_id, id);

-- Profiles an old card must delete after a device change.
CREATE TABLE removals (
    id                  INTEGER PRIMARY KEY,
    op_id               TEXT NOT NULL REFERENCES subscriptions (op_id),
    iccid               TEXT NOT NULL,
    eid                 TEXT NOT NULL,
    imei                TEXT NOT NULL,
    identity_public_key BLOB NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'cancelled')),
    requested_at        TEXT NOT NULL,
    closed_at           TEXT,
    CHECK ((state = 'pending') = (closed_at IS NULL))
) STRICT;
CREATE UNIQUE INDEX removals_one_pending ON removals (op_id, eid) WHERE state = 'pending';
CREATE INDEX removals_pending_by_eid ON removals (eid) WHERE state = 'pending';

-- Audit log: append-only.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    op_id   TEXT NOT NULL,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    result  TEXT NOT NULL,
    details TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_op ON audit (op_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Outstanding SM challenges (spec "No replay"): single use, expiring.
CREATE TABLE challenges (
    value         BLOB PRIMARY KEY,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('op-id', 'eid')),
    subject       TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    issued_at_ms  INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX challenges_by_expiry ON challenges (expires_at_ms);
"#;

/// The SM-DP+ (issue 11, SGP.22 §3.1.3, §5.6): download orders (one successful download
/// each) and the ES9+ sessions by transactionId, with their expiry, so that a restarted
/// server refuses stale sessions.
const V2: &str = r#"
CREATE TABLE smdp_orders (
    matching_id    TEXT PRIMARY KEY NOT NULL,
    eid            TEXT,
    cc_hash        BLOB CHECK (cc_hash IS NULL OR length(cc_hash) = 32),
    cc_failures    INTEGER NOT NULL DEFAULT 0 CHECK (cc_failures >= 0),
    source         TEXT NOT NULL CHECK (source IN ('subscription', 'package')),
    op_id          TEXT REFERENCES subscriptions (op_id),
    package        BLOB,
    iccid          TEXT NOT NULL,
    smdp_address   TEXT NOT NULL,
    state          TEXT NOT NULL
                   CHECK (state IN ('released', 'bound', 'downloaded', 'failed', 'cancelled')),
    transaction_id BLOB,
    bound_eid      TEXT,
    euicc_cert     BLOB,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK ((source = 'subscription') = (op_id IS NOT NULL)),
    CHECK ((source = 'package') = (package IS NOT NULL)),
    CHECK (state = 'released' OR state = 'cancelled' OR state = 'failed'
           OR transaction_id IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX smdp_orders_by_transaction ON smdp_orders (transaction_id)
    WHERE transaction_id IS NOT NULL;

CREATE TABLE smdp_sessions (
    transaction_id   BLOB PRIMARY KEY NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 16),
    state            TEXT NOT NULL CHECK (state IN ('initiated', 'authenticated', 'bound')),
    server_challenge BLOB NOT NULL CHECK (length(server_challenge) = 16),
    ci_pkid          BLOB NOT NULL,
    matching_id      TEXT,
    eid              TEXT,
    euicc_cert       BLOB,
    smdp_signature2  BLOB,
    cc_required      INTEGER NOT NULL DEFAULT 0 CHECK (cc_required IN (0, 1)),
    created_at_ms    INTEGER NOT NULL,
    expires_at_ms    INTEGER NOT NULL,
    CHECK (state = 'initiated' OR (matching_id IS NOT NULL AND euicc_cert IS NOT NULL
                                   AND smdp_signature2 IS NOT NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX smdp_sessions_by_expiry ON smdp_sessions (expires_at_ms);
"#;

fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("user_version {v}")))
}

fn application_id(conn: &Connection) -> Result<i32, StoreError> {
    Ok(conn.pragma_query_value(None, "application_id", |r| r.get(0))?)
}

/// Refuses files that are SQLite databases of some other program.
fn check_ours(conn: &Connection, version: u32, path: &Path) -> Result<(), StoreError> {
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
        Err(StoreError::NotOurDatabase(path.to_path_buf()))
    }
}

/// Brings the database to the last step of `steps`; returns the resulting version.
/// `path` only names the file in errors.
pub(crate) fn migrate(
    conn: &Connection,
    steps: &[Migration],
    path: &Path,
) -> Result<u32, StoreError> {
    let supported = steps.last().map_or(0, |m| m.version);
    for step in steps {
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let version = user_version(&tx)?;
        check_ours(&tx, version, path)?;
        if version > supported {
            return Err(StoreError::NewerSchema {
                found: version,
                supported,
            });
        }
        if version >= step.version {
            continue; // dropping `tx` ends the read-only transaction
        }
        tx.execute_batch(step.sql)
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
    check_ours(conn, version, path)?;
    if version > supported {
        return Err(StoreError::NewerSchema {
            found: version,
            supported,
        });
    }
    Ok(version)
}
