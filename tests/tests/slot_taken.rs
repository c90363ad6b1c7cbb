//! A card-sim started on a vpcd slot that another process holds says so, and which
//! process, instead of "connected" and silence (issue 10, "Rough edges a new user hit"),
//! through the real pcscd + vpcd with every card-sim a process of its own.
//!
//! vpcd serves one client per port and queues the rest: before the fix a second card-sim's
//! connect went through vpcd's listen queue, it said "connected to vpcd" and never got a
//! poll, and a third one's connect timed out and blamed pcscd ("is pcscd running with the
//! vpcd driver?"). Now card-sim takes the slot's lock (card-sim/src/vpcd/slot_lock.rs)
//! before anything else and a second one exits at once, status 1, naming the first by
//! PID; behind a vpcd client that is not a card-sim (floor-card here) it says within about
//! 2 s which process holds the slot (card-sim/src/vpcd/clients.rs) and takes over when
//! that process leaves.
//!
//! Against the card-sim of the commit before the fix (VEUICC_CARD_SIM pointing at it):
//! the second card-sim was still running, silent, when the 10 s deadline struck, in the
//! first two tests, and the third saw no word of the holder in 10 s.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use system_tests::card::{tail, CARD_TIMEOUT};
use system_tests::cli::run_with;
use system_tests::flows::eid_raw;
use system_tests::pcsc_io;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Stack};

/// vpcd's first port; slot N listens on this + N.
const VPCD_BASE_PORT: u32 = 35963;
/// How long a card-sim on a taken slot may take to say so and exit.
const TOLD: Duration = Duration::from_secs(10);

/// A process started by the test, killed by PID (and the reader waited empty) on drop.
struct Spawned {
    child: Child,
    log: PathBuf,
    reader: String,
}

