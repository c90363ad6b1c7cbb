//! What the ES9+ functions share: how a call ends when it does not succeed
//! ([`Refusal`]: HTTP 400, an SGP.22 status, or HTTP 500), the request parser, the clock.

use crate::errors::CliError;
use crate::sm::store::StoreError;
use apdu::sgp22::es9p::{self as json, StatusCode};

/// How one function call ends when it does not succeed.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The body is not the function's request: HTTP 400.
    BadRequest(String),
    /// An SGP.22 refusal: HTTP 200, Failed, with this code.
    Status(StatusCode, String),
    /// Our own failure (store, RNG): HTTP 500.
    Internal(String),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Internal(format!("SM store: {e}"))
    }
}

impl From<CliError> for Refusal {
    fn from(e: CliError) -> Self {
        Refusal::Internal(e.to_string())
    }
}

pub(crate) fn refuse(code: StatusCode, msg: impl Into<String>) -> Refusal {
    Refusal::Status(code, msg.into())
}

pub(crate) type Outcome = Result<Vec<u8>, Refusal>;

/// Parses a request body of the function.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    json::parse_request(body).map_err(|e| Refusal::BadRequest(e.to_string()))
}

/// Seconds since 1970 (certificate validity).
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
