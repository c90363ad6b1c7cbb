//! Parsing: scriptor's own files keep their meaning; extensions; errors with positions.

use super::*;

/// The example of `man scriptor`, verbatim.
const MAN_EXAMPLE: &str = "# reset the card
reset

# Select MF 3F00
A0 A4 00 00 02 3F 00

# Get Response
# 17 is the value of second SW from the previous command
A0 C0 00 00 17

# Select DF Telecom (7F10)
A0 A4 00 00 02 7F 10

# Get Response
A0 C0 00 00 17

# Select EF_ADN (6F3A) (Abbreviated Dialing Numbers)
A0 A4 00 00 02 6F 3A

# Get Response
A0 C0 00 00 0F
";

#[test]
fn scriptor_man_page_example() {
    let s = parse(MAN_EXAMPLE);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(s.items[0].kind, ItemKind::Comment(" reset the card".into()));
    assert_eq!(
        s.items[1],
        Item {
            line: 2,
            kind: ItemKind::Reset(ResetKind::Warm)
        }
    );
    assert_eq!(
        commands(&s),
        [
            "A0A40000023F00",
            "A0C0000017",
            "A0A40000027F10",
            "A0C0000017",
            "A0A40000026F3A",
            "A0C000000F"
        ]
    );
    assert!(s.scriptor_incompatibilities().is_empty());
}

/// A plain file with scriptor's corner cases. The expected sequence is what the real
/// `/usr/bin/scriptor` transmitted for this text (run against a stub Chipcard::PCSC).
const TRICKY: &str = r"#!/usr/bin/scriptor
# tricky plain scriptor file
00A4040010A0000005\
# comment inside a continuation

591010FFFFFFFF8900000100
00 A4 04 00 \
reset
02 3F 00
a0c0000017
00 B0 00 00  \
80CA9F7F00
RESET the card
# Reset in a comment is just a comment
00 B0 00 00 10
# the next line ends everything: EXIT
00A4040000
";

#[test]
fn scriptor_corner_cases_keep_scriptor_meaning() {
    let s = parse(TRICKY);
    let seen: Vec<String> = s
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Command { template, .. } => Some(template.to_string()),
            ItemKind::Reset(ResetKind::Warm) => Some("RESET".into()),
            ItemKind::Exit => Some("EXIT".into()),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        [
            "00A4040010A0000005591010FFFFFFFF8900000100",
            "RESET",
            "00A40400023F00",
            "A0C0000017",
            "00B0000080CA9F7F00",
            "RESET",
            "00B0000010",
            "EXIT",
        ]
    );
    let lines: Vec<usize> = s.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [13, 16], "{:?}", s.warnings);
}

#[test]
fn hex_with_and_without_spaces() {
    let s = parse("00A4040010A0000005591010FFFFFFFF8900000100\n00 a4 04 00\n00A4 0400\t02 3f00\n");
    assert_eq!(
        commands(&s),
        [
            "00A4040010A0000005591010FFFFFFFF8900000100",
            "00A40400",
            "00A40400023F00"
        ]
    );
}

#[test]
fn continuation_joins_lines() {
    // scriptor: a trailing '\' joins the next command line; comments, blank lines and
    // resets in between are handled as they come.
    let s =
        parse("00 A4 04 00 \\\n# a comment inside\n\n10 A0000005\\\n591010FFFFFFFF8900000100\n");
    assert_eq!(commands(&s), ["00A4040010A0000005591010FFFFFFFF8900000100"]);
    assert_eq!(s.items.len(), 2);
    assert_eq!(
        s.items[1].line, 1,
        "a command is numbered by its first line"
    );
    let s = parse("00A4\\\nreset\n0400\n");
    assert_eq!(
        kinds(&s),
        [
            ItemKind::Reset(ResetKind::Warm),
            ItemKind::Command {
                template: Template::literal(h("00A40400")),
                expect: None,
                secret: false
            }
        ]
    );
}

#[test]
fn unfinished_continuation_is_dropped_with_a_warning() {
    let s = parse("00A40400\n00B0\\\n");
    assert_eq!(commands(&s), ["00A40400"]);
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(s.warnings[0].line, 2);
}

