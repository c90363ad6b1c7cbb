//! remote-flow-bench: device-change flows per second against one remote SM (`sm-cli smdp
//! serve`, reached with `sm-cli --sm https://127.0.0.1:PORT`) against the SM in the
//! terminal (`--sm-db`, one SQLite file shared by every terminal), with C flows at once
//! (issue 12, "Benchmark: flows per second against 1 ... servers with 1, 4 and 16
//! cards"). A benchmark, not a timed test: it prints figures and fails only when a flow
//! fails.
//!
//!     cargo run --release -p system-tests --bin remote-flow-bench -- [--cards 1,4,16]
//!         [--rounds N] [--remote-first] [--json]
//!
//! Needs the stack (scripts/stack-up.sh --cards 0 --slots M) with max(C, 2) free slots for
//! the largest C (16 at most). For each C: N = max(C, 2) card-sims (their own processes,
//! state files, test cards: `--kdf-floor test`), warmed up by one sync each (a card makes
//! its identity key at its first flow). Then the same cards run the same story twice,
//! first with the SM in the terminal (one store file), then against one server (its own
//! process and store; `--remote-first`: the other way round), each with its own OP IDs:
//! - provision: C records at once, record i on card i (test KDF);
//! - per round r: C device changes at once (record i from card (i+r) mod N to card
//!   (i+r+1) mod N), then a sync on every card at once (the old cards drop the moved
//!   profiles), then C rekeys at once on the new cards (the parameter alternates).
//!
//! Every flow is one `sm-cli --json` process, as a user runs it. Figures per flow kind:
//! flows per second = flows / the sum of the rounds' wall times (first start to last end),
//! the median flow's wall time, and for the remote SM the server's own time per flow (the
//! sum of its `sm/startFlow` and `sm/stepFlow` request times from its log).

use anyhow::{bail, ensure, Result};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use system_tests::bench_args::{self, median};
use system_tests::smdp::Server;
use system_tests::{CardOptions, CardSim, Lease, Run, Sm, Stack};

const PARAMS: [&str; 2] = ["31415926", "27182818"];
const KINDS: [&str; 4] = ["provision", "device-change", "sync", "rekey"];

/// The IMEI of card `k`: 14 digits and the Luhn check digit.
fn imei(k: usize) -> String {
    let body = format!("35693803{k:06}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Where the SM is: in the terminal (`--sm-db`, the `Sm`'s store) or behind `--sm URL`.
struct Mode<'a> {
    name: &'static str,
    sm: Sm,
    server: Option<&'a Server>,
}

impl Mode<'_> {
    fn args<'b>(&'b self, url: &'b Option<String>, rest: &[&'b str]) -> Vec<&'b str> {
        let mut v = vec!["--json"];
        if let Some(u) = url {
            v.extend(["--sm", u.as_str()]);
        }
        v.extend(rest);
        v
    }
}

/// One kind's figures in one mode.
#[derive(Default)]
struct Kind {
    flows: usize,
    wall_s: f64,
    flow_ms: Vec<f64>,
    server_ms: Vec<f64>,
}

/// One flow per (reader, args, stdin), all at once; each must exit 0.
fn at_once(
    mode: &Mode,
    jobs: &[(String, Vec<String>, Option<String>)],
    kind: &mut Kind,
) -> Result<()> {
    let url = mode.server.map(|s| format!("https://127.0.0.1:{}", s.port));
    let before = mode.server.map(|s| s.requests().len()).unwrap_or(0);
    let start = Instant::now();
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(reader, rest, stdin)| {
                let url = &url;
                s.spawn(move || {
                    let mut r: Vec<&str> = vec!["-r", reader.as_str()];
                    r.extend(rest.iter().map(String::as_str));
                    mode.sm.run(&mode.args(url, &r), stdin.as_deref())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a flow thread panicked"))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let wall = start.elapsed();
    for run in &runs {
        ensure!(run.code == Some(0), "{}: a flow failed: {run}", mode.name);
        kind.flow_ms.push(run.elapsed.as_secs_f64() * 1e3);
    }
    kind.flows += runs.len();
    kind.wall_s += wall.as_secs_f64();
    if let Some(server) = mode.server {
        // Give the log writer a moment, then the round's SM requests.
        std::thread::sleep(Duration::from_millis(50));
        let reqs = server.requests();
        let mine: f64 = reqs[before.min(reqs.len())..]
            .iter()
            .filter(|r| r.0.starts_with("sm/"))
            .map(|r| r.2)
            .sum();
        kind.server_ms.push(mine / runs.len() as f64);
    }
    Ok(())
}

fn story(
    mode: &Mode,
    readers: &[String],
    flows: usize,
    rounds: usize,
    tag: &str,
) -> Result<[Kind; 4]> {
    let n = readers.len();
    let ops: Vec<String> = (0..flows).map(|i| format!("+86135{tag}{i:04}")).collect();
    let mut kinds: [Kind; 4] = Default::default();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let jobs: Vec<_> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            (
                readers[i].clone(),
                s(&[
                    "provision",
                    "--op-id",
                    op,
                    "--imei",
                    &imei(i),
                    "--param-stdin",
                    "--kdf",
                    "test",
                ]),
                Some(format!("{}\n", PARAMS[0])),
            )
        })
        .collect();
    at_once(mode, &jobs, &mut kinds[0])?;
    for r in 0..rounds {
        let (cur, next) = (PARAMS[r % 2], PARAMS[(r + 1) % 2]);
        let target = |i: usize| (i + r + 1) % n;
        let jobs: Vec<_> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                (
                    readers[target(i)].clone(),
                    s(&[
                        "device-change",
                        "--op-id",
                        op,
                        "--imei",
                        &imei(target(i)),
                        "--param-stdin",
                    ]),
                    Some(format!("{cur}\n")),
                )
            })
            .collect();
        at_once(mode, &jobs, &mut kinds[1])?;
        let jobs: Vec<_> = readers
            .iter()
            .map(|rd| (rd.clone(), s(&["sync"]), None))
            .collect();
        at_once(mode, &jobs, &mut kinds[2])?;
        let jobs: Vec<_> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                (
                    readers[target(i)].clone(),
                    s(&[
                        "rekey",
                        "--op-id",
                        op,
                        "--imei",
                        &imei(target(i)),
                        "--param-stdin",
                        "--new-param-stdin",
                    ]),
                    Some(format!("{cur}\n{next}\n")),
                )
            })
            .collect();
        at_once(mode, &jobs, &mut kinds[3])?;
    }
    Ok(kinds)
}

