//! sm-cli: drives virtual or real eUICCs through PC/SC.
//!
//! Thin entry point: parse the command line ([`cli`]), run the subcommand
//! ([`commands`]), and turn an error into its message and exit code ([`errors`],
//! [`output`]). The layers below: [`lpa`] (ES10 client) -> [`reader`] (PC/SC).

mod cli;
mod commands;
mod errors;
mod lpa;
mod output;
mod reader;
mod script;
mod sm;
mod terminal;

use clap::Parser;
use errors::CliError;
use output::Output;
use std::process::ExitCode;

/// Reports a command-line error; with `--json` anywhere in the arguments, also as JSON.
fn parse_failure(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    let _ = e.print();
    if std::env::args().any(|a| a == "--json") {
        println!(
            "{}",
            output::error_json(&CliError::Usage(usage_message(&e)))
        );
    }
    ExitCode::from(2)
}

/// clap's message without the usage block, on one line.
fn usage_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let head = text.split("\n\n").next().unwrap_or("invalid command line");
    head.trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return parse_failure(e),
    };
    let out = Output::new(cli.global.json);
    if let Some(path) = &cli.global.record {
        if let Err(e) = script::recorder::start(path, &script::recorder::command_words()) {
            out.error(&e);
            return ExitCode::from(e.exit_code());
        }
    }
    let result = commands::run(cli);
    // --record: written whatever the outcome, so failed sessions can be replayed too.
    if let Err(e) = script::recorder::finish(result.as_ref().err()) {
        eprintln!("error: {e}");
        if result.is_ok() {
            return ExitCode::from(e.exit_code());
        }
    }
    match result {
        Ok(()) => ExitCode::from(commands::script_cmd::exit_status()),
        // A closed stdout (`sm-cli readers | head -1`) is not worth a message.
        Err(CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(e) => {
            out.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_read_on_one_line() {
        let e = cli::Cli::try_parse_from(["sm-cli", "profiles", "enable"]).unwrap_err();
        assert_eq!(
            usage_message(&e),
            "the following required arguments were not provided: <ICCID>"
        );
    }
}
