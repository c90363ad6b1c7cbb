//! The `es9p_requests` oracle (issue 11): the SM-DP+ (`sm_cli::smdp::Smdp` as the
//! HTTPS server's `Es9Handler`, on an in-memory store with the shipped test PKI) fed
//! arbitrary request bodies exactly as the server hands them over, plus the ES9+ JSON
//! parsers of `apdu::sgp22::es9p` (every request and response type) and the activation
//! code parser (`sm_cli::lpa::activation_code`) on the same bytes.
//!
//! Input: the first byte picks the function ([`function_of`]: one of
//! `sm_cli::es9p::FUNCTIONS`, or an unknown name for 250..=255), the rest is the body.
//!
//! What must hold for any input (SGP.22 v2.x §6.5, the statuses of `smdp/handler.rs`):
//! - no panic;
//! - the HTTP status is 200, 204, 400 or 413; 404 exactly for an unknown function; never
//!   500 (our own failure: the in-memory store does not fail, so a 500 on garbage is a
//!   bug);
//! - 413 exactly when the body is over `MAX_REQUEST_BODY`; 204 only for
//!   handleNotification and then without a body;
//! - a 200 body is ES9+ JSON with `header.functionExecutionStatus`, and when it says
//!   executed, the function's output data parses too (§6.5.1.4);
//! - what the ES9+ parsers accept re-encodes and parses back equal.

use apdu::sgp22::es9p::{
    self as json, AuthenticateClientOk, AuthenticateClientRequest, CancelSessionOk,
    CancelSessionRequest, GetBoundProfilePackageOk, GetBoundProfilePackageRequest,
    HandleNotificationRequest, InitiateAuthenticationOk, InitiateAuthenticationRequest, Response,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sm_cli::es9p::{Es9Handler, FUNCTIONS, MAX_REQUEST_BODY};
use sm_cli::lpa::activation_code::ActivationCode;
use sm_cli::smdp::{Smdp, SmdpConfig, TEST_HOST};
use std::sync::OnceLock;

/// The SM-DP+ address the fuzzed SM-DP+ has (the SGP.26 test host); the seeds'
/// initiateAuthentication requests name it.
pub const ADDRESS: &str = TEST_HOST;

/// The name the first input byte picks: `FUNCTIONS[b % 5]` below 250, else a name that
/// is not an ES9+ function.
pub fn function_of(b: u8) -> &'static str {
    if b < 250 {
        FUNCTIONS[usize::from(b) % FUNCTIONS.len()]
    } else {
        "getEuiccData"
    }
}

/// The one SM-DP+ of the process (opened on first use).
pub fn smdp() -> &'static Smdp {
    static SMDP: OnceLock<Smdp> = OnceLock::new();
    SMDP.get_or_init(|| {
        let store = sm_cli::sm::store::Store::open_in_memory().expect("an in-memory store");
        Smdp::with_store(&SmdpConfig::new(ADDRESS), store).expect("the test SM-DP+")
    })
}

/// A request type: what parses re-encodes and parses back equal.
fn request_round_trip<T>(body: &[u8])
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(r) = json::parse_request::<T>(body) {
        let again = json::encode_request(&r);
        let back: T = json::parse_request(&again)
            .unwrap_or_else(|e| panic!("{r:?} re-encodes to what does not parse: {e}"));
        assert_eq!(back, r, "request round trip");
    }
}

/// A response type: an executed answer re-encodes (`encode_ok`) to the same body.
fn response_round_trip<T>(body: &[u8]) -> Option<Response<T>>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let r = json::parse_response::<T>(body).ok()?;
    if let Response::Executed { body: b, .. } = &r {
        let again = json::encode_ok(b);
        match json::parse_response::<T>(&again) {
            Ok(Response::Executed { body: back, .. }) => assert_eq!(&back, b),
            other => panic!("{b:?} re-encodes to {other:?}"),
        }
    }
    Some(r)
}

/// The ES9+ parsers of `apdu` on `body`, every message type.
pub fn parsers(body: &[u8]) {
    request_round_trip::<InitiateAuthenticationRequest>(body);
    request_round_trip::<AuthenticateClientRequest>(body);
    request_round_trip::<GetBoundProfilePackageRequest>(body);
    request_round_trip::<HandleNotificationRequest>(body);
    request_round_trip::<CancelSessionRequest>(body);
    response_round_trip::<InitiateAuthenticationOk>(body);
    response_round_trip::<AuthenticateClientOk>(body);
    response_round_trip::<GetBoundProfilePackageOk>(body);
    response_round_trip::<CancelSessionOk>(body);
}

/// The activation-code parser: what parses prints (canonical, `LPA:` form) to what
/// parses back equal, and printing is a fixpoint.
pub fn activation_code(body: &[u8]) {
    let Ok(s) = std::str::from_utf8(body) else {
        return;
    };
    if let Ok(ac) = ActivationCode::parse(s) {
        let printed = ac.to_string();
        let back = ActivationCode::parse(&printed)
            .unwrap_or_else(|e| panic!("{s:?} prints as {printed:?}, which does not parse: {e}"));
        assert_eq!(back, ac, "{s:?} -> {printed:?}");
        assert_eq!(back.to_string(), printed);
    }
}

/// Checks one reply of the SM-DP+ to `function` with `body`.
fn check_reply(function: &str, body: &[u8], status: u16, reply: &[u8]) {
    let shown = || String::from_utf8_lossy(reply).into_owned();
    if !FUNCTIONS.contains(&function) {
        assert_eq!(status, 404, "unknown function {function}: {}", shown());
        return;
    }
    if body.len() > MAX_REQUEST_BODY {
        assert_eq!(status, 413, "{} bytes", body.len());
        return;
    }
    match status {
        200 => {
            // The header first; an executed answer also has the function's output data.
            let executed = match function {
                "initiateAuthentication" => {
                    response_round_trip::<InitiateAuthenticationOk>(reply).map(|r| r.is_ok())
                }
                "authenticateClient" => {
                    response_round_trip::<AuthenticateClientOk>(reply).map(|r| r.is_ok())
                }
                "getBoundProfilePackage" => {
                    response_round_trip::<GetBoundProfilePackageOk>(reply).map(|r| r.is_ok())
                }
                // cancelSession; handleNotification answers 204, a 200 is a refusal.
                _ => response_round_trip::<CancelSessionOk>(reply).map(|r| r.is_ok()),
            };
            let executed = executed.unwrap_or_else(|| {
                panic!("{function}: a 200 body that is not ES9+ JSON: {}", shown())
            });
            if function == "handleNotification" {
                assert!(!executed, "handleNotification answers 204 when it executes");
            }
        }
        204 => {
            assert_eq!(function, "handleNotification", "204 for {function}");
            assert!(reply.is_empty(), "a 204 with a body");
        }
        400 => assert!(!reply.is_empty(), "{function}: a 400 says why"),
        other => panic!("{function}: HTTP {other} ({})", shown()),
    }
}

trait Executed {
    fn is_ok(&self) -> bool;
}

impl<T> Executed for Response<T> {
    fn is_ok(&self) -> bool {
        matches!(self, Response::Executed { .. })
    }
}

/// The target: the SM-DP+ with the function the first byte picks and the rest as body,
/// then the parsers on the body.
pub fn es9p_requests(data: &[u8]) {
    let Some((&f, body)) = data.split_first() else {
        return;
    };
    let function = function_of(f);
    let reply = smdp().handle(function, body);
    check_reply(function, body, reply.http_status, &reply.body);
    parsers(body);
    activation_code(body);
}
