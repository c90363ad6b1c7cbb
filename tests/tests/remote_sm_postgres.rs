//! Two SM servers on one PostgreSQL store (issue 12, "PostgreSQL" and "Done when"),
//! through the real stack: two `sm-cli smdp serve` processes on loopback, both with
//! `--sm-db postgres://...` on the same fresh schema, and every card's terminal an
//! `sm-cli --sm https://...` process choosing one of the two.
//!
//! With all test slots' cards (16 in CI) at once: half the records move (two wrong
//! parameters, one through each server, then the right one; a sync on the old card);
//! the other half are attacked, every attacker card guessing wrong on every attacked
//! record in parallel through both servers. Then: every moved record is bound to its new
//! card with its failures cleared, every attacked record is locked after exactly 3
//! counted failures (its audit log shows 3 `auth-failure` rows before its one `lock`),
//! and no output of any run mentions "database is locked", a serialization failure or
//! a deadlock. Last, a server is killed (SIGKILL) in the middle of a device change: the
//! flow fails cleanly (exit 14) or completes, and the same command through the other
//! server finishes it; the servers left stop cleanly on SIGTERM (exit 0).
//!
//! Needs VEUICC_TEST_POSTGRES (a database URL; the password in PGPASSWORD), which
//! scripts/test.sh sets after scripts/pg-up.sh; without it the test skips (in CI it
//! fails).

use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use system_tests::pg_schema::Schema;
use system_tests::sm::{EXIT_LOCKED, EXIT_WRONG_PARAMETER};
use system_tests::smdp::Server;
use system_tests::stack::in_ci;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Run, Sm};

const PARAM: &str = "123456";
const WRONG: &str = "000000";
/// sm-cli's "SM-DP+ or SM unreachable" (sm-cli/README.md, Exit codes).
const EXIT_UNREACHABLE: i32 = 14;
/// What must never reach a user: the database's own contention.
const LEAKS: [&str; 5] = [
    "database is locked",
    "could not serialize",
    "serialization",
    "deadlock",
    "SM database error",
];

/// The IMEI of card `k`.
fn imei(k: usize) -> String {
    system_tests::sm::imei_of("35291803", k)
}

/// A terminal run against the SM at `url`.
fn flow(term: &Sm, url: &str, reader: &str, args: &[&str], param: Option<&str>) -> Run {
    let mut all = vec!["--json", "--sm", url, "-r", reader];
    all.extend(args);
    let stdin = param.map(|p| format!("{p}\n"));
    term.run(&all, stdin.as_deref())
}

fn provision(term: &Sm, url: &str, reader: &str, op: &str, imei: &str) -> Run {
    let args = [
        "provision",
        "--op-id",
        op,
        "--imei",
        imei,
        "--param-stdin",
        "--kdf",
        "test",
    ];
    flow(term, url, reader, &args, Some(PARAM))
}

fn device_change(term: &Sm, url: &str, reader: &str, op: &str, imei: &str, p: &str) -> Run {
    let args = [
        "device-change",
        "--op-id",
        op,
        "--imei",
        imei,
        "--param-stdin",
    ];
    flow(term, url, reader, &args, Some(p))
}

fn assert_no_leak(r: &Run) {
    for l in LEAKS {
        assert!(
            !r.stdout.contains(l) && !r.stderr.contains(l),
            "{l:?} reached the user: {r}"
        );
    }
}

fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("VEUICC_TEST_POSTGRES") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ if in_ci() => panic!("{test}: CI is set but VEUICC_TEST_POSTGRES is not"),
        _ => {
            eprintln!("SKIP {test}: VEUICC_TEST_POSTGRES is not set (scripts/pg-up.sh)");
            None
        }
    }
}

