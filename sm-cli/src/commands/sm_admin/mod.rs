//! `sm-cli sm list | show OPID | audit OPID | unlock OPID` (issue 3, CLI: "for the
//! operator"): the SM's records, read from the store at `--sm-db`, without a card.
//! Ki and OPc are never shown (`show`); `unlock` is audited with the operator's name.
//!
//! With `--sm https://HOST:PORT` (issue 12) the same commands ask the remote SM's admin
//! endpoints ([`remote`], with the operator token of `--operator-token-file`); the
//! server builds its answers with the same functions ([`reports`]) and the reports travel as their own JSON, so both print the same.

mod fields;
pub(crate) mod remote;
pub(crate) mod reports;
mod show;

use crate::commands::method::open_existing_store;
use crate::context::App;
use crate::errors::CliError;
pub use reports::SmCmd;
use reports::{audit, list, operator_name, show, unlock};

pub fn run(app: &App, cmd: SmCmd) -> Result<(), CliError> {
    if let Some(url) = app.global.sm_url() {
        return remote::run(app, &url, cmd);
    }
    let store = open_existing_store(app)?;
    match cmd {
        SmCmd::List => app.out.emit(&list(&store)?),
        SmCmd::Show { op_id } => app.out.emit(&show(&store, &op_id)?),
        SmCmd::Audit { op_id } => app.out.emit(&audit(&store, &op_id)?),
        SmCmd::Unlock { op_id, operator } => {
            app.out
                .emit(&unlock(&store, &op_id, operator_name(operator), None)?)
        }
    }
}
