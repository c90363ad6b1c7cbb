//! Expectation matching: each kind of success and each kind of mismatch, in words.

use super::*;

fn check(p: &str, data: &str, sw: u16) -> Result<(), String> {
    pattern(p)
        .check(&h(data), sw, &mut Vars::new())
        .map_err(|m| m.to_string())
}

#[test]
fn status_words_with_wildcards() {
    assert_eq!(check("9000", "", 0x9000), Ok(()));
    assert_eq!(check("90 00", "", 0x9000), Ok(()));
    assert_eq!(check("61xx", "", 0x6115), Ok(()));
    assert_eq!(check("6CXX", "", 0x6C10), Ok(()));
    assert_eq!(check("9xxx", "", 0x9123), Ok(()));
    assert_eq!(
        check("9000", "", 0x6A82),
        Err("status word: expected 9000, got 6A82".into())
    );
    assert_eq!(
        check("61xx", "", 0x6C15),
        Err("status word: expected 61xx, got 6C15".into())
    );
    assert_eq!(
        check("9xxx", "", 0x6F00),
        Err("status word: expected 9xxx, got 6F00".into())
    );
}

#[test]
fn sw_only_means_no_data() {
    assert_eq!(
        check("9000", "01", 0x9000),
        Err("response data length: expected 0 bytes, got 1".into())
    );
}

#[test]
fn exact_data() {
    assert_eq!(check("BF4302A000 9000", "BF4302A000", 0x9000), Ok(()));
    assert_eq!(
        check("BF4302A000 9000", "BF4302A001", 0x9000),
        Err("response data at offset 4: expected 00, got 01".into())
    );
    assert_eq!(
        check("BF4302A000 9000", "BF4302A00000", 0x9000),
        Err("response data length: expected 5 bytes, got 6".into())
    );
    // The status word is checked first: it says more than the data.
    assert_eq!(
        check("01 9000", "02", 0x6A82),
        Err("status word: expected 9000, got 6A82".into())
    );
}

#[test]
fn masked_bytes_and_nibbles() {
    assert_eq!(check("BFxx 9x3x 9000", "BF2D9131", 0x9000), Ok(()));
    assert_eq!(
        check("BFxx 9x3x 9000", "BF2DA131", 0x9000),
        Err("response data at offset 2: expected 9x, got A1".into())
    );
    assert_eq!(
        check("BFxx 9x3x 9000", "BF2D9141", 0x9000),
        Err("response data at offset 3: expected 3x, got 41".into())
    );
    assert_eq!(
        check("xx 9000", "", 0x9000),
        Err("response data length: expected 1 byte, got 0".into())
    );
}

#[test]
fn star_takes_the_rest() {
    assert_eq!(check("BF2D* 9000", "BF2D03A00100", 0x9000), Ok(()));
    assert_eq!(check("BF2D* 9000", "BF2D", 0x9000), Ok(()));
    assert_eq!(check("* 9000", "", 0x9000), Ok(()));
    assert_eq!(check("AA*BB 9000", "AA0102BB", 0x9000), Ok(()));
    assert_eq!(check("AA*BB 9000", "AABB", 0x9000), Ok(()));
    assert_eq!(
        check("AA*BB 9000", "AA", 0x9000),
        Err("response data length: expected at least 2 bytes, got 1".into())
    );
    assert_eq!(
        check("AA*BB 9000", "AA01CC", 0x9000),
        Err("response data at offset 2: expected BB, got CC".into())
    );
    assert_eq!(
        check("BF2D* 9000", "BF3E00", 0x9000),
        Err("response data at offset 1: expected 2D, got 3E".into())
    );
}

#[test]
fn sized_and_open_captures() {
    let p = pattern("BF3E125A10${EID:16} 9000");
    let eid = h("89049032123451234512345678901235");
    let mut resp = h("BF3E125A10");
    resp.extend_from_slice(&eid);
    let mut vars = Vars::new();
    p.check(&resp, 0x9000, &mut vars).unwrap();
    assert_eq!(vars.get("EID"), Some(&eid[..]));

    let mut vars = Vars::new();
    pattern("BF3E ${REST} 9000")
        .check(&resp, 0x9000, &mut vars)
        .unwrap();
    assert_eq!(vars.get("REST").map(<[u8]>::len), Some(19));

    let mut vars = Vars::new();
    pattern("${A:2} ${B} ${C:1} 9000")
        .check(&h("0102030405"), 0x9000, &mut vars)
        .unwrap();
    assert_eq!(
        (vars.get("A"), vars.get("B"), vars.get("C")),
        (
            Some(&h("0102")[..]),
            Some(&h("0304")[..]),
            Some(&h("05")[..])
        )
    );

    // Too short for the sized capture: a length mismatch, nothing captured.
    let mut vars = Vars::new();
    let e = p.check(&resp[..10], 0x9000, &mut vars).unwrap_err();
    assert_eq!(
        e.to_string(),
        "response data length: expected 21 bytes, got 10"
    );
    assert!(vars.is_empty());
}

