//! sm-cli: drives virtual or real eUICCs through PC/SC.
//!
//! Thin entry point: parse the command line and hand it to the library
//! ([`sm_cli::run`]), which returns the exit code (`sm_cli::exit`, README "Exit codes").

use std::process::ExitCode;

fn main() -> ExitCode {
    match sm_cli::cli::parse_from(std::env::args_os()) {
        Ok(parsed) => sm_cli::run(parsed),
        Err(e) => sm_cli::parse_failure(e),
    }
}
