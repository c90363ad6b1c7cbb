//! The attempt counter and lock: 3 failures lock, durably; success resets but never
//! unlocks; only an operator unlocks, and that is audited.

use super::*;

#[test]
fn third_failure_locks_and_success_resets_before_that() {
    let store = store_with_sub();
    let a = store
        .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
        .unwrap();
    assert_eq!(
        (a.attempts, a.locked, a.newly_locked, a.remaining()),
        (1, false, false, 2)
    );
    assert_eq!(
        store
            .record_success(OP, &Actor::Sm, Purpose::DeviceChange)
            .unwrap(),
        1
    );
    for n in 1..=2 {
        let o = store
            .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
            .unwrap();
        assert_eq!((o.attempts, o.locked), (n, false));
    }
    let o = store
        .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
        .unwrap();
    assert_eq!(
        (
            o.attempts,
            o.total_failures,
            o.locked,
            o.newly_locked,
            o.remaining()
        ),
        (3, 4, true, true, 0)
    );
    assert!(store.is_locked(OP).unwrap());
    // Further failures still count, but do not lock "again".
    let o = store
        .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
        .unwrap();
    assert_eq!((o.attempts, o.locked, o.newly_locked), (4, true, false));
    // A success that raced with the lock cannot lift it.
    assert!(matches!(
        store.record_success(OP, &Actor::Sm, Purpose::DeviceChange),
        Err(StoreError::Locked(_))
    ));
    let sub = store.get(OP).unwrap().unwrap();
    assert_eq!((sub.failures, sub.total_failures, sub.locked), (4, 5, true));
    assert!(sub.locked_at.is_some());
    assert_eq!(
        actions(&store, OP),
        [
            "provision",
            "auth-failure",
            "auth-success",
            "auth-failure",
            "auth-failure",
            "auth-failure",
            "lock",
            "auth-failure"
        ]
    );
}

