//! The remote SM in process: the real card (card-sim behind a fake PC/SC link), the
//! terminal, and the SM's handler called directly through [`InProcessSm`], with
//! transports that lose replies or send every step twice; then every malformed or stale
//! request, which must be a 4xx or a refusal, never a panic.
//!
//! Long because the faulty transports and the whole flows they disturb share one set of
//! fixtures; the refusal cases are one table-like test each.

use super::client::{InProcessSm, RemoteSm, SmTransport};
use super::server::{SessionLimits, SmServer};
use super::wire::{Reply, MAX_MESSAGE};
use crate::commands::method::drive;
use crate::errors::CliError;
use crate::es9p::{Es9Handler, TransportError, MAX_REQUEST_BODY};
use crate::lpa::Es10Session;
use crate::sm::credential::SmCredential;
use crate::sm::service::{FlowReport, Order, ProfileSpec};
use crate::terminal::{Answers, Terminal};
use crate::test_card::{self, SimLink};
use apdu::crypto::KdfParams;
use apdu::devchange::{DcResponse, Flow};
use apdu::sgp22::es10::ProfileClass;
use apdu::sgp22::es9p::codec::encode_base64;
use card_sim::state::new_card::derive_eid;
use std::cell::Cell;
use std::time::Duration;

const OP: &str = "+8613800000077";
const IMEI_OLD: &str = "490154203237518";
const IMEI_NEW: &str = "356938035643809";

/// How the transport mistreats the steps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// Every stepFlow reaches the SM, but its reply is lost the first time (the client
    /// retries with the same seq).
    LoseFirstReply,
    /// Every stepFlow is sent twice; the second reply is the one returned.
    SendTwice,
}

struct Faulty<'a> {
    sm: &'a SmServer,
    fault: Fault,
    lost: Cell<u32>,
    resent: Cell<u32>,
}

impl<'a> Faulty<'a> {
    fn new(sm: &'a SmServer, fault: Fault) -> Faulty<'a> {
        Faulty {
            sm,
            fault,
            lost: Cell::new(0),
            resent: Cell::new(0),
        }
    }
}

impl SmTransport for &Faulty<'_> {
    fn post(&self, function: &str, body: &[u8]) -> Result<(u16, Vec<u8>), TransportError> {
        let inner = InProcessSm(self.sm);
        if function != "stepFlow" || self.fault == Fault::None {
            return inner.post(function, body);
        }
        // A retry of a lost reply is the same body: let it through.
        let first = inner.post(function, body)?;
        match self.fault {
            Fault::LoseFirstReply if self.lost.get() == self.resent.get() => {
                self.lost.set(self.lost.get() + 1);
                Err(TransportError::Unreachable {
                    address: "test".into(),
                    reason: "connection reset by the server".into(),
                })
            }
            Fault::LoseFirstReply => {
                self.resent.set(self.resent.get() + 1);
                Ok(first)
            }
            _ => {
                self.resent.set(self.resent.get() + 1);
                let second = inner.post(function, body)?;
                assert_eq!(first, second, "a repeated seq gets the kept reply");
                Ok(second)
            }
        }
    }
}

/// Card `slot` of this file's cards (`test_card::SimLink`).
fn card(slot: u16) -> SimLink {
    SimLink::new(12, slot, u64::from(slot) + 40)
}

fn answers(imei: &str, current: Option<&str>, new: Option<&str>) -> Answers {
    test_card::answers(OP, imei, current, new)
}

fn server(limits: SessionLimits) -> SmServer {
    SmServer::new(
        crate::sm::store::test_store(),
        SmCredential::test().unwrap(),
        limits,
    )
    .quiet()
}

fn flow(
    transport: &Faulty<'_>,
    link: &mut SimLink,
    order: Order,
    answers: Answers,
) -> Result<FlowReport, CliError> {
    let sm = RemoteSm::new(transport, "test");
    let mut es10 = Es10Session::open(link, 120).unwrap();
    let eid = es10.get_eid().unwrap();
    let mut terminal = Terminal::new(&mut es10, answers);
    let mut sm_time = Duration::ZERO;
    let r = drive(&sm, &mut terminal, order, eid, &mut sm_time);
    es10.close().unwrap();
    r
}

fn operational(link: &mut SimLink) -> bool {
    let mut es10 = Es10Session::open(link, 120).unwrap();
    let p = es10.get_profiles(None).unwrap();
    es10.close().unwrap();
    p.iter().any(|p| p.class == Some(ProfileClass::Operational))
}

fn provision_order() -> Order {
    Order::Provision {
        op_id: OP.into(),
        kdf: KdfParams::TEST,
        profile: ProfileSpec::default(),
    }
}

fn failures(sm: &SmServer) -> (u32, u64) {
    sm.with_store(|s| {
        let sub = s.get(OP).unwrap().unwrap();
        (sub.failures, sub.total_failures)
    })
}

