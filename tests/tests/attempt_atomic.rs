//! Issue 10, finding 6, through the real stack: consuming the challenge, verifying the
//! parameter signature and counting the failure are one SM store transaction, so no
//! failure of the store between "challenge used" and "failure counted" can let a guess
//! go uncounted (spec device-change.md B.6, C.3: at most 3 attempts; "Attempt counters
//! are durable").
//!
//! Two card-sim processes behind pcscd + vpcd (old phone, new phone), sm-cli with its
//! store in a file. Another process (this test, through python3's sqlite3 module, so the
//! test binary needs no SQLite of its own) makes the store refuse the write that counts
//! the failure: a trigger on `subscriptions.failures` that aborts (what a busy or failing
//! database does to that one write, made deterministic: no production hook, no timing),
//! or that runs for a minute so sm-cli can be SIGKILLed inside the count. Then a device
//! change with a wrong parameter. The invariant checked: the challenge of the guess was
//! consumed only if the failure was counted. With one transaction nothing of the attempt
//! is kept (the challenge is still outstanding, never presented again, and no verdict
//! left sm-cli); before the fix the challenge was burnt and the failure lost.

use std::process::Command;
use std::time::{Duration, Instant};
use system_tests::sm::{is_terminal_response, EXIT_WRONG_PARAMETER};
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run, Sm};

const OLD_IMEI: &str = "490154203237518";
const NEW_IMEI: &str = "356938035643809";
const PARAM: &str = "123456";
const WRONG: &str = "000000";

/// Runs `script` (Python, with `db` an open sqlite3 connection and `op` the OP ID) on
/// the SM store and returns what it prints.
fn python_sql(db: &std::path::Path, op: &str, script: &str) -> String {
    let program = format!(
        "import sqlite3, sys\n\
         db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n\
         op = sys.argv[2]\n\
         {script}\n"
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&program)
        .arg(db)
        .arg(op)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 (scripts/install-deps.sh installs it): {e}")
        });
    assert!(
        out.status.success(),
        "python3 failed: {}\n{program}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What the store holds about the attempt: outstanding device-change challenges of `op`,
/// its consecutive failures, and its `auth-failure` audit rows.
#[derive(Debug, PartialEq, Eq)]
struct Attempts {
    outstanding: u64,
    failures: u64,
    audited: u64,
}

fn attempts(sm: &Sm, op: &str) -> Attempts {
    let out = python_sql(
        &sm.db,
        op,
        "c = db.execute(\"SELECT count(*) FROM challenges WHERE subject_kind = 'op-id' \
         AND subject = ? AND purpose = 'device-change'\", (op,)).fetchone()[0]\n\
         f = db.execute('SELECT failures FROM subscriptions WHERE op_id = ?', (op,)).fetchone()[0]\n\
         a = db.execute(\"SELECT count(*) FROM audit WHERE op_id = ? AND action = 'auth-failure'\", (op,)).fetchone()[0]\n\
         print(c, f, a)",
    );
    let n: Vec<u64> = out
        .split_whitespace()
        .map(|w| w.parse().unwrap_or_else(|_| panic!("bad output {out:?}")))
        .collect();
    assert_eq!(n.len(), 3, "{out:?}");
    Attempts {
        outstanding: n[0],
        failures: n[1],
        audited: n[2],
    }
}

/// Makes every write of `subscriptions.failures` fail (`slow`: after about a minute of
/// work, so a test can kill sm-cli inside it).
fn break_the_count(sm: &Sm, op: &str, slow: bool) {
    let work = if slow {
        // A recursive count that keeps SQLite busy far longer than the test waits.
        "SELECT RAISE(ABORT, 'the failure count cannot be written (test)') \
         WHERE (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
         WHERE x < 2000000000) SELECT count(*) FROM c) > 0;"
    } else {
        "SELECT RAISE(ABORT, 'the failure count cannot be written (test)');"
    };
    python_sql(
        &sm.db,
        op,
        &format!(
            "db.execute('''CREATE TRIGGER test_count_fails BEFORE UPDATE OF failures \
             ON subscriptions BEGIN {work} END''')"
        ),
    );
}

fn repair_the_count(sm: &Sm, op: &str) {
    python_sql(&sm.db, op, "db.execute('DROP TRIGGER test_count_fails')");
}

fn device_change_args<'a>(reader: &'a str, op: &'a str) -> Vec<&'a str> {
    vec![
        "-r",
        reader,
        "device-change",
        "--op-id",
        op,
        "--imei",
        NEW_IMEI,
        "--param-stdin",
    ]
}

