//! The operator's side of the remote SM's admin endpoints ([`super::admin`]):
//! [`AdminClient::call`] posts one function's JSON with `Authorization: Bearer <token>`
//! over an [`AdminTransport`] (HTTPS: [`HttpsSm`]; in process: any [`Es9Handler`], for
//! the tests) and reads the report back as the local command's own type.
//!
//! What comes back: 200 with the report, or `{"error":..}` (the SM's refusal, kept as
//! `CliError::SmRemote` with its kind, exit code and sentence); 401: the token was
//! refused (exit [`Exit::OperatorToken`]); 404: the server has no operator endpoints
//! (started without `--operator-token-file`; exit 16); no answer: the SM is unreachable
//! (exit 14).

use super::client::{protocol_error, HttpsSm, InProcessSm};
use super::token::OperatorToken;
use super::wire::TOKEN_REFUSED;
use super::wire::{static_kind, WireError};
use crate::errors::CliError;
use crate::es9p::{Es9Handler, TransportError};
use crate::exit::Exit;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// One operator call: status and body, or no answer.
pub trait AdminTransport {
    fn post_admin(
        &self,
        function: &str,
        body: &[u8],
        authorization: &str,
    ) -> Result<(u16, Vec<u8>), TransportError>;
}

impl AdminTransport for HttpsSm {
    fn post_admin(
        &self,
        function: &str,
        body: &[u8],
        authorization: &str,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        HttpsSm::post_admin(self, function, body, authorization)
    }
}

impl<H: Es9Handler + ?Sized> AdminTransport for InProcessSm<'_, H> {
    fn post_admin(
        &self,
        function: &str,
        body: &[u8],
        authorization: &str,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let f = format!("admin/{function}");
        let r = if self.0.serves(&f) {
            self.0
                .handle_authorized(&f, Some(authorization.as_bytes()), body)
        } else {
            crate::es9p::Es9Reply {
                http_status: 404,
                body: Vec::new(),
            }
        };
        Ok((r.http_status, r.body))
    }
}

/// The remote SM for the operator.
pub struct AdminClient<T: AdminTransport> {
    transport: T,
    token: OperatorToken,
    /// The SM's address, for messages.
    address: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: WireError,
}

impl<T: AdminTransport> AdminClient<T> {
    pub fn new(transport: T, token: OperatorToken, address: impl Into<String>) -> AdminClient<T> {
        AdminClient {
            transport,
            token,
            address: address.into(),
        }
    }

    fn protocol(&self, function: &str, detail: impl std::fmt::Display) -> CliError {
        protocol_error(&self.address, &format!("admin/{function}"), detail)
    }

    /// Posts `request` to `admin/<function>` and reads the answer as `R`.
    pub fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        function: &str,
        request: &Q,
    ) -> Result<R, CliError> {
        let body =
            serde_json::to_vec(request).map_err(|e| CliError::malformed("the SM request", e))?;
        let authorization = Zeroizing::new(format!("Bearer {}", self.token.line()));
        let (status, body) = self
            .transport
            .post_admin(function, &body, &authorization)
            .map_err(|e| CliError::SmUnreachable {
                address: self.address.clone(),
                detail: match e {
                    TransportError::Unreachable { reason, .. } => reason,
                    other => other.to_string(),
                },
            })?;
        match status {
            401 => {
                return Err(CliError::SmRemote {
                    kind: TOKEN_REFUSED,
                    exit_code: Exit::OperatorToken.code(),
                    message: format!(
                        "the SM at {} refused the operator token (missing, wrong, or another \
                         server's): check --operator-token-file",
                        self.address
                    ),
                })
            }
            404 => {
                return Err(self.protocol(
                    function,
                    "HTTP 404: it serves no operator endpoints (start `sm-cli smdp serve` with \
                     --operator-token-file)",
                ))
            }
            _ => {}
        }
        if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(&body) {
            return Err(CliError::SmRemote {
                kind: static_kind(&error.kind),
                exit_code: error.exit_code,
                message: error.message,
            });
        }
        if status != 200 {
            return Err(self.protocol(function, format!("HTTP {status}")));
        }
        serde_json::from_slice(&body).map_err(|e| self.protocol(function, e))
    }
}
