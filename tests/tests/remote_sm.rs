//! The device-change story against a remote SM (issue 12, "The SM as a service"), through
//! the real stack: `sm-cli smdp serve` as its own process on loopback with the SM store,
//! and the terminals run `sm-cli --sm https://127.0.0.1:PORT` with a store path that
//! does not exist (a terminal that opened a store would fail). Provision on card A,
//! device change to card B with one wrong parameter (exit 31, attempts left) then the
//! right one, sync on A removes the profile; the same story with `--sm-db` on two other
//! cards gives the same outputs' key fields. Between two flows the server is killed
//! (SIGKILL): the flow tried then fails cleanly (exit 14), and a new server on the same
//! store finishes it when it is retried. The operator then reads the record and its
//! audit log over the network (`--sm URL --operator-token-file F sm show|audit`): the
//! same JSON as `sm show|audit` on the server's store file; a wrong token exits 17.

use system_tests::flows::profiles;
use system_tests::sm::EXIT_WRONG_PARAMETER;
use system_tests::smdp::Server;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run, Sm, Stack};

const OP: &str = "+8613800000012";
const IMEI_A: &str = "490154203237518";
const IMEI_B: &str = "356938035643809";
/// sm-cli's "SM-DP+ or SM unreachable" (sm-cli/README.md, Exit codes).
const EXIT_UNREACHABLE: i32 = 14;

fn holds_op(stack: &Stack, reader: &str) -> bool {
    profiles(stack, reader)
        .iter()
        .any(|p| p.class == "operational" && p.state == "enabled")
}

/// A terminal: `--sm URL` when given, else the store of `sm`.
struct Terminal {
    sm: Sm,
    url: Option<String>,
}

impl Terminal {
    fn run(&self, args: &[&str], param: Option<&str>) -> Run {
        let mut all: Vec<&str> = vec!["--json"];
        if let Some(u) = &self.url {
            all.extend(["--sm", u.as_str()]);
        }
        all.extend(args);
        let stdin = param.map(|p| format!("{p}\n"));
        self.sm.run(&all, stdin.as_deref())
    }

    fn provision(&self, reader: &str) -> Run {
        self.run(
            &[
                "-r",
                reader,
                "provision",
                "--op-id",
                OP,
                "--imei",
                IMEI_A,
                "--param-stdin",
                "--kdf",
                "test",
            ],
            Some("123456"),
        )
    }

    fn device_change(&self, reader: &str, param: &str) -> Run {
        self.run(
            &[
                "-r",
                reader,
                "device-change",
                "--op-id",
                OP,
                "--imei",
                IMEI_B,
                "--param-stdin",
            ],
            Some(param),
        )
    }

    fn sync(&self, reader: &str) -> Run {
        self.run(&["-r", reader, "sync"], None)
    }
}

/// The fields of a flow's `--json` that do not depend on which card ran it.
fn key_fields(v: &serde_json::Value) -> serde_json::Value {
    let mut keys: Vec<&String> = v
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    keys.sort();
    serde_json::json!({
        "keys": keys,
        "flow": v["flow"],
        "op_id": v["op_id"],
        "imei": v["imei"],
        "key_source": v["key_source"],
        "failures_cleared": v["failures_cleared"],
        "kdf": v["kdf"],
        "previous_imei": v["previous_device"]["imei"],
        "removed": v["removed"].as_array().map(|r| r.len()),
        "error": v["error"],
    })
}

/// The story on `a` and `b` with `term`; the key fields of each step's output.
fn story(
    stack: &Stack,
    term: &Terminal,
    a: &str,
    b: &str,
    between: &mut dyn FnMut(&Terminal) -> Terminal,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let r = term.provision(a);
    r.expect_success();
    assert!(holds_op(stack, a), "A has no operational profile");
    out.push(key_fields(&r.json()));

    // The server may be killed here; `between` gives the terminal to go on with.
    let term2 = between(term);
    let term = if term.url.is_some() { &term2 } else { term };

    let r = term.device_change(b, "000000");
    assert_eq!(r.code, Some(EXIT_WRONG_PARAMETER), "{r}");
    let e = r.json();
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 attempt(s) left")),
        "{r}"
    );
    assert!(!holds_op(stack, b));
    out.push(key_fields(&e));

    let r = term.device_change(b, "123456");
    r.expect_success();
    assert!(holds_op(stack, b), "B has no operational profile");
    out.push(key_fields(&r.json()));

    let r = term.sync(a);
    r.expect_success();
    assert!(!holds_op(stack, a), "the sync left the profile on A");
    out.push(key_fields(&r.json()));
    out
}

