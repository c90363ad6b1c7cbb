//! `cargo test` in fuzz/ (no libFuzzer needed): every committed corpus file and saved
//! regression goes through its target's oracle, and the sequence format round-trips.

use crate::sequence::{self, Step};
use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).expect("corpus file");
            // Shown with the panic when this input fails.
            eprintln!("replaying {}", e.path().display());
            f(&data);
            n += 1;
        }
    }
    assert!(n > 0, "no corpus for {target}");
}

#[test]
fn corpus_apdu_command() {
    replay("apdu_command", crate::codecs::apdu_command);
}

#[test]
fn corpus_ber_tlv() {
    replay("ber_tlv", crate::codecs::ber_tlv);
}

#[test]
fn corpus_es10_decode() {
    replay("es10_decode", crate::codecs::es10_decode);
}

#[test]
fn corpus_script_parser() {
    replay("script_parser", crate::codecs::script_parser);
}

#[test]
fn corpus_card_sequence() {
    replay("card_sequence", crate::harness::card_sequence);
}

#[test]
fn corpus_sm_answers() {
    replay("sm_answers", crate::answers::sm_answers);
}

#[test]
fn corpus_es9p_requests() {
    replay("es9p_requests", crate::es9p::es9p_requests);
}

#[test]
fn corpus_sm_requests() {
    replay("sm_requests", crate::sm_remote::sm_requests);
}

/// The `sm_requests` seeds get the statuses they were made for: the recorded flows
/// reach the SM (a 200, never a 400), the operator's requests answer 200 only with the
/// token, the padded ones 413.
#[test]
fn sm_request_seeds_reach_the_handler() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/sm_requests");
    let servers = crate::sm_remote::Servers::new();
    let mut names = Vec::new();
    for e in std::fs::read_dir(&dir)
        .expect("the sm_requests corpus")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let data = std::fs::read(e.path()).expect("a seed");
        let status = crate::sm_remote::run(&servers, &data).expect("a seed has a request");
        let expected = match name.as_str() {
            n if n.contains("oversize") => 413,
            n if n.starts_with("unknown") || n.contains("no-endpoint") => 404,
            n if n.contains("no-token") || n.contains("other-token") || n.contains("header") => 401,
            n if n.contains("-extra-field") || n.contains("-array") || n.contains("not-") => 400,
            n if n.starts_with("start-short") || n.starts_with("start-unknown") => 400,
            n if n.starts_with("start-bad") || n.starts_with("start-empty") => 400,
            n if n.starts_with("step-bad") => 400,
            _ => 200,
        };
        assert_eq!(status, expected, "{name}");
        names.push(name);
    }
    // The admin answers' reader tells a report from what is not one.
    let read = sm_cli::sm::remote::admin::read_answer;
    assert!(read("admin/list", br#"{"subscriptions":[]}"#).is_ok());
    assert!(read("admin/list", b"{}").is_err());
    assert!(read("admin/unlock", br#"{"subscriptions":[]}"#).is_err());
    assert!(read(
        "admin/show",
        br#"{"error":{"kind":"usage","exit_code":2,"message":"x"}}"#
    )
    .is_ok());
    for flow in ["provision", "device-change", "rekey", "sync"] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("{flow}-01-stepFlow"))),
            "no recorded {flow} step: {names:?}"
        );
    }
}

/// Rewrites `corpus/sm_requests/` from `sm_remote::seeds` (real flows through sm-cli's
/// client against the fuzz card): `cargo test --release -- --ignored write_sm_requests_corpus`.
#[test]
#[ignore = "writes fuzz/corpus/sm_requests"]
fn write_sm_requests_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/sm_requests");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the corpus directory");
    let mut seen = std::collections::BTreeSet::new();
    for (name, data) in crate::sm_remote::seeds::seeds() {
        if seen.insert(data.clone()) {
            crate::sm_remote::sm_requests(&data);
            std::fs::write(dir.join(name), data).expect("a seed");
        }
    }
    println!("sm_requests: {} seeds", seen.len());
}

/// The `sm_answers` seeds reach what they were made for, though the SM's challenges
/// are new on every run (the sync's authorised BF6B and its signed result included).
#[test]
fn sm_answer_seeds_reach_the_sm_checks() {
    let seed = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/sm_answers")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let outcome = |name: &str| {
        crate::answers::replay(&seed(name))
            .expect("a seed has an operation")
            .map_err(|e| e.kind())
    };
    // The identity proofs pass; the parameter signature is what the SM refuses.
    assert_eq!(outcome("smdevicechange.ans"), Err("wrong_parameter"));
    assert_eq!(outcome("smsync.ans"), Ok(()));
    assert_eq!(outcome("smsync-removal-refused.ans"), Err("card_result"));
    // The recorded device: the identity proof, BF6D, BF69 and its signed result pass.
    assert_eq!(outcome("smrecordeddevice.ans"), Ok(()));
    assert_eq!(outcome("dcgeneratekey.ans"), Ok(()));
    assert!(outcome("one-question-too-many.ans").is_err());
}

