//! Opening, schema migrations and refusals of foreign or newer databases.

use super::*;
use rusqlite::Connection;

#[test]
fn a_new_store_is_at_the_current_version() {
    let store = fresh_store();
    assert_eq!(store.schema_version().unwrap(), schema::current_version());
    // 2: the SM-DP+'s orders and sessions (issue 11).
    assert_eq!(schema::current_version(), 2);
    assert!(store.integrity_check().unwrap().is_empty());
}

#[test]
fn a_new_file_is_private_wal_and_ours() {
    let dir = TempDir::new("new-file");
    let path = dir.path().join("nested").join("veuicc").join("sm.sqlite3");
    // The default location's way: the directories are made (0700).
    let store = Store::open_with(&path, IfMissing::CreateWithDirectory).unwrap();
    assert_eq!(store.path(), Some(path.as_path()));
    let mode: String = store
        .sqlite()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = store
        .sqlite()
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "FULL");
    let fk: i64 = store
        .sqlite()
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let app: i32 = store
        .sqlite()
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app, schema::APPLICATION_ID);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(file, 0o600);
        let parent = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(parent, 0o700);
    }
}

#[test]
fn the_default_path_is_under_the_data_directory() {
    let p = Store::default_path().unwrap();
    assert!(p.ends_with("veuicc/sm.sqlite3"), "{}", p.display());
    if let Some(data) = dirs::data_dir() {
        assert!(p.starts_with(data));
    }
}

#[test]
fn a_newer_database_is_refused() {
    let dir = TempDir::new("newer");
    drop(Store::open(dir.db()).unwrap());
    let raw = Connection::open(dir.db()).unwrap();
    raw.pragma_update(None, "user_version", 99).unwrap();
    drop(raw);
    match Store::open(dir.db()) {
        Err(StoreError::NewerSchema {
            found: 99,
            supported: 2,
        }) => {}
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn foreign_and_damaged_files_are_refused_cleanly() {
    let dir = TempDir::new("foreign");
    let other = dir.path().join("other.sqlite3");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hello');")
        .unwrap();
    assert!(matches!(
        Store::open(&other),
        Err(StoreError::NotOurDatabase(_))
    ));
    let raw = Connection::open(&other).unwrap();
    raw.pragma_update(None, "user_version", 1).unwrap();
    drop(raw);
    assert!(matches!(
        Store::open(&other),
        Err(StoreError::NotOurDatabase(_))
    ));

    let garbage = dir.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let err = Store::open(&garbage).unwrap_err();
    assert!(err.to_string().contains("garbage.sqlite3"), "{err}");

    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    assert!(Store::open(not_a_dir.join("sm.sqlite3")).is_err());
}

const V2_TEST: schema::Migration = schema::Migration {
    version: 2,
    name: "test: add a column",
    sqlite: "ALTER TABLE subscriptions ADD COLUMN note TEXT NOT NULL DEFAULT '';",
    postgres: "ALTER TABLE subscriptions ADD COLUMN note TEXT NOT NULL DEFAULT '';",
};

#[test]
fn steps_apply_in_order_and_only_once() {
    let db = TestDb::new("steps");
    let conn = db.raw_conn();
    let steps = [schema::MIGRATIONS[0], V2_TEST];
    assert_eq!(schema::migrate(&conn, &steps[..1], "test").unwrap(), 1);
    assert_eq!(schema::migrate(&conn, &steps, "test").unwrap(), 2);
    assert_eq!(
        schema::migrate(&conn, &steps, "test").unwrap(),
        2,
        "idempotent"
    );
    conn.read(|tx| tx.query_opt("SELECT note FROM subscriptions", &[], |_| Ok(())))
        .expect("the column of step 2");
    // The binary that only knows step 1 now refuses this database.
    assert!(matches!(
        schema::migrate(&conn, &steps[..1], "test"),
        Err(StoreError::NewerSchema {
            found: 2,
            supported: 1
        })
    ));
}

#[test]
fn a_failing_step_leaves_the_previous_version_intact() {
    let db = TestDb::new("broken-step");
    let conn = db.raw_conn();
    let broken = schema::Migration {
        version: 2,
        name: "test: broken",
        sqlite: "CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);",
        postgres: "CREATE TABLE half (x BIGINT); INSERT INTO no_such_table VALUES (1);",
    };
    assert!(matches!(
        schema::migrate(&conn, &[schema::MIGRATIONS[0], broken], "test"),
        Err(StoreError::Migration {
            version: 2,
            name: "test: broken",
            ..
        })
    ));
    assert_eq!(schema::version(&conn).unwrap(), 1);
    let half = conn.read(|tx| tx.query_opt("SELECT count(*) FROM half", &[], |_| Ok(())));
    assert!(half.is_err(), "the failed step was rolled back as a whole");
}
