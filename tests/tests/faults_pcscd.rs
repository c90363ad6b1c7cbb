//! pcscd restarted, and the card removed, in the middle of a device-change session
//! (issue 5, "Faults"): the same card-sim process reconnects by itself, sm-cli reports a
//! clear error (or finishes), no state is lost, and the SM record and the card agree
//! and can be completed.
//!
//! - `pcscd_restart_mid_session`: a provisioning flow (production KDF, so the card works
//!   for a while inside one APDU) is cut by a pcscd restart at three points: right after
//!   the session opened, while the card derives the key, and between the blocks of the
//!   chained STORE DATA carrying the sealed profile (BF69). Needs the pcscd that
//!   scripts/stack-up.sh started (it holds the pcscd lock exclusively); skips otherwise,
//!   fails in CI.
//! - `card_removal_mid_command`: card-sim exits (SIGTERM: the card is pulled) while the
//!   card derives the key, and again between the blocks of BF69: sm-cli exits 7 or 9 (no
//!   card / the card did not answer) with a message and a `--json` error object, the
//!   state file is untouched, card-sim starts on it again, and the flow completes.
//!
//! The random-point SIGKILL campaign is tests/tests/faults_kill.rs; the SM store's crash
//! tests are sm-cli/src/sm/store/tests/crash.rs.

use std::time::Duration;
use system_tests::cli::restart_pcscd;
use system_tests::flows::eid_raw;
use system_tests::pcsc_io::{self, Presence};
use system_tests::sm::{
    is_command_line, is_terminal_response, Sm, Traced, EXIT_ALREADY_ON_CARD, EXIT_CARD_MUTE,
    EXIT_NO_CARD, EXIT_NO_SERVICE, EXIT_READER_GONE, IMEIS,
};
use system_tests::stack::may_restart_pcscd;
use system_tests::state_file::CardFile;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run};

const PARAM: &str = "24681357";
const FINISH: Duration = Duration::from_secs(60);

/// Where in the provisioning flow the fault strikes.
#[derive(Debug, Clone, Copy)]
enum Point {
    /// Right after the first APDU (the session is open).
    SessionOpen,
    /// While the card runs Argon2id and RSA key generation: just after the third
    /// TERMINAL RESPONSE (the confirmed parameter) left sm-cli.
    KeyDerivation,
    /// After the first block of the chained STORE DATA that carries BF69 (the sealed
    /// profile): the card holds half a message.
    BetweenBf69Blocks,
}

fn provision_args<'a>(reader: &'a str, op: &'a str, kdf: &'a str) -> Vec<&'a str> {
    vec![
        "--json",
        "--timeout",
        "20",
        "-r",
        reader,
        "provision",
        "--op-id",
        op,
        "--imei",
        IMEIS[0],
        "--param-stdin",
        "--kdf",
        kdf,
    ]
}

/// True for a STORE DATA block with more to follow (`8x E2 11 ..`, SGP.22 §5.7.2).
fn is_store_data_more(line: &str) -> bool {
    let Some(hex) = line.split_whitespace().nth(4) else {
        return false;
    };
    is_command_line(line) && hex.len() >= 6 && &hex[2..6] == "E211"
}

/// Waits until sm-cli reaches `point`; false when it ended first.
fn reach(t: &Traced, point: Point) -> bool {
    match point {
        Point::SessionOpen => t.wait_line(FINISH, is_command_line).is_some(),
        Point::KeyDerivation => (0..3).all(|_| t.wait_line(FINISH, is_terminal_response).is_some()),
        Point::BetweenBf69Blocks => {
            (0..3).all(|_| t.wait_line(FINISH, is_terminal_response).is_some())
                && t.wait_line(FINISH, is_store_data_more).is_some()
        }
    }
}

/// sm-cli's exit after the fault: success, or one of `clear` with a message and a JSON
/// error object naming the same exit code.
fn check_clear_error(run: &Run, clear: &[i32], what: &str) {
    assert!(!run.timed_out, "{what}: sm-cli hung: {run}");
    let code = run.code.unwrap_or(-1);
    if code == 0 {
        return;
    }
    assert!(
        clear.contains(&code),
        "{what}: not a clear error (wanted exit 0 or {clear:?}): {run}"
    );
    assert!(
        !run.message().trim().is_empty(),
        "{what}: no message: {run}"
    );
    let doc: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("{what}: --json gave no JSON error ({e}): {run}"));
    assert_eq!(doc["error"]["exit_code"], code, "{what}: {run}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {run}"
    );
}

