//! The operator endpoints in process: no token, no endpoint (404); a missing or wrong
//! token is a 401 that does not say which; the right one gets the local commands'
//! reports (the same JSON), an unlock audited with the operator and `remote`; bodies
//! that are not the function's JSON are 400s.

use super::*;
use crate::commands::sm_admin::reports::{Audit, List, Show, Unlocked};
use crate::es9p::Es9Handler;
use crate::sm::credential::SmCredential;
use crate::sm::remote::admin_client::AdminClient;
use crate::sm::remote::client::InProcessSm;
use crate::sm::remote::server::{SessionLimits, SmServer};
use crate::sm::store::bench::{bench_op_id, sample_subscription};
use crate::sm::store::{Actor, Purpose, Store};

fn store_with_a_locked_record() -> Store {
    let store = crate::sm::store::test_store();
    for i in 0..2 {
        store
            .create_subscription(&sample_subscription(i), &Actor::Sm)
            .expect("subscription");
    }
    let op = bench_op_id(1);
    for _ in 0..3 {
        store
            .record_failure(
                &op,
                &Actor::Terminal("35".repeat(7) + "1"),
                Purpose::DeviceChange,
                3,
            )
            .expect("failure");
    }
    store
}

fn server(token: Option<&OperatorToken>) -> SmServer {
    let sm = SmServer::new(
        store_with_a_locked_record(),
        SmCredential::test().expect("credential"),
        SessionLimits::default(),
    )
    .quiet();
    match token {
        Some(t) => sm.with_operator_token(OperatorToken::parse(t.line()).expect("token")),
        None => sm,
    }
}

fn bearer(t: &OperatorToken) -> String {
    format!("Bearer {}", t.line())
}

fn call(sm: &SmServer, function: &str, auth: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let r = sm.handle_authorized(function, auth.map(str::as_bytes), body.as_bytes());
    let v = if r.body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&r.body).expect("JSON body")
    };
    (r.http_status, v)
}

fn local<R: serde::Serialize>(
    sm: &SmServer,
    f: impl FnOnce(&Store) -> Result<R, CliError>,
) -> serde_json::Value {
    sm.with_store(|s| serde_json::to_value(f(s).expect("local report")).expect("JSON"))
}

#[test]
fn without_a_token_the_admin_endpoints_do_not_exist() {
    let sm = server(None);
    for f in FUNCTIONS {
        assert!(!sm.serves(f), "{f}");
        assert_eq!(call(&sm, f, Some("Bearer x"), "{}").0, 404, "{f}");
        assert_eq!(sm.handle(f, b"{}").http_status, 404, "{f}");
    }
    // The flows are still there.
    assert!(sm.serves("startFlow"));
}

#[test]
fn a_missing_or_wrong_token_is_a_401_that_does_not_say_which() {
    let token = OperatorToken::generate().expect("rng");
    let other = OperatorToken::generate().expect("rng");
    let sm = server(Some(&token));
    let wrong = bearer(&other);
    let almost = format!("Bearer {}", &token.line()[..62]);
    let no_scheme = token.line().to_string();
    let mut bodies = Vec::new();
    for f in FUNCTIONS {
        assert!(sm.serves(f));
        for auth in [
            None,
            Some(wrong.as_str()),
            Some(almost.as_str()),
            Some(no_scheme.as_str()),
        ] {
            let (status, v) = call(
                &sm,
                f,
                auth,
                r#"{"op_id":"+9900000000000001","operator":"x"}"#,
            );
            assert_eq!(status, 401, "{f} {auth:?}");
            assert_eq!(v["error"]["kind"], TOKEN_REFUSED);
            assert_eq!(v["error"]["exit_code"], Exit::OperatorToken.code());
            assert!(!v.to_string().contains(token.line()));
            bodies.push(v);
        }
        // Without a credential at all (the plain handler): refused too.
        assert_eq!(sm.handle(f, b"{}").http_status, 401);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one body for every refusal"
    );
    // Nothing was unlocked by a refused request.
    assert!(sm.with_store(|s| s.get(&bench_op_id(1)).expect("get").expect("there").locked));
}

