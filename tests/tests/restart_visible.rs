//! A card killed while a client transmits and restarted at once is in its reader again
//! within 2 s (issue 10, "Faults still open", first item), through the real pcscd + vpcd
//! with card-sim as its own process.
//!
//! What went wrong (pcsc-lite 1.9.9 and vpcd sources): the client's transmit to the dead
//! card fails and vpcd closes that socket; the client's `SCardDisconnect` (reset or
//! unpower) asks vpcd whether a card is present before it acts, vpcd finds no connection
//! waiting yet, and pcscd sets the reader's public state to ABSENT itself. pcscd's event
//! thread keeps its own idea of the card, still "present": when the new card-sim has
//! connected before that thread's next presence poll (every 400 ms), the poll finds a card,
//! the thread sees no change, nobody powers the card, and the reader shows no card until
//! the card leaves again. card-sim said "connected" meanwhile. card-sim now notices that
//! state (a fresh link that gets presence polls but no power-on, reset or APDU: the third
//! poll, 500 ms or more after the first; card-sim/src/vpcd/stale.rs) and drops the link
//! once, leaving that poll unanswered, so that pcscd sees the card leave and come back
//! ("dropped the stale link" in its log).
//!
//! Each round: a client thread transmits SELECT MF in a loop (and reconnects after a
//! failure, disconnecting with reset or unpower in turn, as the pcsc crate and lpac do);
//! once it has got answers from the card, card-sim gets SIGKILL, is started again after a
//! random delay uniform in [0, 1] s, and the reader must show a card that answers SELECT MF
//! within 2 s of the restart. A round that misses is counted and the card is restarted the
//! slow way (killed, the reader seen empty, started) so the next round starts clean; the
//! test fails at the end listing every miss.
//!
//! Measured on 2026-12-02 (100 rounds, 2 slots, random seeds, pcsc-lite 1.9.9): without
//! the recovery (card-sim built from the commit before it) 39 of 100 restarts stayed
//! invisible past 2 s, all restarted under 0.37 s after the kill (87 s for the run);
//! with it 0 of 100 in each run, card-sim dropped a stale link in 36-38 rounds, the
//! slowest round took 1.63 s (the recovery costs about 3 poll intervals, 1.2 s, at most),
//! about 64 s for the run. A run that misses the mark says which rounds, with their
//! delays, and how often card-sim recovered.
//!
//! Environment: `RESTART_VISIBLE_ROUNDS` (default 100), `RESTART_VISIBLE_SEED` (printed),
//! `RESTART_VISIBLE_SLOTS` (slots used in parallel, default 2, at most the free ones),
//! `RESTART_VISIBLE_WAIT_MS` (how long a round watches for the card, default 2000: set it
//! higher to see how long a missing card stays missing; the pass mark stays 2 s).

use pcsc::Disposition;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use system_tests::hexutil::{hex, sw};
use system_tests::pcsc_io::{self, Conn};
use system_tests::rng::{env_num, Rng};
use system_tests::{require_stack, CardOptions, CardSim, Lease, Stack};

/// The pass mark: restart to a present, answering card.
const LIMIT: Duration = Duration::from_secs(2);
/// How long the client may take to get through to a card that is back.
const CLIENT_BACK: Duration = Duration::from_secs(10);

/// The client load on one reader.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    /// Answers 90 00 received.
    answers: AtomicU64,
    /// Transmits that failed (the card went away under them).
    failed: AtomicU64,
}

