//! Third-party witnesses through pcscd: OpenSC's `opensc-tool` and pcsc-tools' `scriptor`
//! see the card-sim process as a card, read its ATR, and get the same EID from the ISD-R
//! that our own client reads (issue 2: "a witness that is not our own client").

use system_tests::flows::*;
use system_tests::hexutil::eid_valid;
use system_tests::witnesses::{opensc_reader, parse_opensc_sends, scriptor};
use system_tests::{require_stack, sm_cli, CardOptions, CardSim, Lease};

fn ephemeral() -> CardOptions {
    CardOptions {
        ephemeral: true,
        ..CardOptions::default()
    }
}

#[test]
fn opensc_tool_sees_the_card_its_atr_and_the_eid() {
    let Some(stack) = require_stack("opensc_tool_sees_the_card_its_atr_and_the_eid") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, "opensc", &ephemeral()).unwrap();
    let (n, present) = opensc_reader(&card.reader).unwrap();
    assert!(present, "opensc-tool -l shows no card in '{}'", card.reader);
    let n = n.to_string();

    // The ATR opensc-tool reads is the one sm-cli reports for that reader.
    let atr = system_tests::cli::run("opensc-tool", ["-r", n.as_str(), "-a"]);
    let atr_hex = atr
        .expect_success()
        .stdout
        .trim()
        .replace(':', "")
        .to_uppercase();
    assert!(atr_hex.starts_with("3B"), "ATR {atr_hex}");
    let readers = sm_cli(&stack, ["readers", "--json"]);
    let v = readers.expect_success().json();
    let ours = v["readers"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == card.reader.as_str()))
        .unwrap_or_else(|| panic!("sm-cli readers does not list '{}': {readers}", card.reader));
    assert_eq!(ours["card_present"], true, "{readers}");
    assert_eq!(ours["atr"], atr_hex.as_str(), "{readers}");

    // Raw APDUs through OpenSC's generic driver.
    let send = system_tests::cli::run(
        "opensc-tool",
        [
            "-r",
            n.as_str(),
            "-c",
            "default",
            "-s",
            SELECT_ISDR_CH0,
            "-s",
            GET_EID_CH0,
        ],
    );
    let r = parse_opensc_sends(&send.expect_success().stdout);
    assert_eq!(r.len(), 2, "{send}");
    assert!(
        r[0].1 == "9000" || r[0].1.starts_with("61"),
        "SELECT ISD-R: {send}"
    );
    assert_eq!(r[1].1, "9000", "GetEID: {send}");
    let eid = r[1]
        .0
        .strip_prefix("BF3E125A10")
        .unwrap_or_else(|| panic!("GetEID data {}: {send}", r[1].0));
    assert!(eid_valid(eid), "EID {eid}");
    assert_eq!(eid_raw(&card.reader).unwrap(), eid);
}

#[test]
fn scriptor_replays_the_lpac_prologue() {
    let Some(stack) = require_stack("scriptor_replays_the_lpac_prologue") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, "scriptor", &ephemeral()).unwrap();
    // scriptor stops at any line containing "exit" and sends the rest as hex.
    let script = [
        "# lpac's chip info prologue",
        TERMINAL_CAPABILITY,
        OPEN_CHANNEL,
        SELECT_ISDR_CH1,
        GET_EID_CH1,
        GET_RAT_CH1,
        CLOSE_CHANNEL_1,
        "reset",
        SELECT_MF,
        "",
    ]
    .join("\n");
    let (run, ex) = scriptor(&card.reader, &script);
    run.expect_success();
    let got: Vec<(&str, &str)> = ex
        .iter()
        .map(|e| (e.command.as_str(), e.response.as_str()))
        .collect();
    assert_eq!(ex.len(), 8, "{got:?}\n{run}");
    assert_eq!(got[0], (TERMINAL_CAPABILITY, "9000"));
    assert_eq!(got[1], (OPEN_CHANNEL, "019000"));
    assert!(
        ex[2].sw() == "9000" || ex[2].sw().starts_with("61"),
        "{run}"
    );
    let eid = ex[3]
        .response
        .strip_prefix("BF3E125A10")
        .and_then(|r| r.strip_suffix("9000"))
        .unwrap_or_else(|| panic!("GetEID: {run}"));
    assert!(eid_valid(eid), "EID {eid}");
    assert!(
        ex[4].response.starts_with("BF43") && ex[4].sw() == "9000",
        "{run}"
    );
    assert_eq!(got[5], (CLOSE_CHANNEL_1, "9000"));
    assert_eq!(got[6].0, "RESET");
    assert!(got[6].1.starts_with("3B"), "reset gives the ATR: {run}");
    assert_eq!(got[7], (SELECT_MF, "9000"));
    assert_eq!(eid_raw(&card.reader).unwrap(), eid);
}

#[test]
fn card_sim_atr_option_reaches_every_client() {
    let Some(stack) = require_stack("card_sim_atr_option_reaches_every_client") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    // T=0 only, two historical bytes: with no T=1 on offer, pcsc-lite settles on T=0 for
    // every client, so a T=0-only client (lpac) connects even after a T=0|T=1 one.
    let card = CardSim::start(
        &stack,
        &lease,
        "atr",
        &CardOptions {
            ephemeral: true,
            extra: vec!["--atr".into(), "3B021450".into()],
            ..CardOptions::default()
        },
    )
    .unwrap();
    let atr = system_tests::pcsc_io::atr(&card.reader).unwrap();
    assert_eq!(system_tests::hexutil::up(&atr), "3B021450");
    let eid = eid_cli(&stack, &card.reader);
    let conn = system_tests::pcsc_io::Conn::connect_with(&card.reader, pcsc::Protocols::T0)
        .unwrap_or_else(|e| panic!("T=0 after sm-cli with a T=0-only ATR: {e:#}"));
    conn.close().unwrap();
    let (run, ex) = scriptor(&card.reader, &format!("{SELECT_ISDR_CH0}\n{GET_EID_CH0}\n"));
    assert!(run.expect_success().stdout.contains("Using T=0"), "{run}");
    assert_eq!(ex.len(), 2, "{run}");
    assert_eq!(
        ex[1].response,
        format!("BF3E125A10{eid}9000").to_uppercase(),
        "{run}"
    );
}