/// The card holds `op` whole, or not at all (CardFile::read checks the "whole"); the SM
/// record agrees; then the flow is completed (provision again, or the bound card's
/// device change) and the card holds it, delivered. Returns what the fault had left.
fn complete(sm: &Sm, card: &CardSim, op: &str, eid: &str, what: &str) -> &'static str {
    let file = CardFile::read(&card.state).unwrap_or_else(|e| panic!("{what}: {e}"));
    let on_card = file.as_ref().is_some_and(|f| f.op(op).is_some());
    let rec = sm.show(op).unwrap_or_else(|e| panic!("{what}: {e}"));
    let outcome = match &rec {
        None => {
            assert!(
                !on_card,
                "{what}: the card holds {op}, the SM has no record"
            );
            let r = sm.run(
                &provision_args(&card.reader, op, "test"),
                Some(&format!("{PARAM}\n")),
            );
            assert_eq!(r.code, Some(0), "{what}: provisioning again: {r}");
            "no record: provisioned again"
        }
        Some(rec) if rec["delivery"] == "delivered" => {
            assert!(
                on_card,
                "{what}: the SM says delivered, the card lacks {op}: {rec:#}"
            );
            "delivered"
        }
        Some(rec) => {
            assert_eq!(rec["device"]["eid"], eid, "{what}: {rec:#}");
            let r = sm.run(
                &[
                    "--json",
                    "-r",
                    &card.reader,
                    "device-change",
                    "--op-id",
                    op,
                    "--imei",
                    IMEIS[0],
                    "--param-stdin",
                ],
                Some(&format!("{PARAM}\n")),
            );
            assert!(
                r.code == Some(0) || r.code == Some(EXIT_ALREADY_ON_CARD),
                "{what}: the bound card's retry: {r}"
            );
            "record pending: the bound card's device change completed it"
        }
    };
    let rec = sm
        .show(op)
        .unwrap()
        .unwrap_or_else(|| panic!("{what}: no record of {op}"));
    assert_eq!(rec["delivery"], "delivered", "{what}: {rec:#}");
    assert_eq!(rec["device"]["eid"], eid, "{what}: {rec:#}");
    let file = CardFile::read(&card.state).unwrap().expect("a state file");
    let held = file
        .op(op)
        .unwrap_or_else(|| panic!("{what}: {op} not on the card after completion"));
    assert_eq!(
        held.iccid,
        rec["iccid"].as_str().unwrap_or_default(),
        "{what}"
    );
    outcome
}

/// The card as it was before the fault, apart from `op`.
fn same_apart_from(before: &CardFile, after: &CardFile, op: &str) -> bool {
    let strip = |f: &CardFile| -> Vec<_> {
        f.profiles
            .iter()
            .filter(|p| p.msisdn.as_deref() != Some(op))
            .map(|p| {
                (
                    p.iccid.clone(),
                    p.class.clone(),
                    p.msisdn.clone(),
                    p.ki.clone(),
                )
            })
            .collect()
    };
    before.eid == after.eid && strip(before) == strip(after)
}