#[test]
fn unlock_is_for_operators_and_is_audited() {
    let store = store_with_sub();
    assert!(matches!(
        store.unlock(OP, &operator()),
        Err(StoreError::NotLocked(_))
    ));
    for _ in 0..3 {
        store
            .record_failure(OP, &Actor::Sm, Purpose::KeyChange, MAX_ATTEMPTS)
            .unwrap();
    }
    assert!(matches!(
        store.unlock(OP, &Actor::Sm),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.unlock(OP, &Actor::Card(device(1).eid)),
        Err(StoreError::Invalid { .. })
    ));
    assert!(store.is_locked(OP).unwrap());
    assert_eq!(store.unlock(OP, &operator()).unwrap(), 3);
    assert!(!store.is_locked(OP).unwrap());
    let sub = store.get(OP).unwrap().unwrap();
    assert_eq!(
        (sub.failures, sub.total_failures, sub.locked_at),
        (0, 3, None)
    );
    let last = store.audit(OP).unwrap().pop().unwrap();
    assert_eq!(last.action, AuditAction::Unlock);
    assert_eq!(last.actor, Actor::Operator("alice".into()));
    assert!(last.details.contains("3 failures"), "{}", last.details);
    assert!(matches!(
        store.unlock("+1", &operator()),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.is_locked("+1"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.record_failure("+1", &Actor::Sm, Purpose::KeyChange, MAX_ATTEMPTS),
        Err(StoreError::NotFound(_))
    ));
    assert!(store
        .record_failure(OP, &Actor::Sm, Purpose::KeyChange, 0)
        .is_err());
}

#[test]
fn lifetime_failure_count_cannot_go_backwards() {
    let store = store_with_sub();
    store
        .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
        .unwrap();
    store
        .record_success(OP, &Actor::Sm, Purpose::DeviceChange)
        .unwrap();
    let err = store.raw_execute("UPDATE subscriptions SET total_failures = 0");
    assert!(err.is_err(), "the trigger must refuse");
    assert_eq!(store.get(OP).unwrap().unwrap().total_failures, 1);
}

#[test]
fn lock_survives_reopening_the_file() {
    let dir = TestDb::new("reopen");
    let path = dir.location();
    {
        let store = Store::open(&path).unwrap();
        store
            .create_subscription(&new_sub(OP, ICCID), &Actor::Sm)
            .unwrap();
        for _ in 0..2 {
            store
                .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
                .unwrap();
        }
    }
    {
        let store = Store::open(&path).unwrap();
        let sub = store.get(OP).unwrap().unwrap();
        assert_eq!(
            (sub.failures, sub.locked),
            (2, false),
            "count survives a restart"
        );
        let o = store
            .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
            .unwrap();
        assert!(o.newly_locked);
    }
    {
        let store = Store::open(&path).unwrap();
        assert!(store.is_locked(OP).unwrap(), "lock survives a restart");
        assert!(matches!(
            store.record_success(OP, &Actor::Sm, Purpose::DeviceChange),
            Err(StoreError::Locked(_))
        ));
        store.unlock(OP, &operator()).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(!store.is_locked(OP).unwrap());
    assert!(actions(&store, OP).contains(&"unlock".to_string()));
    assert!(store.integrity_check().unwrap().is_empty());
}

// `Store::attempt`: challenge, check and count in one transaction (issue 10, finding 6).

const CH: [u8; 32] = [0x5a; 32];
const TTL: std::time::Duration = std::time::Duration::from_secs(60);

fn issue(store: &Store, value: &[u8], purpose: Purpose) {
    store
        .issue_challenge(&ChallengeSubject::OpId(OP.into()), purpose, value, TTL)
        .unwrap();
}

fn attempt_of(challenge: &[u8]) -> Attempt<'_> {
    static ACTOR: std::sync::OnceLock<Actor> = std::sync::OnceLock::new();
    Attempt {
        op_id: OP,
        actor: ACTOR.get_or_init(|| Actor::Card(device(2).eid)),
        purpose: Purpose::DeviceChange,
        challenge,
        max_attempts: MAX_ATTEMPTS,
    }
}

/// How many challenges are outstanding in the whole store.
fn outstanding(store: &Store) -> i64 {
    store.raw_count("SELECT count(*) FROM challenges")
}

fn failures(store: &Store) -> u32 {
    store.get(OP).unwrap().unwrap().failures
}

#[test]
fn a_wrong_guess_is_counted_and_its_challenge_used_up_together() {
    let store = store_with_sub();
    issue(&store, &CH, Purpose::DeviceChange);
    let out = store
        .attempt(&attempt_of(&CH), |sub| {
            assert_eq!(sub.op_id, OP, "the check sees the record");
            Verdict::<()>::Wrong
        })
        .unwrap();
    let AttemptOutcome::Wrong(o) = out else {
        panic!("{out:?}")
    };
    assert_eq!((o.attempts, o.locked, o.remaining()), (1, false, 2));
    assert_eq!((outstanding(&store), failures(&store)), (0, 1));
    // The same challenge cannot be answered again, and that is not a guess.
    let mut called = false;
    let again = store.attempt(&attempt_of(&CH), |_| {
        called = true;
        Verdict::<()>::Wrong
    });
    assert!(
        matches!(again, Err(StoreError::ChallengeUnknown)),
        "{again:?}"
    );
    assert!(!called, "no check without a valid challenge");
    assert_eq!(failures(&store), 1);
    assert_eq!(actions(&store, OP), ["provision", "auth-failure"]);
}

#[test]
fn three_wrong_guesses_lock_and_a_verified_one_cannot_unlock() {
    let store = store_with_sub();
    issue(&store, &[1; 32], Purpose::DeviceChange);
    let out = store
        .attempt(&attempt_of(&[1; 32]), |_| Verdict::<()>::Wrong)
        .unwrap();
    assert!(matches!(out, AttemptOutcome::Wrong(_)));
    issue(&store, &[2; 32], Purpose::DeviceChange);
    let out = store
        .attempt(&attempt_of(&[2; 32]), |_| Verdict::<()>::Verified)
        .unwrap();
    assert_eq!(
        out,
        AttemptOutcome::Verified {
            failures_cleared: 1
        }
    );
    for n in 3..=5u8 {
        issue(&store, &[n; 32], Purpose::DeviceChange);
        let out = store
            .attempt(&attempt_of(&[n; 32]), |_| Verdict::<()>::Wrong)
            .unwrap();
        let AttemptOutcome::Wrong(o) = out else {
            panic!("{out:?}")
        };
        assert_eq!(o.newly_locked, n == 5, "attempt {n}: {o:?}");
    }
    assert!(store.is_locked(OP).unwrap());
    // A right guess on a locked record: refused, challenge used up, lock kept.
    issue(&store, &[6; 32], Purpose::DeviceChange);
    let out = store.attempt(&attempt_of(&[6; 32]), |sub| {
        assert!(sub.locked);
        Verdict::<()>::Verified
    });
    assert!(matches!(out, Err(StoreError::Locked(_))), "{out:?}");
    assert!(store.is_locked(OP).unwrap());
    assert_eq!((outstanding(&store), failures(&store)), (0, 3));
    // A wrong one on a locked record is still counted.
    issue(&store, &[7; 32], Purpose::DeviceChange);
    let out = store
        .attempt(&attempt_of(&[7; 32]), |_| Verdict::<()>::Wrong)
        .unwrap();
    assert!(matches!(out, AttemptOutcome::Wrong(o) if o.attempts == 4 && !o.newly_locked));
    assert_eq!(
        actions(&store, OP),
        [
            "provision",
            "auth-failure",
            "auth-success",
            "auth-failure",
            "auth-failure",
            "auth-failure",
            "lock",
            "auth-failure"
        ]
    );
}

#[test]
fn refusals_that_are_no_guess_use_the_challenge_up_without_counting() {
    let store = store_with_sub();
    issue(&store, &CH, Purpose::DeviceChange);
    let out = store
        .attempt(&attempt_of(&CH), |_| Verdict::Refused("malformed"))
        .unwrap();
    assert_eq!(out, AttemptOutcome::Refused("malformed"));
    assert_eq!((outstanding(&store), failures(&store)), (0, 0));
    // Issued for another purpose: burnt, the check never runs, nothing counted.
    issue(&store, &CH, Purpose::KeyChange);
    let out = store.attempt(&attempt_of(&CH), |_| -> Verdict<()> {
        panic!("checked with a mismatched challenge")
    });
    assert!(matches!(out, Err(StoreError::ChallengeMismatch)), "{out:?}");
    assert_eq!((outstanding(&store), failures(&store)), (0, 0));
    // Bad arguments are refused before anything happens.
    issue(&store, &CH, Purpose::DeviceChange);
    let zero = Attempt {
        max_attempts: 0,
        ..attempt_of(&CH)
    };
    assert!(store.attempt(&zero, |_| Verdict::<()>::Wrong).is_err());
    assert_eq!(outstanding(&store), 1);
    assert_eq!(actions(&store, OP), ["provision"]);
}

/// A failing count (a trigger stands in for a busy or broken database at exactly that
/// write) rolls the consumption back: the challenge is still outstanding, nothing is
/// counted; the old sequence (consume, then count) lost the guess here.
#[test]
fn a_failing_count_rolls_the_consumption_back() {
    let store = store_with_sub();
    store.inject_failure(
        "count_fails",
        "BEFORE UPDATE OF failures",
        "subscriptions",
        "1 = 1",
    );
    issue(&store, &CH, Purpose::DeviceChange);
    let out = store.attempt(&attempt_of(&CH), |_| Verdict::<()>::Wrong);
    assert!(matches!(&out, Err(e) if is_database_error(e)), "{out:?}");
    assert_eq!((outstanding(&store), failures(&store)), (1, 0));
    assert_eq!(actions(&store, OP), ["provision"]);
    // The two-transaction sequence this replaces: the challenge goes, the count does not.
    store
        .consume_challenge(
            &ChallengeSubject::OpId(OP.into()),
            Purpose::DeviceChange,
            &CH,
        )
        .unwrap();
    assert!(store
        .record_failure(OP, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
        .is_err());
    assert_eq!(
        (outstanding(&store), failures(&store)),
        (0, 0),
        "the lost guess"
    );
    // Repaired, the same kind of attempt counts.
    store.drop_failure("count_fails", "subscriptions");
    issue(&store, &[9; 32], Purpose::DeviceChange);
    let out = store
        .attempt(&attempt_of(&[9; 32]), |_| Verdict::<()>::Wrong)
        .unwrap();
    assert!(matches!(out, AttemptOutcome::Wrong(o) if o.attempts == 1));
}

/// A panic in the check (or a crash, which SQLite rolls back the same way) keeps nothing.
#[test]
fn a_panicking_check_keeps_nothing() {
    let store = store_with_sub();
    issue(&store, &CH, Purpose::DeviceChange);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.attempt(&attempt_of(&CH), |_| -> Verdict<()> {
            panic!("check died")
        })
    }));
    assert!(r.is_err());
    assert_eq!((outstanding(&store), failures(&store)), (1, 0));
    let out = store
        .attempt(&attempt_of(&CH), |_| Verdict::<()>::Wrong)
        .unwrap();
    assert!(matches!(out, AttemptOutcome::Wrong(o) if o.attempts == 1));
}

