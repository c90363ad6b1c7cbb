//! The command line as clap parses it: global options anywhere, each subcommand's
//! arguments, and the subcommand words the `--record` header names.

use super::*;
use crate::commands::script_cmd::ScriptCmd;
use std::path::Path;

#[test]
fn definitions_are_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn parses_global_options_anywhere() {
    let c = Cli::try_parse_from(["sm-cli", "profiles", "list", "--json", "-r", "1"]).unwrap();
    assert!(c.global.json);
    assert_eq!(c.global.reader.as_deref(), Some("1"));
    assert_eq!(c.global.block_size, 120);
    assert!(Cli::try_parse_from(["sm-cli", "--block-size", "5", "info"]).is_err());
}

#[test]
fn profile_targets() {
    let c =
        Cli::try_parse_from(["sm-cli", "profiles", "enable", "--aid", "A0000005591010"]).unwrap();
    let Cmd::Profiles(ProfilesCmd::Enable { target, .. }) = c.command else {
        panic!("enable")
    };
    assert_eq!(
        (target.iccid, target.aid.as_deref()),
        (None, Some("A0000005591010"))
    );
    assert!(Cli::try_parse_from(["sm-cli", "profiles", "enable"]).is_err());
    assert!(Cli::try_parse_from(["sm-cli", "profiles", "delete", "89", "--aid", "A0"]).is_err());
    let c = Cli::try_parse_from(["sm-cli", "profiles", "nickname", "--aid", "A0", "home"]).unwrap();
    let Cmd::Profiles(ProfilesCmd::Nickname { args, aid }) = c.command else {
        panic!("nickname")
    };
    assert_eq!(
        (args, aid.as_deref()),
        (vec!["home".to_string()], Some("A0"))
    );
}

#[test]
fn command_line() {
    let c = Cli::try_parse_from([
        "sm-cli",
        "script",
        "run",
        "a.apdu",
        "b.apdu",
        "--keep-going",
        "--junit",
        "r.xml",
        "--var",
        "EID=89",
        "--json",
        "-r",
        "1",
    ])
    .unwrap();
    assert!(c.global.json && c.global.record.is_none());
    let Cmd::Script(ScriptCmd::Run(a)) = c.command else {
        panic!("script run")
    };
    assert_eq!(a.files.len(), 2);
    assert!(a.keep_going);
    assert_eq!(a.junit.as_deref(), Some(Path::new("r.xml")));
    assert_eq!(a.vars, vec!["EID=89".to_string()]);
    assert!(Cli::try_parse_from(["sm-cli", "script", "run"]).is_err());
    // --record is global: before or after the subcommand.
    let c = Cli::try_parse_from(["sm-cli", "info", "--record", "/tmp/x.apdu"]).unwrap();
    assert_eq!(c.global.record.as_deref(), Some(Path::new("/tmp/x.apdu")));
    let c = Cli::try_parse_from(["sm-cli", "--record", "x.apdu", "apdu", "00A40400"]).unwrap();
    assert_eq!(c.global.record.as_deref(), Some(Path::new("x.apdu")));
}

#[test]
fn usage_errors_read_on_one_line() {
    let e = Cli::try_parse_from(["sm-cli", "profiles", "enable"]).unwrap_err();
    assert_eq!(
        usage_message(&e),
        "the following required arguments were not provided: <ICCID|--aid <HEX>>"
    );
}

#[test]
fn subcommand_words_without_arguments() {
    let p = parse_from([
        "sm-cli",
        "-r",
        "1",
        "profiles",
        "enable",
        "8949000000000000001",
    ])
    .unwrap();
    assert_eq!(p.words, "profiles enable");
    let p = parse_from(["sm-cli", "script", "run", "--var", "PARAM=31", "a.apdu"]).unwrap();
    assert_eq!(p.words, "script run");
    assert!(matches!(p.cli.command, Cmd::Script(_)));
    assert_eq!(parse_from(["sm-cli", "sync"]).unwrap().words, "sync");
    assert!(parse_from(["sm-cli", "nonsense"]).is_err());
}

#[test]
fn usage_lines_say_a_profile_is_required_and_not_the_environment() {
    let e = Cli::try_parse_from(["sm-cli", "profiles", "enable"]).unwrap_err();
    let text = e.render().to_string();
    assert!(
        text.contains("Usage: sm-cli profiles enable <ICCID|--aid <HEX>>"),
        "{text}"
    );
    // SM_CLI_DB is read by `Global::sm_db`, not by clap: a usage line never shows it
    // as given (clap lists arguments taken from the environment as used).
    let mut help = Vec::new();
    let mut cli = Cli::command();
    cli.build();
    cli.find_subcommand_mut("profiles")
        .and_then(|p| p.find_subcommand_mut("enable"))
        .unwrap()
        .write_long_help(&mut help)
        .unwrap();
    let help = String::from_utf8(help).unwrap();
    assert!(help.contains("[env: SM_CLI_DB]"), "{help}");
    assert!(!text.contains("--sm-db"), "{text}");
}