#[test]
fn the_story_against_a_remote_sm_survives_a_killed_server() {
    let Some(stack) = require_stack("the_story_against_a_remote_sm_survives_a_killed_server")
    else {
        return;
    };
    let lease = Lease::take(&stack, 4, false).unwrap();
    let opts = CardOptions::default();
    let cards: Vec<CardSim> = (0..4)
        .map(|i| {
            CardSim::start_on(
                &stack,
                lease.slots[i],
                &lease.readers[i],
                &format!("rsm-{i}"),
                &opts,
            )
            .unwrap()
        })
        .collect();
    let readers: Vec<String> = cards.iter().map(|c| c.reader.clone()).collect();

    // The remote SM: its store next to card A's state; the terminals' store path does
    // not exist.
    let db = cards[0].dir.join("sm-server.sqlite3");
    let log = cards[0].dir.join("sm-server.log");
    let nowhere = Sm::new(&stack, &cards[0].dir.join("no-such-dir/sm.sqlite3"));
    // The operator token, made by sm-cli (a new file, mode 0600).
    let token = cards[0].dir.join("operator.token");
    let token_arg = token.to_str().expect("utf-8 path").to_string();
    nowhere
        .run(&["smdp", "operator-token", "--out", &token_arg], None)
        .expect_success();
    let with_token = ["--operator-token-file", token_arg.as_str()];
    let server = Server::start_with(&stack, &db, &log, &with_token);
    let remote = Terminal {
        sm: nowhere.clone(),
        url: Some(format!("https://127.0.0.1:{}", server.port)),
    };
    let mut server = Some(server);
    let log2 = cards[0].dir.join("sm-server-2.log");
    let mut kill_and_restart = |t: &Terminal| -> Terminal {
        let s = server.take().expect("the first server");
        let before = s.requests();
        // SIGKILL (Server's drop): no drain, no goodbye.
        drop(s);
        // The flow tried now fails cleanly: the SM is down.
        let r = t.device_change(&readers[1], "000000");
        assert_eq!(r.code, Some(EXIT_UNREACHABLE), "{r}");
        assert_eq!(r.json()["error"]["code"], "sm_unreachable", "{r}");
        assert!(!holds_op(&stack, &readers[1]));
        assert!(
            before
                .iter()
                .any(|(f, st, _)| f == "sm/stepFlow" && *st == 200),
            "{before:?}"
        );
        let s2 = Server::start_with(&stack, &db, &log2, &with_token);
        let t2 = Terminal {
            sm: t.sm.clone(),
            url: Some(format!("https://127.0.0.1:{}", s2.port)),
        };
        server = Some(s2);
        t2
    };
    let remote_out = story(
        &stack,
        &remote,
        &readers[0],
        &readers[1],
        &mut kill_and_restart,
    );

    // The record on the server's store: one failure counted for the one wrong guess
    // that reached an SM, then cleared; bound to B.
    let operator = Sm::new(&stack, &db);
    let rec = operator.run(&["--json", "sm", "show", OP], None);
    let rec = rec.expect_success().json();
    assert_eq!(rec["device"]["imei"], IMEI_B, "{rec}");
    assert_eq!(rec["failures"], 0);
    assert_eq!(rec["total_failures"], 1, "{rec}");
    for l in [&log, &log2] {
        let text = std::fs::read_to_string(l).unwrap_or_default();
        assert!(
            text.lines().all(|l| l.len() < 200),
            "a body in the log? {text}"
        );
        assert!(!text.contains("123456"), "the parameter in the log");
    }

    // The same story with the SM in the terminal (`--sm-db`) on the two other cards.
    let local_db = cards[2].dir.join("sm-local.sqlite3");
    let local_sm = Sm::new(&stack, &local_db);
    let local = Terminal {
        sm: local_sm.clone(),
        url: None,
    };
    let mut nothing = |_: &Terminal| -> Terminal {
        Terminal {
            sm: local_sm.clone(),
            url: None,
        }
    };
    let local_out = story(&stack, &local, &readers[2], &readers[3], &mut nothing);
    assert_eq!(remote_out, local_out);

    // --sm with an explicit --sm-db is a usage error.
    let r = nowhere.run(
        &[
            "--json",
            "--sm",
            remote.url.as_deref().unwrap_or_default(),
            "--sm-db",
            "/tmp/x.sqlite3",
            "-r",
            &readers[0],
            "sync",
        ],
        None,
    );
    assert_eq!(r.code, Some(2), "{r}");

    // The operator over the network: `sm show` and `sm audit` as on the store file.
    let url = format!(
        "https://127.0.0.1:{}",
        server.as_ref().expect("the second server").port
    );
    for cmd in ["show", "audit"] {
        let over = nowhere.run(
            &[
                "--json",
                "--sm",
                &url,
                "--operator-token-file",
                &token_arg,
                "sm",
                cmd,
                OP,
            ],
            None,
        );
        let here = operator.run(&["--json", "sm", cmd, OP], None);
        assert_eq!(
            over.expect_success().json(),
            here.expect_success().json(),
            "sm {cmd}"
        );
    }
    let wrong = cards[1].dir.join("wrong.token");
    let wrong_arg = wrong.to_str().expect("utf-8 path");
    nowhere
        .run(&["smdp", "operator-token", "--out", wrong_arg], None)
        .expect_success();
    let r = nowhere.run(
        &[
            "--json",
            "--sm",
            &url,
            "--operator-token-file",
            wrong_arg,
            "sm",
            "list",
        ],
        None,
    );
    assert_eq!(r.code, Some(17), "{r}");
    let text = std::fs::read_to_string(&log2).unwrap_or_default();
    let secret = std::fs::read_to_string(&token).unwrap_or_default();
    assert!(!text.contains(secret.trim()), "the token in the log");
    assert!(text.contains("operator token refused"), "{text}");
    drop(server);
}
