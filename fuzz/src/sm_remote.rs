//! The `sm_requests` oracle (issue 12, "The SM as a service"): the remote SM's HTTP
//! endpoints (`/veuicc/sm/v1/startFlow`, `stepFlow`, `admin/list|show|audit|unlock`) fed
//! arbitrary bodies and `Authorization` headers exactly as `sm-cli smdp serve` hands them
//! over: the same handler (`sm_cli::sm::remote::with_sm::WithSm`, whose SM side is the
//! `SmServer` on an in-memory store with the shipped test credential), called the way
//! the HTTPS layer calls it (`sm_cli::es9p::server`'s `request.rs`: `serves` first, the
//! admin functions through `handle_authorized` with the header, the others through
//! `handle`).
//!
//! Input:
//!
//! ```text
//! input := path flags body
//! path  := one byte: PATHS[b % 8] (the SM's two functions, the four admin ones, and two
//!          names the server does not have)
//! flags := one byte: bits 0-1 the Authorization header: 0 none, 1 `Bearer <the server's
//!          token>`, 2 `Bearer <another token>`, 3 the body's first line (up to `\n`) as
//!          the header's raw bytes (the rest is the body); bit 2 the server without an
//!          operator token (no admin endpoint); bit 3 the body padded with spaces to one
//!          byte over its cap; bit 4 (stepFlow) every `SESSION` in the body replaced by
//!          the id of a flow the oracle has just started, whose order bits 5-6 pick
//!          (sync, device-change, rekey, provision)
//! ```
//!
//! What must hold for any input (the statuses of `sm/remote/server.rs` and `admin.rs`):
//! - no panic, and never HTTP 500 nor a store failure (the in-memory store does not
//!   fail; it only refuses a malformed field, `StoreError::Invalid`);
//! - startFlow answers 200, 400 or 503, stepFlow 200 or 400; 413 exactly when the body is
//!   over `MAX_REQUEST_BODY` (refused before it is parsed: a padded body is still the
//!   function's JSON); 400 exactly when the body is not the function's JSON (or its
//!   EID, base64 or answer TLV is not one); every 4xx / 503 body is a refusal of the wire
//!   types with the right kind;
//! - a 200 body is a [`Reply`] of `sm/remote/wire.rs`: after startFlow a request with a
//!   32-hex-digit session and seq 0, or a refusal; after stepFlow the request or report
//!   of the step's own seq, or a refusal; a request's bytes decode as a `DcRequest`; a
//!   refusal's kind is one the client keeps (`wire::KINDS`) and its exit code non-zero;
//! - the same stepFlow twice gets the same reply (idempotent steps);
//! - the admin functions: 404 with no body on a server without an operator token; else
//!   401 with one fixed body whenever the header is not the server's token (none,
//!   another one, the input's bytes), never 200; with the token 200, 400 or 413, 413
//!   exactly over `MAX_ADMIN_BODY`, and a 200 body is the function's report or a
//!   refusal (`admin::read_answer`);
//! - a name the server does not have is 404 with no body, from the SM's own handler too
//!   (413 there when the body is over `MAX_REQUEST_BODY`: its cap comes first, as in the
//!   SM-DP+'s handler; the HTTPS layer never hands such a request to a handler).
//!
//! The servers live for many inputs (as a real one does); they are made anew every
//! [`RESET_EVERY`] inputs or once they hold [`MAX_HELD`] sessions, so that the started
//! flows never fill the SM (503) and the store stays small.
//!
//! The seeds ([`seeds`]) are made here too, from real flows through sm-cli's client
//! (`cargo test -- --ignored write_sm_requests_corpus` rewrites `corpus/sm_requests/`).
//! Long because the input format, the checks and the seeds that must match them are
//! one contract: split, a change to one would not show in the others.

