//! `sm-cli -r NEW device-change --imei ...` (flow B, spec device-change.md B.1-B.8): the
//! card asks for the OP ID and the IMEI; the SM looks the subscription up; the card that
//! is bound and proves its identity key gets the profile again without the parameter,
//! any other card must sign with the key derived from the parameter (3 attempts). On
//! success the old device's binding is stopped and the profile installed here.

use crate::commands::method::{answers, run_flow, TerminalArgs};
use crate::context::App;
use crate::errors::CliError;
use crate::sm::service::{check_op_id, Order};
use crate::terminal::ParamSource;
use clap::Args;

#[derive(Debug, Args)]
pub struct DeviceChangeArgs {
    /// Answer the card's question for the OP ID (phone number) without a prompt
    #[arg(long, value_name = "NUMBER")]
    pub op_id: Option<String>,
    #[command(flatten)]
    pub terminal: TerminalArgs,
}

pub fn run(app: &App, a: DeviceChangeArgs) -> Result<(), CliError> {
    if let Some(op) = &a.op_id {
        check_op_id(op)?;
    }
    let source = ParamSource::from_options(a.terminal.param_stdin, a.terminal.param_file);
    let answers = answers(a.terminal.imei, a.op_id, source, None)?;
    run_flow(app, Order::DeviceChange, answers)
}
