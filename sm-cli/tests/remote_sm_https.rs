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
use sm_cli::sm::remote::server::{SessionLimits, SmServer};
use sm_cli::sm::remote::with_sm::WithSm;
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

/// The operator endpoints over HTTPS, with the sm-cli binary on both sides of the
/// comparison: `sm show|audit|list --json` against the store file and `--sm URL
/// --operator-token-file F sm ...` against the server on that same file print the same.
mod operator {
    use super::NoSmdp;
    use sm_cli::es9p::server::{RunningServer, ServerConfig, TlsIdentity};
    use sm_cli::sm::credential::SmCredential;
    use sm_cli::sm::remote::server::{SessionLimits, SmServer};
    use sm_cli::sm::remote::token::OperatorToken;
    use sm_cli::sm::remote::with_sm::WithSm;
    use sm_cli::sm::store::bench::{bench_op_id, sample_subscription};
    use sm_cli::sm::store::{Actor, Purpose, Store};
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::sync::Arc;

    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn dir(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("sm-admin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        Dir(d)
    }

    /// A store file with two records, the second locked.
    fn store_file(dir: &Path) -> PathBuf {
        let path = dir.join("sm.sqlite3");
        let store = Store::open(&path).expect("store");
        for i in 0..2 {
            store
                .create_subscription(&sample_subscription(i), &Actor::Sm)
                .expect("subscription");
        }
        for _ in 0..3 {
            store
                .record_failure(
                    &bench_op_id(1),
                    &Actor::Terminal("356938035643809".into()),
                    Purpose::DeviceChange,
                    3,
                )
                .expect("failure");
        }
        path
    }

    fn start(db: &Path, token: Option<&OperatorToken>) -> RunningServer {
        let mut sm = SmServer::new(
            Store::open(db).expect("store"),
            SmCredential::test().expect("credential"),
            SessionLimits::default(),
        )
        .quiet();
        if let Some(t) = token {
            sm = sm.with_operator_token(OperatorToken::parse(t.line()).expect("token"));
        }
        let mut config = ServerConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            TlsIdentity::test_pki().expect("test DPtls"),
        );
        config.log = false;
        RunningServer::start(config, Arc::new(WithSm { es9: NoSmdp, sm })).expect("server")
    }

    fn sm_cli(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sm-cli"))
            .args(args)
            .env_remove("SM_CLI_SM")
            .env_remove("SM_CLI_DB")
            .env_remove("SM_CLI_OPERATOR_TOKEN_FILE")
            .output()
            .expect("sm-cli runs")
    }

    fn stdout(o: &Output) -> serde_json::Value {
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
    }

    #[test]
    fn the_operator_commands_over_https_print_what_the_local_ones_print() {
        let d = dir("https");
        let db = store_file(&d.0);
        let token = OperatorToken::generate().expect("rng");
        let token_file = d.0.join("operator.token");
        token.write_new(&token_file).expect("token file");
        let server = start(&db, Some(&token));
        let url = format!("https://{}", server.local_addr());
        let db_arg = db.to_str().expect("utf-8 path");
        let tf = token_file.to_str().expect("utf-8 path");
        let op = bench_op_id(1);
        let remote = |args: &[&str]| {
            let mut a = vec!["--sm", url.as_str(), "--operator-token-file", tf];
            a.extend_from_slice(args);
            sm_cli(&a)
        };
        let local = |args: &[&str]| {
            let mut a = vec!["--sm-db", db_arg];
            a.extend_from_slice(args);
            sm_cli(&a)
        };
        for args in [
            vec!["--json", "sm", "list"],
            vec!["--json", "sm", "show", op.as_str()],
            vec!["--json", "sm", "audit", op.as_str()],
            vec!["sm", "show", op.as_str()],
            vec!["sm", "list"],
        ] {
            let (r, l) = (remote(&args), local(&args));
            assert!(
                r.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&r.stderr)
            );
            assert_eq!(r.stdout, l.stdout, "{args:?}");
        }
        // Unknown OP ID: the same exit code and JSON error.
        let args = ["--json", "sm", "show", "+9900000000009999"];
        let (r, l) = (remote(&args), local(&args));
        assert_eq!(r.status.code(), Some(30));
        assert_eq!((r.status.code(), &r.stdout), (l.status.code(), &l.stdout));