#[test]
fn the_device_change_story_against_the_remote_sm_with_lost_and_repeated_replies() {
    let sm = server(SessionLimits::default());
    let mut old = card(0);
    let mut new = card(1);

    // A on the old card, every step's first reply lost: each step ran once.
    let lossy = Faulty::new(&sm, Fault::LoseFirstReply);
    let rep = flow(
        &lossy,
        &mut old,
        provision_order(),
        answers(IMEI_OLD, None, Some("123456")),
    )
    .unwrap();
    assert_eq!(rep.flow, "provision");
    assert_eq!(rep.op_id.as_deref(), Some(OP));
    assert_eq!(rep.kdf.as_ref().map(|k| k.profile), Some("test"));
    assert!(operational(&mut old));
    assert!(lossy.lost.get() >= 4, "{}", lossy.lost.get());
    assert_eq!(lossy.lost.get(), lossy.resent.get());

    // B with a wrong parameter, every step sent twice: exactly one failure counted.
    let twice = Faulty::new(&sm, Fault::SendTwice);
    let e = flow(
        &twice,
        &mut new,
        Order::DeviceChange,
        answers(IMEI_NEW, Some("000000"), None),
    )
    .unwrap_err();
    assert_eq!((e.exit_code(), e.kind()), (31, "wrong_parameter"), "{e}");
    assert!(e.to_string().contains("2 attempt(s) left"), "{e}");
    assert_eq!(failures(&sm), (1, 1));
    assert!(!operational(&mut new));

    // The same wrong guess with lost replies: still one more, not two.
    let e = flow(
        &lossy,
        &mut new,
        Order::DeviceChange,
        answers(IMEI_NEW, Some("000000"), None),
    )
    .unwrap_err();
    assert!(e.to_string().contains("1 attempt(s) left"), "{e}");
    assert_eq!(failures(&sm), (2, 2));

    // The right one, sent twice: delivered once, counters cleared.
    let rep = flow(
        &twice,
        &mut new,
        Order::DeviceChange,
        answers(IMEI_NEW, Some("123456"), None),
    )
    .unwrap();
    assert_eq!(rep.flow, Flow::DeviceChange.name());
    assert_eq!(rep.key_source, Some("parameter"));
    assert_eq!(rep.failures_cleared, Some(2));
    assert_eq!(
        rep.previous_device.as_ref().map(|d| d.imei.as_str()),
        Some(IMEI_OLD)
    );
    assert!(operational(&mut new));
    assert_eq!(failures(&sm).0, 0);
    let delivered = sm.with_store(|s| {
        s.audit(OP)
            .unwrap()
            .iter()
            .filter(|e| e.action.as_str() == "profile-delivered")
            .count()
    });
    assert_eq!(delivered, 2, "A and B each delivered once");
    let auth_failures = sm.with_store(|s| {
        s.audit(OP)
            .unwrap()
            .iter()
            .filter(|e| e.action.as_str() == "auth-failure")
            .count()
    });
    assert_eq!(auth_failures, 2, "one per wrong guess");

    // Sync on the old card removes the moved profile.
    let plain = Faulty::new(&sm, Fault::None);
    let rep = flow(&plain, &mut old, Order::Sync, answers(IMEI_OLD, None, None)).unwrap();
    assert_eq!(rep.removed.len(), 1);
    assert!(rep.removed[0].was_on_card);
    assert!(!operational(&mut old));
    // The finished flows' sessions stay (for a late retry) until they expire.
    assert!(sm.sessions() >= 5);
}

/// A JSON body for `function` and the reply's status and JSON.
fn call(sm: &SmServer, function: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let r = sm.handle(function, body);
    let v = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
    (r.http_status, v)
}

fn kind(v: &serde_json::Value) -> &str {
    v["error"]["kind"].as_str().unwrap_or("-")
}

