//! Replay engine against the fake card: matches, mismatches, stop and keep-going,
//! captures, auto GET RESPONSE, directives, secrets, exit.

use super::fake::{eid, long_answer, FakeCard};
use crate::reader::Secrecy;
use crate::script::engine::{not_run_file, replay_file, Options};
use crate::script::report::{FileReport, FileResult, RunReport, Status};
use apdu_script::{ResetKind, Script, Vars};

pub fn run_with(card: &mut FakeCard, text: &str, vars: Vars, keep_going: bool) -> FileReport {
    let script = Script::parse("t.apdu", text).unwrap();
    let mut seen = Vec::new();
    let r = replay_file(
        card,
        "t.apdu",
        &script,
        vars,
        Options { keep_going },
        &mut |f, s| seen.push(format!("{f}:{}", s.line)),
    );
    // The live callback saw exactly the steps that ran.
    let ran = r
        .steps
        .iter()
        .filter(|s| s.status != Status::NotRun)
        .count();
    assert_eq!(seen.len(), ran);
    r
}

fn run(text: &str) -> FileReport {
    run_with(&mut FakeCard::default(), text, Vars::new(), false)
}

fn statuses(r: &FileReport) -> Vec<(usize, Status)> {
    r.steps.iter().map(|s| (s.line, s.status)).collect()
}