#[test]
fn two_servers_on_one_postgres_keep_every_promise() {
    let test = "two_servers_on_one_postgres_keep_every_promise";
    let Some(stack) = require_stack(test) else {
        return;
    };
    let Some(admin) = postgres_url(test) else {
        return;
    };
    let n = stack.test_slots().len().min(16) / 4 * 4;
    assert!(n >= 8, "the test needs 8 free slots, the stack offers {n}");
    eprintln!("{n} cards against two servers on one PostgreSQL");
    let schema = Schema::create(&admin, format!("rsm_pg_{}", std::process::id())).unwrap();
    let db = schema.location();
    let lease = Lease::take(&stack, n, false).unwrap();
    let opts = CardOptions::default();
    let cards: Vec<CardSim> = (0..n)
        .map(|i| CardSim::start_on(&stack, lease.slots[i], &lease.readers[i], "rsmpg", &opts))
        .collect::<Result<_, _>>()
        .unwrap();
    let readers: Vec<String> = cards.iter().map(|c| c.reader.clone()).collect();
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| cards[0].dir.join(format!("sm-server-{i}.log")))
        .collect();
    let mut servers = vec![
        Some(Server::start(&stack, &db, &logs[0])),
        Some(Server::start(&stack, &db, &logs[1])),
    ];
    let urls: Vec<String> = servers
        .iter()
        .flatten()
        .map(|s| format!("https://127.0.0.1:{}", s.port))
        .collect();
    // The terminals' own store path does not exist: they must not open one.
    let term = Sm::new(&stack, &cards[0].dir.join("no-such-dir/sm.sqlite3"));
    let quarter = n / 4;
    let moved = |k: usize| format!("+86138100000{k:02}");
    let attacked = |j: usize| format!("+86138200000{j:02}");
    // Moved record k: old card 2k, new card 2k+1. Attacked record j: held by card
    // n/2 + 2j; card n/2 + 2j + 1 attacks every attacked record.
    let holder = move |j: usize| n / 2 + 2 * j;

    // Provision every record at once, alternating servers.
    let (urls, readers) = (Arc::new(urls), Arc::new(readers));
    let mut jobs = Vec::new();
    for k in 0..quarter {
        for (op, card) in [(moved(k), 2 * k), (attacked(k), holder(k))] {
            let (term, urls, readers) = (term.clone(), urls.clone(), readers.clone());
            jobs.push(thread::spawn(move || {
                provision(&term, &urls[card % 2], &readers[card], &op, &imei(card))
            }));
        }
    }
    for j in jobs {
        let r = j.join().unwrap();
        assert_no_leak(&r);
        r.expect_success();
    }

    // The moves and the attacks, all at once.
    let mut movers = Vec::new();
    for k in 0..quarter {
        let (term, urls, readers) = (term.clone(), urls.clone(), readers.clone());
        let op = moved(k);
        movers.push(thread::spawn(move || {
            let new = 2 * k + 1;
            let mut runs = Vec::new();
            for s in [0, 1] {
                runs.push(device_change(
                    &term,
                    &urls[s],
                    &readers[new],
                    &op,
                    &imei(new),
                    WRONG,
                ));
            }
            runs.push(device_change(
                &term,
                &urls[k % 2],
                &readers[new],
                &op,
                &imei(new),
                PARAM,
            ));
            runs.push(flow(
                &term,
                &urls[(k + 1) % 2],
                &readers[2 * k],
                &["sync"],
                None,
            ));
            runs
        }));
    }
    let mut attackers = Vec::new();
    for a in 0..quarter {
        let (term, urls, readers) = (term.clone(), urls.clone(), readers.clone());
        attackers.push(thread::spawn(move || {
            let card = holder(a) + 1;
            let mut runs = Vec::new();
            for round in 0..2 {
                for t in 0..quarter {
                    let j = (a + t) % quarter;
                    let r = device_change(
                        &term,
                        &urls[(round + t + a) % 2],
                        &readers[card],
                        &attacked(j),
                        &imei(card),
                        WRONG,
                    );
                    runs.push((j, r));
                }
            }
            runs
        }));
    }
    for (k, m) in movers.into_iter().enumerate() {
        let runs = m.join().unwrap();
        for r in &runs {
            assert_no_leak(r);
        }
        assert_eq!(runs[0].code, Some(EXIT_WRONG_PARAMETER), "{}", runs[0]);
        assert_eq!(runs[1].code, Some(EXIT_WRONG_PARAMETER), "{}", runs[1]);
        runs[2].expect_success();
        runs[3].expect_success();
        assert_eq!(
            runs[3].json()["removed"].as_array().map(Vec::len),
            Some(1),
            "record {k}: {}",
            runs[3]
        );
    }
    let mut wrong = vec![0usize; quarter];
    let mut locked = vec![0usize; quarter];
    for a in attackers {
        for (j, r) in a.join().unwrap() {
            assert_no_leak(&r);
            match r.code {
                Some(EXIT_WRONG_PARAMETER) => wrong[j] += 1,
                Some(EXIT_LOCKED) => locked[j] += 1,
                _ => panic!("attack on record {j}: {r}"),
            }
        }
    }

    // Every record as the store holds it (read directly, as an operator on the server).
    let operator = Sm::new(&stack, &db);
    for k in 0..quarter {
        let rec = operator.run(&["--json", "sm", "show", &moved(k)], None);
        let rec = rec.expect_success().json();
        assert_eq!(rec["device"]["imei"], imei(2 * k + 1), "{rec}");
        assert_eq!(rec["failures"], 0, "{rec}");
        assert_eq!(rec["total_failures"], 2, "one count per wrong guess: {rec}");
        assert_eq!(rec["locked"], false, "{rec}");
    }
    for j in 0..quarter {
        let op = attacked(j);
        let rec = operator.run(&["--json", "sm", "show", &op], None);
        let rec = rec.expect_success().json();
        assert_eq!(rec["locked"], true, "{rec}");
        assert_eq!(rec["failures"], 3, "{rec}");
        assert_eq!(
            rec["device"]["imei"],
            imei(holder(j)),
            "still on its card: {rec}"
        );
        // Two guesses were told "attempts left", the rest "locked": 2 × quarter in all.
        assert_eq!(
            (wrong[j], wrong[j] + locked[j]),
            (2, 2 * quarter),
            "record {j}"
        );
        let audit = operator.run(&["--json", "sm", "audit", &op], None);
        let audit = audit.expect_success().json();
        let actions: Vec<&str> = audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        let lock_at = actions
            .iter()
            .position(|a| *a == "lock")
            .unwrap_or_else(|| panic!("no lock in {actions:?}"));
        let before = actions[..lock_at]
            .iter()
            .filter(|a| **a == "auth-failure")
            .count();
        assert_eq!(before, 3, "failures counted before the lock: {actions:?}");
        assert_eq!(actions.iter().filter(|a| **a == "lock").count(), 1);
    }
    for (i, s) in servers.iter().flatten().enumerate() {
        assert!(
            s.requests()
                .iter()
                .any(|(f, st, _)| f == "sm/stepFlow" && *st == 200),
            "server {i} served no flow"
        );
    }

    // SIGKILL in the middle of a flow: moved record 0 goes back to card 0 through server
    // 0, which dies once it has answered the flow's first request.
    let before = servers[0].as_ref().expect("server 0").requests().len();
    let (t, u, rd) = (term.clone(), urls[0].clone(), readers[0].clone());
    let mid = thread::spawn(move || device_change(&t, &u, &rd, &moved(0), &imei(0), PARAM));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let served = servers[0].as_ref().expect("server 0").requests();
        if served[before.min(served.len())..]
            .iter()
            .any(|(f, _, _)| f == "sm/startFlow")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the flow never reached server 0");
        thread::sleep(Duration::from_millis(2));
    }
    drop(servers[0].take()); // SIGKILL
    let first = mid.join().unwrap();
    assert_no_leak(&first);
    match first.code {
        Some(0) => eprintln!("the flow completed before the kill"),
        Some(EXIT_UNREACHABLE) => {
            let again = device_change(&term, &urls[1], &readers[0], &moved(0), &imei(0), PARAM);
            assert_no_leak(&again);
            again.expect_success();
        }
        _ => panic!("a killed server must fail the flow cleanly: {first}"),
    }
    let rec = operator.run(&["--json", "sm", "show", &moved(0)], None);
    let rec = rec.expect_success().json();
    assert_eq!(rec["device"]["imei"], imei(0), "{rec}");
    assert_eq!(rec["failures"], 0, "{rec}");
    // A new server on the same store serves the record as the survivor does.
    servers.push(Some(Server::start(&stack, &db, &logs[2])));
    let r = flow(
        &term,
        &format!("https://127.0.0.1:{}", servers[2].as_ref().unwrap().port),
        &readers[1],
        &["sync"],
        None,
    );
    r.expect_success();
    assert_eq!(r.json()["removed"].as_array().map(Vec::len), Some(1), "{r}");
    // A clean stop (SIGTERM) of a server on PostgreSQL exits 0: its store's connection
    // is closed off the server's runtime (it once panicked there).
    for (i, s) in servers.into_iter().enumerate() {
        if let Some(s) = s {
            let log = s.log.clone();
            let code = s.stop();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert_eq!(code, Some(0), "server {i} on SIGTERM: {text}");
            assert!(!text.contains("panicked"), "server {i}: {text}");
        }
    }
    drop(schema);
}