use crate::harness;
use apdu::crypto::KdfParams;
use apdu::devchange::{DcRequest, DcResponse};
use apdu::sgp22::es9p::codec::decode_base64;
use apdu::Eid;
use sm_cli::es9p::{Es9Handler, Es9Reply, MAX_REQUEST_BODY};
use sm_cli::sm::credential::SmCredential;
use sm_cli::sm::remote::admin::{self, MAX_ADMIN_BODY};
use sm_cli::sm::remote::server::{SessionLimits, SmServer};
use sm_cli::sm::remote::token::OperatorToken;
use sm_cli::sm::remote::wire::{
    static_kind, Reply, StartFlow, StepFlow, WireOrder, ADMIN_FUNCTIONS, BAD_REQUEST, FUNCTIONS,
    MAX_MESSAGE, SM_BUSY, TOKEN_REFUSED,
};
use sm_cli::sm::remote::with_sm::WithSm;
use sm_cli::sm::service::{Order, ProfileSpec};
use sm_cli::sm::store::bench::{bench_op_id, sample_subscription};
use sm_cli::sm::store::{Actor, Purpose, Store};
use std::cell::RefCell;

/// The names the first byte picks (`PATHS[b % 8]`): the SM's functions, the admin ones,
/// then two the server does not have.
pub const PATHS: [&str; 8] = [
    "startFlow",
    "stepFlow",
    "admin/list",
    "admin/show",
    "admin/audit",
    "admin/unlock",
    "admin/delete",
    "listFlows",
];

/// The flags byte (module docs).
pub const TOKEN_NONE: u8 = 0;
pub const TOKEN_RIGHT: u8 = 1;
pub const TOKEN_OTHER: u8 = 2;
pub const TOKEN_FROM_BODY: u8 = 3;
pub const NO_OPERATOR_TOKEN: u8 = 1 << 2;
pub const OVERSIZE: u8 = 1 << 3;
pub const LIVE_SESSION: u8 = 1 << 4;
/// Bits 5-6: the live flow's order, an index into [`LIVE_FLOWS`].
pub const LIVE_FLOW_SHIFT: u8 = 5;
pub const LIVE_FLOWS: [&str; 4] = ["sync", "device-change", "rekey", "provision"];

/// What a stepFlow body says where the live session's id goes.
pub const SESSION_PLACEHOLDER: &str = "SESSION";

/// The OP ID of the live provision flows (not in the store).
pub const NEW_OP_ID: &str = "+8613800000001";

/// Inputs a server pair serves before it is made anew.
pub const RESET_EVERY: u32 = 4096;
/// Sessions held that make the server pair anew (well under the SM's 1024).
pub const MAX_HELD: usize = 256;

/// The SM-DP+ side of the fuzzed `WithSm`: the SM's names never reach it.
pub struct Unrouted;

impl Es9Handler for Unrouted {
    fn handle(&self, function: &str, _body: &[u8]) -> Es9Reply {
        panic!("{function}: an SM path was routed to the SM-DP+");
    }
}

/// The OP ID of the locked subscription (three failed attempts).
pub fn locked_op_id() -> String {
    bench_op_id(1)
}

/// The fuzzed SM's store: two synthetic subscriptions, the second one locked.
pub fn store() -> Store {
    let store = Store::open_in_memory().expect("an in-memory store");
    for i in 0..2 {
        store
            .create_subscription(&sample_subscription(i), &Actor::Sm)
            .expect("a subscription");
    }
    for _ in 0..3 {
        store
            .record_failure(
                &locked_op_id(),
                &Actor::Terminal(sample_subscription(1).device.imei),
                Purpose::DeviceChange,
                3,
            )
            .expect("a failure");
    }
    store
}

/// One `smdp serve` with an operator token and one without, and what the oracle needs
/// to know about them.
pub struct Servers {
    pub with_token: WithSm<Unrouted>,
    pub without_token: WithSm<Unrouted>,
    /// `Bearer <the server's token>`.
    pub right: Vec<u8>,
    /// `Bearer <another token>`.
    pub other: Vec<u8>,
    /// The body of every 401.
    pub refused: Vec<u8>,
    inputs: u32,
}

impl Default for Servers {
    fn default() -> Self {
        Self::new()
    }
}

fn sm_server() -> SmServer {
    let credential = SmCredential::test().expect("the test credential");
    SmServer::new(store(), credential, SessionLimits::default()).quiet()
}

