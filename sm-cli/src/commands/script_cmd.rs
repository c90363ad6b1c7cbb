//! `sm-cli script run FILE...`: replays APDU scripts through PC/SC and checks every
//! answer (docs/script-format.md; the engine is `script::engine`).
//!
//! Every file is read and parsed before anything is sent. The report lists each line
//! (file:line, sent, got, expected, time) as it runs, then a summary; `--json` prints
//! the report as one document instead, `--junit PATH` also writes it as JUnit XML.
//!
//! Exit status (decided here, after the report is printed, see [`exit_status`]):
//! 0 every line passed, [`EXIT_FAILED`] a check failed or a line could not be carried
//! out, [`EXIT_PARSE`] a file did not parse (`file:line:col: message`). A card that
//! cannot be reached at all ends with the usual codes (3 pcscd, 4-7 reader and card).

use crate::commands::App;
use crate::errors::CliError;
use crate::script::engine::{self, Options};
use crate::script::pcsc_card::PcscCard;
use crate::script::report::{step_text, FileResult, RunReport};
use crate::script::{atomic, junit};
use apdu_script::{vars::check_name, ParseError, Script, Vars, MAX_FILE_BYTES};
use clap::{Args, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

/// Exit status when a line failed (mismatch, or a line that could not be carried out).
/// 30-59 belong to the device-change method.
pub const EXIT_FAILED: u8 = 60;
/// Exit status when a script does not parse.
pub const EXIT_PARSE: u8 = 61;

static EXIT_STATUS: AtomicU8 = AtomicU8::new(0);

/// The exit status `script run` chose after printing its report (0 for other
/// commands). `main` exits with it when the command returns `Ok`.
pub fn exit_status() -> u8 {
    EXIT_STATUS.load(Ordering::Relaxed)
}

#[derive(Debug, Subcommand)]
pub enum ScriptCmd {
    /// Replay scripts through PC/SC and check every answer (docs/script-format.md).
    /// Exit status 60 when a line failed, 61 when a script does not parse
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Script files, replayed in order (each with its own variables and directive state)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Go on after a failed line (default: stop the run at the first failure)
    #[arg(long)]
    pub keep_going: bool,
    /// Also write the report as JUnit XML (one testsuite per file, one testcase per command)
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Set a variable before the run (turns a capture into a check; supplies secrets)
    #[arg(long = "var", value_name = "NAME=HEX")]
    pub vars: Vec<String>,
}

pub fn run(app: &App, cmd: ScriptCmd) -> Result<(), CliError> {
    match cmd {
        ScriptCmd::Run(a) => run_files(app, a),
    }
}

/// Parses `--var NAME=HEX` values. The value is never echoed (it may be a secret).
pub fn parse_vars(args: &[String]) -> Result<Vars, CliError> {
    let mut vars = Vars::new();
    for a in args {
        let Some((name, value)) = a.split_once('=') else {
            return Err(CliError::Usage(
                "--var wants NAME=HEX (e.g. --var EID=89049032...)".into(),
            ));
        };
        check_name(name).map_err(|e| CliError::Usage(format!("--var: {e}")))?;
        let clean: String = value
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        let bytes = hex::decode(&clean).map_err(|_| {
            CliError::Usage(format!(
                "--var {name}: the value is not an even number of hex digits"
            ))
        })?;
        vars.set(name, bytes)
            .map_err(|e| CliError::Usage(format!("--var: {e}")))?;
    }
    Ok(vars)
}

/// Reads and parses one file; the name in errors is the path as given.
pub fn load(path: &Path) -> Result<Script, ParseError> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        return Err(ParseError::new(
            &name,
            0,
            0,
            format!("cannot read the file: {e}"),
        ));
    }
    Script::parse_bytes(&name, &bytes)
}

/// Reports parse errors (all of them) and sets the exit status.
fn parse_failure(app: &App, errors: &[ParseError]) -> Result<(), CliError> {
    for e in errors {
        eprintln!("error: {e}");
    }
    if app.out.is_json() {
        let doc = serde_json::json!({
            "error": {
                "code": "script_parse",
                "exit_code": EXIT_PARSE,
                "message": errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            }
        });
        println!("{doc}");
    }
    EXIT_STATUS.store(EXIT_PARSE, Ordering::Relaxed);
    Ok(())
}

fn run_files(app: &App, args: RunArgs) -> Result<(), CliError> {
    let vars = parse_vars(&args.vars)?;
    if let Some(j) = &args.junit {
        let dir = atomic::parent_dir(j);
        if !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "--junit {}: directory {} does not exist",
                j.display(),
                dir.display()
            )));
        }
    }
    let mut scripts = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        match load(path) {
            Ok(s) => scripts.push((path.display().to_string(), s)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return parse_failure(app, &errors);
    }
    if !app.out.is_json() {
        for (name, s) in &scripts {
            for w in &s.warnings {
                eprintln!("warning: {name}:{}: {}", w.line, w.message);
            }
        }
    }

    let mut card = PcscCard::open(app)?;
    let opts = Options {
        keep_going: args.keep_going,
    };
    let human = !app.out.is_json();
    let mut print = |file: &str, step: &crate::script::report::Step| {
        if human {
            // Best effort: a closed stdout is noticed when the summary is printed.
            let _ = app.out.progress(&step_text(file, step));
        }
    };
    let mut files = Vec::new();
    let mut stopped = false;
    for (i, (name, script)) in scripts.iter().enumerate() {
        if stopped {
            files.push(engine::not_run_file(name, script));
            continue;
        }
        if i > 0 {
            card.begin_file()?;
        }
        let report = engine::replay_file(&mut card, name, script, vars.clone(), opts, &mut print);
        stopped = report.result == FileResult::Failed && !args.keep_going;
        files.push(report);
    }
    card.close()?;

    let report = RunReport::new(files);
    if let Some(j) = &args.junit {
        atomic::write(j, junit::render(&report).as_bytes()).map_err(|e| {
            CliError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot write the JUnit report {}: {e}", j.display()),
            ))
        })?;
    }
    if app.out.is_json() {
        app.out.emit(&report)?;
    } else {
        app.out.progress(&report.summary())?;
    }
    if !report.passed {
        EXIT_STATUS.store(EXIT_FAILED, Ordering::Relaxed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_from_the_command_line() {
        let v = parse_vars(&["EID=89 04:90".into(), "K=".into()]).unwrap();
        assert_eq!(v.get("EID"), Some(&[0x89, 0x04, 0x90][..]));
        assert_eq!(v.get("K"), Some(&[][..]));
        let e = parse_vars(&["PARAM=123".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(!e.to_string().contains("123"), "{e}");
        assert!(parse_vars(&["noequals".into()]).is_err());
        assert!(parse_vars(&["MY_EXIT=00".into()]).is_err());
    }

    #[test]
    fn command_line() {
        use crate::cli::{Cli, Cmd};
        use clap::Parser;
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
    fn unreadable_files_are_parse_errors_with_the_path() {
        let e = load(Path::new("/nonexistent/x.apdu")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/x.apdu:0:0: cannot read"),
            "{e}"
        );
    }
}