        // Unlock over the network: audited on the server with the name and "remote".
        let u = remote(&["--json", "sm", "unlock", op.as_str(), "--operator", "alice"]);
        assert!(u.status.success(), "{}", String::from_utf8_lossy(&u.stderr));
        assert_eq!(stdout(&u)["operator"], "operator:alice");
        let a = stdout(&local(&["--json", "sm", "audit", op.as_str()]));
        let entry = a["entries"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["action"] == "unlock"))
            .expect("unlock audited");
        assert_eq!(entry["actor"], "operator:alice");
        assert!(
            entry["details"]
                .as_str()
                .is_some_and(|d| d.ends_with("(remote)")),
            "{entry}"
        );
        let again = ["sm", "unlock", op.as_str(), "--operator", "alice"];
        assert_eq!(remote(&again).status.code(), Some(2), "not locked any more");

        // A wrong token: exit 17, its sentence; never the token in the output.
        let other = d.0.join("other.token");
        OperatorToken::generate()
            .expect("rng")
            .write_new(&other)
            .expect("other");
        let w = sm_cli(&[
            "--sm",
            &url,
            "--operator-token-file",
            other.to_str().expect("utf-8"),
            "--json",
            "sm",
            "list",
        ]);
        assert_eq!(w.status.code(), Some(17));
        assert_eq!(stdout(&w)["error"]["code"], "operator_token_refused");
        let err = String::from_utf8_lossy(&w.stderr);
        assert!(err.contains("refused the operator token"), "{err}");
        // No token file at all: a usage error before any request.
        let n = sm_cli(&["--sm", &url, "sm", "list"]);
        assert_eq!(n.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&n.stderr).contains("--operator-token-file"));
        drop(server);
        // The SM down: exit 14.
        assert_eq!(remote(&["sm", "list"]).status.code(), Some(14));
    }

    #[test]
    fn without_a_token_there_is_no_admin_endpoint_and_bad_requests_are_4xx() {
        let d = dir("closed");
        let db = store_file(&d.0);
        let token = OperatorToken::generate().expect("rng");
        let closed = start(&db, None);
        let open = start(&db, Some(&token));
        let client = |s: &RunningServer| {
            sm_cli::sm::remote::client::HttpsSm::new(
                &format!("https://{}", s.local_addr()),
                sm_cli::es9p::client::Trust::TestCi,
            )
            .expect("client")
        };
        let right = format!("Bearer {}", token.line());
        let (st, _) = client(&closed)
            .post_admin("list", b"{}", &right)
            .expect("answer");
        assert_eq!(st, 404, "no token configured: no endpoint");
        let c = client(&open);
        assert_eq!(c.post_admin("list", b"{}", &right).expect("answer").0, 200);
        assert_eq!(
            c.post_admin("list", b"{}", "Bearer 00").expect("answer").0,
            401
        );
        assert_eq!(c.post_admin("list", b"{}", "").expect("answer").0, 401);
        assert_eq!(c.post_admin("show", b"{", &right).expect("answer").0, 400);
        let big = vec![b' '; sm_cli::es9p::MAX_REQUEST_BODY + 1];
        assert_eq!(c.post_admin("show", &big, &right).expect("answer").0, 413);
        assert_eq!(
            c.post_admin("listAll", b"{}", &right).expect("answer").0,
            404
        );
        // The server refuses a token file others may read, naming the mode.
        use std::os::unix::fs::PermissionsExt as _;
        let tf = d.0.join("t");
        token.write_new(&tf).expect("write");
        std::fs::set_permissions(&tf, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let s = sm_cli(&[
            "--sm-db",
            db.to_str().expect("utf-8"),
            "smdp",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--operator-token-file",
            tf.to_str().expect("utf-8"),
        ]);
        assert_eq!(s.status.code(), Some(2));
        let err = String::from_utf8_lossy(&s.stderr);
        assert!(err.contains("mode 0644"), "{err}");
        assert!(!err.contains(token.line()), "{err}");
    }
}