/// Another process holds the write lock longer than the busy timeout: the attempt fails
/// before it consumes anything or runs the check; once the lock is gone it counts.
#[test]
fn a_busy_database_consumes_nothing() {
    let dir = TempDir::new("attempt-busy");
    let store = Store::open(dir.db()).unwrap();
    store
        .create_subscription(&new_sub(OP, ICCID), &Actor::Sm)
        .unwrap();
    issue(&store, &CH, Purpose::DeviceChange);
    store
        .sqlite()
        .busy_timeout(std::time::Duration::from_millis(100))
        .unwrap();
    let holder = rusqlite::Connection::open(dir.db()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut called = false;
    let out = store.attempt(&attempt_of(&CH), |_| {
        called = true;
        Verdict::<()>::Wrong
    });
    assert!(
        matches!(&out, Err(StoreError::Sqlite(e)) if super::super::db::sqlite::is_busy(e)),
        "{out:?}"
    );
    assert!(!called, "no verdict while the count cannot be written");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!((outstanding(&store), failures(&store)), (1, 0));
    let out = store
        .attempt(&attempt_of(&CH), |_| Verdict::<()>::Wrong)
        .unwrap();
    assert!(matches!(out, AttemptOutcome::Wrong(o) if o.attempts == 1));
    assert_eq!(outstanding(&store), 0);
}

/// Parallel processes answering one challenge: exactly one is judged and counted.
#[test]
fn one_challenge_one_count_across_connections() {
    let dir = TestDb::new("attempt-race");
    let path = dir.location();
    {
        let store = Store::open(&path).unwrap();
        store
            .create_subscription(&new_sub(OP, ICCID), &Actor::Sm)
            .unwrap();
        issue(&store, &CH, Purpose::DeviceChange);
    }
    let gate = std::sync::Arc::new(std::sync::Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (path, gate) = (path.clone(), gate.clone());
            std::thread::spawn(move || {
                let store = Store::open(&path).unwrap();
                gate.wait();
                store
                    .attempt(&attempt_of(&CH), |_| Verdict::<()>::Wrong)
                    .map(|o| matches!(o, AttemptOutcome::Wrong(_)))
            })
        })
        .collect();
    let mut judged = 0;
    for h in handles {
        match h.join().unwrap() {
            Ok(true) => judged += 1,
            Err(StoreError::ChallengeUnknown) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(judged, 1);
    let store = Store::open(&path).unwrap();
    assert_eq!((outstanding(&store), failures(&store)), (0, 1));
}
