//! flow-bench: where the time of each device-change flow goes (issue 5, "Benchmarks":
//! "each flow (provision, device change, rekey) split into KDF, key generation, SM store
//! and APDU traffic"). A benchmark, not a timed test: it prints figures and fails only
//! when a flow fails.
//!
//!     cargo run --release -p system-tests --bin flow-bench -- [--quick | --reps N]
//!         [--kdf production|test] [--json]
//!
//! Needs the stack (scripts/stack-up.sh) and, for the KDF / key-generation split, the
//! apdu example `crypto_bench` (`cargo build --release -p apdu --example crypto_bench`;
//! found next to this binary under `examples/`, or at `$CRYPTO_BENCH`).
//!
//! Two card-sim processes (state files, like a user's cards) and, on a third free slot,
//! the floor-card (answers 90 00 to everything). Each repetition runs, with sm-cli
//! `--json` and one SM store file: provision on card A, device change to card B, rekey on
//! card B (then an unmeasured sync of A). sm-cli reports per flow (sm-cli/src/terminal/
//! timing.rs): the card's key-derivation exchanges, the other APDU traffic and its APDU
//! count, the SM's own time, input and set-up. This tool splits the derivation exchanges:
//! the card's signatures at `crypto_bench`'s signing cost, the rest between Argon2id and
//! RSA key generation in the proportion the same derivations take when redone by
//! `crypto_bench split` (the record's salt and cost from `sm show`, the same parameter:
//! key generation from a seed is deterministic, so it is the same work). It takes the
//! SM's signature checks and sealing out of the SM's time with `crypto_bench`'s figures
//! (what remains is the SM store: its durable transactions), and compares the APDU
//! traffic with the same number of round trips to the floor-card, measured in the same
//! run. The cards are warmed up first (each makes its identity key at its first flow).

mod crypto;
mod report;

use anyhow::{bail, ensure, Context as _, Result};
use crypto::CryptoBench;
use report::{median, report, sample, Flow, Sample};
use serde_json::Value;
use std::time::Instant;
use system_tests::hexutil::{hex, sw, up};
use system_tests::pcsc_io::Conn;
use system_tests::{CardOptions, CardSim, Lease, Sm, Stack};

const PARAM: &str = "31415926";
const NEW_PARAM: &str = "27182818";
const IMEI_A: &str = "490154203237518";
const IMEI_B: &str = "356938035643809";
const GET_EID_BYTES: &str = "81E2910006BF3E035C015A";

/// sm-cli `--json` with the benchmark's SM store.
fn sm_json(sm: &Sm, args: &[&str], stdin: Option<&str>) -> Result<Value> {
    let run = sm.run(args, stdin);
    ensure!(run.code == Some(0), "sm-cli failed: {run}");
    serde_json::from_str(run.stdout.trim()).with_context(|| format!("not JSON: {run}"))
}

/// The record's salt and KDF cost name (`test`/`production`).
fn key_of(sm: &Sm, op: &str) -> Result<(String, String)> {
    let v = sm_json(sm, &["--json", "sm", "show", op], None)?;
    let salt = v["kdf_salt"].as_str().context("no kdf_salt")?.to_string();
    let kdf = v["kdf"].as_str().context("no kdf")?;
    let name = kdf
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    Ok((salt, name))
}

/// Median of `n` GetEID-byte round trips to the floor-card, in milliseconds.
fn floor_rtt(reader: &str, n: usize) -> Result<f64> {
    let conn = Conn::connect(reader)?;
    let apdu = hex(GET_EID_BYTES);
    let mut v = Vec::with_capacity(n);
    for _ in 0..n + n / 10 {
        let t = Instant::now();
        let r = conn.transmit(&apdu)?;
        v.push(t.elapsed().as_secs_f64() * 1e3);
        ensure!(sw(&r) == 0x9000, "the floor-card answered {}", up(&r));
    }
    conn.close()?;
    Ok(median(v.split_off(n / 10)))
}

