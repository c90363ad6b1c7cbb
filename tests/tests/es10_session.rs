//! The ES10 session a real LPA runs, through pcscd + vpcd against a card-sim process:
//! the byte sequence lpac 2.3 sends for `chip info` and `profile list` (interop.md,
//! "Observed: what lpac 2.3 sent"), once with raw PC/SC and once through `sm-cli apdu`,
//! and `sm-cli info --json` with an EID whose check digits hold (ISO 7064 MOD 97-10).

use pcsc::{Disposition, Protocol, Protocols};
use system_tests::flows::*;
use system_tests::hexutil::{eid_from_get_eid, eid_valid, hex, up};
use system_tests::pcsc_io::Conn;
use system_tests::{require_stack, sm_cli, CardOptions, CardSim, Lease};

fn ephemeral() -> CardOptions {
    CardOptions {
        ephemeral: true,
        ..CardOptions::default()
    }
}

#[test]
fn lpac_chip_info_and_profile_list_sequence_over_t0() {
    let Some(stack) = require_stack("lpac_chip_info_and_profile_list_sequence_over_t0") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, "lpac-seq", &ephemeral()).unwrap();

    // lpac connects with T=0 only (interop.md): the ATR must offer it.
    let conn = Conn::connect_with(&card.reader, Protocols::T0).unwrap();
    assert_eq!(conn.protocol().unwrap(), Some(Protocol::T0));

    let (d, s) = exchange_lpac(&conn, TERMINAL_CAPABILITY).unwrap();
    assert_eq!((d.as_slice(), s), (&[][..], 0x9000), "TERMINAL CAPABILITY");
    let (d, s) = exchange_lpac(&conn, OPEN_CHANNEL).unwrap();
    assert_eq!(
        (d.as_slice(), s),
        (&[0x01][..], 0x9000),
        "MANAGE CHANNEL open"
    );
    // SELECT without Le: lpac accepts SW1 90 or 61.
    let r = conn.transmit(&hex(SELECT_ISDR_CH1)).unwrap();
    assert!(
        matches!(r[r.len() - 2], 0x90 | 0x61),
        "SELECT ISD-R: {}",
        up(&r)
    );

    let r = conn.transmit(&hex(GET_EID_CH1)).unwrap();
    let eid = eid_from_get_eid(&r).unwrap_or_else(|| panic!("GetEID answered {}", up(&r)));
    assert!(
        r.ends_with(&[0x90, 0x00]),
        "GetEID must fit one answer: {}",
        up(&r)
    );
    assert!(eid_valid(&eid), "EID {eid} has wrong check digits");

    for (apdu, tag) in [
        (CONFIGURED_ADDRESSES_CH1, "BF3C"),
        (GET_RAT_CH1, "BF43"),
        (EUICC_INFO2_CH1, "BF22"),
        (PROFILES_INFO_CH1, "BF2D"),
    ] {
        let (d, s) = exchange_lpac(&conn, apdu).unwrap();
        assert_eq!(s, 0x9000, "{apdu} -> SW {s:04X}");
        assert!(up(&d).starts_with(tag), "{apdu} -> {}", up(&d));
    }
    let (_, s) = exchange_lpac(&conn, CLOSE_CHANNEL_1).unwrap();
    assert_eq!(s, 0x9000, "MANAGE CHANNEL close");
    // The channel is closed now: a command on it is refused (6881).
    let r = conn.transmit(&hex(GET_EID_CH1)).unwrap();
    assert_eq!(up(&r), "6881", "GetEID on a closed channel");

    // lpac disconnects with unpower; the next session finds the same card.
    conn.close_with(Disposition::UnpowerCard).unwrap();
    assert_eq!(
        eid_raw(&card.reader).unwrap(),
        eid,
        "EID after a power cycle"
    );
}

#[test]
fn sm_cli_apdu_runs_the_lpac_sequence() {
    let Some(stack) = require_stack("sm_cli_apdu_runs_the_lpac_sequence") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, "smcli-apdu", &ephemeral()).unwrap();
    let seq = [
        TERMINAL_CAPABILITY,
        OPEN_CHANNEL,
        SELECT_ISDR_CH1,
        GET_EID_CH1,
        CONFIGURED_ADDRESSES_CH1,
        GET_RAT_CH1,
        EUICC_INFO2_CH1,
        PROFILES_INFO_CH1,
        CLOSE_CHANNEL_1,
    ];
    let mut args = vec!["-r", card.reader.as_str(), "apdu", "--json"];
    args.extend(seq);
    let run = sm_cli(&stack, &args);
    let v = run.expect_success().json();
    let ex = v["exchanges"]
        .as_array()
        .unwrap_or_else(|| panic!("no exchanges array: {run}"));
    assert_eq!(ex.len(), seq.len(), "{run}");
    for (e, cmd) in ex.iter().zip(seq) {
        assert_eq!(e["command"], cmd, "{run}");
        assert_eq!(e["sw"], "9000", "{cmd}: {run}");
    }
    assert_eq!(ex[1]["response"], "01", "channel number: {run}");
    let get_eid = ex[3]["response"].as_str().unwrap_or_default();
    let eid = get_eid
        .strip_prefix("BF3E125A10")
        .unwrap_or_else(|| panic!("GetEID answer {get_eid}"));
    assert!(eid_valid(eid), "EID {eid}");
    // sm-cli follows 61xx: each ES10 answer arrives whole.
    for (i, tag) in [(4, "BF3C"), (5, "BF43"), (6, "BF22"), (7, "BF2D")] {
        let r = ex[i]["response"].as_str().unwrap_or_default();
        assert!(r.starts_with(tag), "{} -> {r}", seq[i]);
    }
    // The same EID through the human output and through `info`.
    let human = sm_cli(
        &stack,
        [
            "-r",
            card.reader.as_str(),
            "apdu",
            SELECT_ISDR_CH0,
            GET_EID_CH0,
        ],
    );
    assert!(
        human.expect_success().stdout.contains(eid) || human.stderr.contains(eid),
        "{human}"
    );
    assert_eq!(eid_cli(&stack, &card.reader), eid);
}

