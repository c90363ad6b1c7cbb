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
    let err = store
        .conn
        .execute("UPDATE subscriptions SET total_failures = 0", []);
    assert!(err.is_err(), "the trigger must refuse");
    assert_eq!(store.get(OP).unwrap().unwrap().total_failures, 1);
}

#[test]
fn lock_survives_reopening_the_file() {
    let dir = TempDir::new("reopen");
    let path = dir.db();
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