/// The signed BF69 / BF6B results a `card_sequence` seed gets from the card, in order.
fn signed_results(name: &str) -> Vec<(u32, apdu::devchange::DcResult)> {
    use apdu::devchange::DcResponse;
    use apdu::{Response, StatusWord};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/card_sequence")
        .join(name);
    let seed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sim = crate::harness::Sim::new();
    let mut data = Vec::new();
    let mut out = Vec::new();
    for step in sequence::decode(&seed) {
        let Step::Apdu(cmd) = &step else {
            sim.step(&step);
            data.clear();
            continue;
        };
        let r = sim.step(&step).expect("an APDU answers");
        let r = Response::parse(&r).expect("a status word");
        // GET RESPONSE continues the answer before it.
        if cmd.get(1) != Some(&apdu::iso7816::ins::GET_RESPONSE) {
            data.clear();
        }
        data.extend_from_slice(&r.data);
        if r.sw == StatusWord::Success {
            match DcResponse::decode(&data) {
                Ok(DcResponse::Installed(i)) => out.push((0xBF69, i.code)),
                Ok(DcResponse::Removed { code, .. }) => out.push((0xBF6B, code)),
                _ => {}
            }
        }
    }
    out
}

/// The device-change seeds replay the SM's authorised BF69 and BF6B to the end: the card
/// accepts the valid ones (its challenges replay the same), refuses the changed ones.
#[test]
fn card_sequence_seeds_reach_the_authorised_functions() {
    use apdu::devchange::DcResult::{self, *};
    let count = |r: &[(u32, DcResult)], tag: u32, code: DcResult| {
        r.iter().filter(|&&(t, c)| t == tag && c == code).count()
    };
    let a = signed_results("dc-flow-a-provision.seq");
    assert_eq!(
        a,
        [
            (0xBF69, NotAuthorised),
            (0xBF69, Ok),
            (0xBF69, NotAuthorised),
            (0xBF6B, Ok)
        ]
    );
    let b = signed_results("dc-flow-b-recorded-device.seq");
    assert_eq!(b, [(0xBF69, Ok), (0xBF69, AlreadyInstalled), (0xBF6B, Ok)]);
    let b = signed_results("dc-flow-b-parameter-install.seq");
    assert_eq!(b, [(0xBF69, Ok)]);
    let b = signed_results("dc-flow-b-identity.seq");
    assert_eq!(b, [(0xBF69, DecryptionFailed), (0xBF6B, NotFound)]);
    let refused = signed_results("dc-authorisation-refused.seq");
    assert_eq!(count(&refused, 0xBF69, NotAuthorised), 6, "{refused:?}");
    assert_eq!(count(&refused, 0xBF6B, NotAuthorised), 1, "{refused:?}");
    assert_eq!(count(&refused, 0xBF69, DecryptionFailed), 1, "{refused:?}");
    assert_eq!(refused.last(), Some(&(0xBF69, Ok)));
}

#[test]
fn sequence_format_round_trips() {
    let steps = vec![
        Step::Reset,
        Step::Apdu(vec![0x00, 0x70, 0x00, 0x00, 0x01]),
        Step::Apdu(vec![0xAB; 251]),
        Step::Apdu(vec![0xCD; 252]),
        Step::Apdu(vec![0xEF; 70_000]),
        Step::Apdu(Vec::new()),
        Step::PowerOff,
        Step::PowerOn,
    ];
    let mut expected = steps.clone();
    expected[4] = Step::Apdu(vec![0xEF; 0xFFFF]);
    assert_eq!(sequence::decode(&sequence::encode(&steps)), expected);
    // Truncated lengths take what is left.
    assert_eq!(
        sequence::decode(&[0x02, 0x01, 0x02, 0xFC, 0x00]),
        vec![Step::Apdu(vec![1, 2]), Step::Apdu(vec![])]
    );
    assert_eq!(
        sequence::decode(&[0x05, 0xAA, 0xFE]),
        vec![Step::Apdu(vec![0xAA, 0xFE])]
    );
}
