//! The remote SM over real HTTPS on loopback (issue 12): `es9p::server` with the SM's
//! handler ([`SmServer`], behind [`WithSm`] as `sm-cli smdp serve` has it) and the test
//! DPtls, the terminal's client ([`RemoteSm`] over [`HttpsSm`], trusting the test CI).
//! The whole flows with a card are in `sm::remote::tests` (in process) and
//! `tests/tests/remote_sm.rs` (through pcscd).

use apdu::devchange::{DcRequest, DcResponse, DcResult, Function};
use sm_cli::es9p::client::Trust;
use sm_cli::es9p::server::{RunningServer, ServerConfig, TlsIdentity};
use sm_cli::es9p::{Es9Handler, Es9Reply, MAX_REQUEST_BODY};
use sm_cli::sm::credential::SmCredential;
use sm_cli::sm::remote::client::{HttpsSm, RemoteSm, SmTransport};
use sm_cli::sm::remote::server::{SessionLimits, SmServer, WithSm};
use sm_cli::sm::remote::SmEndpoint;
use sm_cli::sm::service::Order;
use sm_cli::sm::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

/// Answers every ES9+ function 418: only the SM's functions may reach the SM.
struct NoSmdp;

impl Es9Handler for NoSmdp {
    fn handle(&self, _: &str, _: &[u8]) -> Es9Reply {
        Es9Reply {
            http_status: 418,
            body: Vec::new(),
        }
    }
}

fn start_server() -> RunningServer {
    let sm = SmServer::new(
        Store::open_in_memory().expect("store"),
        SmCredential::test().expect("credential"),
        SessionLimits::default(),
    )
    .quiet();
    let mut config = ServerConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        TlsIdentity::test_pki().expect("test DPtls"),
    );
    config.log = false;
    RunningServer::start(config, Arc::new(WithSm { es9: NoSmdp, sm })).expect("server")
}

fn eid() -> apdu::Eid {
    apdu::Eid::test_eid(3)
}

#[test]
fn a_flow_runs_over_https_and_a_repeated_step_gets_the_kept_reply() {
    let server = start_server();
    let url = format!("https://{}", server.local_addr());
    let sm = RemoteSm::new(HttpsSm::new(&url, Trust::TestCi).unwrap(), url.clone());
    let (mut flow, req) = sm.start(Order::Sync, eid()).unwrap();
    assert!(matches!(req, DcRequest::Identity { .. }), "{req:?}");
    assert_eq!(flow.seq, 0);
    let session = flow.session.clone();

    // The card fails the identity proof: the SM's refusal keeps its kind and code.
    let failed = DcResponse::Failed {
        tag: Function::Identity,
        code: DcResult::Undefined,
    };
    let e = sm.step(&mut flow, failed.clone()).unwrap_err();
    assert_eq!(e.kind(), "card_result", "{e}");
    assert_eq!(e.exit_code(), 59, "{e}");

    // The same seq again over a new connection: the same bytes, nothing re-run.
    let raw = HttpsSm::new(&url, Trust::TestCi).unwrap();
    let body = format!(
        r#"{{"session":"{session}","seq":1,"answer":"{}"}}"#,
        apdu::sgp22::es9p::codec::encode_base64(&failed.encode())
    );
    let a = raw.post("stepFlow", body.as_bytes()).unwrap();
    let b = raw.post("stepFlow", body.as_bytes()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.0, 200);
    assert!(String::from_utf8_lossy(&a.1).contains("card_result"));

    // A refusal leaves the flow at its seq: the endpoint sending it again gets the
    // kept refusal; the step after it is refused: the flow is over (exit 37).
    let e = sm.step(&mut flow, failed.clone()).unwrap_err();
    assert_eq!(e.kind(), "card_result", "{e}");
    flow.seq = 1;
    let e = sm.step(&mut flow, failed).unwrap_err();
    assert_eq!((e.kind(), e.exit_code()), ("session_unknown", 37), "{e}");

    // Malformed and oversized bodies: 4xx with a refusal the client names.
    let (st, body) = raw.post("stepFlow", b"{").unwrap();
    assert_eq!(st, 400);
    assert!(String::from_utf8_lossy(&body).contains("bad_request"));
    let (st, _) = raw
        .post("startFlow", &vec![b' '; MAX_REQUEST_BODY + 1])
        .unwrap();
    assert_eq!(st, 413);
    let (st, _) = raw.post("listFlows", b"{}").unwrap();
    assert_eq!(st, 404);
    drop(server);
}

#[test]
fn a_down_sm_is_exit_14_and_a_bad_url_a_usage_error() {
    let server = start_server();
    let url = format!("https://{}", server.local_addr());
    drop(server);
    let sm = RemoteSm::new(HttpsSm::new(&url, Trust::TestCi).unwrap(), url.clone());
    let e = sm.start(Order::Sync, eid()).unwrap_err();
    assert_eq!((e.exit_code(), e.kind()), (14, "sm_unreachable"), "{e}");
    assert!(e.to_string().contains("cannot reach the SM at"), "{e}");
    for bad in ["http://127.0.0.1:1", "127.0.0.1:1", "https://a b"] {
        let Err(e) = HttpsSm::new(bad, Trust::TestCi) else {
            panic!("{bad} accepted");
        };
        assert_eq!(e.exit_code(), 2, "{bad}: {e}");
    }
}

#[test]
fn a_certificate_of_another_ca_is_refused() {
    let server = start_server();
    let url = format!("https://{}", server.local_addr());
    let other_ca = std::env::temp_dir().join(format!("sm-ca-{}.pem", std::process::id()));
    // A CA that did not issue the test DPtls: the handshake fails, exit 14.
    let p = apdu::sgp22::pki::gen::test_pki(
        apdu::sgp22::pki::Curve::NistP256,
        eid(),
        "localhost",
        &mut <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(9),
    )
    .unwrap();
    std::fs::write(&other_ca, p.ci.cert.to_pem().unwrap()).unwrap();
    let sm = RemoteSm::new(
        HttpsSm::new(&url, Trust::CaFile(other_ca.clone())).unwrap(),
        url,
    );
    let e = sm.start(Order::Sync, eid()).unwrap_err();
    let _ = std::fs::remove_file(&other_ca);
    assert_eq!(e.exit_code(), 14, "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");
}
