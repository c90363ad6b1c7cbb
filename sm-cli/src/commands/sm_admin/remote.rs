//! `sm-cli --sm https://HOST:PORT sm list | show | audit | unlock` (issue 12): the
//! operator commands against the remote SM's admin endpoints
//! (`crate::sm::remote::admin`), with the operator token of `--operator-token-file`
//! (or `SM_CLI_OPERATOR_TOKEN_FILE`). The answers are the local commands' reports, so
//! the output (human and `--json`) and the exit codes are theirs; a refused token exits
//! 17, an SM that cannot be reached 14.

use super::reports::{operator_name, Audit, List, Show, SmCmd, Unlocked};
use crate::context::App;
use crate::errors::CliError;
use crate::sm::remote::admin::{ListRequest, OpIdRequest, UnlockRequest};
use crate::sm::remote::admin_client::AdminClient;
use crate::sm::remote::client::HttpsSm;
use crate::sm::remote::token::OperatorToken;

pub(crate) fn run(app: &App, url: &str, cmd: SmCmd) -> Result<(), CliError> {
    if app.global.sm_db.is_some() {
        return Err(CliError::Usage(
            "--sm and --sm-db exclude each other: the remote SM keeps its own store".into(),
        ));
    }
    let Some(path) = app.global.operator_token_file() else {
        return Err(CliError::Usage(
            "--sm: the operator commands need the SM's operator token: give \
             --operator-token-file FILE (or SM_CLI_OPERATOR_TOKEN_FILE); the SM's operator \
             makes it with `sm-cli smdp operator-token --out FILE`"
                .into(),
        ));
    };
    let token = OperatorToken::load(&path, false).map_err(|e| CliError::Usage(e.to_string()))?;
    let trust = crate::commands::download::trust(&app.global.sm_ca);
    let sm = AdminClient::new(HttpsSm::new(url, trust)?, token, url);
    match cmd {
        SmCmd::List => app.out.emit(&sm.call::<_, List>("list", &ListRequest {})?),
        SmCmd::Show { op_id } => app
            .out
            .emit(&sm.call::<_, Show>("show", &OpIdRequest { op_id })?),
        SmCmd::Audit { op_id } => app
            .out
            .emit(&sm.call::<_, Audit>("audit", &OpIdRequest { op_id })?),
        SmCmd::Unlock { op_id, operator } => {
            let request = UnlockRequest {
                op_id,
                operator: operator_name(operator),
            };
            app.out.emit(&sm.call::<_, Unlocked>("unlock", &request)?)
        }
    }
}