#[test]
fn the_right_token_gets_the_local_reports() {
    let token = OperatorToken::generate().expect("rng");
    let sm = server(Some(&token));
    let auth = bearer(&token);
    let op = bench_op_id(1);
    let (status, v) = call(&sm, "admin/list", Some(&auth), "{}");
    assert_eq!(status, 200);
    assert_eq!(v, local(&sm, crate::commands::sm_admin::reports::list));
    assert_eq!(v["subscriptions"].as_array().map(Vec::len), Some(2));
    let body = format!(r#"{{"op_id":"{op}"}}"#);
    let (status, v) = call(&sm, "admin/show", Some(&auth), &body);
    assert_eq!(status, 200);
    assert_eq!(
        v,
        local(&sm, |s| crate::commands::sm_admin::reports::show(s, &op))
    );
    assert_eq!(v["locked"], true);
    let (status, v) = call(&sm, "admin/audit", Some(&auth), &body);
    assert_eq!(status, 200);
    assert_eq!(
        v,
        local(&sm, |s| crate::commands::sm_admin::reports::audit(s, &op))
    );
    // An unknown OP ID: the local command's refusal (exit 30), as a 200 refusal.
    let (status, v) = call(
        &sm,
        "admin/show",
        Some(&auth),
        r#"{"op_id":"+9900000000009999"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(v["error"]["kind"], "unknown_op_id");
    assert_eq!(v["error"]["exit_code"], 30);
}

#[test]
fn a_remote_unlock_is_audited_with_the_operator_and_remote() {
    let token = OperatorToken::generate().expect("rng");
    let sm = server(Some(&token));
    let op = bench_op_id(1);
    let client = AdminClient::new(
        InProcessSm(&sm),
        OperatorToken::parse(token.line()).expect("t"),
        "test",
    );
    let before: Show = client
        .call("show", &OpIdRequest { op_id: op.clone() })
        .expect("show");
    let before = serde_json::to_value(before).expect("JSON");
    assert_eq!(
        before,
        local(&sm, |s| crate::commands::sm_admin::reports::show(s, &op))
    );
    let unlocked: Unlocked = client
        .call(
            "unlock",
            &UnlockRequest {
                op_id: op.clone(),
                operator: "alice".into(),
            },
        )
        .expect("unlock");
    let u = serde_json::to_value(&unlocked).expect("JSON");
    assert_eq!(u["operator"], "operator:alice");
    assert_eq!(u["failures_cleared"], 3);
    let audit: Audit = client
        .call("audit", &OpIdRequest { op_id: op.clone() })
        .expect("audit");
    let a = serde_json::to_value(&audit).expect("JSON");
    assert_eq!(
        a,
        local(&sm, |s| crate::commands::sm_admin::reports::audit(s, &op))
    );
    let last = a["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["action"] == "unlock"))
        .expect("an unlock entry");
    assert_eq!(last["actor"], "operator:alice");
    assert!(
        last["details"]
            .as_str()
            .is_some_and(|d| d.ends_with("(remote)")),
        "{last}"
    );
    // Again: not locked, the local command's usage refusal (exit 2).
    let e = client
        .call::<_, Unlocked>(
            "unlock",
            &UnlockRequest {
                op_id: op.clone(),
                operator: "alice".into(),
            },
        )
        .expect_err("not locked");
    assert_eq!((e.exit_code(), e.kind()), (2, "usage"));
    assert!(e.to_string().contains("is not locked"), "{e}");
    let list: List = client.call("list", &ListRequest {}).expect("list");
    assert_eq!(
        serde_json::to_value(list).expect("JSON"),
        local(&sm, crate::commands::sm_admin::reports::list)
    );
    // A wrong token at the client: its own exit code and sentence.
    let wrong = AdminClient::new(
        InProcessSm(&sm),
        OperatorToken::generate().expect("rng"),
        "test",
    );
    let e = wrong
        .call::<_, List>("list", &ListRequest {})
        .expect_err("refused");
    assert_eq!(e.exit_code(), Exit::OperatorToken.code());
    assert!(e.to_string().contains("refused the operator token"), "{e}");
    // A server without a token: 404, said so.
    let closed = server(None);
    let c = AdminClient::new(
        InProcessSm(&closed),
        OperatorToken::generate().expect("rng"),
        "test",
    );
    let e = c.call::<_, List>("list", &ListRequest {}).expect_err("404");
    assert!(e.to_string().contains("--operator-token-file"), "{e}");
}

#[test]
fn malformed_and_oversized_bodies_are_refused() {
    let token = OperatorToken::generate().expect("rng");
    let sm = server(Some(&token));
    let auth = bearer(&token);
    let big = format!(r#"{{"op_id":"{}"}}"#, "1".repeat(MAX_ADMIN_BODY));
    let cases: [(&str, &str, u16); 9] = [
        ("admin/list", "", 400),
        ("admin/list", "[]", 400),
        ("admin/list", r#"{"x":1}"#, 400),
        ("admin/show", "{}", 400),
        ("admin/show", r#"{"op_id":1}"#, 400),
        ("admin/audit", "\u{0}\u{1}", 400),
        ("admin/unlock", r#"{"op_id":"+9900000000000001"}"#, 400),
        (
            "admin/unlock",
            r#"{"op_id":"+9900000000000001","operator":"a","x":2}"#,
            400,
        ),
        ("admin/show", &big, 413),
    ];
    for (f, body, want) in cases {
        let (status, v) = call(&sm, f, Some(&auth), body);
        assert_eq!(status, want, "{f} {body:.40}");
        assert_eq!(v["error"]["kind"], BAD_REQUEST, "{f}");
        assert_eq!(v["error"]["exit_code"], 2);
    }
    assert!(sm.with_store(|s| s.get(&bench_op_id(1)).expect("get").expect("there").locked));
}
