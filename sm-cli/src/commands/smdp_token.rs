//! `sm-cli smdp operator-token --out FILE`: makes the operator token of the remote SM's
//! admin endpoints (`crate::sm::remote::token`): 32 random bytes as 64 hex digits on
//! one line, in a new file with mode 0600 (an existing file is never overwritten).
//! The server reads it with `smdp serve --operator-token-file FILE`; the operator's
//! sm-cli with `--operator-token-file` (a copy kept as secret as the server's).
//!
//! Prints where it wrote (`--json`: `{"operator_token_file":..,"mode":"0600"}`); never
//! the token.

use crate::context::App;
use crate::errors::CliError;
use crate::output::Report;
use crate::sm::remote::token::OperatorToken;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The new token file (must not exist)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct Written {
    operator_token_file: String,
    mode: &'static str,
}

impl Report for Written {
    fn human(&self) -> String {
        format!(
            "wrote an operator token to {} (mode {}): start the SM with `sm-cli smdp serve \
             --operator-token-file {}`; operators give a copy with --operator-token-file",
            self.operator_token_file, self.mode, self.operator_token_file
        )
    }
}

pub fn run(app: &App, args: TokenArgs) -> Result<(), CliError> {
    let token = OperatorToken::generate()
        .map_err(|e| CliError::Io(std::io::Error::other(format!("no random bytes: {e}"))))?;
    token.write_new(&args.out).map_err(|e| match e {
        crate::sm::remote::token::TokenError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            CliError::Usage(format!(
                "--out {}: the file exists; an operator token is never overwritten (remove it \
                 first to replace the token)",
                args.out.display()
            ))
        }
        e => CliError::Io(std::io::Error::other(e.to_string())),
    })?;
    app.out.emit(&Written {
        operator_token_file: args.out.display().to_string(),
        mode: "0600",
    })
}
