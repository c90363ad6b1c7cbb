//! `sm-cli smdp ...`: the SM as an SGP.22 SM-DP+ (issue 11). This file only names the
//! subcommands and dispatches; each one owns its arguments in its own module
//! (`smdp_serve`, ...).

use crate::commands::smdp_order::{self, OrderArgs};
use crate::commands::smdp_serve::{self, ServeArgs};
use crate::context::App;
use crate::errors::CliError;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SmdpCmd {
    /// Serve ES9+ over HTTPS in the foreground until SIGTERM or Ctrl-C
    Serve(ServeArgs),
    /// Order a profile download; prints its activation code LPA:1$host:port$matchingId
    Order(OrderArgs),
}

pub fn run(app: &App, cmd: SmdpCmd) -> Result<(), CliError> {
    match cmd {
        SmdpCmd::Serve(a) => smdp_serve::run(app, a),
        SmdpCmd::Order(a) => smdp_order::run(app, a),
    }
}