#[test]
fn exit_anywhere_ends_the_script() {
    let s = parse("00A40400\nexit\nthis is not parsed: G\n");
    assert_eq!(kinds(&s).last(), Some(&ItemKind::Exit));
    assert!(s.warnings.is_empty());
    // scriptor tests /exit/i before anything else, comments included.
    let s = parse("00A40400\n# we EXIT here\n00B00000\n");
    assert_eq!(commands(&s), ["00A40400"]);
    assert_eq!(kinds(&s).last(), Some(&ItemKind::Exit));
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].message.contains("exit"));
    let s = parse("00A4\\\n  Exit  \n");
    assert_eq!(kinds(&s), [ItemKind::Exit]);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
}

#[test]
fn reset_in_any_case_and_with_other_text() {
    let s = parse("RESET\n  Reset  \nreset the card now\n");
    assert_eq!(kinds(&s), vec![ItemKind::Reset(ResetKind::Warm); 3]);
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(s.warnings[0].line, 3);
}

#[test]
fn crlf_bom_and_shebang() {
    let s = parse("\u{FEFF}#!/usr/bin/scriptor\r\n00A40400\r\n#< 9000\r\n");
    assert_eq!(
        s.items[0].kind,
        ItemKind::Comment("!/usr/bin/scriptor".into())
    );
    assert_eq!(commands(&s), ["00A40400"]);
    assert!(expectation(&s, 0)
        .check(&[], 0x9000, &mut Vars::new())
        .is_ok());
}

#[test]
fn comments_only_in_column_one() {
    assert_eq!(
        error("00A40400\n  # indented\n"),
        "t.apdu:2:3: expected a hex digit (a comment must start in column 1: scriptor only skips lines whose first character is '#'), found '#'"
    );
    assert_eq!(
        error("00A40400 # trailing\n").split(": ").nth(1),
        Some("expected a hex digit (a comment must start in column 1")
    );
}

#[test]
fn every_directive() {
    let s = parse(
        "#! power off\n#! POWER ON\n#! reset\n#! reset cold\n#! reset warm\n#! channel 19\n#! reader 1\n\
         #! reader \"Virtual PCD 00 \\\"01\\\\\"\n#! pause 250\n#! pause 2 s\n#! pause 10ms\n\
         #! auto-get-response on\n#!auto-get-response OFF\n",
    );
    use std::time::Duration as D;
    assert_eq!(
        kinds(&s),
        [
            ItemKind::PowerOff,
            ItemKind::PowerOn,
            ItemKind::Reset(ResetKind::Warm),
            ItemKind::Reset(ResetKind::Cold),
            ItemKind::Reset(ResetKind::Warm),
            ItemKind::Channel(19),
            ItemKind::Reader(ReaderRef::Index(1)),
            ItemKind::Reader(ReaderRef::Name("Virtual PCD 00 \"01\\".into())),
            ItemKind::Pause(D::from_millis(250)),
            ItemKind::Pause(D::from_secs(2)),
            ItemKind::Pause(D::from_millis(10)),
            ItemKind::AutoGetResponse(true),
            ItemKind::AutoGetResponse(false),
        ]
    );
}

#[test]
fn directive_errors() {
    assert_eq!(error("#! powr off"), "t.apdu:1:4: unknown directive 'powr'; expected one of: power, reset, channel, reader, pause, auto-get-response, secret");
    assert_eq!(
        error("#! power"),
        "t.apdu:1:9: expected 'on' or 'off' after 'power', found end of line"
    );
    assert_eq!(
        error("#! channel 20"),
        "t.apdu:1:12: logical channels are 0-19, found 20"
    );
    assert_eq!(
        error("#! channel one"),
        "t.apdu:1:12: expected a channel number (0-19), found 'o'"
    );
    assert_eq!(
        error("#! reader \"abc"),
        "t.apdu:1:11: reader name has no closing '\"'"
    );
    assert_eq!(error("#! reader \"\""), "t.apdu:1:11: reader name is empty");
    assert_eq!(
        error("#! pause 5 min"),
        "t.apdu:1:12: expected 'ms' or 's', found 'min'"
    );
    assert_eq!(
        error("#! pause 601s"),
        "t.apdu:1:10: pause longer than 600 s"
    );
    assert_eq!(
        error("#! reset cold please"),
        "t.apdu:1:15: expected end of line, found 'p'"
    );
    assert_eq!(error("#!"), "t.apdu:1:3: expected a directive (power, reset, channel, reader, pause, auto-get-response, secret), found end of line");
    assert_eq!(
        error("#! reader \"my exit reader\""),
        "t.apdu:1:15: an expectation or directive must not contain 'exit': scriptor ends the script at any line containing it"
    );
}