#[test]
fn matching_answers_pass() {
    let r = run("\
# open a channel, select, count
0070000001
#< 01 9000
01A4040003A00001
#< 6Fxx84* 9000
80CA000100
#< 01 9000
80CA000100
0070800100
#< 9000
");
    assert_eq!(r.result, FileResult::Passed);
    assert_eq!(
        statuses(&r),
        vec![
            (2, Status::Pass),
            (4, Status::Pass),
            (6, Status::Pass),
            (8, Status::Unchecked),
            (9, Status::Pass)
        ]
    );
    let s = &r.steps[1];
    assert_eq!(s.sent.as_deref(), Some("01A4040003A00001"));
    assert_eq!(s.got.as_deref(), Some("6F058403A00001 9000"));
    assert_eq!(s.expected, vec!["6Fxx84* 9000".to_string()]);
    assert_eq!(r.steps[3].got.as_deref(), Some("02 9000"));
    assert_eq!(r.counts.commands, 5);
    assert_eq!((r.counts.passed, r.counts.unchecked), (4, 1));
    assert_eq!(r.stopped_at, None);
}

#[test]
fn first_mismatch_stops_the_run() {
    let r = run("\
00A4040003F00000
#< 9000
80CA000100
#< 01 9000
");
    assert_eq!(r.result, FileResult::Failed);
    assert_eq!(statuses(&r), vec![(1, Status::Fail), (3, Status::NotRun)]);
    assert_eq!(
        r.steps[0].reason.as_deref(),
        Some("status word: expected 9000, got 6A82")
    );
    assert_eq!(r.stopped_at, Some(1));
    assert_eq!((r.counts.failed, r.counts.not_run), (1, 1));
}

#[test]
fn keep_going_runs_every_line() {
    let mut card = FakeCard::default();
    let r = run_with(
        &mut card,
        "\
80CA000100
#< 05 9000
80CA000100
#< 02 9000
80CA000100
#< 03 6A82
",
        Vars::new(),
        true,
    );
    assert_eq!(
        statuses(&r),
        vec![(1, Status::Fail), (3, Status::Pass), (5, Status::Fail)]
    );
    assert_eq!(
        r.steps[0].reason.as_deref(),
        Some("response data at offset 0: expected 05, got 01")
    );
    assert_eq!(r.stopped_at, None);
    assert_eq!(card.counter, 3);
}

#[test]
fn captures_feed_later_commands_and_checks() {
    let r = run("\
80E2910006BF3E035C015A
#< BF3E125A10${EID:16} 9000
80E2910006BF3E035C015A
#< BF3E125A10${EID} 9000
80E2910010${EID}
#< 10xx 9000
");
    assert_eq!(r.result, FileResult::Passed, "{:#?}", r.steps);
    assert_eq!(
        r.steps[2].sent.as_deref(),
        Some(format!("80E2910010{}", eid().digits()).as_str())
    );
    // A variable given on the command line turns the capture into a check.
    let mut vars = Vars::new();
    vars.set("EID", vec![0x89; 16]).unwrap();
    let r = run_with(
        &mut FakeCard::default(),
        "80E2910006BF3E035C015A\n#< BF3E125A10${EID:16} 9000\n",
        vars,
        false,
    );
    assert_eq!(
        r.steps[0].reason.as_deref(),
        Some("response data at offset 6 (byte 1 of ${EID}): expected 89, got 04")
    );
}

#[test]
fn unset_variables_in_public_commands_are_errors() {
    let r = run("80E2910002${NOPE}\n#< 9000\n");
    assert_eq!(statuses(&r), vec![(1, Status::Error)]);
    assert!(r.steps[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("${NOPE} is not set"));
    assert_eq!(r.result, FileResult::Failed);
}

#[test]
fn get_response_literal_by_default_and_followed_on_request() {
    let mut card = FakeCard::default();
    let r = run_with(
        &mut card,
        "80CA000200\n#< 6100\n00C0000000\n#< * 612C\n00C000002C\n#< * 9000\n",
        Vars::new(),
        false,
    );
    assert_eq!(r.result, FileResult::Passed, "{:#?}", r.steps);
    assert_eq!(card.log.len(), 3);

    let mut card = FakeCard::default();
    let long = hex::encode_upper(long_answer());
    let r = run_with(
        &mut card,
        &format!("#! auto-get-response on\n80CA000200\n#< {long} 9000\n00B0000000\n#< 00010203040506070809 9000\n"),
        Vars::new(),
        false,
    );
    assert_eq!(r.result, FileResult::Passed, "{:#?}", r.steps);
    let sent: Vec<&str> = card.log.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        sent,
        vec![
            "80CA000200",
            "80C0000000",
            "80C000002C",
            "00B0000000",
            "00B000000A"
        ]
    );
    assert_eq!(r.steps[0].action, "auto-get-response on");
}

#[test]
fn directives_reach_the_card() {
    let mut card = FakeCard::default();
    let r = run_with(
        &mut card,
        "\
0070000001
#< 01 9000
#! channel 1
00A4040003A00001
#< 6F* 9000
#! channel 0
reset
01A4040003A00001
#< 6881
#! reset cold
#! power off
80CA000100
#! power on
#! reader 1
#! pause 1 ms
80CA000100
#< 01 9000
",
        Vars::new(),
        true,
    );
    assert_eq!(
        statuses(&r),
        vec![
            (1, Status::Pass),
            (3, Status::Done),
            (4, Status::Pass),
            (6, Status::Done),
            (7, Status::Done),
            (8, Status::Pass),
            (10, Status::Done),
            (11, Status::Done),
            (12, Status::Error),
            (13, Status::Done),
            (14, Status::Done),
            (15, Status::Done),
            (16, Status::Pass),
        ],
        "{:#?}",
        r.steps
    );
    // `#! channel 1` moved the SELECT written for channel 0.
    assert_eq!(r.steps[2].sent.as_deref(), Some("01A4040003A00001"));
    assert_eq!(card.resets, vec![ResetKind::Warm, ResetKind::Cold]);
    assert!(r.steps[8].reason.as_deref().unwrap().contains("no card"));
    assert_eq!(card.reader, "Fake Reader 1");
    let r = run("#! reader 7\n");
    assert_eq!(statuses(&r), vec![(1, Status::Error)]);
    assert!(r.steps[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("no reader matches '7'"));
}

#[test]
fn exit_ends_the_replay() {
    let mut card = FakeCard::default();
    let r = run_with(
        &mut card,
        "80CA000100\n#< 01 9000\nexit\n80CA000100\n",
        Vars::new(),
        false,
    );
    assert_eq!(statuses(&r), vec![(1, Status::Pass), (3, Status::Done)]);
    assert_eq!(r.steps[1].action, "exit");
    assert_eq!(card.log.len(), 1);
    assert_eq!(r.result, FileResult::Passed);
}

#[test]
fn secret_commands_are_skipped_without_their_variables() {
    let text = "\
#! secret
80E2910004${PARAM:4}
#< 04xx 9000
80CA000100
#< 01 9000
";
    let mut card = FakeCard::default();
    let r = run_with(&mut card, text, Vars::new(), false);
    assert_eq!(statuses(&r), vec![(2, Status::Skipped), (4, Status::Pass)]);
    assert_eq!(r.result, FileResult::Passed);
    assert!(r.steps[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("--var PARAM=HEX"));
    assert_eq!(card.log.len(), 1);

    // With the variable: sent with Secrecy::Both, reported by template, answer hidden.
    let mut vars = Vars::new();
    vars.set("PARAM", vec![0x31, 0x32, 0x33, 0x34]).unwrap();
    let mut card = FakeCard::default();
    let r = run_with(&mut card, text, vars.clone(), false);
    assert_eq!(statuses(&r), vec![(2, Status::Pass), (4, Status::Pass)]);
    assert_eq!(card.log[0], ("80E291000431323334".into(), Secrecy::Both));
    let s = &r.steps[0];
    assert!(s.secret);
    assert_eq!(s.sent.as_deref(), Some("80E2910004${PARAM:4}"));
    assert_eq!(s.got.as_deref(), Some("<2 bytes hidden> 9000"));

    // A mismatch of a secret answer names the offset, not the bytes.
    let r = run_with(
        &mut FakeCard::default(),
        "#! secret\n80E2910004${PARAM:4}\n#< 04CB 9000\n#< 77 9000\n",
        vars,
        false,
    );
    let why = r.steps[0].reason.as_deref().unwrap();
    assert!(
        why.contains("offset 1") && why.contains("values hidden"),
        "{why}"
    );
    assert!(!why.contains("CA") && !why.contains("CB"), "{why}");
}

#[test]
fn run_report_counts_and_not_run_files() {
    let a = run("80CA000100\n#< 09 9000\n");
    let b = not_run_file(
        "b.apdu",
        &Script::parse("b", "80CA000100\nreset\n").unwrap(),
    );
    assert_eq!(b.result, FileResult::NotRun);
    let report = RunReport::new(vec![a, b]);
    assert!(!report.passed);
    assert_eq!(report.totals.commands, 2);
    assert_eq!((report.totals.failed, report.totals.not_run), (1, 1));
    let text = crate::output::Report::human(&report);
    assert!(text.contains("t.apdu:1  FAIL"), "{text}");
    assert!(
        text.contains("mismatch  response data at offset 0: expected 09, got 01"),
        "{text}"
    );
    assert!(text.contains("b.apdu: not run"), "{text}");
    assert!(text.ends_with("FAILED: 2 file(s), 2 commands: 0 passed, 1 failed, 0 errors, 0 skipped, 0 unchecked, 1 not run"), "{text}");
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["files"][0]["steps"][0]["status"], "fail");
    assert_eq!(json["files"][0]["steps"][0]["line"], 1);
    assert_eq!(json["files"][1]["result"], "not_run");
}

#[test]
fn answers_without_status_word_are_errors() {
    struct Mute;
    impl crate::reader::CardLink for Mute {
        fn transmit_raw(
            &mut self,
            _: &[u8],
            _: Secrecy,
        ) -> Result<Vec<u8>, crate::errors::CliError> {
            Ok(vec![0x90])
        }
    }
    impl crate::script::engine::ScriptCard for Mute {
        fn reset(&mut self, _: ResetKind) -> Result<(), crate::errors::CliError> {
            Ok(())
        }
        fn power_off(&mut self) -> Result<(), crate::errors::CliError> {
            Ok(())
        }
        fn power_on(&mut self) -> Result<(), crate::errors::CliError> {
            Ok(())
        }
        fn use_reader(
            &mut self,
            _: &apdu_script::ReaderRef,
        ) -> Result<String, crate::errors::CliError> {
            Ok(String::new())
        }
    }
    let script = Script::parse("m", "00A40400\n#< 9000\n").unwrap();
    let r = replay_file(
        &mut Mute,
        "m",
        &script,
        Vars::new(),
        Options::default(),
        &mut |_, _| {},
    );
    assert_eq!(r.steps[0].status, Status::Error);
    assert!(r.steps[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("shorter than a status word"));
}