#[test]
fn info_json_shows_a_valid_eid_and_the_configured_one() {
    let Some(stack) = require_stack("info_json_shows_a_valid_eid_and_the_configured_one") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();

    // Default EID: SGP.26 test prefix, check digits valid, the same as raw GetEID.
    let card = CardSim::start(&stack, &lease, "info-default", &ephemeral()).unwrap();
    let run = sm_cli(&stack, ["-r", card.reader.as_str(), "info", "--json"]);
    let v = run.expect_success().json();
    let eid = v["eid"].as_str().unwrap_or_default().to_string();
    assert!(eid_valid(&eid), "EID {eid:?} has wrong check digits: {run}");
    assert!(eid.starts_with("89049032"), "test EID prefix: {eid}");
    assert_eq!(eid_raw(&card.reader).unwrap(), eid);
    assert!(v.get("reader").is_some(), "{run}");
    drop(card);

    // A configured EID comes back exactly.
    let wanted = "89049032000000000000000000004242";
    let wanted = if eid_valid(wanted) {
        wanted.to_string()
    } else {
        // Fix the check digits: 98 - (n * 100 mod 97).
        let body = &wanted[..30];
        let m = format!("{body}00")
            .bytes()
            .fold(0u32, |a, d| (a * 10 + u32::from(d - b'0')) % 97);
        format!("{body}{:02}", 98 - m)
    };
    let card = CardSim::start(
        &stack,
        &lease,
        "info-eid",
        &CardOptions {
            eid: Some(wanted.clone()),
            ..ephemeral()
        },
    )
    .unwrap();
    assert_eq!(eid_cli(&stack, &card.reader), wanted);
}

#[test]
fn card_sim_refuses_an_eid_with_wrong_check_digits() {
    let Some(stack) = require_stack("card_sim_refuses_an_eid_with_wrong_check_digits") else {
        return;
    };
    // Nothing is connected: the port is a closed one on loopback, and the EID is checked
    // before any connection is tried.
    let bad = "89049032000000000000000000004243";
    assert!(!eid_valid(bad));
    let run = system_tests::cli::run_with(
        &mut std::process::Command::new(&stack.card_sim),
        ["--ephemeral", "--vpcd", "127.0.0.1:9", "--eid", bad],
        None,
        std::time::Duration::from_secs(20),
    );
    assert!(!run.timed_out, "card-sim should refuse at once: {run}");
    assert!(matches!(run.code, Some(c) if c != 0), "{run}");
    assert!(run.stderr.to_lowercase().contains("check"), "{run}");
}

/// lpac connects with T=0 only. pcsc-lite keeps the protocol the first client negotiated
/// while the card stays powered, and picks T=1 for a client that offers T=0 or T=1; so
/// after any such client that leaves the card powered (sm-cli disconnects with
/// LeaveCard), lpac's SCardConnect fails with SCARD_E_PROTO_MISMATCH (8010000F) until
/// the card is reset. Run `sm-cli info`, then connect as lpac does.
#[test]
fn lpac_can_connect_after_sm_cli() {
    let Some(stack) = require_stack("lpac_can_connect_after_sm_cli") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, "t0-after-smcli", &ephemeral()).unwrap();
    let eid = eid_cli(&stack, &card.reader);
    let conn = Conn::connect_with(&card.reader, Protocols::T0)
        .unwrap_or_else(|e| panic!("a T=0-only client after sm-cli: {e:#}"));
    let (d, s) = exchange_lpac(&conn, OPEN_CHANNEL).unwrap();
    assert_eq!((d.as_slice(), s), (&[0x01][..], 0x9000));
    let r = conn.transmit(&hex(SELECT_ISDR_CH1)).unwrap();
    assert!(
        matches!(r[r.len() - 2], 0x90 | 0x61),
        "SELECT ISD-R: {}",
        up(&r)
    );
    let r = conn.transmit(&hex(GET_EID_CH1)).unwrap();
    assert_eq!(eid_from_get_eid(&r).as_deref(), Some(eid.as_str()));
    conn.close_with(Disposition::UnpowerCard).unwrap();
}
