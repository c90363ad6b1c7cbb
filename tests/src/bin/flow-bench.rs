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

use anyhow::{bail, ensure, Context as _, Result};
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use system_tests::cli::{run_with, Run, COMMAND_TIMEOUT};
use system_tests::hexutil::{hex, sw, up};
use system_tests::pcsc_io::Conn;
use system_tests::{CardOptions, CardSim, Lease, Stack};

const PARAM: &str = "31415926";
const NEW_PARAM: &str = "27182818";
const IMEI_A: &str = "490154203237518";
const IMEI_B: &str = "356938035643809";
const GET_EID_BYTES: &str = "81E2910006BF3E035C015A";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Provision,
    DeviceChange,
    Rekey,
}

impl Flow {
    fn name(self) -> &'static str {
        match self {
            Flow::Provision => "provision",
            Flow::DeviceChange => "device change",
            Flow::Rekey => "rekey",
        }
    }

    /// Signature checks and seals the SM makes (sm-cli/src/sm/service: the sync's
    /// identity proof, then per flow: A possession + identity, seal; B identity +
    /// parameter, seal; C identity + parameter, possession + identity).
    /// Signatures the card makes in the exchanges that derive a key (BF67: possession +
    /// identity; BF68 with parameter: parameter + identity).
    fn card_signatures(self) -> u32 {
        match self {
            Flow::Provision | Flow::DeviceChange => 2,
            Flow::Rekey => 4,
        }
    }

    fn sm_crypto(self) -> (u32, u32) {
        match self {
            Flow::Provision => (3, 1),
            Flow::DeviceChange => (3, 1),
            Flow::Rekey => (5, 0),
        }
    }
}

/// One measured flow.
#[derive(Debug, Clone, Default)]
struct Sample {
    total: f64,
    derivation: f64,
    kdf: f64,
    keygen: f64,
    traffic: f64,
    /// BF69's exchange: the card opens the sealed profile and saves its state (fsync).
    install: f64,
    apdus: f64,
    sm: f64,
    input: f64,
    setup: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Bench {
    stack: Stack,
    db: PathBuf,
    crypto: Option<PathBuf>,
}

impl Bench {
    fn sm(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = Command::new(&self.stack.sm_cli);
        cmd.env_remove("SM_CLI_READER")
            .env_remove("SM_CLI_IMEI")
            .env("SM_CLI_DB", &self.db)
            .env("NO_COLOR", "1");
        run_with(&mut cmd, args, stdin.map(str::as_bytes), COMMAND_TIMEOUT)
    }

    fn json(&self, args: &[&str], stdin: Option<&str>) -> Result<Value> {
        let run = self.sm(args, stdin);
        ensure!(run.code == Some(0), "sm-cli failed: {run}");
        serde_json::from_str(run.stdout.trim()).with_context(|| format!("not JSON: {run}"))
    }

    /// The record's salt and KDF cost name (`test`/`production`).
    fn key_of(&self, op: &str) -> Result<(String, String)> {
        let v = self.json(&["--json", "sm", "show", op], None)?;
        let salt = v["kdf_salt"].as_str().context("no kdf_salt")?.to_string();
        let kdf = v["kdf"].as_str().context("no kdf")?;
        let name = kdf
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        Ok((salt, name))
    }

    /// KDF and key-generation milliseconds of one derivation, redone by crypto_bench.
    fn split(&self, kdf: &str, salt: &str, param: &str) -> Result<Option<(f64, f64)>> {
        let Some(tool) = &self.crypto else {
            return Ok(None);
        };
        let run = run_with(
            &mut Command::new(tool),
            ["split", "--kdf", kdf, "--salt", salt, "--runs", "3"],
            Some(format!("{param}\n").as_bytes()),
            COMMAND_TIMEOUT,
        );
        ensure!(run.code == Some(0), "crypto_bench split failed: {run}");
        let v: Value = serde_json::from_str(run.stdout.trim())?;
        Ok(Some((
            v["kdf_ms"].as_f64().unwrap_or(f64::NAN),
            v["keygen_ms"].as_f64().unwrap_or(f64::NAN),
        )))
    }

