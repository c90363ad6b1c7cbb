//! The remote SM's operator endpoints (issue 12: "the operator commands work against
//! the server with an operator credential; no open admin endpoint"):
//! `POST /veuicc/sm/v1/admin/<function>`, `<function>` one of `list`, `show`, `audit`,
//! `unlock`, JSON both ways, each request with `Authorization: Bearer <operator token>`
//! ([`super::token`]).
//!
//! - They exist only when `smdp serve` was given `--operator-token-file`: without a
//!   token the HTTP layer answers 404 ([`crate::es9p::Es9Handler::serves`]), so there
//!   is never an open admin endpoint;
//! - a missing or wrong token is a 401 with the same body either way (it never says
//!   which); the refusals are counted and each one's log line says how many came in the
//!   last minute (never the token);
//! - the request bodies: `list` `{}`, `show` and `audit` `{"op_id":".."}`, `unlock`
//!   `{"op_id":"..","operator":".."}` (no other field); anything else is a 400, a body
//!   over [`MAX_ADMIN_BODY`] a 413;
//! - the answer is the local command's report as its own JSON (the `--json` output of
//!   `sm list|show|audit|unlock`, `crate::commands::sm_admin`), or `{"error":{kind,
//!   exit_code, message}}` (the local command's error: same exit code and sentence);
//! - `unlock` is audited on the server as `operator:<NAME>`, its details ending in
//!   `(remote)`.
//!
//! One log line per request on stderr (time, function, status, outcome); never a body.

use super::token::OperatorToken;
use super::wire::{Reply, WireError, BAD_REQUEST};
use crate::commands::sm_admin::reports as sm_admin;
use crate::errors::CliError;
use crate::es9p::Es9Reply;
use crate::exit::Exit;
use crate::sm::store::Store;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

pub use super::wire::{ADMIN_FUNCTIONS as FUNCTIONS, ADMIN_PATH_PREFIX as PATH_PREFIX};

/// The largest admin request body (bytes): an OP ID and an operator name.
pub const MAX_ADMIN_BODY: usize = 4096;

pub use super::wire::TOKEN_REFUSED;

/// `list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {}

/// `show` and `audit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpIdRequest {
    pub op_id: String,
}

/// `unlock`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockRequest {
    pub op_id: String,
    pub operator: String,
}

/// The admin side of an [`SmServer`]: the token and the count of refusals.
pub struct Admin {
    token: OperatorToken,
    /// Start of the current minute and the refusals in it.
    refused: Mutex<(Instant, u64)>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").field("token", &self.token).finish()
    }
}

fn error_reply(status: u16, error: WireError) -> Es9Reply {
    Es9Reply {
        http_status: status,
        body: Reply::Error { error }.to_json(),
    }
}

fn bad_request(status: u16, message: String) -> (Es9Reply, String) {
    let reply = error_reply(
        status,
        WireError {
            kind: BAD_REQUEST.into(),
            exit_code: Exit::Usage.code(),
            message,
        },
    );
    (reply, BAD_REQUEST.into())
}

