//! remote-flow-bench: device-change flows per second with the SM in the terminal
//! (`--sm-db`, one SQLite file shared by every terminal: the baseline) against the SM
//! behind the network (`sm-cli smdp serve`, reached with `sm-cli --sm
//! https://127.0.0.1:PORT`): one server on SQLite, one server on PostgreSQL, two servers
//! on one PostgreSQL, with C flows at once (issue 12, "Benchmark: flows per second
//! against 1 and 2 servers with 1, 4 and 16 cards, SQLite against PostgreSQL"). A
//! benchmark, not a timed test: it prints figures and fails only when a flow fails.
//!
//!     cargo run --release -p system-tests --bin remote-flow-bench -- [--cards 1,4,16]
//!         [--rounds N] [--postgres URL | --no-postgres] [--remote-first] [--json]
//!
//! `--only local,sqlite,postgres,postgres-2` runs some of the setups (without `local`
//! there is no ratio). The PostgreSQL setups run when there is a database: `--postgres URL`
//! (`postgres://USER@HOST:PORT/DB`, the password in `PGPASSWORD`), else
//! `$VEUICC_PG_URL` + `sm` (scripts/pg-up.sh); without one they are skipped (said on
//! stderr). Each PostgreSQL setup gets a fresh schema of that database (`psql` makes and
//! drops it; the servers select it with `?options=-csearch_path%3DNAME`).
//!
//! Needs the stack (scripts/stack-up.sh --cards 0 --slots M) with max(C, 2) free slots for
//! the largest C (16 at most). For each C: N = max(C, 2) card-sims (their own processes,
//! state files, test cards: `--kdf-floor test`), warmed up by one sync each (a card makes
//! its identity key at its first flow). Every setup is then brought up (its store, its
//! servers), each with its own OP IDs, and the same cards run the same story on all of
//! them, interleaved batch by batch: each batch runs on every setup in turn (in round r
//! setup (r + j) mod S goes j-th; the list: local, 1 server SQLite, 1 server PostgreSQL,
//! 2 servers PostgreSQL, reversed by `--remote-first`), so that the load of a shared
//! machine, which drifts, falls on all setups alike:
//! - provision: C records at once, record i on card i (test KDF);
//! - per round r: C device changes at once (record i from card (i+r) mod N to card
//!   (i+r+1) mod N), then a sync on every card at once (the old cards drop the moved
//!   profiles), then C rekeys at once on the new cards (the parameter alternates).
//!
//! With two servers, flow i of each batch goes to server i % 2 (each its own process,
//! both on the same schema). Every flow is one `sm-cli --json` process, as a user runs
//! it. Figures per flow kind and setup: flows per second = flows / the sum of the
//! batches' wall times (first start to last end), the median flow's wall time, for the
//! servers their own time per flow (the sum of their `sm/startFlow` and `sm/stepFlow`
//! request times from their logs), and the flows per second as a ratio to the local
//! SQLite baseline of the same run and card count.

use anyhow::{bail, ensure, Context as _, Result};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use system_tests::bench_args::{self, median};
use system_tests::pg_schema::Schema;
use system_tests::smdp::Server;
use system_tests::{CardOptions, CardSim, Lease, Run, Sm, Stack};

const PARAMS: [&str; 2] = ["31415926", "27182818"];
const KINDS: [&str; 4] = ["provision", "device-change", "sync", "rekey"];

/// The IMEI of card `k`.
fn imei(k: usize) -> String {
    system_tests::sm::imei_of("35693803", k)
}

/// Where the SM is, the four setups of one run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    /// In the terminal: `--sm-db`, one SQLite file all terminals open (the baseline).
    Local,
    /// One `smdp serve` on its own SQLite file.
    OneSqlite,
    /// One `smdp serve` on a fresh PostgreSQL schema.
    OnePostgres,
    /// Two `smdp serve` processes on one fresh PostgreSQL schema; flow i of a batch goes
    /// to server i % 2.
    TwoPostgres,
}

impl Setup {
    const ALL: [Setup; 4] = [
        Setup::Local,
        Setup::OneSqlite,
        Setup::OnePostgres,
        Setup::TwoPostgres,
    ];

