//! Lookups and updates use indexes (cost grows with log n, issue 5), and the
//! benchmark run itself (ignored: `cargo test -p sm-cli --release store_scaling --
//! --ignored --nocapture`; `SM_STORE_BENCH_MAX` caps the largest size).

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

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn store_scaling() {
    let max: u64 = std::env::var("SM_STORE_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = TempDir::new("bench");
    let store = Store::open(dir.db()).unwrap();
    let mut have = 0;
    println!("rows\tget_ops\tfail_ops\tpopulate_s\tfile_MiB\tget_mean_us\tget_p50_us\tget_p99_us\tfail_mean_us\tfail_p50_us\tfail_p99_us");
    for rows in [1u64, 10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|&n| n <= max)
    {
        let t = Instant::now();
        bench::populate(&store, have..rows, 10_000).unwrap();
        let populate_s = t.elapsed().as_secs_f64();
        have = rows;
        store
            .sqlite()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        let size = std::fs::metadata(dir.db()).unwrap().len() as f64 / 1_048_576.0;
        let get = bench::time_lookups(&store, rows, 5_000).unwrap();
        let fail = bench::time_record_failures(&store, rows, 500).unwrap();
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        println!(
            "{rows}\t{}\t{}\t{populate_s:.1}\t{size:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.0}\t{:.0}\t{:.0}",
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
}
