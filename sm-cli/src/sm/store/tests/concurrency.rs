//! Parallel writers, each with its own connection to one file (as parallel sm-cli
//! processes are): no lost update, no "database is locked" reaching the caller.

use super::*;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

const THREADS: usize = 8;
const ROUNDS: u64 = 50;
const SHARED: &str = "+8613899999999";

fn own(t: usize) -> String {
    format!("+86138000001{t:02}")
}

/// SQLite refuses the WAL switch with an immediate SQLITE_BUSY when waiting could
/// deadlock; `Store::open` must retry it. Repeated on fresh files to catch the race.
#[test]
fn simultaneous_first_opens_migrate_once() {
    for round in 0..10 {
        let dir = TempDir::new("first-open");
        let path = dir.db();
        let gate = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (path, gate) = (path.clone(), gate.clone());
                thread::spawn(move || {
                    gate.wait();
                    Store::open(&path).and_then(|s| s.schema_version())
                })
            })
            .collect();
        for h in handles {
            match h.join().unwrap() {
                Ok(v) => assert_eq!(v, schema::current_version()),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
    }
}

#[test]
fn parallel_writers_lose_no_update() {
    let dir = TestDb::new("parallel");
    let path = dir.location();
    {
        let setup = Store::open(&path).unwrap();
        for t in 0..THREADS {
            setup
                .create_subscription(
                    &new_sub(&own(t), &format!("89860000000000001{t:02}")),
                    &Actor::Sm,
                )
                .unwrap();
        }
        setup
            .create_subscription(&new_sub(SHARED, "8986000000000000999"), &Actor::Sm)
            .unwrap();
    }
    let gate = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (path, gate) = (path.clone(), gate.clone());
            thread::spawn(move || -> Result<(), StoreError> {
                let store = Store::open(&path)?;
                gate.wait();
                let me = Actor::Terminal(format!("35000000000000{t}"));
                for _ in 0..ROUNDS {
                    let o =
                        store.record_failure(&own(t), &me, Purpose::DeviceChange, MAX_ATTEMPTS)?;
                    assert_eq!(o.attempts, 1);
                    store.record_success(&own(t), &me, Purpose::DeviceChange)?;
                    store.record_failure(SHARED, &me, Purpose::DeviceChange, u32::MAX)?;
                }
                Ok(())
            })
        })
        .collect();
    let errors: Vec<String> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap().err().map(|e| e.to_string()))
        .collect();
    assert!(errors.is_empty(), "errors surfaced: {errors:?}");

    let store = Store::open(&path).unwrap();
    for t in 0..THREADS {
        let s = store.get(&own(t)).unwrap().unwrap();
        assert_eq!((s.failures, s.total_failures), (0, ROUNDS));
        assert_eq!(store.audit(&own(t)).unwrap().len() as u64, 1 + 2 * ROUNDS);
    }
    let shared = store.get(SHARED).unwrap().unwrap();
    let all = THREADS as u64 * ROUNDS;
    assert_eq!(shared.total_failures, all, "no lost increment");
    assert_eq!(u64::from(shared.failures), all);
    assert_eq!(store.audit(SHARED).unwrap().len() as u64, 1 + all);
    assert!(store.integrity_check().unwrap().is_empty());
}

#[test]
fn racing_failures_lock_exactly_once_and_racing_consumers_win_once() {
    let dir = TestDb::new("race");
    let path = dir.location();
    let subject = ChallengeSubject::OpId(OP.into());
    {
        let setup = Store::open(&path).unwrap();
        setup
            .create_subscription(&new_sub(OP, ICCID), &Actor::Sm)
            .unwrap();
        setup
            .issue_challenge(
                &subject,
                Purpose::DeviceChange,
                &[0xab; 32],
                Duration::from_secs(60),
            )
            .unwrap();
    }
    let gate = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (path, gate, subject) = (path.clone(), gate.clone(), subject.clone());
            thread::spawn(move || {
                let store = Store::open(&path).unwrap();
                gate.wait();
                let used = store.consume_challenge(&subject, Purpose::DeviceChange, &[0xab; 32]);
                let failed = store
                    .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
                    .unwrap();
                (used.map(|_| ()), failed)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners = results.iter().filter(|(u, _)| u.is_ok()).count();
    assert_eq!(winners, 1, "a challenge is accepted once");
    assert!(results
        .iter()
        .all(|(u, _)| matches!(u, Ok(()) | Err(StoreError::ChallengeUnknown))));
    let lockers = results.iter().filter(|(_, f)| f.newly_locked).count();
    assert_eq!(lockers, 1);
    let mut attempts: Vec<u32> = results.iter().map(|(_, f)| f.attempts).collect();
    attempts.sort_unstable();
    assert_eq!(
        attempts,
        (1..=THREADS as u32).collect::<Vec<_>>(),
        "each failure counted once"
    );
}
