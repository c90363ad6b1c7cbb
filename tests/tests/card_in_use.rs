//! Issue 10, "Faults still open": sm-cli holds a PC/SC transaction (SCardBeginTransaction)
//! for a whole command, so another program on the same card cannot land APDUs in the
//! middle of a flow (an ES10 session on logical channel 1, a CAT dialogue) and break
//! it; that program waits until sm-cli is done. And a card another program holds in a
//! transaction is waited for up to `--timeout`, then reported busy (exit 8) instead of
//! hanging or failing obscurely.
//!
//! Through pcscd + vpcd with card-sim as its own process; the other program is this
//! test with raw PC/SC.

use std::sync::mpsc;
use std::time::{Duration, Instant};
use system_tests::flows::{eid_cli, CLOSE_CHANNEL_1};
use system_tests::hexutil::hex;
use system_tests::pcsc_io::Conn;
use system_tests::sm::is_command_line;
use system_tests::{require_stack, sm_cli, CardOptions, CardSim, Lease, Sm};

const IMEI: &str = "490154203237518";
const PARAM: &str = "123456";
/// sm-cli's exit code for a card held by another program (sm-cli/src/exit.rs).
const EXIT_CARD_BUSY: i32 = 8;

#[test]
fn another_client_waits_for_a_flow_and_cannot_break_it() {
    let test = "another_client_waits_for_a_flow_and_cannot_break_it";
    let Some(stack) = require_stack(test) else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, test, &CardOptions::default()).unwrap();
    let sm = Sm::new(&stack, &card.dir.join("sm.sqlite3"));
    let _ = std::fs::remove_file(&sm.db);
    let args = [
        "-r",
        &card.reader,
        "provision",
        "--op-id",
        "+8613800000071",
        "--imei",
        IMEI,
        "--param-stdin",
        "--kdf",
        "test",
    ];
    let traced = sm.spawn_traced(&args, Some(&format!("{PARAM}\n")));
    // The ES10 session's SELECT of the ISD-R on channel 1: the flow has begun and
    // channel 1 is open; a dozen APDUs and the card's key work are still to come.
    let select = traced.wait_line(Duration::from_secs(60), |l| {
        is_command_line(l) && l.contains("01A40400")
    });
    traced.pause();
    assert!(
        select.is_some(),
        "sm-cli never selected the ISD-R on channel 1"
    );

    // Another program closes channel 1 under sm-cli's feet.
    let reader = card.reader.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = Conn::connect(&reader).and_then(|c| {
            let answer = c.transmit(&hex(CLOSE_CHANNEL_1));
            let _ = c.close();
            answer
        });
        let _ = tx.send((Instant::now(), r));
    });
    let early = rx.recv_timeout(Duration::from_millis(1500));
    assert!(
        early.is_err(),
        "another program's MANAGE CHANNEL close went through in the middle of sm-cli's \
         flow ({early:?}): sm-cli holds no transaction"
    );
    traced.resume();
    let run = traced.finish(Duration::from_secs(120));
    let ended = Instant::now();
    assert_eq!(run.code, Some(0), "the flow must finish untouched: {run}");
    let (at, answer) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the other program's APDU never got through after sm-cli ended");
    let answer = answer.expect("the other program's transmit failed");
    assert!(answer.len() >= 2, "no status word: {answer:02X?}");
    assert!(
        at + Duration::from_millis(50) >= ended,
        "the other program's APDU was answered before sm-cli let the card go"
    );
}

#[test]
fn a_card_held_by_another_program_is_reported_busy_after_the_timeout() {
    let test = "a_card_held_by_another_program_is_reported_busy_after_the_timeout";
    let Some(stack) = require_stack(test) else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, test, &CardOptions::default()).unwrap();
    let mut holder = Conn::connect(&card.reader).unwrap();
    holder.hold().unwrap();

    let run = sm_cli(
        &stack,
        [
            "-r",
            card.reader.as_str(),
            "--timeout",
            "2",
            "info",
            "--json",
        ],
    );
    assert_eq!(run.code, Some(EXIT_CARD_BUSY), "{run}");
    assert!(
        run.message().contains("in use by another program"),
        "the error must say why: {run}"
    );
    assert!(
        run.stdout.contains("\"card_busy\""),
        "--json names the error kind: {run}"
    );
    assert!(
        run.elapsed >= Duration::from_secs(2) && run.elapsed < Duration::from_secs(20),
        "sm-cli waits --timeout, then gives up: {run}"
    );

    // Once the other program lets go, the card is there as before.
    holder.close().unwrap();
    assert_eq!(eid_cli(&stack, &card.reader).len(), 32);
}
