//! Challenges: single use, bound to subject and purpose, expiring, shared by every
//! connection to the file.

use super::*;
use std::time::Duration;

const C1: [u8; 32] = [7; 32];
const TTL: Duration = Duration::from_secs(60);

fn op() -> ChallengeSubject {
    ChallengeSubject::OpId(OP.into())
}

#[test]
fn a_challenge_is_accepted_once() {
    let store = store_with_sub();
    let issued = store
        .issue_challenge(&op(), Purpose::DeviceChange, &C1, TTL)
        .unwrap();
    assert_eq!(issued.expires_at_ms - issued.issued_at_ms, 60_000);
    let used = store
        .consume_challenge(&op(), Purpose::DeviceChange, &C1)
        .unwrap();
    assert_eq!(used, issued);
    assert!(matches!(
        store.consume_challenge(&op(), Purpose::DeviceChange, &C1),
        Err(StoreError::ChallengeUnknown)
    ));
    assert!(matches!(
        store.consume_challenge(&op(), Purpose::DeviceChange, &[8; 32]),
        Err(StoreError::ChallengeUnknown)
    ));
}

#[test]
fn wrong_purpose_or_subject_is_refused_and_burns_the_challenge() {
    let store = store_with_sub();
    store
        .issue_challenge(&op(), Purpose::DeviceChange, &C1, TTL)
        .unwrap();
    assert!(matches!(
        store.consume_challenge(&op(), Purpose::KeyChange, &C1),
        Err(StoreError::ChallengeMismatch)
    ));
    assert!(matches!(
        store.consume_challenge(&op(), Purpose::DeviceChange, &C1),
        Err(StoreError::ChallengeUnknown)
    ));
    let eid = ChallengeSubject::Eid(device(1).eid);
    store
        .issue_challenge(&eid, Purpose::RecordedDevice, &C1, TTL)
        .unwrap();
    assert!(matches!(
        store.consume_challenge(
            &ChallengeSubject::Eid(device(2).eid),
            Purpose::RecordedDevice,
            &C1
        ),
        Err(StoreError::ChallengeMismatch)
    ));
    store
        .issue_challenge(&eid, Purpose::Sync, &C1, TTL)
        .unwrap();
    assert!(matches!(
        store.consume_challenge(&ChallengeSubject::OpId(device(1).eid), Purpose::Sync, &C1),
        Err(StoreError::ChallengeMismatch)
    ));
}

#[test]
fn expired_challenges_are_refused_and_purged() {
    let store = store_with_sub();
    store
        .issue_challenge(&op(), Purpose::KeyChange, &[1; 16], Duration::ZERO)
        .unwrap();
    assert!(matches!(
        store.consume_challenge(&op(), Purpose::KeyChange, &[1; 16]),
        Err(StoreError::ChallengeExpired)
    ));
    store
        .issue_challenge(
            &op(),
            Purpose::KeyChange,
            &[2; 16],
            Duration::from_millis(30),
        )
        .unwrap();
    store
        .issue_challenge(
            &op(),
            Purpose::KeyChange,
            &[3; 16],
            Duration::from_millis(30),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(60));
    assert!(matches!(
        store.consume_challenge(&op(), Purpose::KeyChange, &[2; 16]),
        Err(StoreError::ChallengeExpired)
    ));
    store
        .issue_challenge(&op(), Purpose::KeyChange, &[4; 16], TTL)
        .unwrap();
    let left = store.raw_count("SELECT count(*) FROM challenges");
    assert_eq!(left, 1, "the expired [3; 16] was purged by the next issue");
}

#[test]
fn malformed_and_duplicate_challenges_are_refused() {
    let store = store_with_sub();
    assert!(matches!(
        store.issue_challenge(&op(), Purpose::Provision, &[1; 15], TTL),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.issue_challenge(&op(), Purpose::Provision, &[1; 65], TTL),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.issue_challenge(
            &ChallengeSubject::Eid(String::new()),
            Purpose::Provision,
            &C1,
            TTL
        ),
        Err(StoreError::Invalid { .. })
    ));
    store
        .issue_challenge(&op(), Purpose::Provision, &C1, TTL)
        .unwrap();
    assert!(matches!(
        store.issue_challenge(&op(), Purpose::Provision, &C1, TTL),
        Err(StoreError::Invalid { .. })
    ));
    assert!(store
        .issue_challenge(&op(), Purpose::Provision, &[9; 16], Duration::MAX)
        .is_err());
}

#[test]
fn a_challenge_used_through_one_connection_is_gone_for_all() {
    let dir = TestDb::new("challenge");
    let a = dir.open();
    let b = dir.open();
    a.issue_challenge(&op(), Purpose::DeviceChange, &C1, TTL)
        .unwrap();
    b.consume_challenge(&op(), Purpose::DeviceChange, &C1)
        .unwrap();
    assert!(matches!(
        a.consume_challenge(&op(), Purpose::DeviceChange, &C1),
        Err(StoreError::ChallengeUnknown)
    ));
}
