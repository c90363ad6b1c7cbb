//! The terminal's side of the remote SM ([`RemoteSm`]): each [`SmEndpoint`] call as one
//! `startFlow` or `stepFlow` over a [`SmTransport`] (HTTPS: [`HttpsSm`]; in process: any
//! [`Es9Handler`], for the tests), and each answer back as a request, a report or the
//! SM's refusal (`CliError::SmRemote`, keeping the SM's kind, exit code and sentence).
//!
//! A step whose exchange failed without a whole answer (connection refused, reset,
//! timed out, cut off in the body) is sent once more with the same `seq`: the SM answers a repeated `seq` with the
//! reply it kept, so the retry neither counts a guess twice nor delivers twice. A start
//! is not retried (a lost start only leaves a session on the SM that expires).

use super::wire::{static_kind, Reply, StartFlow, StepFlow, WireOrder, MAX_MESSAGE, PATH_PREFIX};
use super::SmEndpoint;
use crate::errors::CliError;
use crate::es9p::client::{ClientOptions, HttpsTransport, Trust};
use crate::es9p::{Es9Handler, TransportError};
use crate::exit::Exit;
use crate::sm::service::{Next, Order};
use apdu::devchange::{DcRequest, DcResponse};
use apdu::sgp22::es9p::codec::{decode_base64, encode_base64};
use apdu::Eid;
use std::time::Duration;

/// One call to the SM: the HTTP status and the body, or no answer at all.
pub trait SmTransport {
    fn post(&self, function: &str, body: &[u8]) -> Result<(u16, Vec<u8>), TransportError>;
}

/// The SM over HTTPS at `https://HOST:PORT` (`--sm`).
pub struct HttpsSm {
    transport: HttpsTransport,
}

/// How long the terminal waits for the SM: to connect, and for one whole call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `https://HOST[:PORT][/]` as the `host:port` the HTTPS client takes.
pub fn parse_url(url: &str) -> Result<String, CliError> {
    let rest = url.strip_prefix("https://").ok_or_else(|| {
        CliError::Usage(format!(
            "--sm '{url}': give the SM's address as https://HOST:PORT"
        ))
    })?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    crate::es9p::client::SmdpAddress::parse(host)
        .map_err(|e| CliError::Usage(format!("--sm '{url}': {e}")))?;
    Ok(host.to_string())
}

impl HttpsSm {
    /// A client of the SM at `url`, trusting `trust` for its TLS certificate.
    pub fn new(url: &str, trust: Trust) -> Result<HttpsSm, CliError> {
        let address = parse_url(url)?;
        let mut options = ClientOptions::new(trust);
        options.connect_timeout = CONNECT_TIMEOUT;
        options.call_timeout = CALL_TIMEOUT;
        let transport = HttpsTransport::with_options(&address, options).map_err(|e| match e {
            TransportError::Unreachable { address, reason } => CliError::SmUnreachable {
                address,
                detail: reason,
            },
            other => CliError::Usage(other.to_string()),
        })?;
        Ok(HttpsSm { transport })
    }
}

impl HttpsSm {
    /// An operator call: `POST /veuicc/sm/v1/admin/<function>` with `authorization`
    /// (`Bearer <token>`) as the `Authorization` header (`super::admin_client`).
    pub fn post_admin(
        &self,
        function: &str,
        body: &[u8],
        authorization: &str,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        self.transport.post_with(
            super::wire::ADMIN_PATH_PREFIX,
            function,
            body,
            Some(authorization),
        )
    }
}

impl SmTransport for HttpsSm {
    fn post(&self, function: &str, body: &[u8]) -> Result<(u16, Vec<u8>), TransportError> {
        self.transport.post(PATH_PREFIX, function, body)
    }
}

/// The SM's handler called directly (tests).
pub struct InProcessSm<'a, H: Es9Handler + ?Sized>(pub &'a H);

impl<H: Es9Handler + ?Sized> SmTransport for InProcessSm<'_, H> {
    fn post(&self, function: &str, body: &[u8]) -> Result<(u16, Vec<u8>), TransportError> {
        let r = self.0.handle(function, body);
        Ok((r.http_status, r.body))
    }
}

/// The remote SM as the terminal's [`SmEndpoint`].
pub struct RemoteSm<T: SmTransport> {
    transport: T,
    /// The SM's address, for messages.
    address: String,
}

