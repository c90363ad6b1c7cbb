//! Issue 10, finding 7: the card bounds the KDF parameters the SM sends with BF67/BF68
//! (docs/device-change-protocol.md, tag 8B) on both sides, before it asks for the
//! parameter or derives anything, and refuses with result 9 (bad request):
//!
//! - a card started without `--kdf-floor` (card-sim's default, the production floor)
//!   refuses a test-profile derivation (`sm-cli provision --kdf test`, exit 40 + 9)
//!   without a hidden GET INPUT, and provisions with sm-cli's default `--kdf`;
//! - a card made for tests (`--kdf-floor test`) refuses a request within `apdu`'s caps
//!   but beyond the card's (256 MiB, t=10: seconds of Argon2 per request) at once, with
//!   `BF67 {80 09}` instead of `91xx`, and still answers a test-profile request with
//!   its proactive session.

use apdu::cat::{self, ProactiveCommand, TerminalData, TerminalResponse};
use apdu::crypto::{KdfAlgorithm, KdfParams};
use apdu::devchange::{DcRequest, DcResponse, DcResult, Flow};
use std::ffi::OsString;
use system_tests::pcsc_io::Conn;
use system_tests::sm::is_terminal_response;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Sm};

const IMEI: &str = "490154203237518";
/// sm-cli's exit for device-change result code 9 (sm-cli/README.md: 40 + code).
const EXIT_BAD_REQUEST: i32 = 49;

fn provision(sm: &Sm, reader: &str, op: &str, kdf: Option<&str>) -> system_tests::Run {
    let mut args = vec![
        "--trace",
        "-r",
        reader,
        "provision",
        "--op-id",
        op,
        "--imei",
        IMEI,
        "--param-stdin",
    ];
    if let Some(k) = kdf {
        args.extend(["--kdf", k]);
    }
    sm.run(&args, Some("123456\n"))
}

#[test]
fn a_default_card_refuses_the_test_kdf_and_takes_smclis_default() {
    let Some(stack) = require_stack("a_default_card_refuses_the_test_kdf_and_takes_smclis_default")
    else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    // card-sim exactly as a user starts it: no --kdf-floor.
    let dir = stack.scratch_dir("kdf-floor-default");
    let args: Vec<OsString> = vec![
        "--slot".into(),
        lease.slot().to_string().into(),
        "--ephemeral".into(),
    ];
    let card = CardSim::start_program(
        &stack,
        lease.slot(),
        lease.reader(),
        dir.clone(),
        &stack.card_sim,
        args,
    )
    .unwrap();
    let sm = Sm::new(&stack, &dir.join("sm.sqlite3"));

    let r = provision(&sm, &card.reader, "+8613800000081", Some("test"));
    assert_eq!(
        r.code,
        Some(EXIT_BAD_REQUEST),
        "test KDF on a default card: {r}"
    );
    // BF66 asked for the IMEI; BF67 was refused before its hidden GET INPUT, so no
    // TERMINAL RESPONSE carried a parameter (those are traced redacted).
    assert!(
        r.stderr.lines().any(is_terminal_response),
        "the IMEI was asked: {r}"
    );
    assert!(
        !r.stderr
            .lines()
            .any(|l| is_terminal_response(l) && l.contains("redacted")),
        "the card asked for the parameter before refusing: {r}"
    );
    let profiles = sm.run(&["--json", "-r", &card.reader, "profiles", "list"], None);
    assert!(
        !profiles.stdout.contains("operational"),
        "nothing installed: {profiles}"
    );

    // sm-cli's default KDF (production) is what a default card takes.
    provision(&sm, &card.reader, "+8613800000082", None).expect_success();
}

/// STORE DATA of one block (GlobalPlatform §11.11, last block, P2 = 0) on channel 0.
fn store_data(conn: &Conn, msg: &[u8]) -> Vec<u8> {
    assert!(msg.len() < 256);
    let mut apdu = vec![0x80, 0xE2, 0x91, 0x00, msg.len() as u8];
    apdu.extend_from_slice(msg);
    conn.transmit_full(&apdu).unwrap()
}

fn sw(answer: &[u8]) -> (u8, u8) {
    (answer[answer.len() - 2], answer[answer.len() - 1])
}

/// BF67 of flow A after a BF66 session (IMEI given) on a fresh connection.
fn generate_key(conn: &Conn, kdf: &[u8]) -> Vec<u8> {
    let select = hex::decode("00A4040010A0000005591010FFFFFFFF8900000100").unwrap();
    assert_eq!(sw(&conn.transmit_full(&select).unwrap()), (0x90, 0x00));
    let begin = DcRequest::Begin {
        flow: Flow::Provision,
    };
    let mut r = store_data(conn, &begin.encode());
    // The proactive session: PROVIDE LOCAL INFORMATION (IMEI), answered.
    while sw(&r).0 == 0x91 {
        let fetch = [0x80, cat::INS_FETCH, 0, 0, sw(&r).1];
        let d0 = conn.transmit_full(&fetch).unwrap();
        let d0 = &d0[..d0.len() - 2];
        let details = cat::command_details(d0).unwrap();
        assert!(
            matches!(
                ProactiveCommand::decode(d0),
                Ok(ProactiveCommand::ProvideImei { .. })
            ),
            "{}",
            hex::encode_upper(d0)
        );
        let body = TerminalResponse {
            details,
            result: 0,
            data: TerminalData::Imei(IMEI.into()),
        }
        .encode();
        let mut tr = vec![0x80, cat::INS_TERMINAL_RESPONSE, 0, 0, body.len() as u8];
        tr.extend_from_slice(&body);
        r = conn.transmit_full(&tr).unwrap();
    }
    assert_eq!(sw(&r), (0x90, 0x00));
    let begun = store_data(conn, &DcRequest::FetchResult.encode());
    assert_eq!(sw(&begun), (0x90, 0x00));
    let req = DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: "+8613800000083".into(),
        challenge: vec![0x5C; 32],
        salt: vec![0xA5; 16],
        kdf: kdf.to_vec(),
    };
    store_data(conn, &req.encode())
}

#[test]
fn a_test_card_refuses_requests_beyond_its_caps_at_once() {
    let Some(stack) = require_stack("a_test_card_refuses_requests_beyond_its_caps_at_once") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let opts = CardOptions {
        ephemeral: true,
        ..CardOptions::default()
    };
    let card = CardSim::start(&stack, &lease, "kdf-caps", &opts).unwrap();
    let conn = Conn::connect(&card.reader).unwrap();

    // Within apdu's caps (KdfParams accepts it), beyond the card's: 256 MiB, t=10.
    let dear = KdfParams::new(KdfAlgorithm::Argon2id, 256 * 1024, 10, 1).unwrap();
    let r = generate_key(&conn, &dear.to_bytes());
    assert_eq!(
        sw(&r),
        (0x90, 0x00),
        "answered at once, not with a proactive session: {}",
        hex::encode_upper(&r)
    );
    match DcResponse::decode(&r[..r.len() - 2]) {
        Ok(DcResponse::Failed { code, .. }) => assert_eq!(code, DcResult::BadRequest),
        other => panic!("expected result 9, got {other:?}"),
    }

    // The test profile on a test card: the card asks for the parameter (91xx).
    let r = generate_key(&conn, &KdfParams::TEST.to_bytes());
    assert_eq!(sw(&r).0, 0x91, "{}", hex::encode_upper(&r));
    conn.close().unwrap();
}
