//! smdp-bench: SGP.22 profile downloads per second against one `sm-cli smdp serve`
//! (issue 11, "Benchmark: downloads per second against one server with 1, 4 and 16
//! cards, and where the time goes"). A benchmark, not a timed test: it prints figures and
//! fails only when a download fails.
//!
//!     cargo run --release -p system-tests --bin smdp-bench -- [--cards 1,4,16] [--rounds N] [--json]
//!
//! Needs the stack (scripts/stack-up.sh --cards 0 --slots M) with as many free slots as
//! the largest card count (16 at most: pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS). For
//! each card count C: C card-sims (their
//! own processes, state files) and one server (its own process, its own SM store file);
//! each card gets a record by a provision (flow A), then in each round every card
//! deletes its copy of the profile, an order is made for its EID, and all C cards
//! download at once, each with `sm-cli -r CARD profiles download` (a process per
//! download, as a user runs it: TLS handshake, ES9+ and ES10b, the PIR delivered and
//! removed). Figures: the round's wall time (first start to last end) -> downloads per
//! second; each download's wall time; and the server's share, the sum of its own
//! request times from its log (initiateAuthentication, authenticateClient,
//! getBoundProfilePackage, handleNotification: JSON, signatures, the BPP, the store),
//! against the download's wall time; and the LPA's own split (`profiles download
//! --json`, "timing"): ES10b on the card through PC/SC, ES9+ over HTTPS (TLS included;
//! minus the server's time, that is TLS, HTTP and the client), and the process's start
//! and exit (the wall time the LPA's clock does not see).

use anyhow::{bail, ensure, Result};
use serde_json::json;
use std::time::{Duration, Instant};
use system_tests::bench_args::{self, median};
use system_tests::smdp::{download, order, provision, sm_run, Server};
use system_tests::{CardOptions, CardSim, Lease, Stack};

const IMEI: &str = "490154203237518";
const PARAM: &str = "123456";

struct Figures {
    cards: usize,
    downloads: usize,
    per_second: f64,
    download_ms: f64,
    server_ms: f64,
    /// Medians of the LPA's own `timing` (`profiles download --json`): ES10b through
    /// PC/SC, ES9+ over HTTPS (TLS and the server's work included), and the rest of the
    /// process's wall time (start, exit, output).
    card_ms: f64,
    es9_ms: f64,
    process_ms: f64,
}

