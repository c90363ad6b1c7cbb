//! ES9+ over HTTPS, both ends in one process (issue 11): the real server
//! (`es9p::server`) on 127.0.0.1:0 with a test handler and a CERT.DPtls issued here by
//! `apdu::sgp22::pki::gen` (the SGP.26 shape), the real client (`es9p::client`) or a raw
//! TLS stream for what the client never sends.

use apdu::sgp22::pki::gen::{self, Kind, TestPki};
use apdu::sgp22::pki::Curve;
use apdu::Eid;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sm_cli::es9p::client::{ClientOptions, HttpsTransport, SmdpAddress, Trust};
use sm_cli::es9p::server::{
    valid_admin_protocol, Limits, RunningServer, ServerConfig, TlsIdentity,
};
use sm_cli::es9p::{Es9Handler, Es9Reply, Es9Transport, TransportError, MAX_REQUEST_BODY};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const HOST: &str = "testsmdpplus1.example.com";

fn pki(seed: u64) -> TestPki {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    gen::test_pki(Curve::NistP256, Eid::test_eid(seed), HOST, &mut rng).expect("test PKI")
}

fn identity(p: &TestPki) -> TlsIdentity {
    let key = p.dp_tls.key.to_sec1_pem().expect("key PEM");
    TlsIdentity::from_der_and_pem_key(vec![p.dp_tls.cert.der().to_vec()], &key).expect("identity")
}

fn ci_pem(p: &TestPki) -> Vec<u8> {
    p.ci.cert.to_pem().expect("CI PEM").into_bytes()
}

/// Answers 200 with `{"function":..,"len":..}`, 204 for handleNotification; waits
/// `delay` first (telling `started` when it begins), and records how many run at once.
#[derive(Default)]
struct TestHandler {
    delay: Duration,
    started: Mutex<Option<mpsc::Sender<()>>>,
    running: AtomicUsize,
    peak: AtomicUsize,
    calls: AtomicUsize,
    /// Answer this many bytes instead (for the client's response cap).
    big_answer: usize,
}

impl Es9Handler for TestHandler {
    fn handle(&self, function: &str, body: &[u8]) -> Es9Reply {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = self.started.lock().unwrap().as_ref() {
            let _ = tx.send(());
        }
        std::thread::sleep(self.delay);
        self.running.fetch_sub(1, Ordering::SeqCst);
        if function == "cancelSession" && body == b"panic" {
            panic!("test handler asked to panic");
        }
        if function == "cancelSession" && body == b"text400" {
            return Es9Reply {
                http_status: 400,
                body: b"not a cancelSession request".to_vec(),
            };
        }
        if self.big_answer > 0 {
            return Es9Reply {
                http_status: 200,
                body: vec![b' '; self.big_answer],
            };
        }
        if function == "handleNotification" {
            return Es9Reply {
                http_status: 204,
                body: Vec::new(),
            };
        }
        Es9Reply {
            http_status: 200,
            body: format!("{{\"function\":\"{function}\",\"len\":{}}}", body.len()).into_bytes(),
        }
    }
}

fn quick_limits() -> Limits {
    Limits {
        max_connections: 256,
        handshake_timeout: Duration::from_millis(400),
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(400),
        drain_timeout: Duration::from_secs(10),
    }
}

fn start(p: &TestPki, handler: Arc<TestHandler>, limits: Limits) -> RunningServer {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), identity(p));
    config.limits = limits;
    RunningServer::start(config, handler).expect("server starts")
}

fn client(p: &TestPki, addr: SocketAddr) -> HttpsTransport {
    client_as(HOST, Trust::CaPem(ci_pem(p)), addr)
}

fn client_as(host: &str, trust: Trust, addr: SocketAddr) -> HttpsTransport {
    let mut o = ClientOptions::new(trust);
    o.connect_to = Some(addr);
    o.connect_timeout = Duration::from_secs(5);
    o.call_timeout = Duration::from_secs(20);
    HttpsTransport::with_options(&format!("{host}:{}", addr.port()), o).expect("transport")
}