impl Servers {
    pub fn new() -> Servers {
        let token = OperatorToken::generate().expect("a token");
        let other = OperatorToken::generate().expect("a token");
        let right = format!("Bearer {}", token.line()).into_bytes();
        let with_token = WithSm {
            es9: Unrouted,
            sm: sm_server().with_operator_token(token),
        };
        let refused = with_token.handle_authorized("admin/list", None, b"{}");
        assert_eq!(refused.http_status, 401);
        Servers {
            with_token,
            without_token: WithSm {
                es9: Unrouted,
                sm: sm_server(),
            },
            right,
            other: format!("Bearer {}", other.line()).into_bytes(),
            refused: refused.body,
            inputs: 0,
        }
    }

    fn worn(&self) -> bool {
        self.inputs >= RESET_EVERY
            || self.with_token.sm.sessions() >= MAX_HELD
            || self.without_token.sm.sessions() >= MAX_HELD
    }
}

thread_local! {
    static SERVERS: RefCell<Option<Servers>> = const { RefCell::new(None) };
}

/// The order of live flow `i` (`LIVE_FLOWS[i % 4]`).
pub fn live_order(i: u8) -> Order {
    match i % 4 {
        0 => Order::Sync,
        1 => Order::DeviceChange,
        2 => Order::Rekey {
            kdf: Some(KdfParams::TEST),
        },
        _ => Order::Provision {
            op_id: NEW_OP_ID.into(),
            kdf: KdfParams::TEST,
            profile: ProfileSpec::default(),
        },
    }
}

/// A startFlow body as the client (`RemoteSm::start`) writes it.
pub fn start_body(order: &Order, eid: &Eid) -> Vec<u8> {
    serde_json::to_vec(&StartFlow {
        order: WireOrder::from(order),
        eid: eid.digits(),
    })
    .expect("a startFlow body")
}

/// Starts a flow of `order` for the fuzz card's EID; its session id.
fn start_live(h: &WithSm<Unrouted>, order: &Order) -> String {
    let r = h.handle("startFlow", &start_body(order, &harness::eid()));
    match serde_json::from_slice::<Reply>(&r.body) {
        Ok(Reply::Request {
            session: Some(s), ..
        }) if r.http_status == 200 => s,
        _ => panic!(
            "a valid startFlow got HTTP {}: {}",
            r.http_status,
            String::from_utf8_lossy(&r.body)
        ),
    }
}