    /// Its name for `--only`.
    fn key(self) -> &'static str {
        match self {
            Setup::Local => "local",
            Setup::OneSqlite => "sqlite",
            Setup::OnePostgres => "postgres",
            Setup::TwoPostgres => "postgres-2",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Setup::Local => "local sqlite",
            Setup::OneSqlite => "1 server sqlite",
            Setup::OnePostgres => "1 server postgres",
            Setup::TwoPostgres => "2 servers postgres",
        }
    }

    fn servers(self) -> usize {
        match self {
            Setup::Local => 0,
            Setup::OneSqlite | Setup::OnePostgres => 1,
            Setup::TwoPostgres => 2,
        }
    }

    fn database(self) -> &'static str {
        match self {
            Setup::Local | Setup::OneSqlite => "sqlite",
            Setup::OnePostgres | Setup::TwoPostgres => "postgres",
        }
    }

    /// The first digit of the setup's OP IDs.
    fn digit(self) -> usize {
        match self {
            Setup::Local => 1,
            Setup::OneSqlite => 2,
            Setup::OnePostgres => 3,
            Setup::TwoPostgres => 4,
        }
    }
}

/// One setup, up: the terminals' `Sm` and the servers they reach (none: `--sm-db`).
struct Mode {
    setup: Setup,
    sm: Sm,
    servers: Vec<Server>,
    /// Dropped after the servers (fields drop in order).
    _schema: Option<Schema>,
}

