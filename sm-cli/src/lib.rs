//! sm-cli as a library: drives virtual or real eUICCs through PC/SC.
//!
//! The binary (`main.rs`) only parses the command line ([`cli::parse_from`]) and calls
//! [`run`], which returns the exit code. The layers: [`commands`] (one module per
//! subcommand, composed by [`cli`], run with the [`context`]) -> [`terminal`] (the
//! device-change terminal and its CAT session) and [`lpa`] (ES10 client, SGP.22 §5.7)
//! -> [`reader`] (PC/SC). Beside them: [`sm`] (the subscription manager: store and
//! policy), [`script`] (APDU script replay and `--record`), [`errors`] (the error type)
//! with [`exit`] (the exit-code table), [`output`] (human and `--json` output) and
//! [`clock`] (UTC timestamps).
//!
//! The fuzz targets link this crate to fuzz the real answer parsing ([`terminal`],
//! [`lpa`], [`reader::transport`]) and the script engine ([`script`]).

pub mod cli;
pub mod clock;
pub mod commands;
pub mod context;
pub mod errors;
pub mod es9p;
pub mod exit;
pub mod lpa;
pub mod output;
pub mod reader;
pub mod script;
pub mod sm;
pub mod smdp;
pub mod terminal;
#[cfg(test)]
pub(crate) mod test_card;

use cli::Parsed;
use context::App;
use errors::CliError;
use exit::Exit;
use script::recorder::Recorder;
use std::process::ExitCode;

/// Reports a command-line error; with `--json` anywhere in the arguments, also as JSON.
pub fn parse_failure(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return exit_code(if e.use_stderr() {
            Exit::Usage
        } else {
            Exit::Ok
        });
    }
    let _ = e.print();
    if std::env::args().any(|a| a == "--json") {
        println!(
            "{}",
            output::error_json(&CliError::Usage(cli::usage_message(&e)))
        );
    }
    exit_code(Exit::Usage)
}

fn exit_code(e: Exit) -> ExitCode {
    ExitCode::from(e.code())
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(parsed: Parsed) -> ExitCode {
    let Parsed { cli, words } = parsed;
    let mut app = App::new(cli.global);
    if let Some(path) = &app.global.record {
        match Recorder::start(path, &words) {
            Ok(r) => app.recorder = Some(r),
            Err(e) => {
                app.out.error(&e);
                return ExitCode::from(e.exit_code());
            }
        }
    }
    let result = commands::run(&app, cli.command);
    // --record: written whatever the outcome, so failed sessions can be replayed too.
    if let Some(Err(e)) = app
        .recorder
        .as_ref()
        .map(|r| r.finish(result.as_ref().err()))
    {
        eprintln!("error: {e}");
        if result.is_ok() {
            return ExitCode::from(e.exit_code());
        }
    }
    match result {
        Ok(exit) => exit_code(exit),
        // A closed stdout (`sm-cli readers | head -1`) is not worth a message.
        Err(CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            exit_code(Exit::Unexpected)
        }
        Err(e) => {
            app.out.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