fn start_sync(sm: &SmServer) -> (String, serde_json::Value) {
    let eid = derive_eid(Some(12), 5).to_string();
    let (st, v) = call(
        sm,
        "startFlow",
        format!(r#"{{"order":{{"flow":"sync"}},"eid":"{eid}"}}"#).as_bytes(),
    );
    assert_eq!(st, 200, "{v}");
    (v["session"].as_str().unwrap().to_string(), v)
}

fn step(sm: &SmServer, session: &str, seq: u64, answer: &[u8]) -> (u16, serde_json::Value) {
    call(
        sm,
        "stepFlow",
        format!(
            r#"{{"session":"{session}","seq":{seq},"answer":"{}"}}"#,
            encode_base64(answer)
        )
        .as_bytes(),
    )
}

#[test]
fn malformed_stale_and_oversized_requests_are_refused_without_a_panic() {
    let sm = server(SessionLimits::default());
    let eid = derive_eid(Some(12), 5).to_string();
    for (function, body) in [
        ("startFlow", &b"not json"[..]),
        ("startFlow", b"{}"),
        ("startFlow", br#"{"order":{"flow":"teleport"},"eid":"1"}"#),
        ("startFlow", br#"{"order":{"flow":"sync"},"eid":"12"}"#),
        (
            "startFlow",
            br#"{"order":{"flow":"rekey","kdf":{"algorithm":"argon2id","memory_kib":1,"time_cost":0,"parallelism":0}},"eid":"89049032123451234512345678901235"}"#,
        ),
        ("stepFlow", b"[1,2]"),
        ("stepFlow", br#"{"session":"00","seq":1,"answer":"!!!"}"#),
        (
            "stepFlow",
            br#"{"session":"00112233445566778899aabbccddeeff","seq":1,"answer":"3q2+7w=="}"#,
        ),
    ] {
        let (st, v) = call(&sm, function, body);
        assert_eq!(st, 400, "{function} {:?}: {v}", String::from_utf8_lossy(body));
        assert_eq!(kind(&v), "bad_request", "{v}");
        assert_eq!(v["error"]["exit_code"], 2);
    }
    let (st, v) = call(
        &sm,
        "startFlow",
        format!(r#"{{"order":{{"flow":"sync"}},"eid":"{eid}","x":1}}"#).as_bytes(),
    );
    assert_eq!((st, kind(&v)), (400, "bad_request"));
    // Oversized: refused before it is parsed; an unknown function: 404.
    let big = vec![b' '; MAX_REQUEST_BODY + 1];
    assert_eq!(sm.handle("stepFlow", &big).http_status, 413);
    assert_eq!(sm.handle("listFlows", b"{}").http_status, 404);
    let huge_answer = vec![0u8; MAX_MESSAGE + 1];
    let (st, _) = step(&sm, "00112233445566778899aabbccddeeff", 1, &huge_answer);
    assert!((400..500).contains(&st));

    // A well-formed answer for a session the SM never started.
    let failed = DcResponse::Failed {
        tag: apdu::devchange::Function::Identity,
        code: apdu::devchange::DcResult::Undefined,
    }
    .encode();
    let (st, v) = step(&sm, "00112233445566778899aabbccddeeff", 1, &failed);
    assert_eq!((st, kind(&v)), (200, "session_unknown"), "{v}");
    assert_eq!(v["error"]["exit_code"], 37);
    let (_, v) = step(&sm, "not-hex", 1, &failed);
    assert_eq!(kind(&v), "session_unknown");

    // A real session: seq 0 and seq 2 are refused, seq 1 runs (the card's failure ends
    // the flow), seq 1 again is the kept reply, an older seq after that is refused.
    let (session, v) = start_sync(&sm);
    assert_eq!(v["seq"], 0);
    assert!(v["request"].as_str().is_some());
    for seq in [0, 2] {
        let (_, v) = step(&sm, &session, seq, &failed);
        assert_eq!(kind(&v), "session_unknown", "seq {seq}: {v}");
    }
    let first = sm.handle(
        "stepFlow",
        format!(
            r#"{{"session":"{session}","seq":1,"answer":"{}"}}"#,
            encode_base64(&failed)
        )
        .as_bytes(),
    );
    let again = sm.handle(
        "stepFlow",
        format!(
            r#"{{"session":"{session}","seq":1,"answer":"{}"}}"#,
            encode_base64(&failed)
        )
        .as_bytes(),
    );
    assert_eq!(first, again);
    let reply: Reply = serde_json::from_slice(&first.body).unwrap();
    let Reply::Error { error } = reply else {
        panic!("a card failure is a refusal");
    };
    assert_eq!(error.kind, "card_result");
    let (_, v) = step(&sm, &session, 2, &failed);
    assert_eq!(kind(&v), "session_unknown", "the flow is over: {v}");
    let (_, v) = step(&sm, &session, 0, &failed);
    assert_eq!(kind(&v), "session_unknown");
}

#[test]
fn sessions_expire_and_are_capped() {
    let sm = server(SessionLimits {
        ttl: Duration::ZERO,
        max_sessions: 4,
    });
    let (session, _) = start_sync(&sm);
    let failed = DcResponse::Failed {
        tag: apdu::devchange::Function::Identity,
        code: apdu::devchange::DcResult::Undefined,
    }
    .encode();
    let (_, v) = step(&sm, &session, 1, &failed);
    assert_eq!(kind(&v), "session_unknown", "expired: {v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"));

    let sm = server(SessionLimits {
        ttl: Duration::from_secs(600),
        max_sessions: 2,
    });
    let (a, _) = start_sync(&sm);
    start_sync(&sm);
    let eid = derive_eid(Some(12), 5).to_string();
    let body = format!(r#"{{"order":{{"flow":"sync"}},"eid":"{eid}"}}"#);
    let (st, v) = call(&sm, "startFlow", body.as_bytes());
    assert_eq!((st, kind(&v)), (503, "sm_busy"), "{v}");
    // A finished flow makes room.
    step(&sm, &a, 1, &failed);
    let (st, _) = call(&sm, "startFlow", body.as_bytes());
    assert_eq!(st, 200);
    assert_eq!(sm.sessions(), 2);
}

#[test]
fn the_report_reads_back_with_the_same_fields() {
    let mut r = FlowReport::new(Flow::DeviceChange, &derive_eid(Some(12), 1));
    r.op_id = Some(OP.into());
    r.key_source = Some("identity");
    r.kdf = Some((&KdfParams::TEST).into());
    let json = serde_json::to_value(&r).unwrap();
    let back: FlowReport = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    let mut bad = json;
    bad["flow"] = "teleport".into();
    assert!(serde_json::from_value::<FlowReport>(bad).is_err());
}
