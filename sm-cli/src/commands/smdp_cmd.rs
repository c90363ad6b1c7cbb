//! `sm-cli smdp ...`: the SM as an SGP.22 SM-DP+ (issue 11). This file only names the
//! subcommands and dispatches; each one owns its arguments in its own module
//! (`smdp_serve`, ...).

use crate::commands::smdp_order::{self, OrderArgs};
use crate::commands::smdp_serve::{self, ServeArgs};
use crate::commands::smdp_token::{self, TokenArgs};
use crate::context::App;
use crate::errors::CliError;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SmdpCmd {
    /// Serve ES9+ over HTTPS in the foreground until SIGTERM or Ctrl-C
    Serve(ServeArgs),
    /// Order a profile download; prints its activation code LPA:1$host:port$matchingId
    Order(OrderArgs),
    /// Make an operator token for `serve --operator-token-file` (a new file, mode 0600)
    OperatorToken(TokenArgs),
}

pub fn run(app: &App, cmd: SmdpCmd) -> Result<(), CliError> {
    match cmd {
        SmdpCmd::Serve(a) => smdp_serve::run(app, a),
        SmdpCmd::Order(a) => smdp_order::run(app, a),
        SmdpCmd::OperatorToken(a) => smdp_token::run(app, a),
    }
}