/// A flow in progress on the remote SM.
#[derive(Debug, Clone)]
pub struct RemoteFlow {
    pub session: String,
    /// The `seq` of the last reply.
    pub seq: u64,
}

/// The SM at `address` answered `function` with something outside the protocol.
pub(super) fn protocol_error(
    address: &str,
    function: &str,
    detail: impl std::fmt::Display,
) -> CliError {
    CliError::SmRemote {
        kind: "sm_protocol",
        exit_code: Exit::SmdpProtocol.code(),
        message: format!("the SM at {address} answered {function} out of protocol: {detail}"),
    }
}

impl<T: SmTransport> RemoteSm<T> {
    pub fn new(transport: T, address: impl Into<String>) -> RemoteSm<T> {
        RemoteSm {
            transport,
            address: address.into(),
        }
    }

    fn protocol(&self, function: &str, detail: impl std::fmt::Display) -> CliError {
        protocol_error(&self.address, function, detail)
    }

    fn unreachable(&self, e: TransportError) -> CliError {
        CliError::SmUnreachable {
            address: self.address.clone(),
            detail: match e {
                TransportError::Unreachable { reason, .. } => reason,
                other => other.to_string(),
            },
        }
    }

    /// One call and its reply: a refusal becomes the SM's error.
    fn call(&self, function: &str, body: &[u8], retry: bool) -> Result<Reply, CliError> {
        let answer = match self.transport.post(function, body) {
            // No answer, or one cut off while it was read: the step may have run.
            Err(TransportError::Unreachable { .. } | TransportError::BadAnswer { .. }) if retry => {
                self.transport.post(function, body)
            }
            r => r,
        };
        let (status, body) = answer.map_err(|e| self.unreachable(e))?;
        let reply: Reply = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) if status == 200 => return Err(self.protocol(function, e)),
            Err(_) => return Err(self.protocol(function, format!("HTTP {status}"))),
        };
        match reply {
            Reply::Error { error } => Err(CliError::SmRemote {
                kind: static_kind(&error.kind),
                exit_code: error.exit_code,
                message: error.message,
            }),
            _ if status != 200 => Err(self.protocol(function, format!("HTTP {status}"))),
            r => Ok(r),
        }
    }

    fn request(&self, function: &str, b64: &str) -> Result<DcRequest, CliError> {
        let bytes = decode_base64(b64, MAX_MESSAGE).map_err(|e| self.protocol(function, e))?;
        DcRequest::decode(&bytes).map_err(|e| self.protocol(function, e))
    }
}

fn to_json<S: serde::Serialize>(v: &S) -> Result<Vec<u8>, CliError> {
    serde_json::to_vec(v).map_err(|e| CliError::malformed("the SM request", e))
}

impl<T: SmTransport> SmEndpoint for RemoteSm<T> {
    type Flow = RemoteFlow;

    fn start(&self, order: Order, eid: Eid) -> Result<(RemoteFlow, DcRequest), CliError> {
        let body = to_json(&StartFlow {
            order: WireOrder::from(&order),
            eid: eid.digits(),
        })?;
        match self.call("startFlow", &body, false)? {
            Reply::Request {
                session: Some(session),
                seq,
                request,
            } => {
                let req = self.request("startFlow", &request)?;
                Ok((RemoteFlow { session, seq }, req))
            }
            _ => Err(self.protocol("startFlow", "no session and first request")),
        }
    }

    fn step(&self, flow: &mut RemoteFlow, answer: DcResponse) -> Result<Next, CliError> {
        let seq = flow.seq + 1;
        let body = to_json(&StepFlow {
            session: flow.session.clone(),
            seq,
            answer: encode_base64(&answer.encode()),
        })?;
        let reply = self.call("stepFlow", &body, true)?;
        let got = match &reply {
            Reply::Request { seq, .. } | Reply::Report { seq, .. } => *seq,
            Reply::Error { .. } => seq,
        };
        if got != seq {
            return Err(self.protocol("stepFlow", format!("seq {got} for step {seq}")));
        }
        flow.seq = seq;
        match reply {
            Reply::Request { request, .. } => Ok(Next::Send(self.request("stepFlow", &request)?)),
            Reply::Report { report, .. } => Ok(Next::Finished(report)),
            Reply::Error { .. } => Err(self.protocol("stepFlow", "a refusal as an answer")),
        }
    }
}
