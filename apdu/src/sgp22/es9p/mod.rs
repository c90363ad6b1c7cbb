//! ES9+ (LPA <-> SM-DP+) in its JSON binding (SGP.22 v2.x §6.5), both sides, no I/O:
//! the request and response bodies of the five functions ([`messages`]), the response
//! `header` and the one table of SGP.22 subject / reason codes ([`status`]), and the field
//! codecs ([`codec`]: base64 with size caps, the hex transactionId).
//!
//! Reading is tolerant where real peers differ and strict where bytes matter: unknown
//! JSON fields are ignored (pySim sends a request `header`, servers add fields), base64 is
//! the standard alphabet with padding and nothing else, every binary field has a size
//! cap checked before it is decoded, and the whole body is capped ([`MAX_REQUEST`],
//! [`MAX_RESPONSE`]) before it is parsed. serde_json itself limits nesting (128).
//! The HTTP side (paths `/gsma/rsp2/es9plus/<function>`, `X-Admin-Protocol`) is sm-cli's.

pub mod codec;
pub mod messages;
pub mod status;

pub use codec::{TransactionId, MAX_BPP, MAX_FIELD};
pub use messages::*;
pub use status::{
    ExecutionStatus, FunctionExecutionStatus, RequestHeader, ResponseHeader, StatusCode,
    StatusCodeData,
};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The largest ES9+ request body parsed (bytes): authenticateClient carries two
/// certificates, EUICCInfo2 and signatures, a few KiB.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The largest ES9+ response body parsed (bytes): a base64 BPP of [`MAX_BPP`] bytes.
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024 + 4096;

/// Why a body is not the ES9+ message it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Es9pError {
    #[error("the body has {len} bytes, more than the {max} allowed")]
    TooLarge { len: usize, max: usize },
    /// Not JSON, or JSON without a mandatory field, or a field of the wrong type, bad
    /// base64 or over its cap (serde_json's message names the field and position).
    #[error("not a valid ES9+ message: {0}")]
    Invalid(String),
}

fn parse_capped<T: DeserializeOwned>(body: &[u8], max: usize) -> Result<T, Es9pError> {
    if body.len() > max {
        return Err(Es9pError::TooLarge {
            len: body.len(),
            max,
        });
    }
    serde_json::from_slice(body).map_err(|e| Es9pError::Invalid(e.to_string()))
}

/// Parses a request body (the SM-DP+'s side).
pub fn parse_request<T: DeserializeOwned>(body: &[u8]) -> Result<T, Es9pError> {
    parse_capped(body, MAX_REQUEST)
}

/// Encodes a request body (the LPA's side).
pub fn encode_request<T: Serialize>(request: &T) -> Vec<u8> {
    // Serializing these types cannot fail: string keys, no maps with other keys.
    serde_json::to_vec(request).unwrap_or_default()
}

#[derive(Serialize)]
struct WithHeader<'a, T: Serialize> {
    header: ResponseHeader,
    #[serde(flatten)]
    body: &'a T,
}

/// An executed function's response body: `header` (Executed-Success) plus `body`'s fields.
pub fn encode_ok<T: Serialize>(body: &T) -> Vec<u8> {
    serde_json::to_vec(&WithHeader {
        header: ResponseHeader::success(),
        body,
    })
    .unwrap_or_default()
}

/// A failed function's response body: only the `header`, status Failed, with `code`.
pub fn encode_failed(code: StatusCode, message: Option<String>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Only {
        header: ResponseHeader,
    }
    serde_json::to_vec(&Only {
        header: ResponseHeader::failed(code, message),
    })
    .unwrap_or_default()
}

/// What a response body said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<T> {
    /// Executed (Success or WithWarning): the header and the function's output data.
    Executed { header: ResponseHeader, body: T },
    /// Failed or Expired: the status, with its code data when the server sent it.
    NotExecuted(FunctionExecutionStatus),
}

/// Parses a response body (the LPA's side): the header first, then, if the function
/// was executed, its output data.
pub fn parse_response<T: DeserializeOwned>(body: &[u8]) -> Result<Response<T>, Es9pError> {
    #[derive(Deserialize)]
    struct HeaderOnly {
        header: ResponseHeader,
    }
    let h: HeaderOnly = parse_capped(body, MAX_RESPONSE)?;
    if !h.header.function_execution_status.status.executed() {
        return Ok(Response::NotExecuted(h.header.function_execution_status));
    }
    let body: T = parse_capped(body, MAX_RESPONSE)?;
    Ok(Response::Executed {
        header: h.header,
        body,
    })
}

#[cfg(test)]
mod tests;
