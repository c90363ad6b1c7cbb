//! The recorder: a session on the fake card, recorded the way the reader session feeds
//! it, must parse as a script and replay against a fresh fake card with every answer
//! checked; secrets are replaced and masked; a changed byte fails with its line.

use super::engine::run_with;
use super::fake::{eid, FakeCard};
use crate::errors::CliError;
use crate::lpa::Es10Session;
use crate::reader::transport::{exchange, Handling};
use crate::reader::{CardLink, Secrecy};
use crate::script::engine::ScriptCard;
use crate::script::recorder::{card_sim_hint, Recording, CARD_SIM_ATR};
use crate::script::report::{FileResult, Status};
use apdu::Command;
use apdu_script::{ResetKind, Script, Vars};

/// The fake card with the session's recorder hooks around it.
struct Recorded {
    card: FakeCard,
    rec: Recording,
}

impl CardLink for Recorded {
    fn transmit_raw(&mut self, apdu: &[u8], secrecy: Secrecy) -> Result<Vec<u8>, CliError> {
        match self.card.transmit_raw(apdu, secrecy) {
            Ok(a) => {
                self.rec.exchange(apdu, &a, secrecy);
                Ok(a)
            }
            Err(e) => {
                self.rec.failed(apdu, secrecy, &e.to_string());
                Err(e)
            }
        }
    }
}

fn cmd(h: &str) -> Command {
    Command::parse(&hex::decode(h).unwrap()).unwrap()
}

/// What `sm-cli info`-like commands do, plus T=0 follow-ups, secrets and power.
fn record_session() -> Recording {
    let mut link = Recorded {
        card: FakeCard::default(),
        rec: Recording::new("info"),
    };
    link.rec.connected("Fake Reader 0", Some(&CARD_SIM_ATR));
    {
        let mut es10 = Es10Session::open(&mut link, 120).unwrap();
        assert_eq!(es10.get_eid().unwrap(), eid());
        es10.close().unwrap();
    }
    let r = exchange(
        &mut link,
        &cmd("80CA000200"),
        Secrecy::Public,
        Handling::Auto,
    )
    .unwrap();
    assert_eq!(r.data.len(), 300);
    exchange(
        &mut link,
        &cmd("00B0000000"),
        Secrecy::Public,
        Handling::Auto,
    )
    .unwrap();
    exchange(
        &mut link,
        &cmd("80E2910004DEADBEEF"),
        Secrecy::Command,
        Handling::Auto,
    )
    .unwrap();
    exchange(
        &mut link,
        &cmd("80E2910003FACE01"),
        Secrecy::Both,
        Handling::Auto,
    )
    .unwrap();
    link.card.reset(ResetKind::Warm).unwrap();
    link.rec.reset(false);
    link.card.power_off().unwrap();
    link.rec.power_off();
    assert!(exchange(
        &mut link,
        &cmd("80CA000100"),
        Secrecy::Public,
        Handling::Auto
    )
    .is_err());
    link.card.power_on().unwrap();
    link.rec.connected("Fake Reader 0", Some(&CARD_SIM_ATR));
    exchange(
        &mut link,
        &cmd("80CA000100"),
        Secrecy::Public,
        Handling::Auto,
    )
    .unwrap();
    link.rec
}

