//! The SM as a service ([`SmServer`]): `startFlow` and `stepFlow` of [`wire`] on the
//! SM's own store and credential, as an [`Es9Handler`] behind the HTTPS server of
//! `crate::es9p::server` (`sm-cli smdp serve` routes `/veuicc/sm/v1/<function>` here).
//!
//! Each flow is a [`Conversation`] in the server's memory, keyed by a random 128-bit
//! session id, with an idle expiry ([`SessionLimits::ttl`]) and at most
//! [`SessionLimits::max_sessions`] held. One mutex guards the store and the sessions,
//! held for the whole of a request: two copies of one step cannot run at once.
//!
//! Idempotency: a session keeps the `seq` and the JSON of its last reply. The next
//! `seq` (the last plus one) runs the step; the last `seq` again returns the kept reply
//! without running anything (a retry after a dropped connection never counts a wrong
//! guess twice nor delivers a profile twice); any other `seq`, or a session that is
//! unknown, expired or over, is a [`SESSION_UNKNOWN`] refusal. A body that is not the function's JSON, base64 or TLV
//! is a 400 with a [`BAD_REQUEST`] refusal; never a panic.
//!
//! One line per request on stderr (time, function, session prefix, seq, outcome); never
//! a body: the messages carry salts, KDF parameters and sealed profiles.
//!
//! With an operator token ([`SmServer::with_operator_token`]) it also serves the
//! operator's `admin/<function>` ([`super::admin`]); without one those do not exist.
//!
//! Long because the sessions, the idempotency record and both steps live behind one
//! lock ([`SmServer`]'s state): splitting them would expose that state to other files.

use super::admin::Admin;
use super::token::OperatorToken;
use super::wire::{
    Reply, StartFlow, StepFlow, WireError, ADMIN_FUNCTIONS, BAD_REQUEST, MAX_MESSAGE,
    SESSION_UNKNOWN, SM_BUSY,
};
use crate::es9p::{Es9Handler, Es9Reply, MAX_REQUEST_BODY};
use crate::exit::Exit;
use crate::sm::credential::SmCredential;
use crate::sm::service::{Conversation, Next, Policy, SmError, SmService};
use crate::sm::store::Store;
use apdu::crypto::{random_array, SysRng};
use apdu::devchange::{DcRequest, DcResponse};
use apdu::sgp22::es9p::codec::{decode_base64, encode_base64};
use apdu::Eid;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How many flows the SM holds and for how long.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// A session unused this long is forgotten (the SM-DP+'s session TTL).
    pub ttl: Duration,
    /// Sessions held at once; a start beyond it is refused ([`SM_BUSY`]) once the
    /// expired and the finished ones are dropped.
    pub max_sessions: usize,
}

impl Default for SessionLimits {
    fn default() -> SessionLimits {
        SessionLimits {
            ttl: crate::smdp::DEFAULT_SESSION_TTL,
            max_sessions: 1024,
        }
    }
}

/// One flow: the conversation while it runs, and the last reply.
struct Session {
    /// `None` once the flow finished or was refused.
    conv: Option<Conversation>,
    seq: u64,
    reply: Es9Reply,
    last_used: Instant,
}

struct Inner {
    store: Store,
    sessions: HashMap<[u8; 16], Session>,
}

/// The SM behind the network.
pub struct SmServer {
    inner: Mutex<Inner>,
    credential: SmCredential,
    policy: Policy,
    limits: SessionLimits,
    log: bool,
    /// The operator endpoints, when a token was given.
    admin: Option<Admin>,
}

impl std::fmt::Debug for SmServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmServer")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What one request did, for the log line.
struct Outcome {
    reply: Es9Reply,
    session: Option<[u8; 16]>,
    seq: Option<u64>,
    what: String,
}

fn json_reply(status: u16, r: &Reply) -> Es9Reply {
    Es9Reply {
        http_status: status,
        body: r.to_json(),
    }
}

fn refusal(status: u16, kind: &str, exit: Exit, message: String) -> Es9Reply {
    json_reply(
        status,
        &Reply::Error {
            error: WireError {
                kind: kind.into(),
                exit_code: exit.code(),
                message,
            },
        },
    )
}

fn bad_request(message: String) -> Outcome {
    Outcome {
        reply: refusal(400, BAD_REQUEST, Exit::Usage, message),
        session: None,
        seq: None,
        what: BAD_REQUEST.into(),
    }
}

fn unknown_session(session: Option<[u8; 16]>, seq: Option<u64>, message: String) -> Outcome {
    Outcome {
        reply: refusal(200, SESSION_UNKNOWN, Exit::Challenge, message),
        session,
        seq,
        what: SESSION_UNKNOWN.into(),
    }
}

