//! ES9+ over HTTPS, both ends (SGP.22 v2.x §6: HTTP POST of JSON to
//! `https://<SM-DP+ address>/gsma/rsp2/es9plus/<function>`, header
//! `X-Admin-Protocol: gsma/rsp/v2.<x>.<y>`, binary fields in base64).
//!
//! This module owns only the boundary between the HTTP layer and what sits on either
//! side of it, so that each side can be tested without the other:
//! - the server ([`server`], `sm-cli smdp serve`) hands each request to an
//!   [`Es9Handler`] (the SM-DP+ of [`crate::smdp`]) and sends back its [`Es9Reply`];
//! - the LPA ([`crate::lpa`], `sm-cli profiles download`) talks to an SM-DP+ through an
//!   [`Es9Transport`]: the HTTPS client of [`client`], or any [`Es9Handler`] in process
//!   ([`InProcess`]), which is how the in-process tests run a whole download.
//!
//! The JSON messages themselves (requests, responses, the `header` with its
//! `functionExecutionStatus` and SGP.22 status codes) are `apdu::sgp22::es9p`.

pub mod client;
pub mod server;

/// The path every ES9+ function is under (SGP.22 §6.1.1).
pub const PATH_PREFIX: &str = "/gsma/rsp2/es9plus/";

/// The largest request body the server reads (bytes). ES9+ requests carry at most a few
/// certificates and signatures (authenticateClient) or a notification; anything larger
/// is refused with 413 before it is parsed.
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// The largest response body the client reads (bytes): a bound profile package, base64
/// encoded, with room for large test profiles.
pub const MAX_RESPONSE_BODY: usize = 4 * 1024 * 1024;

/// The ES9+ functions (SGP.22 §5.6), by the last segment of their path.
pub const FUNCTIONS: [&str; 5] = [
    "initiateAuthentication",
    "authenticateClient",
    "getBoundProfilePackage",
    "handleNotification",
    "cancelSession",
];

/// What the server answers to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Es9Reply {
    /// 200 for every function result, including SGP.22 refusals (those are in the
    /// body's `header.functionExecutionStatus`); 204 for handleNotification (SGP.22
    /// §6.5.2.4: no content); 4xx for what is not an ES9+ call at all (unknown function,
    /// body that is not JSON of the function's request, ...).
    pub http_status: u16,
    /// The JSON body (empty for 204).
    pub body: Vec<u8>,
}

/// The SM-DP+ as the HTTP layer sees it. The server has checked the method (POST), the
/// path prefix, the `X-Admin-Protocol` header and the body size; `function` is one of
/// [`FUNCTIONS`] (anything else gets 404 before it reaches the handler) and `body` the
/// raw request body, untrusted.
pub trait Es9Handler: Send + Sync + 'static {
    fn handle(&self, function: &str, body: &[u8]) -> Es9Reply;

    /// A function that takes a credential (the remote SM's admin endpoints, issue 12):
    /// `authorization` is the request's `Authorization` header, untrusted (the server
    /// never logs it). By default the header is ignored.
    fn handle_authorized(
        &self,
        function: &str,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Es9Reply {
        let _ = authorization;
        self.handle(function, body)
    }

    /// Whether this handler serves `function` at all; the server answers 404 before any
    /// other check when not (the remote SM's admin endpoints without an operator token).
    fn serves(&self, function: &str) -> bool {
        let _ = function;
        true
    }
}

/// Why an ES9+ call did not bring back an answer from the SM-DP+.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No connection: DNS, refused, TLS handshake or certificate check, timeout.
    #[error("cannot reach the SM-DP+ at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    /// The server answered with an HTTP status other than 200/204.
    #[error("the SM-DP+ answered HTTP {status} to {function}")]
    Http { function: String, status: u16 },
    /// The answer was larger than [`MAX_RESPONSE_BODY`] or could not be read.
    #[error("bad answer from the SM-DP+ to {function}: {reason}")]
    BadAnswer { function: String, reason: String },
}

/// How the LPA reaches an SM-DP+: one ES9+ call, the JSON request body in, the JSON
/// response body out (empty for 204).
pub trait Es9Transport {
    fn call(&mut self, function: &str, body: &[u8]) -> Result<Vec<u8>, TransportError>;
}

/// An [`Es9Handler`] used directly as a transport (in-process tests, benchmarks).
pub struct InProcess<'a, H: Es9Handler + ?Sized>(pub &'a H);

impl<H: Es9Handler + ?Sized> Es9Transport for InProcess<'_, H> {
    fn call(&mut self, function: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let reply = self.0.handle(function, body);
        match reply.http_status {
            200 | 204 => Ok(reply.body),
            status => Err(TransportError::Http {
                function: function.to_string(),
                status,
            }),
        }
    }
}