    /// Median verify, seal and sign milliseconds (crypto_bench --quick --json).
    fn crypto_costs(&self) -> Result<Option<Costs>> {
        let Some(tool) = &self.crypto else {
            return Ok(None);
        };
        let run = run_with(
            &mut Command::new(tool),
            ["--quick", "--json"],
            None,
            COMMAND_TIMEOUT,
        );
        ensure!(run.code == Some(0), "crypto_bench failed: {run}");
        let v: Value = serde_json::from_str(run.stdout.trim())?;
        let get = |prefix: &str| {
            v["crypto"]
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|r| r["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
                })
                .and_then(|r| r["median_ms"].as_f64())
                .unwrap_or(0.0)
        };
        Ok(Some(Costs {
            verify: get("verify"),
            seal: get("seal"),
            sign: get("sign"),
        }))
    }
}

/// Median costs of single operations, from crypto_bench.
#[derive(Debug, Clone, Copy)]
struct Costs {
    verify: f64,
    seal: f64,
    sign: f64,
}

fn sample(out: &Value, derivations: &[(f64, f64)]) -> Sample {
    let t = &out["timings"];
    let f = |k: &str| t[k].as_f64().unwrap_or(f64::NAN);
    Sample {
        total: f("total_ms"),
        derivation: f("card_key_derivation_ms"),
        kdf: derivations.iter().map(|d| d.0).sum(),
        keygen: derivations.iter().map(|d| d.1).sum(),
        traffic: f("traffic_ms"),
        install: t["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["function"] == "BF69")
            .filter_map(|x| x["apdu_ms"].as_f64())
            .fold(0.0, |a, b| a + b),
        apdus: f("apdus"),
        sm: f("sm_ms"),
        input: f("input_ms"),
        setup: f("setup_ms"),
    }
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

fn crypto_tool() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CRYPTO_BENCH") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join("examples").join("crypto_bench");
    p.is_file().then_some(p)
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
    let floor_bin = std::env::current_exe()?.with_file_name("floor-card");
    let floor = if lease.slots.len() > 2 && floor_bin.is_file() {
        Some(CardSim::start_program(
            &stack,
            lease.slots[2],
            &lease.readers[2],
            stack.scratch_dir("flow-bench-floor"),
            &floor_bin,
            vec![OsString::from("--slot"), lease.slots[2].to_string().into()],
        )?)
    } else {
        eprintln!("flow-bench: no floor-card (needs a third free slot and the floor-card binary)");
        None
    };
    let sm_dir = stack.scratch_dir("flow-bench-sm");
    let crypto = crypto_tool();
    if crypto.is_none() {
        eprintln!(
            "flow-bench: crypto_bench not found (cargo build --release -p apdu --example crypto_bench): \
             no KDF / key-generation split"
        );
    }
    let bench = Bench {
        db: sm_dir.join("sm.sqlite3"),
        stack: stack.clone(),
        crypto,
    };
    let started = Instant::now();
    let rtt = match &floor {
        Some(f) => Some(floor_rtt(&f.reader, if reps == 1 { 300 } else { 2000 })?),
        None => None,
    };
    let costs = bench.crypto_costs()?;

    let (ra, rb) = (a.reader.as_str(), b.reader.as_str());
    // Warm-up, unmeasured: each card makes and saves its identity key at its first flow.
    bench.json(&["--json", "-r", ra, "sync"], None)?;
    bench.json(&["--json", "-r", rb, "sync"], None)?;
    let mut samples: Vec<(Flow, Sample)> = Vec::new();
    let base = std::process::id() % 10_000;
    for r in 0..reps {
        let op = format!("+861340{base:04}{r:04}");
        let stdin = format!("{PARAM}\n");
        let out = bench.json(
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
        let (salt, cost) = bench.key_of(&op)?;
        let d = bench.split(&cost, &salt, PARAM)?;
        samples.push((
            Flow::Provision,
            sample(&out, &d.into_iter().collect::<Vec<_>>()),
        ));

        let out = bench.json(
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
        let d = bench.split(&cost, &salt, PARAM)?;
        samples.push((
            Flow::DeviceChange,
            sample(&out, &d.into_iter().collect::<Vec<_>>()),
        ));
        // The old card removes the moved profile now, outside the measured flows.
        bench.json(&["--json", "-r", ra, "sync"], None)?;

        let out = bench.json(
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
        let (salt2, cost2) = bench.key_of(&op)?;
        let d: Vec<(f64, f64)> = [
            bench.split(&cost, &salt, PARAM)?,
            bench.split(&cost2, &salt2, NEW_PARAM)?,
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

fn report(
    samples: &[(Flow, Sample)],
    rtt: Option<f64>,
    costs: Option<Costs>,
    reps: usize,
    kdf: &str,
    json: bool,
    elapsed: Duration,
) {
    let mut rows = Vec::new();
    for flow in [Flow::Provision, Flow::DeviceChange, Flow::Rekey] {
        let of: Vec<&Sample> = samples
            .iter()
            .filter(|(f, _)| *f == flow)
            .map(|(_, s)| s)
            .collect();
        let m = |g: &dyn Fn(&Sample) -> f64| median(of.iter().map(|s| g(s)).collect());
        let (verifies, seals) = flow.sm_crypto();
        let sm_crypto = costs.map(|c| f64::from(verifies) * c.verify + f64::from(seals) * c.seal);
        // The card's derivation exchanges, measured: its signatures (crypto_bench's sign
        // cost each), the rest split between Argon2id and key generation as the same
        // derivations split when redone by crypto_bench.
        let card_sig = costs.map(|c| f64::from(flow.card_signatures()) * c.sign);
        let work = |s: &Sample| s.derivation - card_sig.unwrap_or(0.0);
        let share = |s: &Sample| s.kdf / (s.kdf + s.keygen);
        let kdf_ms = m(&|s| work(s) * share(s));
        let keygen = m(&|s| work(s) * (1.0 - share(s)));
        let traffic = m(&|s| s.traffic);
        let apdus = m(&|s| s.apdus);
        let sm = m(&|s| s.sm);
        let floor_traffic = rtt.map(|r| r * apdus);
        rows.push(serde_json::json!({
            "flow": flow.name(),
            "total_ms": m(&|s| s.total),
            "card_key_derivation_ms": m(&|s| s.derivation),
            "kdf_ms": card_sig.map(|_| kdf_ms),
            "keygen_ms": card_sig.map(|_| keygen),
            "card_signing_ms": card_sig,
            "kdf_redone_ms": m(&|s| s.kdf),
            "keygen_redone_ms": m(&|s| s.keygen),
            "apdu_traffic_ms": traffic,
            "install_ms": m(&|s| s.install),
            "apdus": apdus,
            "floor_traffic_ms": floor_traffic,
            "traffic_to_floor": floor_traffic.map(|f| traffic / f),
            "sm_ms": sm,
            "sm_crypto_ms": sm_crypto,
            "sm_store_ms": sm_crypto.map(|c| sm - c),
            "input_ms": m(&|s| s.input),
            "setup_ms": m(&|s| s.setup),
        }));
    }
    if json {
        let doc = serde_json::json!({
            "reps": reps, "kdf": kdf, "floor_rtt_ms": rtt, "flows": rows,
            "elapsed_s": elapsed.as_secs_f64(),
        });
        println!("{doc:#}");
        return;
    }
    println!(
        "Device-change flows through pcscd + vpcd, KDF cost '{kdf}', median of {reps} run(s) each \
         ({:.1} s); floor-card round trip {}",
        elapsed.as_secs_f64(),
        rtt.map_or("not measured".into(), |r| format!("{:.3} ms", r))
    );
    let cell = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.1}"));
    let head = [
        "flow", "total", "KDF", "keygen", "card sig", "traffic", "install", "APDUs", "xfloor",
        "SM store", "SM cryp", "setup",
    ];
    let line = |c: &[String]| {
        println!(
            "{:<14} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>7} {:>8} {:>8} {:>7}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
        )
    };
    line(&head.map(String::from));
    for r in &rows {
        line(&[
            r["flow"].as_str().unwrap_or_default().to_string(),
            cell(&r["total_ms"]),
            cell(&r["kdf_ms"]),
            cell(&r["keygen_ms"]),
            cell(&r["card_signing_ms"]),
            cell(&r["apdu_traffic_ms"]),
            cell(&r["install_ms"]),
            cell(&r["apdus"]),
            r["traffic_to_floor"]
                .as_f64()
                .map_or("-".into(), |x| format!("{x:.1}x")),
            cell(&r["sm_store_ms"]),
            cell(&r["sm_crypto_ms"]),
            cell(&r["setup_ms"]),
        ]);
    }
    println!(
        "(milliseconds, medians. KDF + keygen + card sig = the card's key-derivation exchanges as \
         sm-cli measured them; card sig = its signatures at crypto_bench's cost, the rest split \
         between KDF and keygen as the same derivations split when redone by crypto_bench. \
         traffic = every other APDU exchange, of which install = BF69 (the card opens the \
         profile and saves its state). xfloor = traffic / (APDUs x floor-card round trip). \
         SM store = sm-cli's SM time minus its signature checks and sealing (SM cryp).)"
    );
}