fn request_reply(session: Option<String>, seq: u64, req: &DcRequest) -> Es9Reply {
    json_reply(
        200,
        &Reply::Request {
            session,
            seq,
            request: encode_base64(&req.encode()),
        },
    )
}

fn sm_refusal(e: &SmError) -> Es9Reply {
    json_reply(200, &Reply::Error { error: e.into() })
}

fn parse_session(s: &str) -> Option<[u8; 16]> {
    let b = hex::decode(s).ok()?;
    b.try_into().ok()
}

impl SmServer {
    /// The SM on `store` with `credential` (its CERT.DPpb signs what it sends).
    pub fn new(store: Store, credential: SmCredential, limits: SessionLimits) -> SmServer {
        SmServer {
            inner: Mutex::new(Inner {
                store,
                sessions: HashMap::new(),
            }),
            credential,
            policy: Policy::default(),
            limits,
            log: true,
            admin: None,
        }
    }

    /// Serves the operator endpoints to holders of `token`.
    pub fn with_operator_token(mut self, token: OperatorToken) -> SmServer {
        self.admin = Some(Admin::new(token));
        self
    }

    /// Whether log lines are written.
    pub fn logging(&self) -> bool {
        self.log
    }

    /// No log lines (tests).
    pub fn quiet(mut self) -> SmServer {
        self.log = false;
        self
    }

    /// The sessions held now (tests, the log).
    pub fn sessions(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Runs `f` on the store (tests; the same mutex as the flows).
    pub fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.lock().store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock means a step panicked; the store is one transaction per call
        // and a half-run conversation is dropped by the next request for it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start_flow(&self, body: &[u8]) -> Outcome {
        let req: StartFlow = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => return bad_request(format!("startFlow: not the function's JSON: {e}")),
        };
        let eid: Eid = match req.eid.parse() {
            Ok(e) => e,
            Err(_) => return bad_request("startFlow: eid is not 32 decimal digits".into()),
        };
        let mut inner = self.lock();
        let now = Instant::now();
        if let Err(o) = self.make_room(&mut inner, now) {
            return o;
        }
        let id: [u8; 16] = match random_array(&mut SysRng) {
            Ok(id) => id,
            Err(e) => return self.internal(format!("no session id: {e}")),
        };
        let Inner { store, sessions } = &mut *inner;
        let sm = SmService::new(store, self.policy.clone(), &self.credential);
        let (conv, reply, what) = match sm.start(req.order.into(), eid) {
            Ok((conv, first)) => {
                let what = format!("request {:04X}", first.tag());
                (
                    Some(conv),
                    request_reply(Some(hex::encode(id)), 0, &first),
                    what,
                )
            }
            // A refusal at the start keeps no session: nothing to retry.
            Err(e) => {
                return Outcome {
                    reply: sm_refusal(&e),
                    session: None,
                    seq: Some(0),
                    what: format!("refused {}", e.kind()),
                }
            }
        };
        sessions.insert(
            id,
            Session {
                conv,
                seq: 0,
                reply: reply.clone(),
                last_used: now,
            },
        );
        Outcome {
            reply,
            session: Some(id),
            seq: Some(0),
            what,
        }
    }

    /// Drops expired sessions; when still full, the finished ones; then refuses.
    fn make_room(&self, inner: &mut Inner, now: Instant) -> Result<(), Outcome> {
        let ttl = self.limits.ttl;
        inner
            .sessions
            .retain(|_, s| now.duration_since(s.last_used) < ttl);
        if inner.sessions.len() >= self.limits.max_sessions {
            inner.sessions.retain(|_, s| s.conv.is_some());
        }
        if inner.sessions.len() >= self.limits.max_sessions {
            return Err(Outcome {
                reply: refusal(
                    503,
                    SM_BUSY,
                    Exit::SmFailure,
                    format!(
                        "the SM holds {} flows in progress, as many as it may: retry in a while",
                        inner.sessions.len()
                    ),
                ),
                session: None,
                seq: None,
                what: SM_BUSY.into(),
            });
        }
        Ok(())
    }

    fn step_flow(&self, body: &[u8]) -> Outcome {
        let req: StepFlow = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => return bad_request(format!("stepFlow: not the function's JSON: {e}")),
        };
        let answer = match decode_base64(&req.answer, MAX_MESSAGE) {
            Ok(b) => b,
            Err(e) => return bad_request(format!("stepFlow: answer: {e}")),
        };
        let answer = match DcResponse::decode(&answer) {
            Ok(a) => a,
            Err(e) => {
                return bad_request(format!(
                    "stepFlow: answer is not a device-change answer: {e}"
                ))
            }
        };
        let Some(id) = parse_session(&req.session) else {
            return unknown_session(
                None,
                Some(req.seq),
                "the SM has no such session (not 32 hex digits): start the flow again".into(),
            );
        };
        let mut inner = self.lock();
        let now = Instant::now();
        let ttl = self.limits.ttl;
        let Inner { store, sessions } = &mut *inner;
        let session = match sessions.get_mut(&id) {
            Some(s) if now.duration_since(s.last_used) < ttl => s,
            Some(_) => {
                sessions.remove(&id);
                return unknown_session(
                    Some(id),
                    Some(req.seq),
                    "the SM's session expired: start the flow again".into(),
                );
            }
            None => {
                return unknown_session(
                    Some(id),
                    Some(req.seq),
                    "the SM has no such session (never started, expired, or the SM \
                     restarted): start the flow again"
                        .into(),
                )
            }
        };
        session.last_used = now;
        if req.seq == session.seq && req.seq > 0 {
            return Outcome {
                reply: session.reply.clone(),
                session: Some(id),
                seq: Some(req.seq),
                what: "repeated (the kept reply)".into(),
            };
        }
        if req.seq != session.seq + 1 {
            let last = session.seq;
            return unknown_session(
                Some(id),
                Some(req.seq),
                format!(
                    "step {} of this session is not the next one (the last answered is {last}): \
                     a stale or replayed step is refused; start the flow again",
                    req.seq
                ),
            );
        }
        let Some(mut conv) = session.conv.take() else {
            return unknown_session(
                Some(id),
                Some(req.seq),
                "this flow is over: start a new one".into(),
            );
        };
        let sm = SmService::new(store, self.policy.clone(), &self.credential);
        let (reply, what) = match sm.step(&mut conv, answer) {
            Ok(Next::Send(r)) => {
                let what = format!("request {:04X}", r.tag());
                session.conv = Some(conv);
                (request_reply(None, req.seq, &r), what)
            }
            Ok(Next::Finished(report)) => (
                json_reply(
                    200,
                    &Reply::Report {
                        seq: req.seq,
                        report,
                    },
                ),
                "finished".to_string(),
            ),
            Err(e) => (sm_refusal(&e), format!("refused {}", e.kind())),
        };
        session.seq = req.seq;
        session.reply = reply.clone();
        Outcome {
            reply,
            session: Some(id),
            seq: Some(req.seq),
            what,
        }
    }

    fn internal(&self, message: String) -> Outcome {
        Outcome {
            reply: refusal(500, "sm_store", Exit::SmFailure, message),
            session: None,
            seq: None,
            what: "internal error".into(),
        }
    }

    fn log_line(&self, function: &str, o: &Outcome) {
        if !self.log {
            return;
        }
        let now = crate::clock::utc_text(
            crate::clock::unix_ms(SystemTime::now()),
            crate::clock::Precision::Millis,
        );
        // The first 4 bytes of the session id tell flows apart in the log; the whole
        // id is the session's only key, so it is not written.
        let session = o
            .session
            .map(|s| format!("{}..", hex::encode(&s[..4])))
            .unwrap_or_else(|| "-".into());
        let seq = o.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        eprintln!(
            "{now} sm {function} session {session} seq {seq} -> {} {}",
            o.reply.http_status, o.what
        );
    }
}