fn bench(stack: &Stack, cards: usize, rounds: usize) -> Result<Figures> {
    let lease = Lease::take(stack, cards, false)?;
    let name = format!("smdp-bench-{cards}");
    let opts = CardOptions::default();
    let sims: Vec<CardSim> = (0..cards)
        .map(|i| CardSim::start_on(stack, lease.slots[i], &lease.readers[i], &name, &opts))
        .collect::<Result<_>>()?;
    let dir = stack.scratch_dir(&name);
    let db = dir.join("sm.sqlite3");
    let _ = std::fs::remove_file(&db);
    let ops: Vec<String> = (0..cards).map(|i| format!("+861390000{i:04}")).collect();
    let mut eids = Vec::new();
    for (card, op) in sims.iter().zip(&ops) {
        let run = provision(stack, &db, &card.reader, op, IMEI, PARAM);
        ensure!(run.code == Some(0), "provision failed: {run}");
        let info = sm_run(stack, &db, &["-r", &card.reader, "--json", "info"]);
        ensure!(info.code == Some(0), "info failed: {info}");
        eids.push(info.json()["eid"].as_str().unwrap_or_default().to_string());
    }
    let server = Server::start(stack, &db, &dir.join("serve.log"));
    let mut wall_per_round = Vec::new();
    let mut download_ms = Vec::new();
    let mut server_ms = Vec::new();
    let (mut card_ms, mut es9_ms, mut process_ms) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut codes = Vec::new();
        for ((card, op), eid) in sims.iter().zip(&ops).zip(&eids) {
            // The card's copy of the record's profile goes (an eUICC refuses a second
            // profile with one ICCID): disable it when it is enabled, delete it.
            let list = sm_run(
                stack,
                &db,
                &["-r", &card.reader, "--json", "profiles", "list"],
            );
            ensure!(list.code == Some(0), "profiles list failed: {list}");
            let v = list.json();
            for p in v["profiles"].as_array().into_iter().flatten() {
                if p["class"] != "operational" {
                    continue;
                }
                let iccid = p["iccid"].as_str().unwrap_or_default();
                if p["state"] == "enabled" {
                    let r = sm_run(
                        stack,
                        &db,
                        &["-r", &card.reader, "profiles", "disable", iccid],
                    );
                    ensure!(r.code == Some(0), "disable failed: {r}");
                }
                let r = sm_run(
                    stack,
                    &db,
                    &["-r", &card.reader, "profiles", "delete", iccid],
                );
                ensure!(r.code == Some(0), "delete failed: {r}");
            }
            codes.push(
                order(stack, &db, &server, op, Some(eid), None)
                    .map_err(|run| anyhow::anyhow!("order failed: {run}"))?,
            );
        }
        let before = server.requests().len();
        let start = Instant::now();
        let runs: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = sims
                .iter()
                .zip(&codes)
                .map(|(card, code)| s.spawn(move || download(stack, &card.reader, code, None)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a download thread panicked"))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let wall = start.elapsed();
        for run in &runs {
            ensure!(
                run.code == Some(0),
                "round {round}: a download failed: {run}"
            );
            let wall_ms = run.elapsed.as_secs_f64() * 1e3;
            download_ms.push(wall_ms);
            let t = &run.json()["timing"];
            let (Some(total), Some(card), Some(es9)) = (
                t["total_ms"].as_f64(),
                t["card_ms"].as_f64(),
                t["smdp_ms"].as_f64(),
            ) else {
                bail!("round {round}: no timing in the download's JSON: {run}");
            };
            card_ms.push(card);
            es9_ms.push(es9);
            process_ms.push(wall_ms - total);
        }
        // Give the log writer a moment, then the round's requests.
        std::thread::sleep(Duration::from_millis(50));
        let reqs = server.requests();
        let mine = &reqs[before.min(reqs.len())..];
        ensure!(
            mine.len() == 4 * cards,
            "round {round}: {} requests logged, expected {}",
            mine.len(),
            4 * cards
        );
        server_ms.push(mine.iter().map(|r| r.2).sum::<f64>() / cards as f64);
        wall_per_round.push(wall.as_secs_f64());
    }
    let code = server.stop();
    ensure!(code == Some(0), "smdp serve exited {code:?} on SIGTERM");
    let total: f64 = wall_per_round.iter().sum();
    Ok(Figures {
        cards,
        downloads: cards * rounds,
        per_second: (cards * rounds) as f64 / total,
        download_ms: median(&mut download_ms),
        server_ms: median(&mut server_ms),
        card_ms: median(&mut card_ms),
        es9_ms: median(&mut es9_ms),
        process_ms: median(&mut process_ms),
    })
}

fn main() -> Result<()> {
    let mut counts = vec![1usize, 4];
    let mut rounds = 5usize;
    let mut json_out = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cards" => counts = bench_args::card_counts(args.next())?,
            "--rounds" => rounds = bench_args::rounds(args.next())?,
            "--json" => json_out = true,
            "-h" | "--help" => {
                println!("usage: smdp-bench [--cards 1,4,16] [--rounds N] [--json]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let stack = Stack::discover().map_err(anyhow::Error::msg)?;
    let free = stack.test_slots().len();
    let most = counts.iter().copied().max().unwrap_or(1);
    ensure!(
        free >= most,
        "smdp-bench needs {most} free vpcd slots, the stack offers {free} (stack-up.sh --slots)"
    );
    let mut rows = Vec::new();
    for &c in &counts {
        let f = bench(&stack, c, rounds)?;
        if !json_out {
            println!(
                "{:>3} cards: {:>4} downloads, {:>6.1} downloads/s; one download {:>6.1} ms \
                 (median): card (ES10b via PC/SC) {:>5.1} ms, ES9+ over HTTPS {:>5.1} ms \
                 (the server's own time {:>5.1} ms, {:.0} % of the download), the sm-cli \
                 process {:>5.1} ms",
                f.cards,
                f.downloads,
                f.per_second,
                f.download_ms,
                f.card_ms,
                f.es9_ms,
                f.server_ms,
                100.0 * f.server_ms / f.download_ms,
                f.process_ms
            );
        }
        rows.push(json!({
            "cards": f.cards,
            "downloads": f.downloads,
            "downloads_per_second": f.per_second,
            "download_ms_median": f.download_ms,
            "server_ms_median": f.server_ms,
            "card_ms_median": f.card_ms,
            "es9_ms_median": f.es9_ms,
            "process_ms_median": f.process_ms,
        }));
    }
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "smdp_bench": rows }))?
        );
    }
    Ok(())
}
