//! Tests of the SM store. The generic ones run on the database [`TestDb`] picks:
//! SQLite (in memory or on temporary files), or, when `SM_TEST_POSTGRES` names a
//! PostgreSQL database (scripts/test.sh starts a server and sets it), a fresh schema of
//! that database per test, dropped afterwards. Tests of SQLite's own behaviour (files,
//! modes, WAL, the busy timeout, the committed v1 file) always use SQLite.

mod attempts;
mod challenges;
mod concurrency;
mod crash;
mod fixture;
mod migrations;
mod opening;
mod scaling;
mod subscriptions;

use super::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A directory removed when dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sm-store-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("sm.sqlite3")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The PostgreSQL database of the test run, if any.
fn postgres_admin() -> Option<String> {
    std::env::var("SM_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A store location for one test: a temporary SQLite file, or a fresh PostgreSQL schema.
pub(super) enum TestDb {
    Sqlite(TempDir),
    Postgres { admin: String, schema: String },
}

impl TestDb {
    /// A new, empty location on the run's database.
    pub fn new(tag: &str) -> TestDb {
        match postgres_admin() {
            Some(admin) => TestDb::postgres(&admin, tag),
            None => TestDb::Sqlite(TempDir::new(tag)),
        }
    }

    /// A fresh schema `t_<tag>_<pid>_<n>` of the PostgreSQL database `admin`.
    pub fn postgres(admin: &str, tag: &str) -> TestDb {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let clean: String = tag
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let schema = format!(
            "t_{clean}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        client(admin)
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .expect("create the test schema");
        TestDb::Postgres {
            admin: admin.to_string(),
            schema,
        }
    }

    /// What `--sm-db` would be: the file, or the address with the schema selected.
    pub fn location(&self) -> PathBuf {
        match self {
            TestDb::Sqlite(dir) => dir.db(),
            TestDb::Postgres { admin, schema } => {
                let sep = if admin.contains('?') { '&' } else { '?' };
                PathBuf::from(format!("{admin}{sep}options=-csearch_path%3D{schema}"))
            }
        }
    }

    /// Opens (creating) the store there.
    pub fn open(&self) -> Store {
        Store::open(self.location()).expect("open the test store")
    }

    /// A connection without the schema (migration tests).
    pub fn raw_conn(&self) -> db::Conn {
        match self {
            TestDb::Sqlite(dir) => {
                db::Conn::Sqlite(db::sqlite::open(&dir.db(), IfMissing::Create).expect("open"))
            }
            TestDb::Postgres { .. } => {
                let url = self.location();
                let url = url.to_str().expect("UTF-8 address");
                db::Conn::Postgres(Box::new(
                    db::postgres::PgConn::connect(url).expect("connect"),
                ))
            }
        }
    }
}

/// A driver client of the PostgreSQL database at `url`, as the store connects (TLS when
/// the address asks for it).
pub(super) fn client(url: &str) -> postgres::Client {
    db::pg_connect::config(url)
        .and_then(|c| db::pg_connect::connect_client(&c, "the test database"))
        .unwrap_or_else(|e| panic!("the test database: {e}"))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin, schema } = self {
            let client = db::pg_connect::config(admin)
                .and_then(|c| db::pg_connect::connect_client(&c, "the test database"));
            if let Ok(mut client) = client {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// A store on a fresh location, dropped (the PostgreSQL schema with it) at the end.
pub(super) struct TestStore {
    store: Store,
    _db: Option<TestDb>,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// A private store: in memory on SQLite, a fresh schema on PostgreSQL.
pub(super) fn fresh_store() -> TestStore {
    if postgres_admin().is_some() {
        let db = TestDb::new("store");
        TestStore {
            store: db.open(),
            _db: Some(db),
        }
    } else {
        TestStore {
            store: Store::open_in_memory().expect("open"),
            _db: None,
        }
    }
}

/// [`super::test_store`]: like [`fresh_store`], the PostgreSQL schema outliving it.
pub(super) fn leaked_store() -> Store {
    let TestStore { store, _db: db } = fresh_store();
    std::mem::forget(db);
    store
}

/// Raw access for tests that break the rules on purpose.
impl Store {
    /// Runs one statement in its own write transaction.
    pub(super) fn raw_execute(&self, sql: &str) -> Result<u64, StoreError> {
        self.write(|tx, _| tx.execute(sql, &[]))
    }

    /// The integer a one-row query returns.
    pub(super) fn raw_count(&self, sql: &str) -> i64 {
        self.read(|tx| tx.query_one(sql, &[], |r| r.get(0)))
            .expect("count")
    }

    /// Makes `event` (`BEFORE UPDATE OF failures ON subscriptions`, ...) on `table`
    /// fail with "injected" when `when` holds: a database that breaks at exactly that
    /// write. [`Store::drop_failure`] repairs it.
    pub(super) fn inject_failure(&self, name: &str, event: &str, table: &str, when: &str) {
        let sql = match self.dialect() {
            db::Dialect::Sqlite => format!(
                "CREATE TRIGGER {name} {event} ON {table} WHEN {when} \
                 BEGIN SELECT RAISE(ABORT, 'injected'); END"
            ),
            db::Dialect::Postgres => format!(
                "CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'injected'; END $$; \
                 CREATE TRIGGER {name} {event} ON {table} FOR EACH ROW WHEN ({when}) \
                 EXECUTE FUNCTION {name}_fn()"
            ),
        };
        self.raw_batch(&sql);
    }

    pub(super) fn drop_failure(&self, name: &str, table: &str) {
        let sql = match self.dialect() {
            db::Dialect::Sqlite => format!("DROP TRIGGER {name}"),
            db::Dialect::Postgres => {
                format!("DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}_fn()")
            }
        };
        self.raw_batch(&sql);
    }

    fn raw_batch(&self, sql: &str) {
        match &self.conn {
            Conn::Sqlite(c) => c.execute_batch(sql).expect("batch"),
            Conn::Postgres(_) => self
                .write(|tx, _| match tx {
                    db::Tx::Postgres(pg) => pg.batch(sql),
                    db::Tx::Sqlite(_) => unreachable!("a PostgreSQL store"),
                })
                .expect("batch"),
        }
    }

    /// The SQLite connection (SQLite-only tests).
    pub(super) fn sqlite(&self) -> &rusqlite::Connection {
        match &self.conn {
            Conn::Sqlite(c) => c,
            Conn::Postgres(_) => panic!("an SQLite-only test on PostgreSQL"),
        }
    }
}

/// A failure of the database itself (as opposed to a refusal of the store).
pub(super) fn is_database_error(e: &StoreError) -> bool {
    matches!(e, StoreError::Sqlite(_) | StoreError::Postgres(_))
}

pub(super) const KI: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
pub(super) const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];

pub(super) fn device(n: u8) -> Device {
    Device {
        imei: format!("35693803564380{n}"),
        eid: format!("8904903200000000000000000000000{n}"),
        identity_public_key: vec![0x30, 0x82, n, n],
    }
}

pub(super) fn key(n: u8) -> KeyMaterial {
    KeyMaterial {
        public_key: vec![0x30, 0x82, 0x01, n],
        kdf_salt: vec![n; 16],
        kdf_params: vec![1, 0, 1, 0, 0, 0, 0, 3, 0, 0, 0, 1],
    }
}

pub(super) fn new_sub(op_id: &str, iccid: &str) -> NewSubscription {
    NewSubscription {
        op_id: op_id.to_string(),
        profile: OperatorProfile {
            iccid: iccid.to_string(),
            imsi: "460001234567890".into(),
            msisdn: op_id.to_string(),
            ki: SecretBytes::from_slice(&KI),
            opc: SecretBytes::from_slice(&OPC),
            spn: "veUICC Mobile".into(),
            profile_name: "veUICC test profile".into(),
        },
        key: key(1),
        device: device(1),
    }
}

pub(super) const OP: &str = "+8613800000001";
pub(super) const ICCID: &str = "8986001234567890123";

/// A fresh store with the subscription `OP` on device 1.
pub(super) fn store_with_sub() -> TestStore {
    let store = fresh_store();
    store
        .create_subscription(&new_sub(OP, ICCID), &Actor::Sm)
        .expect("create");
    store
}

pub(super) fn operator() -> Actor {
    Actor::Operator("alice".into())
}

/// The actions of a record's audit log, in order.
pub(super) fn actions(store: &Store, op_id: &str) -> Vec<String> {
    store
        .audit(op_id)
        .expect("audit")
        .into_iter()
        .map(|e| e.action.as_str().to_string())
        .collect()
}