impl Es9Handler for SmServer {
    fn handle_authorized(
        &self,
        function: &str,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Es9Reply {
        if !ADMIN_FUNCTIONS.contains(&function) {
            return self.handle(function, body);
        }
        match &self.admin {
            Some(admin) => self.with_store(|store| {
                admin.handle(store, self.logging(), function, authorization, body)
            }),
            None => Es9Reply {
                http_status: 404,
                body: Vec::new(),
            },
        }
    }

    fn serves(&self, function: &str) -> bool {
        !ADMIN_FUNCTIONS.contains(&function) || self.admin.is_some()
    }

    fn handle(&self, function: &str, body: &[u8]) -> Es9Reply {
        if ADMIN_FUNCTIONS.contains(&function) {
            return self.handle_authorized(function, None, body);
        }
        let outcome = if body.len() > MAX_REQUEST_BODY {
            Outcome {
                reply: refusal(
                    413,
                    BAD_REQUEST,
                    Exit::Usage,
                    format!("request body over {MAX_REQUEST_BODY} bytes"),
                ),
                session: None,
                seq: None,
                what: "too large".into(),
            }
        } else {
            match function {
                "startFlow" => self.start_flow(body),
                "stepFlow" => self.step_flow(body),
                _ => {
                    return Es9Reply {
                        http_status: 404,
                        body: Vec::new(),
                    }
                }
            }
        };
        self.log_line(function, &outcome);
        outcome.reply
    }
}
