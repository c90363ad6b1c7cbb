//! Benchmark helpers for the SM store (issue 5, "SM store cost for 1, 10^4 and 10^6
//! subscriptions"): fill a store with synthetic subscriptions quickly and time the two
//! operations every flow performs, lookup (`get`) and update (`record_failure`), on
//! either database (issue 12), with the floor of both: an empty read transaction.
//! Synthetic records carry fixed fake secrets; never use them for a real network.

use super::audit::Actor;
use super::db::{Dialect, Tx};
use super::error::StoreError;
use super::model::{Device, KeyMaterial, NewSubscription, OperatorProfile, Purpose, SecretBytes};
use super::subscriptions;
use super::Store;
use std::time::{Duration, Instant};

/// OP ID of synthetic subscription `i` (a number in the `+99` test range).
pub fn bench_op_id(i: u64) -> String {
    format!("+99{i:013}")
}

/// Synthetic subscription `i`: distinct OP ID, ICCID, IMSI, IMEI and EID.
pub fn sample_subscription(i: u64) -> NewSubscription {
    NewSubscription {
        op_id: bench_op_id(i),
        profile: OperatorProfile {
            iccid: format!("8999{i:015}"),
            imsi: format!("99999{i:010}"),
            msisdn: bench_op_id(i),
            ki: SecretBytes::from_slice(&[0x11; 16]),
            opc: SecretBytes::from_slice(&[0x22; 16]),
            spn: "Bench".into(),
            profile_name: format!("Bench {i}"),
        },
        key: KeyMaterial {
            public_key: vec![0x30; 294],
            kdf_salt: vec![0x5a; 16],
            kdf_params: vec![1, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1],
        },
        device: Device {
            imei: format!("35{i:013}"),
            eid: format!("8904{i:028}"),
            identity_public_key: vec![0x31; 294],
        },
    }
}

/// Inserts synthetic subscriptions `range` (with their binding and audit rows, as
/// `create_subscription` writes them), `batch` per transaction.
///
/// PostgreSQL: after each batch an `ANALYZE` of the tables written, and a batch never
/// larger than the rows already there (taken to be the next index: the benchmarks fill a
/// store from 0), nor smaller than 1000. A connection's cached plans (its prepared statements' generic plans and the
/// foreign-key triggers' plans) are made from the table statistics of the moment and
/// kept until the statistics change: planned on an empty table they scan it, and one
/// transaction inserting 10^4 rows into a nearly empty table then reads every earlier
/// row for each new one (measured: 31 s for the first 10^4, 10^8 rows scanned).
/// Autovacuum's ANALYZE does this in a real database; a bulk load has to do it itself.
pub fn populate(store: &Store, range: std::ops::Range<u64>, batch: u64) -> Result<(), StoreError> {
    let batch = batch.max(1);
    let postgres = store.dialect() == Dialect::Postgres;
    let mut start = range.start;
    while start < range.end {
        let step = if postgres {
            batch.min(start.max(1_000))
        } else {
            batch
        };
        let end = range.end.min(start.saturating_add(step));
        store.write(|tx, now| {
            for i in start..end {
                subscriptions::insert(tx, now, &sample_subscription(i), &Actor::Sm)?;
            }
            Ok(())
        })?;
        if postgres {
            store.write(|tx, _| match tx {
                Tx::Postgres(pg) => pg.batch("ANALYZE subscriptions, bindings, audit"),
                Tx::Sqlite(_) => Ok(()),
            })?;
        }
        start = end;
    }
    Ok(())
}

/// Per-operation latency over a run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub ops: u32,
    pub mean: Duration,
    pub median: Duration,
    pub p99: Duration,
}

fn summarize(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    let n = samples.len();
    let total: Duration = samples.iter().sum();
    let at = |q: usize| samples.get((n * q / 100).min(n.saturating_sub(1))).copied();
    Timing {
        ops: u32::try_from(n).unwrap_or(u32::MAX),
        mean: if n == 0 {
            Duration::ZERO
        } else {
            total / u32::try_from(n).unwrap_or(u32::MAX)
        },
        median: at(50).unwrap_or_default(),
        p99: at(99).unwrap_or_default(),
    }
}

/// A small deterministic generator for spreading samples over the rows.
fn next_index(state: &mut u64, rows: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % rows.max(1)
}

/// Times `op` on `ops` synthetic records among the first `rows`, picked by the
/// generator seeded with `seed`.
fn time_each(
    rows: u64,
    ops: u32,
    mut seed: u64,
    mut op: impl FnMut(&str) -> Result<(), StoreError>,
) -> Result<Timing, StoreError> {
    let mut samples = Vec::with_capacity(ops as usize);
    for _ in 0..ops {
        let id = bench_op_id(next_index(&mut seed, rows));
        let t = Instant::now();
        op(&id)?;
        samples.push(t.elapsed());
    }
    Ok(summarize(samples))
}

/// Times `get` of `ops` random synthetic records among the first `rows`.
pub fn time_lookups(store: &Store, rows: u64, ops: u32) -> Result<Timing, StoreError> {
    time_each(rows, ops, 0x9e37_79b9_7f4a_7c15, |id| {
        match store.get(id)? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(id.to_string())),
        }
    })
}

/// Times `record_failure` (one durable transaction each) on `ops` random synthetic
/// records among the first `rows`, with a limit high enough never to lock.
pub fn time_record_failures(store: &Store, rows: u64, ops: u32) -> Result<Timing, StoreError> {
    time_each(rows, ops, 0x2545_f491_4f6c_dd1d, |id| {
        store
            .record_failure(id, &Actor::Sm, Purpose::DeviceChange, u32::MAX)
            .map(drop)
    })
}

/// Times `ops` empty read transactions (begin, commit): what every lookup costs before
/// its query, in process for SQLite, two round trips to the server for PostgreSQL.
pub fn time_empty_reads(store: &Store, ops: u32) -> Result<Timing, StoreError> {
    time_each(1, ops, 1, |_| store.read(|_| Ok(())))
}
