//! `sm-cli -r OLD sync` (issue 3, Security behaviour; docs/device-change-protocol.md
//! "Sync"): the card proves its identity over a fresh challenge and the SM has it
//! disable and delete every profile that moved to another device since; each removal is
//! confirmed in the SM's audit log. Every other flow starts with the same sync.

use crate::commands::method::{answers, run_flow};
use crate::context::App;
use crate::errors::CliError;
use crate::sm::service::Order;

pub fn run(app: &App) -> Result<(), CliError> {
    // The sync asks the user nothing.
    let answers = answers(None, None, None, None)?;
    run_flow(app, Order::Sync, answers)
}
