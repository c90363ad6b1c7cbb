//! Crash safety (issue 5, "The SM database killed mid-transaction: no partial record,
//! counters never go backwards"; issue 12 for PostgreSQL). The parent re-runs this test
//! binary as child processes that write in a tight loop, kills them with SIGKILL at
//! varying moments, and checks after each round that the store opens, passes
//! `integrity_check`, holds no half-done change, and that no lifetime counter went back.
//! On PostgreSQL the killed processes are the clients, mid-transaction: the server must
//! roll back what they left open.

use super::*;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SM_STORE_CRASH_CHILD_DB";
const RECORDS: [&str; 4] = [
    "+8613800000011",
    "+8613800000012",
    "+8613800000013",
    "+8613800000014",
];

/// Test name of `crash_child`, without the crate name.
fn child_test_name() -> String {
    let module = module_path!();
    let without_crate = module.split_once("::").map_or(module, |(_, rest)| rest);
    format!("{without_crate}::crash_child")
}

/// The child: does nothing unless started by `killed_writers_leave_a_consistent_database`.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Store::open(path).expect("child open");
    let started = Instant::now();
    let mut i: u64 = 0;
    while started.elapsed() < Duration::from_secs(30) {
        let op = RECORDS[(i % RECORDS.len() as u64) as usize];
        let who = Actor::Terminal(format!("3500000000{i:05}"));
        match i % 7 {
            3 => match store.record_success(op, &who, Purpose::DeviceChange) {
                Ok(_) | Err(StoreError::Locked(_)) => {}
                Err(e) => panic!("{e}"),
            },
            5 => {
                let next = device((i % 3) as u8 + 1);
                match store.change_device(op, &next, &who) {
                    Ok(_) | Err(StoreError::Locked(_)) | Err(StoreError::Invalid { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            _ => {
                let o = store
                    .record_failure(op, &who, Purpose::DeviceChange, MAX_ATTEMPTS)
                    .expect("record_failure");
                if o.locked {
                    match store.unlock(op, &operator()) {
                        Ok(_) | Err(StoreError::NotLocked(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }
        i += 1;
    }
}

/// Checks every cross-table invariant; returns each record's lifetime failures.
fn check_consistent(store: &Store) -> HashMap<String, u64> {
    let problems = store.integrity_check().unwrap();
    assert!(problems.is_empty(), "integrity: {problems:?}");
    let mut totals = HashMap::new();
    for op in RECORDS {
        let sub = store.get(op).unwrap().expect("record survives");
        let log = store.audit(op).unwrap();
        let count = |a: AuditAction| log.iter().filter(|e| e.action == a).count() as u64;
        assert_eq!(
            sub.total_failures,
            count(AuditAction::AuthFailure),
            "{op}: counter and audit agree"
        );
        assert!(u64::from(sub.failures) <= sub.total_failures);
        assert_eq!(
            sub.locked,
            sub.failures >= MAX_ATTEMPTS,
            "{op}: lock matches the count"
        );
        let bindings = store.bindings(op).unwrap();
        let active: Vec<_> = bindings
            .iter()
            .filter(|b| b.state == BindingState::Active)
            .collect();
        assert_eq!(active.len(), 1, "{op}: exactly one active binding");
        assert_eq!(active[0].eid, sub.device.eid);
        assert_eq!(bindings.len() as u64, 1 + count(AuditAction::DeviceChange));
        totals.insert(op.to_string(), sub.total_failures);
    }
    totals
}

#[test]
fn killed_writers_leave_a_consistent_database() {
    // The children's logs in a directory; the store on the run's database (an SQLite
    // file there, or a PostgreSQL schema: then the clients die, not the server).
    let logs_dir = TempDir::new("crash-logs");
    let db = TestDb::new("crash");
    let path = db.location();
    {
        let store = Store::open(&path).unwrap();
        for (n, op) in RECORDS.iter().enumerate() {
            store
                .create_subscription(&new_sub(op, &format!("898600000000000001{n}")), &Actor::Sm)
                .unwrap();
        }
    }
    let exe = std::env::current_exe().unwrap();
    let mut previous: HashMap<String, u64> = RECORDS.iter().map(|op| (op.to_string(), 0)).collect();
    for round in 0..20u64 {
        let logs: Vec<PathBuf> = (0..2)
            .map(|i| logs_dir.path().join(format!("child-{round}-{i}.log")))
            .collect();
        let children: Vec<_> = logs
            .iter()
            .map(|log| {
                Command::new(&exe)
                    .args([child_test_name().as_str(), "--exact", "--test-threads=1"])
                    .env(CHILD_ENV, &path)
                    .stdout(std::fs::File::create(log).unwrap())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(80 + 17 * round));
        for (mut child, log) in children.into_iter().zip(&logs) {
            let still_running = child.try_wait().unwrap().is_none();
            assert!(
                still_running,
                "a child exited on its own: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let totals = check_consistent(&store);
        for op in RECORDS {
            assert!(totals[op] >= previous[op], "{op}: counter went back");
        }
        previous = totals;
    }
    let done: u64 = previous.values().sum();
    assert!(
        done > 20,
        "the children did too little work to prove anything ({done})"
    );
}