#[test]
fn secret_marks_the_next_command() {
    let s = parse("#! secret\n# the parameter\n80E2910022BF7020${PARAM:32}\n00A40400\n");
    let secrets: Vec<bool> = s
        .items
        .iter()
        .filter_map(|i| match i.kind {
            ItemKind::Command { secret, .. } => Some(secret),
            _ => None,
        })
        .collect();
    assert_eq!(secrets, [true, false]);
    assert_eq!(
        error("#! secret\n#! pause 1\n"),
        "t.apdu:2:1: '#! secret' must be followed by a command, found a directive"
    );
    assert_eq!(
        error("#! secret\n"),
        "t.apdu:1:1: '#! secret' must be followed by a command, found end of file"
    );
    assert_eq!(
        error("#! secret\nreset\n"),
        "t.apdu:2:1: '#! secret' must be followed by a command, found 'reset'"
    );
}

#[test]
fn expectations_attach_to_the_previous_command() {
    let s = parse("00A40400\n# comment between\n\n#< 9000\n#< 61xx : or more data\n00B00000\n");
    assert_eq!(expectation(&s, 0).alternatives.len(), 2);
    assert_eq!(
        error("#< 9000\n"),
        "t.apdu:1:1: '#<' must follow a command (only comments may come between)"
    );
    assert_eq!(
        error("00A40400\nreset\n#< 9000\n"),
        "t.apdu:3:1: '#<' must follow a command (only comments may come between)"
    );
    assert_eq!(
        error("00A4\\\n#< 9000\n"),
        "t.apdu:2:1: an expectation cannot interrupt a command continued with '\\'"
    );
    assert_eq!(
        error("00A4\\\n#! pause 1\n"),
        "t.apdu:2:1: a directive cannot interrupt a command continued with '\\'"
    );
    let many = format!("00A40400\n{}", "#< 9000\n".repeat(MAX_ALTERNATIVES + 1));
    assert_eq!(
        error(&many),
        format!(
            "t.apdu:{}:1: more than 16 '#<' alternatives for one command",
            MAX_ALTERNATIVES + 2
        )
    );
}

#[test]
fn command_error_positions() {
    let mut text = "00A40400\n".repeat(11);
    text.push_str("00A404G0\n");
    assert_eq!(
        Script::parse("scripts/x.apdu", &text)
            .unwrap_err()
            .to_string(),
        "scripts/x.apdu:12:7: expected a hex digit, found 'G'"
    );
    assert_eq!(error("00A40"), "t.apdu:1:6: expected a second hex digit (a byte is written as two digits), found end of line");
    assert_eq!(
        error("00A 40400"),
        "t.apdu:1:4: expected a second hex digit (a byte is written as two digits), found ' '"
    );
    assert_eq!(
        error("00A4\\0400"),
        "t.apdu:1:5: '\\' continues a command only at the end of a line"
    );
    assert_eq!(
        error("00A4$X"),
        "t.apdu:1:6: expected '{' after '$' (variables are written ${NAME}), found 'X'"
    );
    assert_eq!(
        error("00A4${1X}"),
        "t.apdu:1:7: expected a variable name (a letter or '_'), found '1'"
    );
    assert_eq!(
        error("00A4${X-1}"),
        "t.apdu:1:8: expected '}' or ':' after the variable name, found '-'"
    );
    assert_eq!(
        error("00A4${X:0}"),
        "t.apdu:1:9: byte count must be between 1 and 65536, found 0"
    );
    assert_eq!(
        error("00A4${X:16"),
        "t.apdu:1:11: expected '}' to close the variable, found end of line"
    );
    assert_eq!(
        error("00A4\u{1}00"),
        "t.apdu:1:5: control character U+0001 is not allowed here"
    );
    assert_eq!(
        error("00A4 é"),
        "t.apdu:1:6: expected a hex digit, found 'é'"
    );
}

