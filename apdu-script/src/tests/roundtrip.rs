//! `Script::to_string()` reads back as the same items.

use super::*;

const FULL: &str = r#"#!/usr/bin/scriptor
# every construct once
reset
#! power off
#! power on
#! reset cold
#! channel 1
#! reader "Virtual PCD 00 \"01\""
#! reader 2
#! pause 1500
#! auto-get-response on
00 A4 04 00 \
  10 A0000005591010FFFFFFFF8900000100
#< 9000
#< 61xx : more
81E2910006BF3E035C015A
#< BF3E 12 5A 10 ${EID:16} 90 00
#! secret
80E2910022BF7020${PARAM:32}
#< BF70 * 9x0X
80E29100${EID}
#< ${ANY} 9000
exit
"#;

fn assert_round_trip(s: &Script) {
    let text = s.to_string();
    let back = parse(&text);
    assert_eq!(kinds(&back), kinds(s), "written:\n{text}");
    assert_eq!(back.to_string(), text, "writing is a fixpoint");
    assert!(s.validate().is_ok());
}

#[test]
fn every_construct_round_trips() {
    let s = parse(FULL);
    assert_round_trip(&s);
    let text = s.to_string();
    assert!(text.contains("\n#< BF3E125A10${EID:16} 9000\n"), "{text}");
    assert!(
        text.contains("\n00A4040010A0000005591010FFFFFFFF8900000100\n#< 9000\n#< 61xx\n"),
        "{text}"
    );
    assert!(
        text.contains("\n#! secret\n80E2910022BF7020${PARAM:32}\n#< BF70* 9x0x\n"),
        "{text}"
    );
    assert!(
        text.contains("#! pause 1500ms\n") && text.ends_with("exit\n"),
        "{text}"
    );
}

#[test]
fn recorder_style_script_round_trips() {
    let mut items = vec![Item {
        line: 0,
        kind: ItemKind::Comment(" recorded by sm-cli".into()),
    }];
    items.push(Item {
        line: 0,
        kind: ItemKind::Command {
            template: Template::literal(h("0070000001")),
            expect: Some(Expectation::single(ResponsePattern::exact(
                &h("01"),
                0x9000,
            ))),
            secret: false,
        },
    });
    items.push(Item {
        line: 0,
        kind: ItemKind::Command {
            template: Template::new([
                Piece::Bytes(h("81E2910022")),
                Piece::Var(VarRef {
                    name: "SECRET_1".into(),
                    len: Some(34),
                }),
            ]),
            expect: Some(Expectation::single(ResponsePattern::sw_only(0x9000))),
            secret: true,
        },
    });
    let s = Script {
        items,
        warnings: vec![],
    };
    assert_round_trip(&s);
    assert_eq!(
        s.to_string(),
        "# recorded by sm-cli\n0070000001\n#< 01 9000\n#! secret\n81E2910022${SECRET_1:34}\n#< 9000\n"
    );
}

#[test]
fn comments_are_written_safely() {
    for text in [
        " please EXIT now",
        "< not an expectation",
        "! not a directive",
        "tab\there\u{7}bell",
    ] {
        let s = Script {
            items: vec![Item {
                line: 1,
                kind: ItemKind::Comment(text.into()),
            }],
            warnings: vec![],
        };
        let back = parse(&s.to_string());
        assert_eq!(back.items.len(), 1, "{text:?} -> {:?}", s.to_string());
        assert!(matches!(back.items[0].kind, ItemKind::Comment(_)));
        assert!(back.warnings.is_empty());
    }
}

#[test]
fn validate_catches_what_text_cannot_hold() {
    let s = Script {
        items: vec![Item {
            line: 1,
            kind: ItemKind::Pause(std::time::Duration::from_micros(1500)),
        }],
        warnings: vec![],
    };
    assert!(s.validate().is_err());
    let s = Script {
        items: vec![Item {
            line: 1,
            kind: ItemKind::Channel(25),
        }],
        warnings: vec![],
    };
    assert!(s.validate().is_err());
}
