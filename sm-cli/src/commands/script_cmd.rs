//! `sm-cli script run FILE...`: replays APDU scripts through PC/SC and checks every
//! answer (docs/script-format.md; the engine is `script::engine`).
//!
//! Every file is read and parsed before anything is sent. The report lists each line
//! (file:line, sent, got, expected, time) as it runs, then a summary; `--json` prints
//! the report as one document instead, `--junit PATH` also writes it as JUnit XML.
//!
//! Exit status (decided here, after the report is printed, and returned to `main`):
//! 0 every line passed, [`Exit::ScriptFailed`] a check failed or a line could not be
//! carried out, [`Exit::ScriptParse`] a file did not parse (`file:line:col: message`);
//! a file that cannot be read at all is a usage error (exit 2) naming it.
//! A card that cannot be reached at all ends with the usual codes (3 pcscd, 4-7 reader
//! and card).

use crate::context::App;
use crate::errors::CliError;
use crate::exit::Exit;
use crate::script::engine::{self, Options};
use crate::script::pcsc_card::PcscCard;
use crate::script::report::{step_text, FileResult, RunReport};
use crate::script::{junit, output_file};
use apdu_script::{vars::check_name, ParseError, Script, Vars, MAX_FILE_BYTES};
use clap::{Args, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};

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

/// Runs `script ...`; the exit status it chose after printing its report.
pub fn run(app: &App, cmd: ScriptCmd) -> Result<Exit, CliError> {
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

/// Why a script file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file cannot be read (missing, a directory, no permission): a usage error
    /// (exit 2) that names the path, as for any other file argument.
    Unreadable(CliError),
    /// The file does not parse (`file:line:col: message`, exit 61).
    Parse(ParseError),
}

/// Reads and parses one file; the name in errors is the path as given.
pub fn load(path: &Path) -> Result<Script, LoadError> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes));
    if let Err(e) = read {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        };
        return Err(LoadError::Unreadable(CliError::Usage(format!(
            "cannot read the script {name}: {why}"
        ))));
    }
    Script::parse_bytes(&name, &bytes).map_err(LoadError::Parse)
}

/// Reports parse errors (all of them).
fn parse_failure(app: &App, errors: &[ParseError]) -> Exit {
    for e in errors {
        eprintln!("error: {e}");
    }
    if app.out.is_json() {
        let doc = serde_json::json!({
            "error": {
                "code": "script_parse",
                "exit_code": Exit::ScriptParse.code(),
                "message": errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            }
        });
        println!("{doc}");
    }
    Exit::ScriptParse
}

fn run_files(app: &App, args: RunArgs) -> Result<Exit, CliError> {
    let vars = parse_vars(&args.vars)?;
    if let Some(j) = &args.junit {
        output_file::check_writable("--junit", j)?;
    }
    let mut scripts = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        match load(path) {
            Ok(s) => scripts.push((path.display().to_string(), s)),
            Err(LoadError::Parse(e)) => errors.push(e),
            Err(LoadError::Unreadable(e)) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Ok(parse_failure(app, &errors));
    }
    if !app.out.is_json() {
        for (name, s) in &scripts {
            for w in &s.warnings {
                eprintln!("warning: {name}:{}: {}", w.line, w.message);
            }
        }
    }

    let first_names_reader = scripts
        .first()
        .is_none_or(|(_, s)| s.names_its_reader_first());
    let mut card = PcscCard::open(app, !first_names_reader)?;
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
            card.begin_file(script.names_its_reader_first())?;
        }
        let report = engine::replay_file(&mut card, name, script, vars.clone(), opts, &mut print);
        stopped = report.result == FileResult::Failed && !args.keep_going;
        files.push(report);
    }
    card.close()?;

    let report = RunReport::new(files);
    if let Some(j) = &args.junit {
        output_file::write("the JUnit report", j, junit::render(&report).as_bytes())?;
    }
    if app.out.is_json() {
        app.out.emit(&report)?;
    } else {
        app.out.progress(&report.summary())?;
    }
    Ok(if report.passed {
        Exit::Ok
    } else {
        Exit::ScriptFailed
    })
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
    fn unreadable_files_are_usage_errors_with_the_path() {
        let Err(LoadError::Unreadable(e)) = load(Path::new("/nonexistent/x.apdu")) else {
            panic!("a missing file loaded or parsed");
        };
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "cannot read the script /nonexistent/x.apdu: no such file"
        );
        let dir = std::env::temp_dir();
        assert!(matches!(load(&dir), Err(LoadError::Unreadable(_))));
    }

    #[test]
    fn files_that_do_not_parse_are_parse_errors() {
        let path = std::env::temp_dir().join(format!("sm-cli-bad-{}.apdu", std::process::id()));
        std::fs::write(&path, "00A4 0400 zz\n").unwrap();
        let r = load(&path);
        std::fs::remove_file(&path).unwrap();
        let Err(LoadError::Parse(e)) = r else {
            panic!("a malformed script loaded");
        };
        assert!(e.to_string().contains(":1:"), "{e}");
    }
}