/// Transmits SELECT MF in a loop until `stop`; after a failure disconnects (reset and
/// unpower in turn) and connects again.
fn client(reader: String, load: Arc<Load>) {
    let select_mf = hex("00A4000C023F00");
    let mut sessions = 0u64;
    while !load.stop.load(Ordering::SeqCst) {
        let Ok(conn) = Conn::connect(&reader) else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        sessions += 1;
        while !load.stop.load(Ordering::SeqCst) {
            match conn.transmit(&select_mf) {
                Ok(r) if sw(&r) == 0x9000 => {
                    load.answers.fetch_add(1, Ordering::SeqCst);
                }
                _ => {
                    load.failed.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
        let how = if sessions.is_multiple_of(2) {
            Disposition::ResetCard
        } else {
            Disposition::UnpowerCard
        };
        let _ = conn.close_with(how);
    }
}

/// One round's outcome.
#[derive(Debug, Clone)]
#[allow(dead_code)] // the fields are read through Debug in the failure message
struct Round {
    round: usize,
    slot: u32,
    delay: Duration,
    /// Restart to a present, answering card; `None`: not within the watch.
    visible: Option<Duration>,
}

impl Round {
    fn missed(&self) -> bool {
        self.visible.is_none_or(|v| v > LIMIT)
    }
}

/// Runs `rounds` (round number, delay) on one slot; returns the outcomes and how many
/// times card-sim's log says it dropped a stale link.
fn run_slot(
    stack: &Stack,
    slot: u32,
    reader: &str,
    rounds: &[(usize, Duration)],
    watch: Duration,
) -> (Vec<Round>, usize) {
    let mut card = CardSim::start_on(
        stack,
        slot,
        reader,
        "restart-visible",
        &CardOptions::default(),
    )
    .unwrap();
    let load = Arc::new(Load::default());
    let worker = {
        let (reader, load) = (reader.to_string(), Arc::clone(&load));
        thread::spawn(move || client(reader, load))
    };
    let mut out = Vec::new();
    for &(round, delay) in rounds {
        // The client is getting answers: the kill lands while it transmits.
        let before = load.answers.load(Ordering::SeqCst);
        let deadline = Instant::now() + CLIENT_BACK;
        while load.answers.load(Ordering::SeqCst) < before + 3 {
            assert!(
                Instant::now() < deadline,
                "round {round}, slot {slot}: the client got no answers within {CLIENT_BACK:?}\n{}",
                card.log_tail()
            );
            thread::sleep(Duration::from_millis(2));
        }
        card.kill9_now();
        thread::sleep(delay);
        card.respawn().unwrap();
        let t = Instant::now();
        let visible = pcsc_io::wait_answering(reader, watch)
            .ok()
            .map(|()| t.elapsed());
        assert!(
            card.running(),
            "round {round}, slot {slot}: card-sim exited\n{}",
            card.log_tail()
        );
        let r = Round {
            round,
            slot,
            delay,
            visible,
        };
        if r.missed() {
            eprintln!(
                "round {round}, slot {slot}: restarted {delay:?} after the kill, card not \
                 visible and answering within {LIMIT:?} ({visible:?})"
            );
            // Start clean for the next round: a removal pcscd cannot miss.
            card.kill9().unwrap();
            card.restart().unwrap();
        }
        out.push(r);
    }
    load.stop.store(true, Ordering::SeqCst);
    worker.join().expect("the client thread panicked");
    let log = std::fs::read_to_string(&card.log).unwrap_or_default();
    assert!(!log.contains("panicked"), "{}", card.log_tail());
    let recoveries = log.lines().filter(|l| l.contains("stale link")).count();
    eprintln!(
        "slot {slot}: {} answers, {} failed transmits of the client",
        load.answers.load(Ordering::SeqCst),
        load.failed.load(Ordering::SeqCst)
    );
    (out, recoveries)
}

#[test]
fn a_killed_card_restarted_at_once_is_visible_within_2s() {
    let Some(stack) = require_stack("a_killed_card_restarted_at_once_is_visible_within_2s") else {
        return;
    };
    let started = Instant::now();
    let rounds: usize = env_num("RESTART_VISIBLE_ROUNDS", 100);
    let watch = Duration::from_millis(env_num("RESTART_VISIBLE_WAIT_MS", 2000));
    let free = stack.test_slots().len();
    let n = env_num("RESTART_VISIBLE_SLOTS", 2usize).clamp(1, free.max(1));
    let mut rng = Rng::from_env("RESTART_VISIBLE_SEED");
    let delays: Vec<Duration> = (0..rounds)
        .map(|_| Duration::from_micros(rng.below(1_000_001)))
        .collect();
    let lease = Lease::take(&stack, n, false).unwrap();

    let stack = Arc::new(stack);
    let workers: Vec<_> = (0..n)
        .map(|w| {
            let mine: Vec<(usize, Duration)> =
                (w..rounds).step_by(n).map(|r| (r, delays[r])).collect();
            let (slot, reader) = (lease.slots[w], lease.readers[w].clone());
            let stack = Arc::clone(&stack);
            thread::spawn(move || run_slot(&stack, slot, &reader, &mine, watch))
        })
        .collect();
    let mut all = Vec::new();
    let mut recoveries = 0;
    for w in workers {
        let (r, k) = w.join().expect("a slot's worker panicked");
        all.extend(r);
        recoveries += k;
    }
    all.sort_by_key(|r| r.round);

    let mut seen: Vec<Duration> = all.iter().filter_map(|r| r.visible).collect();
    seen.sort();
    let pct = |p: usize| {
        seen.get((seen.len() * p / 100).min(seen.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let missed: Vec<&Round> = all.iter().filter(|r| r.missed()).collect();
    let quick = all
        .iter()
        .filter(|r| r.delay < Duration::from_millis(400))
        .count();
    eprintln!(
        "{rounds} restarts on {n} slots in {:?}: {} missed the {LIMIT:?} mark; restart to \
         answering card median {:?}, p90 {:?}, max {:?}; {quick} restarts under 0.4 s after \
         the kill; card-sim dropped a stale link {recoveries} times",
        started.elapsed(),
        missed.len(),
        pct(50),
        pct(90),
        seen.last().copied().unwrap_or_default(),
    );
    assert!(
        missed.is_empty(),
        "{} of {rounds} restarts were not visible and answering within {LIMIT:?}: {missed:#?}",
        missed.len()
    );
}