fn replace(body: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// The refusal of a reply body, if it is one.
fn refusal(body: &[u8]) -> Option<sm_cli::sm::remote::wire::WireError> {
    match serde_json::from_slice::<Reply>(body) {
        Ok(Reply::Error { error }) => Some(error),
        _ => None,
    }
}

/// A refusal the client can report: a kind it keeps, a non-zero exit code.
fn check_refusal(what: &str, e: &sm_cli::sm::remote::wire::WireError) {
    assert_ne!(
        static_kind(&e.kind),
        "sm_refused",
        "{what}: a refusal kind the client does not know: {e:?}"
    );
    assert_ne!(e.exit_code, 0, "{what}: a refusal with exit code 0: {e:?}");
    // The in-memory store does not fail: a malformed value the request carried
    // (`StoreError::Invalid`) is the request's fault, `invalid_request` (exit 2).
    assert!(
        e.kind != "sm_store",
        "{what}: a store error on the in-memory store: {e:?}"
    );
}

/// A 4xx / 503 body: the refusal of `kind`.
fn check_status_refusal(what: &str, body: &[u8], kind: &str) {
    let e = refusal(body).unwrap_or_else(|| {
        panic!(
            "{what}: not a refusal: {:?}",
            String::from_utf8_lossy(&body[..body.len().min(512)])
        )
    });
    assert_eq!(e.kind, kind, "{what}: {e:?}");
    check_refusal(what, &e);
}

/// The step, when the SM's handler reads `body` as a stepFlow (its 400 rule: the JSON,
/// the answer's base64 and TLV).
fn step_well_formed(body: &[u8]) -> Option<StepFlow> {
    let r: StepFlow = serde_json::from_slice(body).ok()?;
    let answer = decode_base64(&r.answer, MAX_MESSAGE).ok()?;
    DcResponse::decode(&answer).ok()?;
    Some(r)
}

/// Whether the SM's handler reads `body` as a startFlow (the JSON and the EID).
fn start_well_formed(body: &[u8]) -> bool {
    serde_json::from_slice::<StartFlow>(body).is_ok_and(|r| r.eid.parse::<Eid>().is_ok())
}

fn check_request_bytes(what: &str, b64: &str) {
    let bytes = decode_base64(b64, MAX_MESSAGE)
        .unwrap_or_else(|e| panic!("{what}: a request that is not base64: {e}"));
    DcRequest::decode(&bytes).unwrap_or_else(|e| panic!("{what}: not a DcRequest: {e}"));
}

/// startFlow or stepFlow (the SM's functions).
fn check_flow(function: &str, body: &[u8], r: &Es9Reply) {
    let what = format!("{function} HTTP {}", r.http_status);
    if body.len() > MAX_REQUEST_BODY {
        assert_eq!(r.http_status, 413, "{what}: {} bytes", body.len());
        check_status_refusal(&what, &r.body, BAD_REQUEST);
        return;
    }
    let (formed, step) = if function == "startFlow" {
        (start_well_formed(body), None)
    } else {
        let s = step_well_formed(body);
        (s.is_some(), s)
    };
    match r.http_status {
        400 => {
            assert!(!formed, "{what} for a well-formed request");
            check_status_refusal(&what, &r.body, BAD_REQUEST);
            let e = refusal(&r.body).expect("checked");
            assert_eq!(e.exit_code, 2, "{what}: {e:?}");
        }
        503 if function == "startFlow" => check_status_refusal(&what, &r.body, SM_BUSY),
        200 => {
            assert!(formed, "{what} for a body the SM cannot read");
            let reply: Reply = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
                panic!(
                    "{what}: not a Reply: {e}: {}",
                    String::from_utf8_lossy(&r.body)
                )
            });
            match (&reply, &step) {
                (Reply::Error { error }, _) => check_refusal(&what, error),
                (
                    Reply::Request {
                        session: Some(s),
                        seq: 0,
                        request,
                    },
                    None,
                ) => {
                    assert!(
                        s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()),
                        "{what}: session {s:?}"
                    );
                    check_request_bytes(&what, request);
                }
                (
                    Reply::Request {
                        session: None,
                        seq,
                        request,
                    },
                    Some(step),
                ) => {
                    assert_eq!(*seq, step.seq, "{what}: the reply's seq");
                    check_request_bytes(&what, request);
                }
                (Reply::Report { seq, .. }, Some(step)) => {
                    assert_eq!(*seq, step.seq, "{what}: the reply's seq");
                }
                (other, _) => panic!("{what}: {other:?}"),
            }
        }
        other => panic!(
            "{function}: HTTP {other}: {}",
            String::from_utf8_lossy(&r.body)
        ),
    }
}

/// An admin function on a server with an operator token.
fn check_admin(function: &str, token_right: bool, body: &[u8], r: &Es9Reply, refused: &[u8]) {
    let what = format!("{function} HTTP {}", r.http_status);
    if !token_right {
        assert_eq!(r.http_status, 401, "{what} without the server's token");
        assert_eq!(r.body, refused, "{what}: a 401 that says more");
        check_status_refusal(&what, &r.body, TOKEN_REFUSED);
        return;
    }
    if body.len() > MAX_ADMIN_BODY {
        assert_eq!(r.http_status, 413, "{what}: {} bytes", body.len());
        check_status_refusal(&what, &r.body, BAD_REQUEST);
        return;
    }
    match r.http_status {
        200 => {
            assert!(
                serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object()),
                "{what} for a body that is not a JSON object"
            );
            admin::read_answer(function, &r.body).unwrap_or_else(|e| panic!("{what}: {e}"));
            if let Some(e) = refusal(&r.body) {
                check_refusal(&what, &e);
            }
        }
        400 => check_status_refusal(&what, &r.body, BAD_REQUEST),
        other => panic!(
            "{function}: HTTP {other}: {}",
            String::from_utf8_lossy(&r.body)
        ),
    }
}