#[test]
fn pcscd_restart_mid_session() {
    let Some(stack) = require_stack("pcscd_restart_mid_session") else {
        return;
    };
    if !may_restart_pcscd(&stack, "pcscd_restart_mid_session") {
        return;
    }
    let lease = Lease::take(&stack, 1, true).unwrap();
    let mut card = CardSim::start(&stack, &lease, "pcscd-mid", &CardOptions::default()).unwrap();
    let sm = Sm::new(&stack, &card.dir.join("sm.sqlite3"));
    let r = card.reader.clone();
    let eid = eid_raw(&r).unwrap();
    let pid = card.pid();
    sm.run(
        &provision_args(&r, "+8613700000001", "test"),
        Some(&format!("{PARAM}\n")),
    )
    .expect_success();

    let points = [
        Point::SessionOpen,
        Point::KeyDerivation,
        Point::BetweenBf69Blocks,
    ];
    for (n, point) in points.into_iter().enumerate() {
        let op = format!("+861370000001{n}");
        let what = format!("pcscd restart at {point:?} of provisioning {op}");
        let before = CardFile::read(&card.state).unwrap().expect("a state file");
        let t = sm.spawn_traced(
            &provision_args(&r, &op, "production"),
            Some(&format!("{PARAM}\n")),
        );
        assert!(reach(&t, point), "{what}: sm-cli ended before the point");
        // Hold sm-cli at the point while pcscd goes down and comes back.
        t.pause();
        let restart = restart_pcscd(&stack);
        t.resume();
        let run = t.finish(FINISH);
        restart.expect_success();
        check_clear_error(
            &run,
            &[
                EXIT_NO_SERVICE,
                EXIT_READER_GONE,
                EXIT_NO_CARD,
                EXIT_CARD_MUTE,
            ],
            &what,
        );
        // The same card-sim process comes back by itself.
        pcsc_io::wait_presence(&r, Presence::Card, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{what}: {e:#}\n{}", card.log_tail()));
        pcsc_io::wait_answering(&r, Duration::from_secs(10)).unwrap();
        assert!(
            card.running(),
            "{what}: card-sim exited:\n{}",
            card.log_tail()
        );
        assert_eq!(card.pid(), pid, "{what}: the same process must reconnect");
        assert_eq!(eid_raw(&r).unwrap(), eid, "{what}");
        let after = CardFile::read(&card.state)
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .expect("a state file");
        assert!(
            same_apart_from(&before, &after, &op),
            "{what}: other state changed:\n{before:#?}\n{after:#?}"
        );
        let outcome = complete(&sm, &card, &op, &eid, &what);
        eprintln!(
            "{what}: sm-cli exit {:?} ({}); {outcome}",
            run.code,
            run.message().trim()
        );
    }
    // Everything provisioned is still there, and a restart of card-sim reads it back.
    let before = CardFile::read(&card.state).unwrap().expect("a state file");
    card.restart().unwrap();
    assert_eq!(
        CardFile::read(&card.state).unwrap().expect("a state file"),
        before
    );
    assert_eq!(before.ops().len(), 4, "{before:#?}");
    let log = std::fs::read_to_string(&card.log).unwrap_or_default();
    assert!(!log.contains("panicked"), "{}", card.log_tail());
}

#[test]
fn card_removal_mid_command() {
    let Some(stack) = require_stack("card_removal_mid_command") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let mut card = CardSim::start(&stack, &lease, "removal-mid", &CardOptions::default()).unwrap();
    let sm = Sm::new(&stack, &card.dir.join("sm.sqlite3"));
    let r = card.reader.clone();
    let eid = eid_raw(&r).unwrap();
    // A first flow: the card makes and saves its identity key, and holds one profile.
    sm.run(
        &provision_args(&r, "+8613600000001", "test"),
        Some(&format!("{PARAM}\n")),
    )
    .expect_success();

    for (n, point) in [Point::KeyDerivation, Point::BetweenBf69Blocks]
        .into_iter()
        .enumerate()
    {
        let op = format!("+861360000001{n}");
        let what = format!("card-sim exit at {point:?} of provisioning {op}");
        let before_bytes = std::fs::read(&card.state).unwrap();
        let t = sm.spawn_traced(
            &provision_args(&r, &op, "production"),
            Some(&format!("{PARAM}\n")),
        );
        assert!(reach(&t, point), "{what}: sm-cli ended before the point");
        if matches!(point, Point::KeyDerivation) {
            // Inside Argon2id (about 0.25 s of CPU with the production cost): the card has
            // spent 30 ms of CPU since the confirmed parameter left sm-cli.
            let since = card.cpu_time().expect("card-sim runs");
            card.wait_busy(since, Duration::from_millis(30), FINISH)
                .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        } else {
            // Hold sm-cli between the blocks while the card goes.
            t.pause();
        }
        let status = card.stop().unwrap();
        t.resume();
        let run = t.finish(FINISH);
        check_clear_error(&run, &[EXIT_NO_CARD, EXIT_CARD_MUTE], &what);
        assert_ne!(
            run.code,
            Some(0),
            "{what}: the flow cannot have finished without the card: {run}"
        );
        eprintln!(
            "{what}: card-sim {status:?}; sm-cli exit {:?}: {}",
            run.code,
            run.message().trim()
        );
        // Nothing was written: the card had no complete command to act on.
        assert_eq!(
            std::fs::read(&card.state).unwrap(),
            before_bytes,
            "{what}: the state file changed"
        );
        card.restart().unwrap();
        assert_eq!(eid_raw(&r).unwrap(), eid, "{what}");
        let rec = sm.show(&op).unwrap();
        match point {
            // The card never answered BF67: the SM recorded nothing.
            Point::KeyDerivation => assert!(rec.is_none(), "{what}: {rec:#?}"),
            // BF67 was answered (record created), BF69 never arrived whole.
            _ => assert_eq!(
                rec.as_ref().map(|r| r["delivery"].clone()),
                Some("pending".into()),
                "{what}"
            ),
        }
        let outcome = complete(&sm, &card, &op, &eid, &what);
        eprintln!("{what}: {outcome}");
    }
    let log = std::fs::read_to_string(&card.log).unwrap_or_default();
    assert!(!log.contains("panicked"), "{}", card.log_tail());
}