/// Two cards, OP provisioned on the first with [`PARAM`] (test KDF).
struct Story {
    _lease: Lease,
    _old: CardSim,
    new: CardSim,
    sm: Sm,
}

fn story(test: &str, op: &str) -> Option<Story> {
    let stack = require_stack(test)?;
    let lease = Lease::take(&stack, 2, false).unwrap();
    let opts = CardOptions::default();
    let old = CardSim::start_on(&stack, lease.slots[0], &lease.readers[0], test, &opts).unwrap();
    let new = CardSim::start_on(&stack, lease.slots[1], &lease.readers[1], test, &opts).unwrap();
    let sm = Sm::new(&stack, &old.dir.join("sm.sqlite3"));
    let _ = std::fs::remove_file(&sm.db);
    let args = [
        "-r",
        &old.reader,
        "provision",
        "--op-id",
        op,
        "--imei",
        OLD_IMEI,
        "--param-stdin",
        "--kdf",
        "test",
    ];
    sm.run(&args, Some(&format!("{PARAM}\n"))).expect_success();
    Some(Story {
        _lease: lease,
        _old: old,
        new,
        sm,
    })
}

/// The invariant of finding 6 after an attempt that failed inside the store.
fn assert_nothing_lost(after: &Attempts, run: &Run) {
    assert_ne!(
        run.code,
        Some(0),
        "the attempt cannot have succeeded: {run}"
    );
    assert_eq!(
        after.outstanding, 1,
        "the guess's challenge was consumed but its failure was not counted \
         ({after:?}); sm-cli said: {run}"
    );
    assert_eq!(
        (after.failures, after.audited),
        (0, 0),
        "a rolled-back attempt left a count: {after:?}"
    );
}

/// After the trigger is gone the same guess is counted: the test can see a count.
fn assert_counts_again(s: &Story, op: &str) {
    repair_the_count(&s.sm, op);
    let r = s.sm.run(
        &device_change_args(&s.new.reader, op),
        Some(&format!("{WRONG}\n")),
    );
    assert_eq!(r.code, Some(EXIT_WRONG_PARAMETER), "{r}");
    let after = attempts(&s.sm, op);
    assert_eq!((after.failures, after.audited), (1, 1), "{after:?}");
    let show = s.sm.show(op).unwrap().unwrap();
    assert_eq!(show["failures"], 1, "{show}");
}

#[test]
fn a_failing_count_leaves_the_challenge_unconsumed() {
    let op = "+8613800000061";
    let Some(s) = story("a_failing_count_leaves_the_challenge_unconsumed", op) else {
        return;
    };
    assert_eq!(
        attempts(&s.sm, op),
        Attempts {
            outstanding: 0,
            failures: 0,
            audited: 0
        }
    );
    break_the_count(&s.sm, op, false);
    let run = s.sm.run(
        &device_change_args(&s.new.reader, op),
        Some(&format!("{WRONG}\n")),
    );
    assert_nothing_lost(&attempts(&s.sm, op), &run);
    assert_counts_again(&s, op);
}

#[test]
fn sigkill_inside_the_count_leaves_the_challenge_unconsumed() {
    let op = "+8613800000062";
    let Some(s) = story(
        "sigkill_inside_the_count_leaves_the_challenge_unconsumed",
        op,
    ) else {
        return;
    };
    break_the_count(&s.sm, op, true);
    let traced = s.sm.spawn_traced(
        &device_change_args(&s.new.reader, op),
        Some(&format!("{WRONG}\n")),
    );
    // The last TERMINAL RESPONSE of the attempt carries the hidden parameter (the IMEI
    // and OP ID come first). Then the card derives and signs, sm-cli fetches the BF68
    // answer and verifies it, and the count's write enters the minute-long trigger.
    let mut responses = 0;
    while traced
        .wait_line(Duration::from_secs(60), is_terminal_response)
        .is_some()
    {
        responses += 1;
        // Parameter entry is the third terminal response of flow B (OP ID, IMEI,
        // parameter; docs/device-change-protocol.md).
        if responses == 3 {
            break;
        }
    }
    assert_eq!(responses, 3, "sm-cli ended before the parameter was sent");
    // Wait until sm-cli has burnt a second of CPU after the card's answer: it is in
    // the trigger then (verification takes milliseconds).
    let pid = traced.pid();
    let cpu = || system_tests::process::cpu_time(pid).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let start = cpu();
    while cpu() < start + Duration::from_secs(1) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Instant::now() < deadline, "sm-cli never got busy");
    // SAFETY: kill(2) with a PID of our own unreaped child.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    let run = traced.finish(Duration::from_secs(60));
    assert_nothing_lost(&attempts(&s.sm, op), &run);
    assert_counts_again(&s, op);
}
