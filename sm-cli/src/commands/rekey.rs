//! `sm-cli -r CARD rekey --imei ...` (flow C, spec device-change.md C.1-C.5, from the old
//! or the new terminal): the card asks for the OP ID and the CURRENT parameter, the SM
//! verifies it (same 3-attempt counter as a device change), then the card asks for the
//! NEW parameter twice and the SM replaces the key, salt and KDF parameters.
//!
//! With `--param-stdin --new-param-stdin`, stdin gives two lines: current, then new.

use crate::commands::method::{answers, run_flow, KdfChoice, TerminalArgs};
use crate::context::App;
use crate::errors::CliError;
use crate::sm::service::{check_op_id, Order};
use crate::terminal::ParamSource;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// Answer the card's question for the OP ID (phone number) without a prompt
    #[arg(long, value_name = "NUMBER")]
    pub op_id: Option<String>,
    #[command(flatten)]
    pub terminal: TerminalArgs,
    /// Read the NEW parameter from stdin (after the current one when both come from stdin)
    #[arg(long, conflicts_with = "new_param_file")]
    pub new_param_stdin: bool,
    /// Read the NEW parameter from the first line of a file
    #[arg(long, value_name = "PATH")]
    pub new_param_file: Option<PathBuf>,
    /// Key-stretching cost for the new key (default: keep the subscription's)
    #[arg(long, value_enum)]
    pub kdf: Option<KdfChoice>,
}

pub fn run(app: &App, a: RekeyArgs) -> Result<(), CliError> {
    if let Some(op) = &a.op_id {
        check_op_id(op)?;
    }
    let current = ParamSource::from_options(a.terminal.param_stdin, a.terminal.param_file);
    let new = ParamSource::from_options(a.new_param_stdin, a.new_param_file);
    let answers = answers(a.terminal.imei, a.op_id, current, new)?;
    let order = Order::Rekey {
        kdf: a.kdf.map(KdfChoice::params),
    };
    run_flow(app, order, answers)
}