impl Spawned {
    fn start(bin: &Path, args: &[OsString], log: PathBuf, reader: &str) -> Spawned {
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        // SAFETY: prctl is async-signal-safe; it only sets this child's death signal.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        Spawned {
            child: cmd.spawn().unwrap(),
            log,
            reader: reader.to_string(),
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `what`; the log on failure.
    fn wait_log(&self, what: &str, timeout: Duration) -> Result<Duration, String> {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if self.log_text().contains(what) {
                return Ok(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(tail(&self.log, 20))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = pcsc_io::wait_no_card(&self.reader, CARD_TIMEOUT);
        }
    }
}

fn card_sim_args(slot: u32) -> Vec<OsString> {
    [
        "--slot",
        &slot.to_string(),
        "--ephemeral",
        "--kdf-floor",
        "test",
    ]
    .map(OsString::from)
    .to_vec()
}

/// Runs a second card-sim with `args` and returns its exit status, stderr and run time;
/// panics with what it printed if it is still running after [`TOLD`].
fn second_card_sim(stack: &Stack, args: &[&str]) -> (Option<i32>, String, Duration) {
    let run = run_with(&mut Command::new(&stack.card_sim), args, None, TOLD);
    assert!(
        !run.timed_out,
        "the second card-sim on a taken slot still ran after {TOLD:?}: {run}"
    );
    (run.code, run.stderr, run.elapsed)
}

#[test]
fn a_second_card_sim_on_a_taken_slot_names_the_holder_and_exits() {
    let Some(stack) = require_stack("a_second_card_sim_on_a_taken_slot_names_the_holder_and_exits")
    else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let (slot, reader) = (lease.slot(), lease.reader().to_string());
    let port = VPCD_BASE_PORT + slot;
    let mut first = CardSim::start(&stack, &lease, "slot-taken", &CardOptions::default()).unwrap();
    let eid = eid_raw(&reader).unwrap();
    let pid = first.pid().unwrap();

    let slot_arg = slot.to_string();
    let (code, stderr, took) = second_card_sim(
        &stack,
        &["--slot", &slot_arg, "--ephemeral", "--kdf-floor", "test"],
    );
    let want = format!("slot {slot} (vpcd 127.0.0.1:{port}) is taken by card-sim PID {pid} (`");
    assert!(stderr.contains(&want), "wanted {want:?} in:\n{stderr}");
    assert!(
        stderr.contains(&*first.state.to_string_lossy()),
        "the holder's command line (with its --state) is not shown:\n{stderr}"
    );
    assert_eq!(code, Some(1), "{stderr}");
    eprintln!("second card-sim on slot {slot} told and exited in {took:?}: {stderr}");

    // Any spelling of the same vpcd port is the same slot.
    for vpcd in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let (code, stderr, _) = second_card_sim(&stack, &["--vpcd", &vpcd, "--ephemeral"]);
        let want = format!("vpcd {vpcd} is taken by card-sim PID {pid}");
        assert!(stderr.contains(&want), "wanted {want:?} in:\n{stderr}");
        assert_eq!(code, Some(1), "{stderr}");
    }

    // The first card served on all along.
    assert!(first.running(), "{}", first.log_tail());
    assert_eq!(eid_raw(&reader).unwrap(), eid);

    // A killed card's lock is free at once: restarted straight after SIGKILL, it takes
    // the slot and answers, and now it is the one a second card-sim names.
    first.kill9_now();
    let t = Instant::now();
    first.respawn().unwrap();
    first.wait_ready().unwrap();
    let back = t.elapsed();
    let log = std::fs::read_to_string(&first.log).unwrap_or_default();
    assert!(!log.contains("is taken"), "{}", first.log_tail());
    let pid2 = first.pid().unwrap();
    let (code, stderr, _) = second_card_sim(&stack, &["--slot", &slot_arg, "--ephemeral"]);
    assert!(
        stderr.contains(&format!("is taken by card-sim PID {pid2} (`")),
        "{stderr}"
    );
    assert_eq!(code, Some(1));
    eprintln!("restarted after SIGKILL: answering {back:?} after the restart");
}

#[test]
fn of_card_sims_started_together_on_one_slot_one_serves_and_the_others_name_it() {
    let Some(stack) = require_stack(
        "of_card_sims_started_together_on_one_slot_one_serves_and_the_others_name_it",
    ) else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let (slot, reader) = (lease.slot(), lease.reader().to_string());
    pcsc_io::wait_no_card(&reader, CARD_TIMEOUT).unwrap();
    let dir = stack.scratch_dir("slot-taken-race");
    let mut sims: Vec<Spawned> = (0..4)
        .map(|i| {
            Spawned::start(
                &stack.card_sim,
                &card_sim_args(slot),
                dir.join(format!("card-sim-{i}.log")),
                &reader,
            )
        })
        .collect();
    // Three exit, one stays.
    let deadline = Instant::now() + TOLD;
    let exited = loop {
        let exited: Vec<usize> = (0..sims.len())
            .filter(|&i| matches!(sims[i].child.try_wait(), Ok(Some(_))))
            .collect();
        if exited.len() >= 3 || Instant::now() >= deadline {
            break exited;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let logs: Vec<String> = sims.iter().map(Spawned::log_text).collect();
    assert_eq!(exited.len(), 3, "not three of four exited: {logs:#?}");
    let Some(winner) = (0..sims.len()).find(|i| !exited.contains(i)) else {
        panic!("no card-sim kept the slot: {logs:#?}");
    };
    let pid = sims[winner].child.id();
    for &i in &exited {
        let status = sims[i].child.try_wait().ok().flatten();
        assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", logs[i]);
        let want = format!(
            "slot {slot} (vpcd 127.0.0.1:{}) is taken by card-sim PID {pid} (`",
            VPCD_BASE_PORT + slot
        );
        assert!(logs[i].contains(&want), "wanted {want:?} in:\n{}", logs[i]);
    }
    pcsc_io::wait_answering(&reader, CARD_TIMEOUT).unwrap();
    assert!(eid_raw(&reader).is_ok());
    sims.clear();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_card_sim_behind_another_vpcd_client_says_which_process_holds_the_slot() {
    let Some(stack) =
        require_stack("a_card_sim_behind_another_vpcd_client_says_which_process_holds_the_slot")
    else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let (slot, reader) = (lease.slot(), lease.reader().to_string());
    let dir = stack.scratch_dir("slot-taken-floor");
    let mut floor = CardSim::start_program(
        &stack,
        slot,
        &reader,
        dir.clone(),
        Path::new(env!("CARGO_BIN_EXE_floor-card")),
        vec!["--slot".into(), slot.to_string().into()],
    )
    .unwrap();
    let floor_pid = floor.pid().unwrap();

    let sim = Spawned::start(
        &stack.card_sim,
        &card_sim_args(slot),
        dir.join("card-sim.log"),
        &reader,
    );
    let told = sim
        .wait_log("held by another vpcd client", TOLD)
        .unwrap_or_else(|log| panic!("card-sim did not say who holds the slot:\n{log}"));
    let log = sim.log_text();
    let want = format!("held by another vpcd client, PID {floor_pid} (`");
    assert!(log.contains(&want), "wanted {want:?} in:\n{log}");
    assert!(log.contains("floor-card --slot"), "{log}");
    assert!(!log.contains("connected"), "{log}");
    eprintln!("card-sim said who holds slot {slot} {told:?} after its start");

    // The holder leaves: vpcd takes the waiting card-sim, whose card answers GetEID
    // (floor-card cannot: it answers 90 00 to MANAGE CHANNEL too).
    floor.kill9_now();
    let t = Instant::now();
    pcsc_io::wait_answering(&reader, CARD_TIMEOUT).unwrap();
    let eid = eid_raw(&reader).unwrap_or_else(|e| panic!("{e:#}\n{}", tail(&sim.log, 20)));
    assert!(
        sim.log_text().contains("vpcd took the link"),
        "{}",
        tail(&sim.log, 20)
    );
    eprintln!(
        "after floor-card left, card-sim (EID {eid}) answered in {:?}",
        t.elapsed()
    );
    drop(sim);
    drop(floor);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_card_sim_behind_a_full_vpcd_queue_names_the_holder_not_pcscd() {
    let Some(stack) =
        require_stack("a_card_sim_behind_a_full_vpcd_queue_names_the_holder_not_pcscd")
    else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let (slot, reader) = (lease.slot(), lease.reader().to_string());
    let dir = stack.scratch_dir("slot-taken-queue");
    let mut floor = CardSim::start_program(
        &stack,
        slot,
        &reader,
        dir.clone(),
        Path::new(env!("CARGO_BIN_EXE_floor-card")),
        vec!["--slot".into(), slot.to_string().into()],
    )
    .unwrap();
    let floor_pid = floor.pid().unwrap();
    // This test's own connection fills vpcd's queue (its backlog is 0: one waits).
    let queued =
        std::net::TcpStream::connect(("127.0.0.1", (VPCD_BASE_PORT + slot) as u16)).unwrap();

    let sim = Spawned::start(
        &stack.card_sim,
        &card_sim_args(slot),
        dir.join("card-sim.log"),
        &reader,
    );
    let told = sim
        .wait_log("queue is full", TOLD)
        .unwrap_or_else(|log| panic!("card-sim did not say the queue is full:\n{log}"));
    let log = sim.log_text();
    let want = format!("held by another vpcd client, PID {floor_pid} (`");
    assert!(log.contains(&want), "wanted {want:?} in:\n{log}");
    assert!(!log.contains("is pcscd running"), "{log}");
    eprintln!("card-sim said the queue of slot {slot} is full {told:?} after its start");

    // Both leave: card-sim's next attempt gets in.
    drop(queued);
    floor.kill9_now();
    pcsc_io::wait_answering(&reader, CARD_TIMEOUT).unwrap();
    eid_raw(&reader).unwrap_or_else(|e| panic!("{e:#}\n{}", tail(&sim.log, 20)));
    drop(sim);
    drop(floor);
    let _ = std::fs::remove_dir_all(&dir);
}