fn assert_404(what: &str, r: &Es9Reply) {
    assert_eq!(r.http_status, 404, "{what}");
    assert!(r.body.is_empty(), "{what}: a 404 with a body");
}

/// One input against `s`; the status of its request.
pub fn run(s: &Servers, data: &[u8]) -> Option<u16> {
    let [p, flags, rest @ ..] = data else {
        return None;
    };
    let function = PATHS[usize::from(*p) % PATHS.len()];
    let admin = ADMIN_FUNCTIONS.contains(&function);
    let known = admin || FUNCTIONS.contains(&function);
    let h = if flags & NO_OPERATOR_TOKEN != 0 {
        &s.without_token
    } else {
        &s.with_token
    };
    let (authorization, body): (Option<&[u8]>, &[u8]) = match flags & 3 {
        TOKEN_NONE => (None, rest),
        TOKEN_RIGHT => (Some(&s.right), rest),
        TOKEN_OTHER => (Some(&s.other), rest),
        _ => match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (Some(rest), &[][..]),
        },
    };
    let mut body = body.to_vec();
    if flags & LIVE_SESSION != 0 && function == "stepFlow" {
        let session = start_live(h, &live_order(flags >> LIVE_FLOW_SHIFT));
        body = replace(&body, SESSION_PLACEHOLDER.as_bytes(), session.as_bytes());
    }
    if flags & OVERSIZE != 0 {
        let cap = if admin {
            MAX_ADMIN_BODY
        } else {
            MAX_REQUEST_BODY
        };
        if body.len() <= cap {
            body.resize(cap + 1, b' ');
        }
    }

    if !known {
        // The HTTPS layer answers 404 before any handler. The SM's own handler answers
        // 404 too, but its size cap comes first (as in the SM-DP+'s): 413 over it.
        for r in [
            h.sm.handle(function, &body),
            h.sm.handle_authorized(function, authorization, &body),
        ] {
            if body.len() > MAX_REQUEST_BODY {
                assert_eq!(r.http_status, 413, "{function}: {} bytes", body.len());
            } else {
                assert_404(function, &r);
            }
        }
        return Some(404);
    }
    if !admin {
        assert!(h.serves(function), "{function} not served");
        let r = h.handle(function, &body);
        check_flow(function, &body, &r);
        if function == "stepFlow" {
            let again = h.handle(function, &body);
            assert_eq!(again, r, "the same stepFlow twice, two replies");
        }
        return Some(r.http_status);
    }
    let r = h.handle_authorized(function, authorization, &body);
    if flags & NO_OPERATOR_TOKEN != 0 {
        assert!(
            !h.serves(function),
            "{function} served without an operator token"
        );
        assert_404(function, &r);
        assert_404(function, &h.handle(function, &body));
        return Some(404);
    }
    assert!(
        h.serves(function),
        "{function} not served with an operator token"
    );
    // The input's own header bytes cannot be the server's random token (32 bytes).
    let token_right = flags & 3 == TOKEN_RIGHT;
    check_admin(function, token_right, &body, &r, &s.refused);
    // Without the header (`handle`): refused, however good the body.
    let bare = h.handle(function, &body);
    check_admin(function, false, &body, &bare, &s.refused);
    Some(r.http_status)
}

/// The target: one input against the process's servers (made anew now and then).
pub fn sm_requests(data: &[u8]) {
    SERVERS.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(Servers::worn) {
            *cell = Some(Servers::new());
        }
        let s = cell.as_mut().expect("just made");
        s.inputs += 1;
        run(s, data);
    });
}

/// The seeds of `sm_requests`: real flows of every kind against the fuzz card (card-sim,
/// `harness::Sim`) through sm-cli's own client (`RemoteSm`), recording every body it
/// sends (each stepFlow with its session as [`SESSION_PLACEHOLDER`] and a live flow of
/// the same order), the operator requests as the admin client writes them with and
/// without the token, and malformed variants.
pub mod seeds {
    use super::*;
    use crate::answers;
    use crate::sequence::Step;
    use sm_cli::commands::method::drive;
    use sm_cli::errors::CliError;
    use sm_cli::es9p::TransportError;
    use sm_cli::lpa::{Es10Session, DEFAULT_BLOCK_SIZE};
    use sm_cli::reader::{CardLink, Secrecy};
    use sm_cli::sm::remote::admin::{ListRequest, OpIdRequest, UnlockRequest};
    use sm_cli::sm::remote::client::{InProcessSm, RemoteSm, SmTransport};
    use sm_cli::sm::service::FlowReport;
    use sm_cli::terminal::answers::GivenParameter;
    use sm_cli::terminal::prompt::NoPrompter;
    use sm_cli::terminal::{Answers, Terminal};
    use zeroize::Zeroizing;

