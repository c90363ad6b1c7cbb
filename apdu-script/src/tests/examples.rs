//! The canonical scripts in `scripts/` parse cleanly, stay scriptor-compatible, and
//! pass against the answers they document.

use super::*;

const ES10_BASICS: &str = include_str!("../../../scripts/es10-basics.apdu");
const MALFORMED: &str = include_str!("../../../scripts/malformed.apdu");

fn clean(name: &str, text: &str) -> Script {
    let s = Script::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.warnings.is_empty(), "{name}: {:?}", s.warnings);
    assert!(
        s.scriptor_incompatibilities().is_empty(),
        "{name}: {:?}",
        s.scriptor_incompatibilities()
    );
    s
}

/// Runs a script's checks against canned answers (data hex, SW) per command.
fn run(s: &Script, answers: &[(&str, u16)]) -> Result<Vars, (usize, String)> {
    let mut vars = Vars::new();
    let mut answers = answers.iter();
    for item in &s.items {
        if let ItemKind::Command {
            template, expect, ..
        } = &item.kind
        {
            template
                .render(&vars)
                .map_err(|e| (item.line, e.to_string()))?;
            let (data, sw) = answers
                .next()
                .unwrap_or_else(|| panic!("no answer for line {}", item.line));
            if let Some(e) = expect {
                e.check(&h(data), *sw, &mut vars)
                    .map_err(|m| (item.line, m.to_string()))?;
            }
        }
    }
    assert!(answers.next().is_none(), "more answers than commands");
    Ok(vars)
}

const EID: &str = "89049032123451234512345678901235";
/// What card-sim answers to SELECT ISD-R: FCI with the DF name and a 9F65 of FF.
const ISDR_FCI: &str = "6F188410A0000005591010FFFFFFFF8900000100A5049F6501FF";

#[test]
fn es10_basics_passes_against_lpac_observed_answers() {
    let s = clean("scripts/es10-basics.apdu", ES10_BASICS);
    let eid_answer = format!("BF3E125A10{EID}");
    let mut answers = vec![
        ("", 0x9000),
        ("01", 0x9000),
        (ISDR_FCI, 0x9000),
        (eid_answer.as_str(), 0x9000),
        ("BF4302A000", 0x9000),
        ("BF2D03A00100", 0x9000),
        (eid_answer.as_str(), 0x9000),
        ("", 0x9000),
    ];
    let vars = run(&s, &answers).unwrap();
    assert_eq!(vars.get("EID"), Some(&h(EID)[..]));
    answers[5] = ("", 0x6130); // long profile list: the 61xx alternative
    assert!(run(&s, &answers).is_ok());
    // The second GetEID must repeat the captured EID.
    let other = format!("BF3E125A10{}", EID.replace("8904", "8905"));
    answers[6] = (other.as_str(), 0x9000);
    let (line, why) = run(&s, &answers).unwrap_err();
    assert_eq!(line, 32);
    assert_eq!(
        why,
        "response data at offset 6 (byte 1 of ${EID}): expected 04, got 05"
    );
}

#[test]
fn malformed_battery_passes_against_the_required_status_words() {
    let s = clean("scripts/malformed.apdu", MALFORMED);
    assert_eq!(
        s.items
            .iter()
            .filter(|i| i.kind == ItemKind::Reset(ResetKind::Warm))
            .count(),
        1
    );
    let eid_answer = format!("BF3E125A10{EID}");
    let answers = [
        ("", 0x6700),
        ("", 0x6700),
        ("", 0x6700),
        ("", 0x6E00),
        ("", 0x6D00),
        ("", 0x6A86),
        ("", 0x6A82),
        ("", 0x6881),
        ("", 0x6881),
        ("", 0x6A86),
        ("", 0x6A86),
        ("01", 0x9000),
        (ISDR_FCI, 0x9000),
        ("", 0x6A86),
        ("", 0x6A80),
        ("", 0x6A80),
        ("", 0x9000),
        (ISDR_FCI, 0x9000),
        (eid_answer.as_str(), 0x9000),
    ];
    run(&s, &answers).unwrap();
    // Every malformed command is really malformed for the card's own decoder or state.
    let literal: Vec<Vec<u8>> = s
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Command { template, .. } => template.as_literal().map(<[u8]>::to_vec),
            _ => None,
        })
        .collect();
    for bad in &literal[..3] {
        assert_eq!(
            apdu::Command::parse(bad),
            Err(apdu::StatusWord::WrongLength),
            "{bad:02X?}"
        );
    }
    for ok in &literal[3..] {
        assert!(apdu::Command::parse(ok).is_ok(), "{ok:02X?}");
    }
}