#[test]
fn recorded_sessions_parse_and_replay_against_a_fresh_card() {
    let text = record_session().to_text().unwrap();
    let script = Script::parse("rec.apdu", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(script.warnings.is_empty(), "{:?}", script.warnings);

    // Header.
    assert!(text.starts_with(&format!(
        "# Recorded by sm-cli {} on ",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(text.contains(": sm-cli info\n"), "{text}");
    assert!(
        text.contains("# Reader: Fake Reader 0, ATR 3B80801F0718\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("# EID: {}\n", eid().digits())),
        "{text}"
    );
    assert!(
        text.contains("# card-sim --seed 1: this EID is card-sim's for --seed 1 --slot 0"),
        "{text}"
    );
    assert!(
        text.contains(&format!("--seed 1 --eid {}", eid().digits())),
        "{text}"
    );

    // Exchanges as they went over the wire: GET RESPONSE rounds and the 6Cxx resend.
    for line in [
        "0070000001\n#< 01 9000\n",
        "81E2910006BF3E035C015A\n#< BF3E125A10",
        "80CA000200\n#< 6100\n80C0000000\n#< ",
        "00B0000000\n#< 6C0A\n00B000000A\n#< 00010203040506070809 9000\n",
        "reset\n#! power off\n# not answered: 80CA000100: no card in reader 'Fake Reader 0'",
        "#! power on\n# Fake Reader 0: ATR 3B80801F0718\n80CA000100\n#< 01 9000\n",
    ] {
        assert!(text.contains(line), "{line:?} missing in\n{text}");
    }

    // Secrets: data replaced by a variable, secret answers masked.
    assert!(
        text.contains("#! secret\n80E2910004${SECRET_1:4}\n#< 0438 9000\n"),
        "{text}"
    );
    assert!(
        text.contains("#! secret\n80E2910003${SECRET_2:3}\n#< xxxx 9000\n"),
        "{text}"
    );
    assert!(
        !text.contains("DEADBEEF") && !text.contains("FACE01"),
        "{text}"
    );
    assert!(text.contains("# Secrets: 2 command(s)"), "{text}");

    // Replay on a fresh card: everything passes, the secret commands are skipped.
    let r = run_with(&mut FakeCard::default(), &text, Vars::new(), false);
    assert_eq!(r.result, FileResult::Passed, "{:#?}", r.steps);
    assert_eq!(r.counts.skipped, 2);
    assert_eq!(r.counts.unchecked, 0);
    assert!(r.counts.passed > 10);

    // With the secrets given, they are sent and checked too.
    let mut vars = Vars::new();
    vars.set("SECRET_1", vec![0xDE, 0xAD, 0xBE, 0xEF]).unwrap();
    vars.set("SECRET_2", vec![0xFA, 0xCE, 0x01]).unwrap();
    let r = run_with(&mut FakeCard::default(), &text, vars, false);
    assert_eq!(r.result, FileResult::Passed, "{:#?}", r.steps);
    assert_eq!(r.counts.skipped, 0);
}

#[test]
fn a_changed_byte_fails_on_its_line() {
    let text = record_session().to_text().unwrap();
    let eid_hex = eid().digits();
    let mut changed = eid_hex.clone();
    changed.replace_range(31..32, if &eid_hex[31..32] == "0" { "1" } else { "0" });
    let bad = text.replacen(
        &format!("5A10{eid_hex} 9000"),
        &format!("5A10{changed} 9000"),
        1,
    );
    assert_ne!(bad, text);
    let line = bad.lines().position(|l| l.contains(&changed)).unwrap(); // 0-based line of the expectation = 1-based line of its command

    let r = run_with(&mut FakeCard::default(), &bad, Vars::new(), false);
    assert_eq!(r.result, FileResult::Failed);
    assert_eq!(r.stopped_at, Some(line));
    let failed = r.steps.iter().find(|s| s.status == Status::Fail).unwrap();
    assert_eq!(failed.line, line);
    assert_eq!(
        failed.reason.as_deref(),
        Some(format!(
            "response data at offset 20: expected {}, got {}",
            &changed[30..32],
            &eid_hex[30..32]
        ))
        .as_deref()
    );
}

#[test]
fn reader_switches_and_unanswered_commands() {
    let mut rec = Recording::new("script run");
    rec.connected("A", Some(&[0x3B, 0x00]));
    rec.exchange(&[0x00, 0xA4, 0x04, 0x00], &[0x90], Secrecy::Public);
    rec.connected("B", None);
    rec.reset(true);
    // Extended-length secret: data after 00 Lc1 Lc2.
    rec.exchange(
        &[0x80, 0xE2, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB],
        &[0x90, 0x00],
        Secrecy::Command,
    );
    rec.failed(
        &[0x80, 0xE2, 0x00, 0x00, 0x01, 0x55],
        Secrecy::Command,
        "mute",
    );
    rec.set_outcome("sm-cli ended with an error: the exit of a card".into());
    let text = rec.to_text().unwrap();
    let s = Script::parse("x", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        text.contains("00A40400\n# the answer above had no status word (1 byte(s)); not checked\n"),
        "{text}"
    );
    assert!(
        text.contains("#! reader \"B\"\n# B: ATR unknown\n#! reset cold\n"),
        "{text}"
    );
    assert!(
        text.contains("#! secret\n80E20000000002${SECRET_1:2}\n#< 9000\n"),
        "{text}"
    );
    assert!(
        text.contains("# not answered: 80E2000001 (data hidden): mute\n"),
        "{text}"
    );
    // 'exit' in a comment would end the script for scriptor: the writer defuses it.
    assert!(text.contains("ex-it of a card"), "{text}");
    assert!(matches!(
        s.items.last().map(|i| &i.kind),
        Some(apdu_script::ItemKind::Comment(_))
    ));
    assert!(
        text.contains("# Reader: A, ATR 3B00\n# Reader: B, ATR unknown\n"),
        "{text}"
    );
}

#[test]
fn card_sim_hints() {
    let seeded = apdu::Eid::test_eid(7003);
    let h = card_sim_hint(false, Some(&seeded)).join("\n");
    assert!(h.contains("--seed 7 --slot 3"), "{h}");
    assert!(
        h.contains(&format!("--seed 7 --eid {}", seeded.digits())),
        "{h}"
    );
    let h = card_sim_hint(false, Some(&apdu::Eid::test_eid(2))).join("\n");
    assert!(h.contains("slot 2 without --seed"), "{h}");
    let h = card_sim_hint(true, None).join("\n");
    assert!(h.contains("the ATR is card-sim's"), "{h}");
    let other = apdu::Eid::with_check_digits("890440451167274948000000044794").unwrap();
    assert!(card_sim_hint(false, Some(&other)).is_empty());
}

#[test]
fn typed_parameters_are_hidden_with_their_length() {
    use apdu::cat::{Input, TerminalData, TerminalResponse};
    let tr = |text: &str| {
        let body = TerminalResponse {
            details: [0x01, 0x23, 0x05],
            result: 0,
            data: TerminalData::Text(Input(zeroize::Zeroizing::new(text.into()))),
        }
        .encode();
        Command::new(0x80, 0x14, 0, 0)
            .with_data(body.to_vec())
            .to_bytes()
            .expect("a short TERMINAL RESPONSE")
    };
    let mut rec = Recording::new("provision");
    rec.connected("Fake Reader 0", None);
    for text in ["correct horse", "correct horse", "battery staple"] {
        rec.exchange(&tr(text), &[0x91, 0x10], Secrecy::Command);
    }
    let text = rec.to_text().unwrap();
    let secret_hex = hex::encode_upper("correct horse");
    assert!(!text.contains(&secret_hex), "{text}");
    // The fixed form (issue 10, finding 4): neither Lc (1C, 1D) nor the text string's
    // length (8D0E, 8D0F) nor a count in the variable.
    for n in 1..=3 {
        assert!(
            text.contains(&format!("#! secret\n80140000${{SECRET_{n}}}\n#< 9110\n")),
            "{text}"
        );
    }
    for leak in ["801400001C", "801400001D", "8D0E", "8D0F", ":13}", ":14}"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    assert!(text.contains("# Secrets: 3 command(s)"), "{text}");

    // Replays with the whole secret part given.
    let mut card = FakeCard::default();
    let mut vars = Vars::new();
    vars.set("SECRET_1", tr("correct horse")[4..].to_vec())
        .unwrap();
    let r = run_with(&mut card, &text.replace("9110", "6D00"), vars, false);
    assert_eq!(
        r.steps.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![Status::Pass, Status::Skipped, Status::Skipped]
    );
    assert_eq!(card.log[0].0, hex::encode_upper(tr("correct horse")));
}
