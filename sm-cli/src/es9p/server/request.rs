//! One request through the ES9+ server's rules, in the order the parent module lists
//! them (path, method, protocol header, media type, capped body), to the handler on the
//! blocking pool, and its log line.

use super::limits::Limits;
use crate::es9p::{Es9Handler, Es9Reply, FUNCTIONS, MAX_REQUEST_BODY, PATH_PREFIX};
use crate::sm::remote::wire as sm_wire;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The request header naming the protocol version (SGP.22 §6.1.1).
pub const ADMIN_PROTOCOL_HEADER: &str = "x-admin-protocol";

/// What every connection task shares.
pub(super) struct Shared {
    pub(super) handler: Arc<dyn Es9Handler>,
    pub(super) limits: Limits,
    pub(super) log: bool,
    pub(super) requests: AtomicU64,
}

type Reply = Response<Full<Bytes>>;

/// Whether `v` is `gsma/rsp/v2.<x>.<y>` with decimal x and y (SGP.22 §6.1.1).
pub fn valid_admin_protocol(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"gsma/rsp/v2.") else {
        return false;
    };
    let mut parts = rest.split(|b| *b == b'.');
    let num = |p: Option<&[u8]>| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= 4 && p.iter().all(u8::is_ascii_digit))
    };
    num(parts.next()) && num(parts.next()) && parts.next().is_none()
}

/// Whether the media type is `application/json` (any parameters, RFC 9110 §8.3.1).
fn is_json(v: &HeaderValue) -> bool {
    let Ok(s) = v.to_str() else {
        return false;
    };
    s.split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn plain(status: StatusCode, text: &'static str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Answers one request and writes its log line.
pub(super) async fn respond(req: Request<Incoming>, shared: &Shared, peer: SocketAddr) -> Reply {
    let started = Instant::now();
    let path = req.uri().path();
    let (function, needs_admin) = if let Some(f) = path.strip_prefix(PATH_PREFIX) {
        (FUNCTIONS.iter().copied().find(|k| *k == f), true)
    } else if let Some(f) = path.strip_prefix(sm_wire::PATH_PREFIX) {
        let f = sm_wire::FUNCTIONS
            .iter()
            .chain(sm_wire::ADMIN_FUNCTIONS.iter())
            .copied()
            .find(|k| *k == f)
            .filter(|k| shared.handler.serves(k));
        (f, false)
    } else {
        (None, true)
    };
    // Echoed only when valid: the header's bytes are the client's.
    let admin = req
        .headers()
        .get(ADMIN_PROTOCOL_HEADER)
        .filter(|v| valid_admin_protocol(v.as_bytes()))
        .cloned();
    let mut reply = route(req, function, admin.is_some() || !needs_admin, shared).await;
    if let Some(admin) = admin {
        reply.headers_mut().insert(ADMIN_PROTOCOL_HEADER, admin);
    }
    shared.requests.fetch_add(1, Ordering::Relaxed);
    if shared.log {
        let function = match function {
            Some(f) if !needs_admin => format!("sm/{f}"),
            Some(f) => f.to_string(),
            None => "-".to_string(),
        };
        log_line(&format!(
            "{peer} {function} {} {:.1}ms",
            reply.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
    reply
}

async fn route(
    req: Request<Incoming>,
    function: Option<&'static str>,
    admin_ok: bool,
    shared: &Shared,
) -> Reply {
    let Some(function) = function else {
        return plain(StatusCode::NOT_FOUND, "no such function\n");
    };
    if req.method() != Method::POST {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "POST only\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    if !admin_ok {
        return plain(
            StatusCode::BAD_REQUEST,
            "header X-Admin-Protocol: gsma/rsp/v2.<x>.<y> required\n",
        );
    }
    if !req.headers().get(CONTENT_TYPE).is_some_and(is_json) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: application/json required\n",
        );
    }
    // The credential of the admin functions, taken out of the head before it goes.
    let req_authorization = req.headers().get(AUTHORIZATION).cloned();
    // A declared length over the cap: refused before a byte of the body is kept.
    let mut body = req.into_body();
    if body.size_hint().lower() > MAX_REQUEST_BODY as u64 {
        linger(body, shared.limits.body_timeout);
        return close(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large\n",
        ));
    }
    let body = match tokio::time::timeout(shared.limits.body_timeout, read_capped(&mut body)).await
    {
        Err(_) => {
            return close(plain(
                StatusCode::REQUEST_TIMEOUT,
                "request body too slow\n",
            ))
        }
        Ok(Err(ReadError::TooLarge)) => {
            linger(body, shared.limits.body_timeout);
            return close(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large\n",
            ));
        }
        Ok(Err(ReadError::Broken)) => {
            return close(plain(
                StatusCode::BAD_REQUEST,
                "request body could not be read\n",
            ))
        }
        Ok(Ok(body)) => body,
    };
    let handler = shared.handler.clone();
    let authorization = sm_wire::ADMIN_FUNCTIONS.contains(&function).then(|| {
        zeroize::Zeroizing::new(
            req_authorization
                .as_ref()
                .map(|v| v.as_bytes().to_vec())
                .unwrap_or_default(),
        )
    });
    let has_header = req_authorization.is_some();
    drop(req_authorization);
    let call = move || match &authorization {
        Some(a) => {
            let a = has_header.then_some(a.as_slice());
            handler.handle_authorized(function, a, &body)
        }
        None => handler.handle(function, &body),
    };
    match tokio::task::spawn_blocking(call).await {
        Ok(reply) => to_response(reply),
        // The handler panicked: this request fails, the server goes on.
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    }
}

enum ReadError {
    TooLarge,
    Broken,
}

/// The body, or [`ReadError::TooLarge`] as soon as it passes [`MAX_REQUEST_BODY`].
async fn read_capped(body: &mut Incoming) -> Result<Bytes, ReadError> {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ReadError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_REQUEST_BODY {
                return Err(ReadError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// The most of a refused body read and thrown away.
const LINGER_MAX: usize = 1024 * 1024;

/// Reads and drops what is left of a refused body (at most [`LINGER_MAX`] bytes, within
/// `timeout`) while the refusal goes out: a client still sending would otherwise have
/// its connection reset under it and never see the 413 (a lingering close, as web
/// servers do). Nothing read is kept.
fn linger(mut body: Incoming, timeout: Duration) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    seen += data.len();
                    if seen > LINGER_MAX {
                        break;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(timeout, drain).await;
    });
}

/// Marks a reply as the connection's last (the rest of the request was not read).
fn close(mut r: Reply) -> Reply {
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

fn to_response(reply: Es9Reply) -> Reply {
    let Ok(status) = StatusCode::from_u16(reply.http_status) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
    };
    let has_body = !reply.body.is_empty() && status != StatusCode::NO_CONTENT;
    // Function results are JSON (SGP.22 §6.5.1); the handler's explanation of a 4xx/5xx
    // may be a line of text.
    let json = status == StatusCode::OK
        || reply
            .body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
    let mut r = Response::new(Full::new(if has_body {
        Bytes::from(reply.body)
    } else {
        Bytes::new()
    }));
    *r.status_mut() = status;
    if has_body {
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(if json {
                "application/json;charset=UTF-8"
            } else {
                "text/plain; charset=utf-8"
            }),
        );
    }
    r
}

/// One line on stderr, prefixed with the UTC time to the millisecond.
pub(super) fn log_line(text: &str) {
    let now = crate::clock::utc_text(
        crate::clock::unix_ms(SystemTime::now()),
        crate::clock::Precision::Millis,
    );
    eprintln!("{now} es9p {text}");
}