#[test]
fn expectation_errors() {
    assert_eq!(error("00A40400\n#<\n"), "t.apdu:2:3: expected the status word at the end of the expectation: 4 hex digits or 'x', e.g. 9000 or 61xx");
    assert_eq!(error("00A40400\n#< 90\n"), "t.apdu:2:6: expected the status word at the end of the expectation: 4 hex digits or 'x', e.g. 9000 or 61xx");
    assert_eq!(error("00A40400\n#< 9000 ${X}\n"), "t.apdu:2:13: expected the status word at the end of the expectation: 4 hex digits or 'x', e.g. 9000 or 61xx");
    assert_eq!(error("00A40400\n#< 9G00\n"), "t.apdu:2:5: expected a second hex digit or 'x' (a byte is written as two characters), found 'G'");
    assert_eq!(error("00A40400\n#< AB?9000\n"), "t.apdu:2:6: expected a hex digit, 'x', '*', '${' or ':' (expected data, then the status word), found '?'");
    assert_eq!(
        error("00A40400\n#< * ${A} 9000\n"),
        "t.apdu:2:6: only one element of unknown length ('*' or ${NAME} without :N) per expectation; give the others a byte count, e.g. ${NAME:16}"
    );
    assert_eq!(
        error("00A40400\n#< ${MY_EXIT} 9000\n"),
        "t.apdu:2:9: an expectation or directive must not contain 'exit': scriptor ends the script at any line containing it"
    );
    assert_eq!(
        error("00A40400\n#< ${RESET_N:1} 9000\n"),
        "t.apdu:2:6: variable name \"RESET_N\" contains 'reset': scriptor resets the card at any line containing it"
    );
}

#[test]
fn invalid_utf8_position() {
    let e = Script::parse_bytes("b.apdu", b"00A40400\n# caf\xC3\xA9 \xFF\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "b.apdu:2:8: invalid UTF-8 (scripts are UTF-8 text)"
    );
}

#[test]
fn size_caps() {
    let big = vec![b'#'; MAX_FILE_BYTES + 1];
    assert!(Script::parse_bytes("big", &big)
        .unwrap_err()
        .message
        .contains("limit of 4194304"));
    let long = format!("#{}", "a".repeat(MAX_LINE_CHARS));
    assert_eq!(
        error(&long),
        format!(
            "t.apdu:1:{}: line longer than the limit of {MAX_LINE_CHARS} characters",
            MAX_LINE_CHARS + 1
        )
    );
    // A command over the extended-APDU size, spread over continuation lines.
    let chunk = format!("{}\\\n", "AB".repeat(30_000));
    let e = error(&chunk.repeat(3));
    assert!(
        e.starts_with("t.apdu:3:") && e.ends_with("command longer than the limit of 65544 bytes"),
        "{e}"
    );
    let vars: String = (0..=MAX_VARIABLES)
        .map(|i| format!("00A4${{V{i}}}\n"))
        .collect();
    assert_eq!(
        error(&vars),
        "t.apdu:257:1: more than 256 distinct variables"
    );
}

#[test]
fn short_commands_warn() {
    let s = parse("00A404\n");
    assert_eq!(
        s.warnings[0].message,
        "command of 3 bytes: PC/SC (pcsc-lite) refuses to send fewer than 4"
    );
    assert_eq!(s.scriptor_incompatibilities().len(), 1);
}

#[test]
fn scriptor_incompatibilities_are_listed() {
    let s = parse("#! channel 1\n80E29100${X}\n#! power off\n#! reset cold\n#! reader 0\n#! auto-get-response on\n#! pause 5\n#! channel 0\n#! auto-get-response off\n#! secret\n00A40400\n#< 9000\n");
    let lines: Vec<usize> = s
        .scriptor_incompatibilities()
        .iter()
        .map(|i| i.line)
        .collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6]);
}

#[test]
fn variables_are_listed_in_order() {
    let s = parse(
        "81E2910006BF3E035C015A\n#< BF3E125A10${EID:16} 9000\n80E2${P1}00\n#< ${EID} ${X:2} 9000\n",
    );
    assert_eq!(s.variables(), ["EID", "P1", "X"]);
}