#[test]
fn bound_variables_are_compared() {
    let mut vars = Vars::new();
    vars.set("EID", h("0102030405")).unwrap();
    assert!(pattern("5A05${EID} 9000")
        .check(&h("5A050102030405"), 0x9000, &mut vars)
        .is_ok());
    assert!(pattern("5A05${EID:5} 9000")
        .check(&h("5A050102030405"), 0x9000, &mut vars)
        .is_ok());
    let e = pattern("5A05${EID} 9000")
        .check(&h("5A050102FF0405"), 0x9000, &mut vars)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "response data at offset 4 (byte 2 of ${EID}): expected 03, got FF"
    );
    let e = pattern("5A05${EID} 9000")
        .check(&h("5A0501020304"), 0x9000, &mut vars)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "response data length: expected 7 bytes, got 6"
    );
    let e = pattern("${EID:4} 9000")
        .check(&h("01020304"), 0x9000, &mut vars)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "${EID} holds 5 bytes, but the expectation says ${EID:4}"
    );
    // Within one pattern a name captured first is compared the second time.
    let mut vars = Vars::new();
    assert!(pattern("${X:2} ${X} 9000")
        .check(&h("AABBAABB"), 0x9000, &mut vars)
        .is_ok());
    let e = pattern("${X:2} ${X} 9000")
        .check(&h("AABBAABC"), 0x9000, &mut Vars::new())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "response data at offset 3 (byte 1 of ${X}): expected BB, got BC"
    );
}

#[test]
fn alternatives_keep_only_the_winner_captures() {
    let s = parse("81E2910003BF2D00\n#< BF2D${LIST} 9000\n#< ${PART:2} 61xx\n");
    let e = expectation(&s, 0);
    let mut vars = Vars::new();
    e.check(&h("AABB"), 0x6110, &mut vars).unwrap();
    assert_eq!(vars.names().collect::<Vec<_>>(), ["PART"]);
    let err = e.check(&h("AA"), 0x6A88, &mut vars).unwrap_err();
    assert_eq!(
        err.to_string(),
        "none of the 2 alternatives matched: (1) status word: expected 9000, got 6A88; (2) status word: expected 61xx, got 6A88"
    );
    assert!(matches!(err, Mismatch::NoAlternative(ref v) if v.len() == 2));
    assert_eq!(vars.names().count(), 1, "a failed check changes nothing");
}

#[test]
fn captures_feed_later_commands() {
    let s = parse("80CA009F00\n#< 9F7F${CPLC:2} 9000\n80E2910004${CPLC}AABB\n80E29100${CPLC:3}\n");
    let mut vars = Vars::new();
    expectation(&s, 0)
        .check(&h("9F7F1234"), 0x9000, &mut vars)
        .unwrap();
    let templates: Vec<&Template> = s
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Command { template, .. } => Some(template),
            _ => None,
        })
        .collect();
    assert_eq!(templates[1].render(&vars), Ok(h("80E29100041234AABB")));
    assert_eq!(
        templates[2].render(&vars).unwrap_err().to_string(),
        "variable ${CPLC} holds 2 bytes, the template says 3"
    );
    assert_eq!(
        templates[1].render(&Vars::new()).unwrap_err().to_string(),
        "variable ${CPLC} is not set (capture it in an earlier expectation or pass it with --var)"
    );
    assert_eq!(templates[0].as_literal(), Some(&h("80CA009F00")[..]));
    assert_eq!(templates[1].as_literal(), None);
}

#[test]
fn render_respects_the_size_cap() {
    let mut vars = Vars::new();
    vars.set("BIG", vec![0; MAX_VALUE_BYTES]).unwrap();
    let t = parse("80E29100${BIG}\n");
    let ItemKind::Command { template, .. } = &t.items[0].kind else {
        panic!()
    };
    assert_eq!(
        template.render(&vars),
        Ok([h("80E29100"), vec![0; MAX_VALUE_BYTES]].concat())
    );
    let t = parse("80E29100${BIG}${BIG}\n");
    let ItemKind::Command { template, .. } = &t.items[0].kind else {
        panic!()
    };
    assert_eq!(
        template.render(&vars),
        Err(RenderError::TooLong(4 + 2 * MAX_VALUE_BYTES))
    );
}

#[test]
fn hand_built_ambiguous_pattern_is_a_mismatch_not_a_panic() {
    let p = ResponsePattern {
        data: vec![Element::Any, Element::Any],
        sw: ResponsePattern::sw_only(0x9000).sw,
    };
    let e = Expectation::single(p)
        .check(&h("0102"), 0x9000, &mut Vars::new())
        .unwrap_err();
    assert_eq!(e, Mismatch::Ambiguous);
}