fn main() -> Result<()> {
    let mut reps = 5usize;
    let mut kdf = "production".to_string();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => reps = 1,
            "--reps" => {
                reps = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("--reps wants a positive number")?
            }
            "--kdf" => {
                kdf = args.next().context("--kdf wants production or test")?;
                ensure!(
                    kdf == "production" || kdf == "test",
                    "--kdf production|test"
                );
            }
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: flow-bench [--quick | --reps N] [--kdf production|test] [--json]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let stack = Stack::discover().map_err(anyhow::Error::msg)?;
    let free = stack.test_slots().len();
    ensure!(
        free >= 2,
        "flow-bench needs 2 free vpcd slots (3 for the floor), the stack offers {free}"
    );
    let lease = Lease::take(&stack, free.min(3), false)?;
    let opts = CardOptions::default();
    let a = CardSim::start_on(
        &stack,
        lease.slots[0],
        &lease.readers[0],
        "flow-bench-a",
        &opts,
    )?;
    let b = CardSim::start_on(
        &stack,
        lease.slots[1],
        &lease.readers[1],
        "flow-bench-b",
        &opts,
    )?;
    let floor = if lease.slots.len() > 2 {
        CardSim::start_floor(
            &stack,
            lease.slots[2],
            &lease.readers[2],
            "flow-bench-floor",
        )?
    } else {
        None
    };
    if floor.is_none() {
        eprintln!("flow-bench: no floor-card (needs a third free slot and the floor-card binary)");
    }
    let sm_dir = stack.scratch_dir("flow-bench-sm");
    let crypto = CryptoBench::find();
    if !crypto.found() {
        eprintln!(
            "flow-bench: crypto_bench not found (cargo build --release -p apdu --example crypto_bench): \
             no KDF / key-generation split"
        );
    }
    let sm = Sm::new(&stack, &sm_dir.join("sm.sqlite3"));
    let started = Instant::now();
    let rtt = match &floor {
        Some(f) => Some(floor_rtt(&f.reader, if reps == 1 { 300 } else { 2000 })?),
        None => None,
    };
    let costs = crypto.costs()?;

    let (ra, rb) = (a.reader.as_str(), b.reader.as_str());
    // Warm-up, unmeasured: each card makes and saves its identity key at its first flow.
    sm_json(&sm, &["--json", "-r", ra, "sync"], None)?;
    sm_json(&sm, &["--json", "-r", rb, "sync"], None)?;
    let mut samples: Vec<(Flow, Sample)> = Vec::new();
    let base = std::process::id() % 10_000;
    for r in 0..reps {
        let op = format!("+861340{base:04}{r:04}");
        let stdin = format!("{PARAM}\n");
        let out = sm_json(
            &sm,
            &[
                "--json",
                "-r",
                ra,
                "provision",
                "--op-id",
                &op,
                "--imei",
                IMEI_A,
                "--param-stdin",
                "--kdf",
                &kdf,
            ],
            Some(&stdin),
        )?;
        let (salt, cost) = key_of(&sm, &op)?;
        let d = crypto.split(&cost, &salt, PARAM)?;
        samples.push((
            Flow::Provision,
            sample(&out, &d.into_iter().collect::<Vec<_>>()),
        ));

        let out = sm_json(
            &sm,
            &[
                "--json",
                "-r",
                rb,
                "device-change",
                "--op-id",
                &op,
                "--imei",
                IMEI_B,
                "--param-stdin",
            ],
            Some(&stdin),
        )?;
        let d = crypto.split(&cost, &salt, PARAM)?;
        samples.push((
            Flow::DeviceChange,
            sample(&out, &d.into_iter().collect::<Vec<_>>()),
        ));
        // The old card removes the moved profile now, outside the measured flows.
        sm_json(&sm, &["--json", "-r", ra, "sync"], None)?;

        let out = sm_json(
            &sm,
            &[
                "--json",
                "-r",
                rb,
                "rekey",
                "--op-id",
                &op,
                "--imei",
                IMEI_B,
                "--param-stdin",
                "--new-param-stdin",
            ],
            Some(&format!("{PARAM}\n{NEW_PARAM}\n")),
        )?;
        let (salt2, cost2) = key_of(&sm, &op)?;
        let d: Vec<(f64, f64)> = [
            crypto.split(&cost, &salt, PARAM)?,
            crypto.split(&cost2, &salt2, NEW_PARAM)?,
        ]
        .into_iter()
        .flatten()
        .collect();
        samples.push((Flow::Rekey, sample(&out, &d)));
    }
    report(&samples, rtt, costs, reps, &kdf, json, started.elapsed());
    drop(floor);
    drop(b);
    drop(a);
    let _ = std::fs::remove_dir_all(&sm_dir);
    Ok(())
}
