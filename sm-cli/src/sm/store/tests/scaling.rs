//! Lookups and updates use indexes (cost grows with log n, issue 5), and the
//! benchmark run itself (ignored: `cargo test -p sm-cli --release store_scaling --
//! --ignored --nocapture`; `SM_STORE_BENCH_MAX` caps the largest size). It runs on an
//! SQLite file, and also on PostgreSQL when `SM_STORE_BENCH_POSTGRES` names a database
//! (`postgres://USER@HOST:PORT/DB`, the password in `PGPASSWORD`; issue 12, "SM lookups
//! at 1, 10^4 and 10^6 subscriptions on PostgreSQL"): a fresh schema of it, dropped at
//! the end.

use super::*;
use std::time::Instant;

/// Every per-record statement must be an index SEARCH, never a table SCAN (SQLite's
/// plans; the PostgreSQL schema declares the same indexes from the same step list).
#[test]
fn per_record_statements_use_indexes() {
    let store = Store::open_in_memory().unwrap();
    let statements = [
        "SELECT * FROM subscriptions WHERE op_id = '+1'",
        "UPDATE subscriptions SET failures = failures + 1 WHERE op_id = '+1'",
        "SELECT op_id FROM subscriptions WHERE op_id = '+1' OR iccid = '2'",
        "SELECT * FROM subscriptions s WHERE s.eid = '1'",
        "SELECT * FROM removals WHERE state = 'pending' AND eid = '1'",
        "SELECT * FROM removals WHERE state = 'pending' AND op_id = '1'",
        "SELECT * FROM bindings WHERE op_id = '1' ORDER BY id",
        "UPDATE bindings SET state = 'stopped', stopped_at = 'x' WHERE op_id = '1' AND state = 'active'",
        "SELECT * FROM audit WHERE op_id = '1' ORDER BY id",
        "DELETE FROM challenges WHERE value = x'00'",
        "DELETE FROM challenges WHERE expires_at_ms <= 5",
    ];
    for sql in statements {
        let mut stmt = store
            .sqlite()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter().all(|p| !p.starts_with("SCAN")) && !plan.is_empty(),
            "{sql}: {plan:?}"
        );
    }
}

/// Fills `store` to each size up to `max` and prints one line per size; `settle` runs
/// after each fill (outside the timings) and returns the store's size in bytes. Then the
/// floor: an empty read transaction on the full store. Each size's lookups follow 500
/// unmeasured ones.
fn scale(db: &str, store: &Store, max: u64, mut settle: impl FnMut() -> u64) {
    let mut have = 0;
    for rows in [1u64, 10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|&n| n <= max)
    {
        let t = Instant::now();
        bench::populate(store, have..rows, 10_000).unwrap();
        let populate_s = t.elapsed().as_secs_f64();
        have = rows;
        let size = settle() as f64 / 1_048_576.0;
        // Unmeasured: the caches (SQLite's pages, PostgreSQL's buffers and plans) warm.
        bench::time_lookups(store, rows, 500).unwrap();
        let get = bench::time_lookups(store, rows, 5_000).unwrap();
        let fail = bench::time_record_failures(store, rows, 500).unwrap();
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        println!(
            "{db}\t{rows}\t{}\t{}\t{populate_s:.1}\t{size:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.0}\t{:.0}\t{:.0}",
            get.ops,
            fail.ops,
            us(get.mean),
            us(get.median),
            us(get.p99),
            us(fail.mean),
            us(fail.median),
            us(fail.p99)
        );
    }
    let floor = bench::time_empty_reads(store, 5_000).unwrap();
    println!(
        "# {db} floor: an empty read transaction p50 {:.1} us, p99 {:.1} us",
        floor.median.as_secs_f64() * 1e6,
        floor.p99.as_secs_f64() * 1e6
    );
}

/// One line per database and size: `db` (sqlite or postgres), subscriptions, samples,
/// the fill's seconds, the store's size (SQLite: the file after a WAL checkpoint;
/// PostgreSQL: `pg_total_relation_size` of the schema's tables, their indexes and TOAST,
/// after `VACUUM (ANALYZE)` of them, what autovacuum would do after a bulk load), then
/// lookup (`get`) and durable update (`record_failure`) mean, p50 and p99.
#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn store_scaling() {
    let max: u64 = std::env::var("SM_STORE_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("db\trows\tget_ops\tfail_ops\tpopulate_s\tsize_MiB\tget_mean_us\tget_p50_us\tget_p99_us\tfail_mean_us\tfail_p50_us\tfail_p99_us");
    {
        let dir = TempDir::new("bench");
        let store = Store::open(dir.db()).unwrap();
        scale("sqlite", &store, max, || {
            store
                .sqlite()
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
            std::fs::metadata(dir.db()).unwrap().len()
        });
    }
    let Some(admin) = std::env::var("SM_STORE_BENCH_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        println!("# postgres: skipped (SM_STORE_BENCH_POSTGRES is not set)");
        return;
    };
    let schema = TestDb::postgres(&admin, "store_scaling");
    let store = schema.open();
    let location = schema.location();
    let mut client = client(location.to_str().expect("UTF-8 address"));
    let version: String = client.query_one("SHOW server_version", &[]).unwrap().get(0);
    let name: String = client
        .query_one("SELECT current_schema()", &[])
        .unwrap()
        .get(0);
    println!("# postgres: server {version}, schema {name}");
    scale("postgres", &store, max, || {
        let tables: Vec<String> = client
            .query(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        client
            .batch_execute(&format!("VACUUM (ANALYZE) {}", tables.join(", ")))
            .unwrap();
        let bytes: i64 = client
            .query_one(
                "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                &[],
            )
            .unwrap()
            .get(0);
        u64::try_from(bytes).unwrap_or(0)
    });
    drop(store);
    drop(client);
}