impl Mode {
    fn args<'b>(&self, url: Option<&'b str>, rest: &[&'b str]) -> Vec<&'b str> {
        let mut v = vec!["--json"];
        if let Some(u) = url {
            v.extend(["--sm", u]);
        }
        v.extend(rest);
        v
    }

    /// SIGTERM to each server. One that does not exit 0 is reported, not a failure: the
    /// benchmark fails only when a flow fails, and its flows were done and answered.
    fn stop(self) {
        let Mode {
            setup,
            servers,
            _schema,
            ..
        } = self;
        for server in servers {
            let log = server.log.clone();
            let code = server.stop();
            if code != Some(0) {
                let last = std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .lines()
                    .find(|l| l.contains("panicked") || l.contains("rror"))
                    .unwrap_or("")
                    .to_string();
                eprintln!(
                    "remote-flow-bench: WARNING: {}: smdp serve exited {code:?} on SIGTERM, \
                     not 0, after its flows had finished ({last})",
                    setup.label()
                );
            }
        }
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

/// One flow per (reader, args, stdin), all at once (job i to server i % servers); each
/// must exit 0.
fn at_once(
    mode: &Mode,
    jobs: &[(String, Vec<String>, Option<String>)],
    kind: &mut Kind,
) -> Result<()> {
    let urls: Vec<String> = mode
        .servers
        .iter()
        .map(|s| format!("https://127.0.0.1:{}", s.port))
        .collect();
    let before: Vec<usize> = mode.servers.iter().map(|s| s.requests().len()).collect();
    let start = Instant::now();
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(i, (reader, rest, stdin))| {
                let url = (!urls.is_empty()).then(|| urls[i % urls.len()].as_str());
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
        ensure!(
            run.code == Some(0),
            "{}: a flow failed: {run}",
            mode.setup.label()
        );
        kind.flow_ms.push(run.elapsed.as_secs_f64() * 1e3);
    }
    kind.flows += runs.len();
    kind.wall_s += wall.as_secs_f64();
    if !mode.servers.is_empty() {
        // Give the log writers a moment, then the batch's SM requests on every server.
        std::thread::sleep(Duration::from_millis(50));
        let mine: f64 = mode
            .servers
            .iter()
            .zip(&before)
            .map(|(server, &before)| {
                let reqs = server.requests();
                reqs[before.min(reqs.len())..]
                    .iter()
                    .filter(|r| r.0.starts_with("sm/"))
                    .map(|r| r.2)
                    .sum::<f64>()
            })
            .sum();
        kind.server_ms.push(mine / runs.len() as f64);
    }
    Ok(())
}

/// The setups' turns in round `r`: each goes first once every `m` rounds.
fn turns(m: usize, r: usize) -> impl Iterator<Item = usize> {
    (0..m).map(move |j| (r + j) % m)
}

/// The story on every mode, interleaved: each batch (C provisions, then per round C
/// device changes, N syncs, C rekeys) runs on every mode in turn before the next batch,
/// so that a change in the machine's load falls on all of them alike. Mode k's records
/// have the OP IDs of `tags[k]`.
fn story(
    modes: &[Mode],
    readers: &[String],
    flows: usize,
    rounds: usize,
    tags: &[String],
) -> Result<Vec<[Kind; 4]>> {
    let n = readers.len();
    let m = modes.len();
    let ops: Vec<Vec<String>> = tags
        .iter()
        .map(|tag| (0..flows).map(|i| format!("+86135{tag}{i:04}")).collect())
        .collect();
    let mut kinds: Vec<[Kind; 4]> = (0..m).map(|_| Default::default()).collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for k in turns(m, 0) {
        let jobs: Vec<_> = ops[k]
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
        at_once(&modes[k], &jobs, &mut kinds[k][0])?;
    }
    for r in 0..rounds {
        let (cur, next) = (PARAMS[r % 2], PARAMS[(r + 1) % 2]);
        let target = |i: usize| (i + r + 1) % n;
        for k in turns(m, r) {
            let jobs: Vec<_> = ops[k]
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
            at_once(&modes[k], &jobs, &mut kinds[k][1])?;
        }
        for k in turns(m, r) {
            let jobs: Vec<_> = readers
                .iter()
                .map(|rd| (rd.clone(), s(&["sync"]), None))
                .collect();
            at_once(&modes[k], &jobs, &mut kinds[k][2])?;
        }
        for k in turns(m, r) {
            let jobs: Vec<_> = ops[k]
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
            at_once(&modes[k], &jobs, &mut kinds[k][3])?;
        }
    }
    Ok(kinds)
}

struct Row {
    cards: usize,
    kind: &'static str,
    setup: Setup,
    figures: Kind,
}

fn per_second(k: &Kind) -> f64 {
    k.flows as f64 / k.wall_s
}

/// Brings `setup` up for the run with `flows` cards: its servers (and their fresh
/// schema), or none.
fn mode_up(
    stack: &Stack,
    setup: Setup,
    flows: usize,
    postgres: Option<&str>,
    db_dir: &Path,
) -> Result<Mode> {
    let d = setup.digit();
    // The terminals of a remote setup get a store path that does not exist: a terminal
    // that opened it would fail.
    let terminal_db = match setup {
        Setup::Local => db_dir.join(format!("local-{flows}.sqlite3")),
        _ => db_dir.join("no-such-dir/sm.sqlite3"),
    };
    let (server_db, schema) = match setup {
        Setup::Local => (None, None),
        Setup::OneSqlite => (Some(db_dir.join(format!("server-{flows}.sqlite3"))), None),
        Setup::OnePostgres | Setup::TwoPostgres => {
            let admin = postgres.context("a PostgreSQL setup without --postgres")?;
            let schema = Schema::create(
                admin,
                format!("remote_flow_bench_{}_{flows}_{d}", std::process::id()),
            )?;
            (Some(schema.location()), Some(schema))
        }
    };
    let servers = match &server_db {
        None => Vec::new(),
        Some(db) => (0..setup.servers())
            .map(|k| {
                Server::start(
                    stack,
                    db,
                    &db_dir.join(format!("serve-{flows}-{d}-{k}.log")),
                )
            })
            .collect(),
    };
    Ok(Mode {
        setup,
        sm: Sm::new(stack, &terminal_db),
        servers,
        _schema: schema,
    })
}

fn bench(
    stack: &Stack,
    flows: usize,
    rounds: usize,
    setups: &[Setup],
    postgres: Option<&str>,
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
    // Warm-up, unmeasured: each card makes and saves its identity key at its first flow.
    let warm = Sm::new(stack, &db_dir.join(format!("warm-up-{flows}.sqlite3")));
    for rd in &readers {
        let run = warm.run(&["--json", "-r", rd, "sync"], None);
        ensure!(run.code == Some(0), "warm-up sync failed: {run}");
    }
    let base = std::process::id() % 100;
    let modes: Vec<Mode> = setups
        .iter()
        .map(|&setup| mode_up(stack, setup, flows, postgres, db_dir))
        .collect::<Result<_>>()?;
    let tags: Vec<String> = setups
        .iter()
        .map(|s| format!("{}{flows:02}{base:02}", s.digit()))
        .collect();
    let kinds = story(&modes, &readers, flows, rounds, &tags)?;
    for mode in modes {
        mode.stop();
    }
    let mut rows = Vec::new();
    for (&setup, kinds) in setups.iter().zip(kinds) {
        rows.extend(KINDS.iter().zip(kinds).map(|(kind, figures)| Row {
            cards: flows,
            kind,
            setup,
            figures,
        }));
    }
    Ok(rows)
}

/// The PostgreSQL database of the run: `--postgres URL`, else `$VEUICC_PG_URL` + `sm`
/// (scripts/pg-up.sh), else none; `--no-postgres` turns it off.
fn postgres_url(option: Option<String>, off: bool) -> Option<String> {
    if off {
        return None;
    }
    option.or_else(|| {
        std::env::var("VEUICC_PG_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .map(|u| format!("{u}sm"))
    })
}

/// The server's version (`SHOW server_version`), for the record.
fn server_version(url: &str) -> Result<String> {
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-d",
            url,
            "-c",
            "SHOW server_version",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .context("cannot run psql (the PostgreSQL client; scripts/install-deps.sh)")?;
    ensure!(
        out.status.success(),
        "PostgreSQL (--postgres) does not answer: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

const USAGE: &str = "usage: remote-flow-bench [--cards 1,4,16] [--rounds N] \
                     [--postgres URL | --no-postgres] [--only local,sqlite,postgres,postgres-2] \
                     [--remote-first] [--json]";

fn main() -> Result<()> {
    let mut counts = vec![1usize, 4];
    let mut rounds = 3usize;
    let mut json_out = false;
    let mut remote_first = false;
    let mut pg_option = None;
    let mut no_pg = false;
    let mut only: Option<Vec<Setup>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cards" => counts = bench_args::card_counts(args.next())?,
            "--rounds" => rounds = bench_args::rounds(args.next())?,
            "--postgres" => {
                pg_option = Some(
                    args.next()
                        .filter(|u| !u.trim().is_empty())
                        .context("--postgres wants a database address (postgres://...)")?,
                )
            }
            "--no-postgres" => no_pg = true,
            "--only" => {
                only = Some(
                    args.next()
                        .context("--only wants a list such as local,postgres-2")?
                        .split(',')
                        .map(|k| {
                            Setup::ALL
                                .into_iter()
                                .find(|s| s.key() == k.trim())
                                .with_context(|| {
                                    format!(
                                    "--only: {k:?} is none of local, sqlite, postgres, postgres-2"
                                )
                                })
                        })
                        .collect::<Result<_>>()?,
                )
            }
            "--json" => json_out = true,
            "--remote-first" => remote_first = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let postgres = postgres_url(pg_option, no_pg);
    let mut setups = vec![Setup::Local, Setup::OneSqlite];
    let pg_version = match &postgres {
        Some(url) => {
            setups.extend([Setup::OnePostgres, Setup::TwoPostgres]);
            Some(server_version(url)?)
        }
        None => None,
    };
    if let Some(only) = &only {
        if let Some(s) = only.iter().find(|s| !setups.contains(s)) {
            bail!("--only {}: needs PostgreSQL (--postgres URL)", s.key());
        }
        setups.retain(|s| only.contains(s));
    }
    if remote_first {
        setups.reverse();
    }
    match &pg_version {
        Some(v) => eprintln!("remote-flow-bench: PostgreSQL {v}, a fresh schema per setup"),
        None => eprintln!(
            "remote-flow-bench: no PostgreSQL (--postgres URL or VEUICC_PG_URL): \
             its setups are skipped"
        ),
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
    if !json_out {
        println!(
            "{:>5}  {:<13} {:>5}  {:<18} {:>8} {:>10} {:>15} {:>8}",
            "cards", "flow", "flows", "mode", "flows/s", "median ms", "server ms/flow", "x local"
        );
    }
    for &c in &counts {
        let rows = bench(&stack, c, rounds, &setups, postgres.as_deref(), &dir)?;
        for kind in KINDS {
            let of_kind: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
            let local = of_kind
                .iter()
                .find(|r| r.setup == Setup::Local)
                .map(|r| per_second(&r.figures));
            // Always in one order, the local baseline first, whatever order they ran in.
            let mut ordered = of_kind.clone();
            ordered.sort_by_key(|r| r.setup.digit());
            for row in ordered {
                let per_s = per_second(&row.figures);
                let ratio = local.map(|l| per_s / l).unwrap_or(f64::NAN);
                let mut ms = row.figures.flow_ms.clone();
                let flow_ms = median(&mut ms);
                let mut sm = row.figures.server_ms.clone();
                let server_ms = (!sm.is_empty()).then(|| median(&mut sm));
                if !json_out {
                    println!(
                        "{:>5}  {:<13} {:>5}  {:<18} {:>8.2} {:>10.1} {:>15} {:>8.2}",
                        row.cards,
                        row.kind,
                        row.figures.flows,
                        row.setup.label(),
                        per_s,
                        flow_ms,
                        server_ms.map_or("-".to_string(), |m| format!("{m:.1}")),
                        ratio
                    );
                }
                out.push(json!({
                    "cards": row.cards,
                    "flow": row.kind,
                    "mode": row.setup.label(),
                    "servers": row.setup.servers(),
                    "database": row.setup.database(),
                    "flows": row.figures.flows,
                    "per_second": per_s,
                    "flow_ms_median": flow_ms,
                    "server_ms_per_flow_median": server_ms,
                    "ratio_to_local": ratio,
                }));
            }
        }
    }
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "remote_flow_bench": out,
                "rounds": rounds,
                "postgres_version": pg_version,
                "order": setups.iter().map(|s| s.label()).collect::<Vec<_>>(),
            }))?
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