    /// The fuzz card behind sm-cli's card link.
    struct SimCard(harness::Sim);

    impl CardLink for SimCard {
        fn transmit_raw(&mut self, apdu: &[u8], _: Secrecy) -> Result<Vec<u8>, CliError> {
            Ok(self
                .0
                .step(&Step::Apdu(apdu.to_vec()))
                .expect("an APDU step answers"))
        }
    }

    /// A function and the body the client sent it.
    type Sent = (String, Vec<u8>);

    /// The SM in process, keeping every body sent.
    struct Recorder<'a> {
        sm: &'a WithSm<Unrouted>,
        sent: RefCell<Vec<Sent>>,
    }

    impl SmTransport for &Recorder<'_> {
        fn post(&self, function: &str, body: &[u8]) -> Result<(u16, Vec<u8>), TransportError> {
            self.sent
                .borrow_mut()
                .push((function.to_string(), body.to_vec()));
            InProcessSm(self.sm).post(function, body)
        }
    }

    fn given(text: &str) -> Option<GivenParameter> {
        Some(GivenParameter::new(Zeroizing::new(text.into()), "the fuzz seeds").expect("valid"))
    }

    fn flow_answers(current: &str, new: &str) -> Answers {
        Answers {
            op_id: Some(NEW_OP_ID.into()),
            imei: Some(answers::IMEI.into()),
            current: given(current),
            new: given(new),
            prompter: Box::new(NoPrompter),
        }
    }

    /// One flow of `order` on `card`: what the client sent, and the outcome.
    fn record(
        sm: &WithSm<Unrouted>,
        card: &mut SimCard,
        order: Order,
        answers: Answers,
    ) -> (Vec<Sent>, Result<Box<FlowReport>, CliError>) {
        let rec = Recorder {
            sm,
            sent: RefCell::new(Vec::new()),
        };
        let remote = RemoteSm::new(&rec, "fuzz");
        let mut es10 =
            Es10Session::open(card, usize::from(DEFAULT_BLOCK_SIZE)).expect("an ES10 session");
        let eid = es10.get_eid().expect("the EID");
        let mut terminal = Terminal::new(&mut es10, answers);
        let mut sm_time = std::time::Duration::ZERO;
        let r = drive(&remote, &mut terminal, order, eid, &mut sm_time).map(Box::new);
        drop(terminal);
        es10.close().expect("closing the session");
        (rec.sent.into_inner(), r)
    }

    fn seed(name: &str, path: &str, flags: u8, body: &[u8]) -> (String, Vec<u8>) {
        let p = PATHS.iter().position(|&f| f == path).expect("a path") as u8;
        let mut d = vec![p, flags];
        d.extend_from_slice(body);
        (format!("{name}.json"), d)
    }

    fn live_flags(order: &Order) -> u8 {
        let i = match order {
            Order::Sync => 0,
            Order::DeviceChange => 1,
            Order::Rekey { .. } => 2,
            Order::Provision { .. } => 3,
        };
        LIVE_SESSION | (i << LIVE_FLOW_SHIFT)
    }

    /// The recorded flows: provision on the fuzz card, a device change on the same card
    /// (the recorded device), a key change, a sync, a key change with the wrong
    /// parameter.
    fn flows(out: &mut Vec<(String, Vec<u8>)>) {
        let servers = Servers::new();
        let mut card = SimCard(harness::Sim::new());
        let provision = live_order(3);
        let rekey = Order::Rekey { kdf: None };
        let runs: [(&str, Order, Answers, Option<&str>); 5] = [
            (
                "provision",
                provision,
                flow_answers(answers::CURRENT_PARAMETER, answers::NEW_PARAMETER),
                None,
            ),
            // The card it is bound to still holds the profile: refused at the end.
            (
                "device-change",
                Order::DeviceChange,
                flow_answers(answers::NEW_PARAMETER, answers::CURRENT_PARAMETER),
                Some("already_on_card"),
            ),
            (
                "rekey",
                rekey,
                flow_answers(answers::NEW_PARAMETER, answers::CURRENT_PARAMETER),
                None,
            ),
            (
                "sync",
                Order::Sync,
                flow_answers(answers::CURRENT_PARAMETER, answers::NEW_PARAMETER),
                None,
            ),
            (
                "rekey-wrong-parameter",
                live_order(2),
                flow_answers(answers::NEW_PARAMETER, answers::CURRENT_PARAMETER),
                Some("wrong_parameter"),
            ),
        ];
        for (name, order, answers, refused) in runs {
            let flags = live_flags(&order);
            let (sent, r) = record(&servers.with_token, &mut card, order, answers);
            assert_eq!(
                r.as_ref().err().map(CliError::kind),
                refused,
                "{name}: {r:?}"
            );
            let mut session = None;
            for (i, (function, body)) in sent.iter().enumerate() {
                let name = format!("{name}-{i:02}-{function}");
                if function == "startFlow" {
                    out.push(seed(&name, function, TOKEN_NONE, body));
                    continue;
                }
                let step: StepFlow = serde_json::from_slice(body).expect("the client's step");
                let s = session.get_or_insert(step.session.clone());
                let body = replace(body, s.as_bytes(), SESSION_PLACEHOLDER.as_bytes());
                out.push(seed(&name, function, flags, &body));
            }
        }
    }

    fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
        serde_json::to_vec(v).expect("JSON")
    }

    pub fn seeds() -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        flows(&mut out);
        let eid = harness::eid();
        for (i, f) in LIVE_FLOWS.iter().enumerate() {
            let order = live_order(i as u8);
            out.push(seed(
                &format!("start-{f}"),
                "startFlow",
                TOKEN_NONE,
                &start_body(&order, &eid),
            ));
        }
        out.push(seed(
            "start-rekey-default-kdf",
            "startFlow",
            TOKEN_NONE,
            &start_body(&Order::Rekey { kdf: None }, &eid),
        ));
        out.push(seed(
            "start-provision-taken-op-id",
            "startFlow",
            TOKEN_NONE,
            &start_body(
                &Order::Provision {
                    op_id: bench_op_id(0),
                    kdf: KdfParams::TEST,
                    profile: ProfileSpec {
                        spn: "Example Mobile".into(),
                        name: Some("Example 5G".into()),
                    },
                },
                &eid,
            ),
        ));
        out.push(seed(
            "start-oversize",
            "startFlow",
            OVERSIZE,
            &start_body(&Order::Sync, &eid),
        ));
        // Malformed (sm/remote/tests.rs).
        let s = r#"{"session":"SESSION","seq":1,"answer":"3q2+7w=="}"#;
        for (name, path, flags, body) in [
            ("start-not-json", "startFlow", 0, "not json"),
            ("start-empty-object", "startFlow", 0, "{}"),
            (
                "start-unknown-flow",
                "startFlow",
                0,
                r#"{"order":{"flow":"teleport"},"eid":"1"}"#,
            ),
            (
                "start-short-eid",
                "startFlow",
                0,
                r#"{"order":{"flow":"sync"},"eid":"12"}"#,
            ),
            (
                "start-bad-kdf",
                "startFlow",
                0,
                r#"{"order":{"flow":"rekey","kdf":{"algorithm":"argon2id","memory_kib":1,"time_cost":0,"parallelism":0}},"eid":"89049032123451234512345678901235"}"#,
            ),
            ("step-array", "stepFlow", 0, "[1,2]"),
            (
                "step-bad-base64",
                "stepFlow",
                0,
                r#"{"session":"00","seq":1,"answer":"!!!"}"#,
            ),
            ("step-not-an-answer", "stepFlow", LIVE_SESSION, s),
            (
                "step-oversize",
                "stepFlow",
                OVERSIZE,
                r#"{"session":"00","seq":1,"answer":""}"#,
            ),
            ("unknown-function", "listFlows", 0, "{}"),
            ("unknown-admin-function", "admin/delete", TOKEN_RIGHT, "{}"),
        ] {
            out.push(seed(name, path, flags, body.as_bytes()));
        }
        // A well-formed answer (the card's failure) for a session the SM never started,
        // and for a live one at the wrong seq, the right one and one ahead.
        let failed = apdu::sgp22::es9p::codec::encode_base64(
            &DcResponse::Failed {
                tag: apdu::devchange::Function::Identity,
                code: apdu::devchange::DcResult::Undefined,
            }
            .encode(),
        );
        for (name, session, seq, flags) in [
            (
                "step-unknown-session",
                "00112233445566778899aabbccddeeff",
                1,
                0,
            ),
            ("step-seq-zero", SESSION_PLACEHOLDER, 0, LIVE_SESSION),
            ("step-card-failed", SESSION_PLACEHOLDER, 1, LIVE_SESSION),
            ("step-seq-ahead", SESSION_PLACEHOLDER, 2, LIVE_SESSION),
        ] {
            let body = json(&StepFlow {
                session: session.into(),
                seq,
                answer: failed.clone(),
            });
            out.push(seed(name, "stepFlow", flags, &body));
        }
        // The operator's requests, as `AdminClient::call` writes them.
        let show = json(&OpIdRequest {
            op_id: locked_op_id(),
        });
        let unlock = json(&UnlockRequest {
            op_id: locked_op_id(),
            operator: "alice".into(),
        });
        let list = json(&ListRequest {});
        let requests: [(&str, &[u8]); 4] = [
            ("admin/list", &list),
            ("admin/show", &show),
            ("admin/audit", &show),
            ("admin/unlock", &unlock),
        ];
        for (path, body) in requests {
            let f = path.trim_start_matches("admin/");
            out.push(seed(&format!("admin-{f}-token"), path, TOKEN_RIGHT, body));
            out.push(seed(&format!("admin-{f}-no-token"), path, TOKEN_NONE, body));
            out.push(seed(
                &format!("admin-{f}-other-token"),
                path,
                TOKEN_OTHER,
                body,
            ));
            out.push(seed(
                &format!("admin-{f}-no-endpoint"),
                path,
                TOKEN_RIGHT | NO_OPERATOR_TOKEN,
                body,
            ));
        }
        let header = |h: &str, body: &[u8]| [h.as_bytes(), b"\n", body].concat();
        for (name, path, flags, body) in [
            (
                "admin-show-unknown-op-id",
                "admin/show",
                TOKEN_RIGHT,
                json(&OpIdRequest {
                    op_id: NEW_OP_ID.into(),
                }),
            ),
            (
                "admin-unlock-unlocked-op-id",
                "admin/unlock",
                TOKEN_RIGHT,
                json(&UnlockRequest {
                    op_id: bench_op_id(0),
                    operator: "alice".into(),
                }),
            ),
            (
                "admin-list-extra-field",
                "admin/list",
                TOKEN_RIGHT,
                br#"{"all":true}"#.to_vec(),
            ),
            (
                "admin-list-array",
                "admin/list",
                TOKEN_RIGHT,
                b"[]".to_vec(),
            ),
            (
                "admin-list-oversize",
                "admin/list",
                TOKEN_RIGHT | OVERSIZE,
                list.clone(),
            ),
            (
                "admin-list-header-hex",
                "admin/list",
                TOKEN_FROM_BODY,
                header(&format!("Bearer {}", "ab".repeat(32)), &list),
            ),
            (
                "admin-list-header-base64",
                "admin/list",
                TOKEN_FROM_BODY,
                header(
                    &format!(
                        "bearer {}",
                        apdu::sgp22::es9p::codec::encode_base64(&[7; 32])
                    ),
                    &list,
                ),
            ),
            (
                "admin-list-header-basic",
                "admin/list",
                TOKEN_FROM_BODY,
                header("Basic YWRtaW46YWRtaW4=", &list),
            ),
        ] {
            out.push(seed(name, path, flags, &body));
        }
        out
    }
}
