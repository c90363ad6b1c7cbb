//! Many cards at once against one SM store (issue 5, "Load"): several card-sim processes
//! on their own vpcd slots, sm-cli processes in parallel against them and against ONE
//! SM store file, through the real pcscd + vpcd.
//!
//! 1. Every card provisions its own OP IDs (`LOAD_OPS_PER_CARD`, default 5) while a
//!    reader runs `sm list` and `sm show` in a loop.
//! 2. The other cards try one card's OP ID with a wrong parameter, two attempts each, the
//!    cards at once: the durable counter counts exactly three failures and locks the record
//!    (no lost update, no fourth count), every other attempt is refused as locked;
//!    `sm unlock` then clears the count but never the lifetime total.
//! 3. Every card moves the next card's first OP ID to itself (device change), all at once.
//! 4. Every card syncs, all at once: the moved profiles leave their old cards.
//!
//! Then every record is present, bound to the card it should be, delivered, with no
//! removal pending, and every card holds exactly its OP IDs with the record's ICCID. No
//! run may fail, and none may show "database is locked" (or busy) to the user.
//!
//! `LOAD_CARDS` (default 4) caps the cards; the test takes as many free slots as the
//! stack offers up to that, at least 2. The SM store's own concurrency tests (threads on
//! one file) are sm-cli/src/sm/store/tests/concurrency.rs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use system_tests::flows::eid_raw;
use system_tests::rng::env_num;
use system_tests::sm::{mentions_db_lock, Sm, IMEIS};
use system_tests::state_file::CardFile;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run};

const PARAM: &str = "97531864";
const WRONG: &str = "11112222";

fn op_id(card: usize, j: usize) -> String {
    format!("+86135{card:02}{j:06}")
}

/// Runs one closure per card in parallel; returns their results in card order.
fn parallel<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || f(i))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a worker thread panicked"))
        .collect()
}

fn check_runs(phase: &str, runs: &[(String, Run)], ok: &[i32]) {
    for (what, run) in runs {
        assert!(
            !mentions_db_lock(run),
            "{phase}, {what}: the SM store's lock reached the user: {run}"
        );
        assert!(
            run.code.is_some_and(|c| ok.contains(&c)),
            "{phase}, {what}: wanted exit {ok:?}: {run}"
        );
    }
}