struct Row {
    cards: usize,
    kind: &'static str,
    local: Kind,
    remote: Kind,
}

fn per_second(k: &Kind) -> f64 {
    k.flows as f64 / k.wall_s
}

fn bench(
    stack: &Stack,
    flows: usize,
    rounds: usize,
    remote_first: bool,
    db_dir: &Path,
) -> Result<Vec<Row>> {
    let n = flows.max(2);
    let lease = Lease::take(stack, n, false)?;
    let name = format!("remote-flow-bench-{flows}");
    let opts = CardOptions::default();
    let sims: Vec<CardSim> = (0..n)
        .map(|i| CardSim::start_on(stack, lease.slots[i], &lease.readers[i], &name, &opts))
        .collect::<Result<_>>()?;
    let readers: Vec<String> = sims.iter().map(|c| c.reader.clone()).collect();
    let local_db = db_dir.join(format!("local-{flows}.sqlite3"));
    let server_db = db_dir.join(format!("server-{flows}.sqlite3"));
    let local = Mode {
        name: "local (--sm-db)",
        sm: Sm::new(stack, &local_db),
        server: None,
    };
    // Warm-up, unmeasured: each card makes and saves its identity key at its first flow.
    for rd in &readers {
        let run = local.sm.run(&["--json", "-r", rd, "sync"], None);
        ensure!(run.code == Some(0), "warm-up sync failed: {run}");
    }
    let base = std::process::id() % 100;
    let local_tag = format!("1{flows:02}{base:02}");
    let mut local_kinds = None;
    if !remote_first {
        local_kinds = Some(story(&local, &readers, flows, rounds, &local_tag)?);
    }
    let server = Server::start(
        stack,
        &server_db,
        &db_dir.join(format!("serve-{flows}.log")),
    );
    // The terminals' store path does not exist: a terminal that opened it would fail.
    let remote = Mode {
        name: "remote (--sm)",
        sm: Sm::new(stack, &db_dir.join("no-such-dir/sm.sqlite3")),
        server: Some(&server),
    };
    let remote_kinds = story(
        &remote,
        &readers,
        flows,
        rounds,
        &format!("2{flows:02}{base:02}"),
    )?;
    let code = server.stop();
    ensure!(code == Some(0), "smdp serve exited {code:?} on SIGTERM");
    let local_kinds = match local_kinds {
        Some(k) => k,
        None => story(&local, &readers, flows, rounds, &local_tag)?,
    };
    Ok(KINDS
        .iter()
        .zip(local_kinds.into_iter().zip(remote_kinds))
        .map(|(kind, (local, remote))| Row {
            cards: flows,
            kind,
            local,
            remote,
        })
        .collect())
}

fn main() -> Result<()> {
    let mut counts = vec![1usize, 4];
    let mut rounds = 3usize;
    let mut json_out = false;
    let mut remote_first = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cards" => counts = bench_args::card_counts(args.next())?,
            "--rounds" => rounds = bench_args::rounds(args.next())?,
            "--json" => json_out = true,
            "--remote-first" => remote_first = true,
            "-h" | "--help" => {
                println!("usage: remote-flow-bench [--cards 1,4,16] [--rounds N] [--remote-first] [--json]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let stack = Stack::discover().map_err(anyhow::Error::msg)?;
    let free = stack.test_slots().len();
    let most = counts.iter().copied().max().unwrap_or(1).max(2);
    ensure!(
        free >= most,
        "remote-flow-bench needs {most} free vpcd slots, the stack offers {free} (stack-up.sh --slots)"
    );
    let dir = stack.scratch_dir("remote-flow-bench");
    let mut out = Vec::new();
    for &c in &counts {
        let rows = bench(&stack, c, rounds, remote_first, &dir)?;
        for row in rows {
            let (l, r) = (per_second(&row.local), per_second(&row.remote));
            let (mut lm, mut rm) = (row.local.flow_ms.clone(), row.remote.flow_ms.clone());
            let mut sm = row.remote.server_ms.clone();
            let (lm, rm, sm) = (median(&mut lm), median(&mut rm), median(&mut sm));
            if !json_out {
                println!(
                    "{:>3} at once, {:<13} {:>3} flows: local {:>6.2}/s ({:>6.1} ms each), \
                     remote {:>6.2}/s ({:>6.1} ms each, the server's own {:>5.1} ms): \
                     remote/local {:.2}",
                    row.cards,
                    row.kind,
                    row.local.flows,
                    l,
                    lm,
                    r,
                    rm,
                    sm,
                    r / l
                );
            }
            out.push(json!({
                "cards": row.cards,
                "flow": row.kind,
                "flows": row.local.flows,
                "local_per_second": l,
                "remote_per_second": r,
                "ratio_remote_local": r / l,
                "local_flow_ms_median": lm,
                "remote_flow_ms_median": rm,
                "server_ms_per_flow_median": sm,
            }));
        }
    }
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "remote_flow_bench": out }))?
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