/// A TLS stream to the server, trusting the PKI's CI, for requests the client never sends.
fn raw_tls(
    p: &TestPki,
    addr: SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(p.ci.cert.der().to_vec().into())
        .expect("CI as root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(HOST).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// Sends `request` on a new TLS connection and reads the whole answer (the request asks
/// for `Connection: close`, or the server closes).
fn raw_exchange(p: &TestPki, addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = raw_tls(p, addr);
    s.write_all(request).unwrap();
    s.flush().unwrap();
    let mut answer = Vec::new();
    // A close without close_notify is an error in rustls; what arrived before counts.
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn request(method: &str, path: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    r.into_bytes()
}

const INIT: &str = "/gsma/rsp2/es9plus/initiateAuthentication";
const ADMIN: &str = "X-Admin-Protocol: gsma/rsp/v2.2.0";
const JSON: &str = "Content-Type: application/json";

#[test]
fn a_call_succeeds_and_204_has_no_body() {
    let p = pki(1);
    let handler = Arc::new(TestHandler::default());
    let server = start(&p, handler.clone(), quick_limits());
    let mut t = client(&p, server.local_addr());
    let answer = t
        .call("initiateAuthentication", b"{\"x\":1}")
        .expect("call");
    assert_eq!(
        answer,
        b"{\"function\":\"initiateAuthentication\",\"len\":7}"
    );
    // The same transport again (a kept-alive connection), and 204.
    assert_eq!(t.call("handleNotification", b"{}").expect("204"), b"");
    assert_eq!(handler.calls.load(Ordering::SeqCst), 2);
    let served = server.shutdown().expect("served");
    assert_eq!(served.requests, 2);
    assert!(served.drained);
}

#[test]
fn the_admin_protocol_header_is_required_and_echoed() {
    let p = pki(1);
    let server = start(&p, Arc::new(TestHandler::default()), quick_limits());
    let addr = server.local_addr();
    let (status, text) = raw_exchange(&p, addr, &request("POST", INIT, &[JSON], "{}"));
    assert_eq!(status, 400, "{text}");
    let (status, _) = raw_exchange(
        &p,
        addr,
        &request(
            "POST",
            INIT,
            &[JSON, "X-Admin-Protocol: gsma/rsp/v3.0.0"],
            "{}",
        ),
    );
    assert_eq!(status, 400, "only v2.x.y");
    let (status, text) = raw_exchange(
        &p,
        addr,
        &request(
            "POST",
            INIT,
            &[
                "Content-Type: application/json;charset=UTF-8",
                "X-Admin-Protocol: gsma/rsp/v2.1.0",
            ],
            "{}",
        ),
    );
    assert_eq!(status, 200, "{text}");
    let lower = text.to_ascii_lowercase();
    assert!(
        lower.contains("x-admin-protocol: gsma/rsp/v2.1.0\r\n"),
        "{text}"
    );
    assert!(
        lower.contains("content-type: application/json;charset=utf-8\r\n"),
        "{text}"
    );
    // A handler's 400 with a line of text is labelled as text.
    let (status, text) = raw_exchange(
        &p,
        addr,
        &request(
            "POST",
            "/gsma/rsp2/es9plus/cancelSession",
            &[ADMIN, JSON],
            "text400",
        ),
    );
    assert_eq!(status, 400, "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: text/plain; charset=utf-8\r\n"),
        "{text}"
    );
}

#[test]
fn path_method_and_content_type_are_checked() {
    let p = pki(1);
    let handler = Arc::new(TestHandler::default());
    let server = start(&p, handler.clone(), quick_limits());
    let addr = server.local_addr();
    // Unknown function, through the client and raw.
    let mut t = client(&p, addr);
    match t.call("deleteEverything", b"{}") {
        Err(TransportError::Http { status: 404, .. }) => {}
        other => panic!("expected 404, got {other:?}"),
    }
    for path in [
        "/gsma/rsp2/es9plus/",
        "/gsma/rsp2/es9plus/initiateAuthentication/x",
        "/",
        "/gsma/rsp2/es11/initiateAuthentication",
    ] {
        let (status, _) = raw_exchange(&p, addr, &request("POST", path, &[ADMIN, JSON], "{}"));
        assert_eq!(status, 404, "{path}");
    }
    let (status, text) = raw_exchange(&p, addr, &request("GET", INIT, &[ADMIN, JSON], ""));
    assert_eq!(status, 405, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("allow: post\r\n"),
        "{text}"
    );
    let (status, _) = raw_exchange(
        &p,
        addr,
        &request("POST", INIT, &[ADMIN, "Content-Type: text/plain"], "{}"),
    );
    assert_eq!(status, 415);
    let (status, _) = raw_exchange(&p, addr, &request("POST", INIT, &[ADMIN], "{}"));
    assert_eq!(status, 415, "no Content-Type");
    assert_eq!(
        handler.calls.load(Ordering::SeqCst),
        0,
        "nothing reached the handler"
    );
}

#[test]
fn oversized_bodies_get_413() {
    let p = pki(1);
    let handler = Arc::new(TestHandler::default());
    let server = start(&p, handler.clone(), quick_limits());
    let addr = server.local_addr();
    let mut t = client(&p, addr);
    // At the limit: accepted.
    let at = vec![b' '; MAX_REQUEST_BODY];
    t.call("authenticateClient", &at).expect("at the limit");
    // One over, declared in Content-Length: refused before the body is read.
    let over = vec![b' '; MAX_REQUEST_BODY + 1];
    match t.call("authenticateClient", &over) {
        Err(TransportError::Http { status: 413, .. }) => {}
        other => panic!("expected 413, got {other:?}"),
    }
    // A declared length far over the cap and no body: 413 at once, not after waiting
    // for a body that never comes (that would be the body timeout's 408).
    let (status, text) = raw_exchange(
        &p,
        addr,
        format!("POST {INIT} HTTP/1.1\r\nHost: {HOST}\r\n{ADMIN}\r\n{JSON}\r\nContent-Length: 10000000\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 413, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close\r\n"),
        "{text}"
    );
    // Chunked, no length: cut off at the limit.
    let mut s = raw_tls(&p, addr);
    let head = format!(
        "POST {INIT} HTTP/1.1\r\nHost: {HOST}\r\n{ADMIN}\r\n{JSON}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 16 * 1024];
    for _ in 0..5 {
        let _ = s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes());
        let _ = s.write_all(&chunk);
        let _ = s.write_all(b"\r\n");
    }
    let _ = s.flush();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert_eq!(
        handler.calls.load(Ordering::SeqCst),
        1,
        "only the call at the limit"
    );
}

#[test]
fn the_client_caps_the_answer() {
    let p = pki(1);
    let handler = Arc::new(TestHandler {
        big_answer: sm_cli::es9p::MAX_RESPONSE_BODY + 1,
        ..TestHandler::default()
    });
    let server = start(&p, handler, quick_limits());
    let mut t = client(&p, server.local_addr());
    match t.call("getBoundProfilePackage", b"{}") {
        Err(TransportError::BadAnswer { reason, .. }) => {
            assert!(reason.contains("larger"), "{reason}")
        }
        other => panic!("expected BadAnswer, got {other:?}"),
    }
}

#[test]
fn a_wrong_ca_or_name_is_refused() {
    let p = pki(1);
    let other = pki(2);
    let handler = Arc::new(TestHandler::default());
    let server = start(&p, handler.clone(), quick_limits());
    let addr = server.local_addr();
    let mut t = client_as(HOST, Trust::CaPem(ci_pem(&other)), addr);
    match t.call("initiateAuthentication", b"{}") {
        Err(TransportError::Unreachable { address, reason }) => {
            assert_eq!(address, format!("{HOST}:{}", addr.port()));
            // Both test CIs are named "Test CI" (SGP.26's name), so webpki finds the
            // issuer by name and then the signature does not verify.
            assert!(reason.contains("certificate refused"), "{reason}");
            assert!(reason.contains("BadSignature"), "{reason}");
        }
        other => panic!("expected a refused certificate, got {other:?}"),
    }
    // The right CI, a name the certificate does not carry.
    let mut t = client_as("other.example.com", Trust::CaPem(ci_pem(&p)), addr);
    match t.call("initiateAuthentication", b"{}") {
        Err(TransportError::Unreachable { reason, .. }) => {
            assert!(reason.contains("NotValidForName"), "{reason}")
        }
        other => panic!("expected a refused name, got {other:?}"),
    }
    // Nor do the system's roots (rustls-platform-verifier).
    let mut t = client_as(HOST, Trust::SystemRoots, addr);
    match t.call("initiateAuthentication", b"{}") {
        Err(TransportError::Unreachable { reason, .. }) => {
            // "certificate refused: UnknownIssuer"; a machine without a system store
            // fails earlier, in TLS.
            assert!(reason.contains("TLS"), "{reason}")
        }
        other => panic!("expected a refused certificate, got {other:?}"),
    }
    // The project's test CI did not issue this PKI's DPtls either.
    let mut t = client_as(HOST, Trust::TestCi, addr);
    assert!(matches!(
        t.call("initiateAuthentication", b"{}"),
        Err(TransportError::Unreachable { .. })
    ));
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_dptls_under_an_intermediate_with_critical_policies_is_refused_by_webpki() {
    // SGP.22 v3-style: CERT.DPtls under a SubCA whose certificatePolicies is critical
    // (here the EUM kind, which is made that way). webpki refuses such an intermediate:
    // this test records the limit stated in es9p/client.rs.
    let p = pki(1);
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let sub = gen::make(&Kind::Eum, Curve::NistP256, Some(&p.ci), 77, &mut rng).unwrap();
    let tls = gen::make(
        &Kind::DpTls { host: HOST.into() },
        Curve::NistP256,
        Some(&sub),
        78,
        &mut rng,
    )
    .unwrap();
    let id = TlsIdentity::from_der_and_pem_key(
        vec![tls.cert.der().to_vec(), sub.cert.der().to_vec()],
        &tls.key.to_sec1_pem().unwrap(),
    )
    .unwrap();
    let server = RunningServer::start(
        ServerConfig::new("127.0.0.1:0".parse().unwrap(), id),
        Arc::new(TestHandler::default()),
    )
    .unwrap();
    let mut t = client(&p, server.local_addr());
    match t.call("initiateAuthentication", b"{}") {
        Err(TransportError::Unreachable { reason, .. }) => {
            assert!(reason.contains("UnsupportedCriticalExtension"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn nothing_listening_is_refused() {
    let p = pki(1);
    // Bind and drop to find a port nobody listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut t = client(&p, addr);
    match t.call("initiateAuthentication", b"{}") {
        Err(TransportError::Unreachable { reason, .. }) => {
            assert!(reason.contains("refused"), "{reason}")
        }
        other => panic!("expected refused, got {other:?}"),
    }
}

/// Reads until the server closes the connection; how long that took.
fn time_to_close(s: &mut impl Read) -> Duration {
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return t.elapsed(),
            Ok(_) => {}
        }
    }
}

#[test]
fn slow_clients_are_cut_off() {
    let p = pki(1);
    let handler = Arc::new(TestHandler::default());
    let server = start(&p, handler.clone(), quick_limits());
    let addr = server.local_addr();
    let bound = Duration::from_secs(5);
    // 1. TCP only, no TLS handshake.
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let waited = time_to_close(&mut tcp);
    assert!(
        waited >= Duration::from_millis(300) && waited < bound,
        "handshake: {waited:?}"
    );
    // 2. Half a request head.
    let mut s = raw_tls(&p, addr);
    s.write_all(format!("POST {INIT} HTTP/1.1\r\nHost: {HOST}\r\n").as_bytes())
        .unwrap();
    s.flush().unwrap();
    let waited = time_to_close(&mut s);
    assert!(
        waited >= Duration::from_millis(300) && waited < bound,
        "head: {waited:?}"
    );
    // 3. A whole head, then 10 of 100 body bytes: 408.
    let mut s = raw_tls(&p, addr);
    s.write_all(format!("POST {INIT} HTTP/1.1\r\nHost: {HOST}\r\n{ADMIN}\r\n{JSON}\r\nContent-Length: 100\r\n\r\n0123456789").as_bytes()).unwrap();
    s.flush().unwrap();
    let t = Instant::now();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let waited = t.elapsed();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"),
        "{answer:?}"
    );
    assert!(
        waited >= Duration::from_millis(300) && waited < bound,
        "body: {waited:?}"
    );
    // 4. A kept-alive connection left idle after a request.
    let mut s = raw_tls(&p, addr);
    s.write_all(format!("POST {INIT} HTTP/1.1\r\nHost: {HOST}\r\n{ADMIN}\r\n{JSON}\r\nContent-Length: 2\r\n\r\n{{}}").as_bytes()).unwrap();
    s.flush().unwrap();
    let mut first = [0u8; 12];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let waited = time_to_close(&mut s);
    assert!(waited < bound, "idle: {waited:?}");
    assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
    // The server still serves.
    client(&p, addr)
        .call("cancelSession", b"{}")
        .expect("still serving");
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    let p = pki(1);
    let (tx, started) = mpsc::channel();
    let handler = Arc::new(TestHandler {
        delay: Duration::from_millis(700),
        started: Mutex::new(Some(tx)),
        ..TestHandler::default()
    });
    let server = start(&p, handler.clone(), quick_limits());
    let addr = server.local_addr();
    let p2 = p.clone();
    let call = std::thread::spawn(move || client(&p2, addr).call("getBoundProfilePackage", b"{}"));
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the call reached the handler");
    let t = Instant::now();
    let served = server.shutdown().expect("served");
    assert!(served.drained, "drained in time");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "shutdown waited for the call"
    );
    let answer = call
        .join()
        .unwrap()
        .expect("the call in flight was answered");
    assert!(answer.starts_with(b"{\"function\":\"getBoundProfilePackage\""));
    // Nothing listens any more.
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn sixty_four_concurrent_calls() {
    let p = pki(1);
    let handler = Arc::new(TestHandler {
        delay: Duration::from_millis(20),
        ..TestHandler::default()
    });
    let server = start(&p, handler.clone(), Limits::default());
    let addr = server.local_addr();
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut t = client(&p, addr);
                let body = format!("{{\"i\":{i}}}");
                t.call("authenticateClient", body.as_bytes())
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap().expect("every call succeeds");
    }
    assert_eq!(handler.calls.load(Ordering::SeqCst), 64);
    assert!(
        handler.peak.load(Ordering::SeqCst) > 1,
        "calls ran concurrently"
    );
}

#[test]
fn the_connection_limit_holds_and_the_rest_wait() {
    let p = pki(1);
    let handler = Arc::new(TestHandler {
        delay: Duration::from_millis(100),
        ..TestHandler::default()
    });
    let limits = Limits {
        max_connections: 3,
        handshake_timeout: Duration::from_secs(10),
        ..quick_limits()
    };
    let server = start(&p, handler.clone(), limits);
    let addr = server.local_addr();
    let threads: Vec<_> = (0..12)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || client(&p, addr).call("initiateAuthentication", b"{}"))
        })
        .collect();
    for th in threads {
        th.join().unwrap().expect("queued calls succeed");
    }
    let peak = handler.peak.load(Ordering::SeqCst);
    assert!((1..=3).contains(&peak), "peak {peak}");
}

#[test]
fn a_panicking_handler_fails_one_request_only() {
    let p = pki(1);
    let server = start(&p, Arc::new(TestHandler::default()), quick_limits());
    let mut t = client(&p, server.local_addr());
    match t.call("cancelSession", b"panic") {
        Err(TransportError::Http { status: 500, .. }) => {}
        other => panic!("expected 500, got {other:?}"),
    }
    t.call("cancelSession", b"{}").expect("the server goes on");
}

#[test]
fn a_mismatched_key_is_refused_at_start() {
    let p = pki(1);
    let other = pki(2);
    let key = other.dp_tls.key.to_sec1_pem().unwrap();
    let err = TlsIdentity::from_der_and_pem_key(vec![p.dp_tls.cert.der().to_vec()], &key)
        .expect_err("a key of another certificate");
    assert!(err.to_string().contains("does not fit"), "{err}");
}

#[test]
fn a_pki_folder_and_pem_files_load() {
    let p = pki(1);
    let dir = std::env::temp_dir().join(format!("es9p-pki-{}", std::process::id()));
    let tls = dir.join("DPtls");
    std::fs::create_dir_all(&tls).unwrap();
    let missing = TlsIdentity::from_pki_dir(&dir).expect_err("empty folder");
    assert!(
        missing.to_string().contains("CERT_S_SM_DP_TLS_NIST"),
        "{missing}"
    );
    std::fs::write(tls.join("CERT_S_SM_DP_TLS_NIST.der"), p.dp_tls.cert.der()).unwrap();
    std::fs::write(
        tls.join("SK_S_SM_DP_TLS_NIST.pem"),
        p.dp_tls.key.to_sec1_pem().unwrap().as_bytes(),
    )
    .unwrap();
    let id = TlsIdentity::from_pki_dir(&dir).expect("DER certificate + SEC1 key");
    assert_eq!(id.leaf_der(), p.dp_tls.cert.der());
    // A PEM certificate file with its chain.
    let chain = format!(
        "{}{}",
        p.dp_tls.cert.to_pem().unwrap(),
        p.ci.cert.to_pem().unwrap()
    );
    std::fs::write(tls.join("CERT_S_SM_DP_TLS_NIST.pem"), chain).unwrap();
    let id = TlsIdentity::from_pki_dir(&dir).expect("PEM chain");
    assert!(id.cert_source().ends_with("CERT_S_SM_DP_TLS_NIST.pem"));
    // And it serves.
    let server = RunningServer::start(
        ServerConfig::new("127.0.0.1:0".parse().unwrap(), id),
        Arc::new(TestHandler::default()),
    )
    .unwrap();
    client(&p, server.local_addr())
        .call("initiateAuthentication", b"{}")
        .expect("served");
    std::fs::write(tls.join("CERT_S_SM_DP_TLS_NIST.pem"), "not a certificate").unwrap();
    assert!(TlsIdentity::from_pki_dir(&dir).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_protocol_values() {
    for ok in ["gsma/rsp/v2.2.0", "gsma/rsp/v2.1.0", "gsma/rsp/v2.5.12"] {
        assert!(valid_admin_protocol(ok.as_bytes()), "{ok}");
    }
    for bad in [
        "",
        "gsma/rsp/v2",
        "gsma/rsp/v2.2",
        "gsma/rsp/v3.0.0",
        "gsma/rsp/v2.2.0.1",
        "gsma/rsp/v2.x.0",
        "GSMA/rsp/v2.2.0",
        "gsma/rsp/v2.2.0 ",
    ] {
        assert!(!valid_admin_protocol(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn smdp_addresses() {
    let a = |s: &str| SmdpAddress::parse(s);
    assert_eq!(
        a("smdp.example.com").unwrap(),
        SmdpAddress {
            host: "smdp.example.com".into(),
            port: 443
        }
    );
    assert_eq!(a("smdp.example.com:8443").unwrap().port, 8443);
    assert_eq!(a("127.0.0.1:8443").unwrap().host, "127.0.0.1");
    assert_eq!(
        a("[::1]:8443").unwrap(),
        SmdpAddress {
            host: "[::1]".into(),
            port: 8443
        }
    );
    assert_eq!(a("[::1]").unwrap().port, 443);
    for bad in [
        "",
        "https://smdp.example.com",
        "smdp.example.com/x",
        "a:0",
        "a:99999",
        "a:",
        "[::1",
        "[zz]:1",
        "user@host",
        "-a.com",
        "a..b",
        "a b",
    ] {
        assert!(a(bad).is_err(), "{bad}");
    }
    // A bad address is refused when the transport is made, naming it.
    match HttpsTransport::new("https://x", Trust::TestCi) {
        Err(TransportError::Unreachable { address, .. }) => assert_eq!(address, "https://x"),
        other => panic!("{other:?}"),
    }
    // So is an unusable CA file.
    match HttpsTransport::new("x.example.com", Trust::CaPem(b"nothing".to_vec())) {
        Err(TransportError::Unreachable { reason, .. }) => {
            assert!(reason.contains("CERTIFICATE"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_shipped_test_pki_serves_and_the_test_ci_trusts_it() {
    // card-sim/test-pki's CERT.DPtls (SGP.26 shape: critical keyUsage and
    // extendedKeyUsage, non-critical certificatePolicies) under the test CI, whose
    // certificatePolicies is critical: webpki takes both as they are.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../card-sim/test-pki");
    for id in [
        TlsIdentity::from_pki_dir(&dir).expect("PKI folder"),
        TlsIdentity::test_pki().expect("embedded"),
    ] {
        let handler = Arc::new(TestHandler::default());
        let server = RunningServer::start(
            ServerConfig::new("127.0.0.1:0".parse().unwrap(), id),
            handler,
        )
        .unwrap();
        let addr = server.local_addr();
        // By the SM-DP+ name (connected to 127.0.0.1), and by the IP address in its SAN.
        client_as(HOST, Trust::TestCi, addr)
            .call("initiateAuthentication", b"{}")
            .expect("by name");
        let ca_file = Trust::CaFile(dir.join("CertificateIssuer/CERT_CI_ECDSA_NIST.pem"));
        HttpsTransport::new(&format!("127.0.0.1:{}", addr.port()), ca_file)
            .unwrap()
            .call("initiateAuthentication", b"{}")
            .expect("by IP address, CA from the file");
    }
}

#[test]
fn sm_cli_smdp_serve_runs_in_the_foreground_and_exits_0_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let db = std::env::temp_dir().join(format!("es9p-serve-{}.sqlite3", std::process::id()));
    /// Kills the server if the test fails before it is stopped on purpose.
    struct Reap(Option<std::process::Child>);
    impl Drop for Reap {
        fn drop(&mut self) {
            if let Some(mut c) = self.0.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    let mut child = Reap(Some(
        Command::new(env!("CARGO_BIN_EXE_sm-cli"))
            .arg("--sm-db")
            .arg(&db)
            .args(["smdp", "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sm-cli starts"),
    ));
    let stdout = child.0.as_mut().and_then(|c| c.stdout.take()).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .strip_prefix("listening on ")
        .and_then(|l| l.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the listening line: {line:?}"));
    // The real SM-DP+ behind it: an empty request is not initiateAuthentication's JSON.
    let mut t = client_as(HOST, Trust::TestCi, addr);
    match t.call("initiateAuthentication", b"{}") {
        Err(TransportError::Http { status: 400, .. }) => {}
        other => panic!("expected 400 from the SM-DP+, got {other:?}"),
    }
    // SIGTERM: a clean exit 0.
    let server = child.0.take().unwrap();
    let pid = i32::try_from(server.id()).unwrap();
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let out = server.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&db);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(
        stderr.contains(" es9p 127.0.0.1:") && stderr.contains(" initiateAuthentication 400 "),
        "one log line per request: {stderr}"
    );
    assert!(!stderr.contains("{}"), "no body in the log: {stderr}");
}