#[test]
fn parallel_cards_one_sm_store_no_lost_updates() {
    let Some(stack) = require_stack("parallel_cards_one_sm_store_no_lost_updates") else {
        return;
    };
    let free = stack.test_slots().len();
    let n = free.min(env_num("LOAD_CARDS", 4)).min(IMEIS.len());
    assert!(
        n >= 2,
        "the load test needs at least 2 free vpcd slots, the stack offers {free}"
    );
    let per_card: usize = env_num("LOAD_OPS_PER_CARD", 5).max(1);
    let started = std::time::Instant::now();
    let lease = Lease::take(&stack, n, false).unwrap();
    let cards: Vec<CardSim> = lease
        .slots
        .iter()
        .zip(&lease.readers)
        .map(|(&slot, reader)| {
            CardSim::start_on(
                &stack,
                slot,
                reader,
                &format!("load-{slot}"),
                &CardOptions::default(),
            )
            .unwrap()
        })
        .collect();
    let readers: Arc<Vec<String>> = Arc::new(cards.iter().map(|c| c.reader.clone()).collect());
    let eids: Vec<String> = readers.iter().map(|r| eid_raw(r).unwrap()).collect();
    let sm_dir = stack.scratch_dir("load-sm");
    let sm = Sm::new(&stack, &sm_dir.join("sm.sqlite3"));
    eprintln!(
        "{n} cards ({:?}), {per_card} OP IDs each, one SM store",
        lease.slots
    );

    // 1. Parallel provisioning, with a reader of the store running throughout.
    let done = Arc::new(AtomicBool::new(false));
    let reader_runs = {
        let (sm, done) = (sm.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut runs = Vec::new();
            while !done.load(Ordering::Relaxed) {
                // `sm list` never creates a store: read once the first provision made it.
                if !sm.db.exists() {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                let list = sm.run(&["--json", "sm", "list"], None);
                let ops: Vec<String> =
                    serde_json::from_str::<serde_json::Value>(list.stdout.trim())
                        .ok()
                        .and_then(|v| v["subscriptions"].as_array().cloned())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|s| s["op_id"].as_str().map(String::from))
                        .collect();
                runs.push(("sm list".to_string(), list));
                if let Some(op) = ops.last() {
                    let show = sm.run(&["--json", "sm", "show", op], None);
                    runs.push((format!("sm show {op}"), show));
                }
            }
            runs
        })
    };
    let provisions = {
        let (sm, readers) = (sm.clone(), Arc::clone(&readers));
        parallel(n, move |i| {
            (0..per_card)
                .map(|j| {
                    let op = op_id(i, j);
                    let run = sm.run(
                        &[
                            "-r",
                            &readers[i],
                            "provision",
                            "--op-id",
                            &op,
                            "--imei",
                            IMEIS[i],
                            "--param-stdin",
                            "--kdf",
                            "test",
                        ],
                        Some(&format!("{PARAM}\n")),
                    );
                    (format!("card {i} provision {op}"), run)
                })
                .collect::<Vec<_>>()
        })
    };
    done.store(true, Ordering::Relaxed);
    let reads = reader_runs.join().unwrap();
    let provisions: Vec<(String, Run)> = provisions.into_iter().flatten().collect();
    check_runs("parallel provisioning", &provisions, &[0]);
    check_runs("reading while provisioning", &reads, &[0]);
    eprintln!(
        "1. {} provisions in parallel, {} reads alongside, after {:?}",
        provisions.len(),
        reads.len(),
        started.elapsed()
    );
    let records = sm.list().unwrap();
    assert_eq!(
        records.len(),
        n * per_card,
        "records after provisioning: {records:#?}"
    );

    // 2. Wrong parameters against one record from every other card, all at once.
    let victim = op_id(0, 0);
    // One thread per card (a card runs one session at a time), two attempts each.
    let attempts: Vec<(String, Run)> = {
        let (sm, readers, victim) = (sm.clone(), Arc::clone(&readers), victim.clone());
        parallel(n - 1, move |k| {
            let i = k + 1;
            (0..2)
                .map(|a| {
                    let run = sm.run(
                        &[
                            "--json",
                            "-r",
                            &readers[i],
                            "device-change",
                            "--op-id",
                            &victim,
                            "--imei",
                            IMEIS[i],
                            "--param-stdin",
                        ],
                        Some(&format!("{WRONG}\n")),
                    );
                    (format!("card {i} wrong parameter #{a} for {victim}"), run)
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    };
    check_runs("parallel wrong parameters", &attempts, &[31, 32]);
    let wrong = attempts.iter().filter(|(_, r)| r.code == Some(31)).count();
    let last = attempts
        .iter()
        .filter(|(_, r)| {
            r.stderr.contains("this was the last attempt")
                || r.stdout.contains("this was the last attempt")
        })
        .count();
    let rec = sm.show(&victim).unwrap().unwrap();
    let counted = (wrong + last) as u64;
    assert!(
        attempts.len() < 3 || (wrong == 2 && last == 1),
        "{} attempts: {wrong} counted as wrong, {last} as the locking one: {attempts:#?}",
        attempts.len()
    );
    assert_eq!(
        rec["total_failures"], counted,
        "lost or extra update of the counter: {rec:#}"
    );
    assert_eq!(rec["failures"], counted.min(3), "{rec:#}");
    assert_eq!(rec["locked"], counted >= 3, "{rec:#}");
    let audit = sm.run(&["--json", "sm", "audit", &victim], None);
    let failures_audited = audit.expect_success().json()["entries"]
        .as_array()
        .map(|e| e.iter().filter(|x| x["action"] == "auth-failure").count())
        .unwrap_or(0) as u64;
    assert_eq!(failures_audited, counted, "audited failures: {audit}");
    sm.run(&["sm", "unlock", &victim, "--operator", "load-test"], None)
        .expect_success();
    let rec = sm.show(&victim).unwrap().unwrap();
    assert_eq!(rec["failures"], 0, "{rec:#}");
    assert_eq!(rec["locked"], false, "{rec:#}");
    assert_eq!(
        rec["total_failures"], counted,
        "the lifetime total went backwards: {rec:#}"
    );
    eprintln!(
        "2. {} wrong parameters at once: {counted} counted, record {}locked, after {:?}",
        attempts.len(),
        if counted >= 3 { "" } else { "not " },
        started.elapsed()
    );

    // 3. Every card takes the next card's first OP ID, all at once.
    let moves = {
        let (sm, readers) = (sm.clone(), Arc::clone(&readers));
        parallel(n, move |i| {
            let op = op_id((i + 1) % n, 0);
            let run = sm.run(
                &[
                    "-r",
                    &readers[i],
                    "device-change",
                    "--op-id",
                    &op,
                    "--imei",
                    IMEIS[i],
                    "--param-stdin",
                ],
                Some(&format!("{PARAM}\n")),
            );
            (format!("card {i} takes {op}"), run)
        })
    };
    check_runs("parallel device changes", &moves, &[0]);

    // 4. Every card syncs, all at once.
    let syncs = {
        let (sm, readers) = (sm.clone(), Arc::clone(&readers));
        parallel(n, move |i| {
            (
                format!("card {i} sync"),
                sm.run(&["-r", &readers[i], "sync"], None),
            )
        })
    };
    check_runs("parallel syncs", &syncs, &[0]);

    // Every record present, where it should be; every card holds exactly its OP IDs.
    let records = sm.list().unwrap();
    assert_eq!(records.len(), n * per_card, "{records:#?}");
    let mut expected: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for i in 0..n {
        for j in 0..per_card {
            let holder = if j == 0 { (i + n - 1) % n } else { i };
            expected.entry(holder).or_default().push(op_id(i, j));
        }
    }
    for (holder, ops) in &expected {
        for op in ops {
            let r = records
                .iter()
                .find(|r| &r.op_id == op)
                .unwrap_or_else(|| panic!("no record of {op}: {records:#?}"));
            assert_eq!(r.eid, eids[*holder], "{op} bound to the wrong card: {r:?}");
            assert!(r.delivered(), "{op}: {r:?}");
            assert_eq!(r.pending_removals, 0, "{op}: {r:?}");
            assert!(!r.locked && r.failures == 0, "{op}: {r:?}");
        }
    }
    for (i, card) in cards.iter().enumerate() {
        let file = CardFile::read(&card.state).unwrap().expect("a state file");
        let mut held = file.ops();
        held.sort();
        let mut want = expected.get(&i).cloned().unwrap_or_default();
        want.sort();
        assert_eq!(held, want, "card {i} ({})", eids[i]);
        for op in &want {
            let r = records.iter().find(|r| &r.op_id == op).unwrap();
            assert_eq!(
                file.op(op).map(|p| p.iccid.as_str()),
                Some(r.iccid.as_str()),
                "{op}"
            );
        }
    }
    eprintln!(
        "{n} cards, {} records, all consistent, in {:?}",
        records.len(),
        started.elapsed()
    );
    drop(cards);
    let _ = std::fs::remove_dir_all(&sm_dir);
}