/// The function's request: a JSON object with its fields and no other.
fn parse<T: DeserializeOwned>(function: &str, body: &[u8]) -> Result<T, (Es9Reply, String)> {
    let bad = |e: String| bad_request(400, format!("{function}: not the function's JSON: {e}"));
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if v.is_object() => serde_json::from_value(v).map_err(|e| bad(e.to_string())),
        Ok(_) => Err(bad("not an object".into())),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// A report (200) or the local command's error (200, as the flows' refusals).
fn answer<R: Serialize>(r: Result<R, CliError>) -> (Es9Reply, String) {
    match r {
        Ok(report) => match serde_json::to_vec(&report) {
            Ok(body) => (
                Es9Reply {
                    http_status: 200,
                    body,
                },
                "ok".into(),
            ),
            Err(e) => (
                error_reply(
                    500,
                    WireError {
                        kind: "sm_store".into(),
                        exit_code: Exit::SmFailure.code(),
                        message: format!("the report could not be written: {e}"),
                    },
                ),
                "internal error".into(),
            ),
        },
        Err(e) => {
            let what = format!("refused {}", e.kind());
            let error = WireError {
                kind: e.kind().to_string(),
                exit_code: e.exit_code(),
                message: e.to_string(),
            };
            (error_reply(200, error), what)
        }
    }
}

impl Admin {
    pub fn new(token: OperatorToken) -> Admin {
        Admin {
            token,
            refused: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Counts one refusal; the refusals of the current minute (with this one).
    fn count_refusal(&self) -> u64 {
        let mut r = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(r.0) >= Duration::from_secs(60) {
            *r = (now, 0);
        }
        r.1 += 1;
        r.1
    }

    /// One admin request: the token first, then the body, then the store.
    pub fn handle(
        &self,
        store: &Store,
        logging: bool,
        function: &str,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Es9Reply {
        let (reply, what) = self.run(store, function, authorization, body);
        if logging {
            log_line(function, &reply, &what);
        }
        reply
    }

    fn run(
        &self,
        store: &Store,
        function: &str,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> (Es9Reply, String) {
        if !self.token.matches(authorization) {
            let n = self.count_refusal();
            let reply = error_reply(
                401,
                WireError {
                    kind: TOKEN_REFUSED.into(),
                    exit_code: Exit::OperatorToken.code(),
                    message: "the SM refused the operator token".into(),
                },
            );
            return (
                reply,
                format!("operator token refused ({n} refused in the last minute)"),
            );
        }
        if body.len() > MAX_ADMIN_BODY {
            return bad_request(413, format!("request body over {MAX_ADMIN_BODY} bytes"));
        }
        match function {
            "admin/list" => match parse::<ListRequest>("list", body) {
                Ok(_) => answer(sm_admin::list(store)),
                Err(e) => e,
            },
            "admin/show" => match parse::<OpIdRequest>("show", body) {
                Ok(r) => answer(sm_admin::show(store, &r.op_id)),
                Err(e) => e,
            },
            "admin/audit" => match parse::<OpIdRequest>("audit", body) {
                Ok(r) => answer(sm_admin::audit(store, &r.op_id)),
                Err(e) => e,
            },
            "admin/unlock" => match parse::<UnlockRequest>("unlock", body) {
                Ok(r) => answer(sm_admin::unlock(
                    store,
                    &r.op_id,
                    r.operator,
                    Some("remote"),
                )),
                Err(e) => e,
            },
            _ => (
                Es9Reply {
                    http_status: 404,
                    body: Vec::new(),
                },
                "no such function".into(),
            ),
        }
    }
}

/// Whether `body`, a 200 answer of `function` (one of [`FUNCTIONS`]), reads back as the
/// admin client takes it: the local command's report of that function, or a refusal
/// (`{"error":{..}}`). For the `sm_requests` fuzz target (the report types are the
/// crate's own).
#[doc(hidden)]
pub fn read_answer(function: &str, body: &[u8]) -> Result<(), String> {
    if let Ok(Reply::Error { .. }) = serde_json::from_slice::<Reply>(body) {
        return Ok(());
    }
    let read = match function {
        "admin/list" => serde_json::from_slice::<sm_admin::List>(body).map(drop),
        "admin/show" => serde_json::from_slice::<sm_admin::Show>(body).map(drop),
        "admin/audit" => serde_json::from_slice::<sm_admin::Audit>(body).map(drop),
        "admin/unlock" => serde_json::from_slice::<sm_admin::Unlocked>(body).map(drop),
        _ => return Err(format!("{function} is not an admin function")),
    };
    read.map_err(|e| format!("{function}: not its report nor a refusal: {e}"))
}

fn log_line(function: &str, reply: &Es9Reply, what: &str) {
    let now = crate::clock::utc_text(
        crate::clock::unix_ms(SystemTime::now()),
        crate::clock::Precision::Millis,
    );
    eprintln!("{now} sm {function} -> {} {what}", reply.http_status);
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
