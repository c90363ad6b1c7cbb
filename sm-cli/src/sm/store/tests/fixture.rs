//! The version-1 database kept in `sm-cli/tests/data/sm-v1.sqlite3` must open and
//! migrate with every later binary, with its contents intact.
//!
//! The file was written once by `write_v1_fixture` (ignored; it refuses to run once
//! the schema is past version 1, since the fixture must stay a version-1 file).

use super::*;
use std::path::PathBuf;
use std::time::Duration;

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sm-v1.sqlite3")
}

const OP_MOVED: &str = "+8613800000001";
const OP_LOCKED: &str = "+8613800000002";
const FIXTURE_CHALLENGE: [u8; 32] = [0xc5; 32];

#[test]
#[ignore = "writes the committed fixture; run once per schema version"]
fn write_v1_fixture() {
    assert_eq!(
        schema::current_version(),
        1,
        "the fixture must stay a version-1 database"
    );
    let dir = TempDir::new("fixture");
    let store = Store::open(dir.db()).unwrap();
    store
        .create_subscription(&new_sub(OP_MOVED, ICCID), &Actor::Sm)
        .unwrap();
    store
        .mark_delivered(
            OP_MOVED,
            &device(1).eid,
            &device(1).identity_public_key,
            &Actor::Card(device(1).eid),
        )
        .unwrap();
    store
        .record_failure(OP_MOVED, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
        .unwrap();
    store
        .record_success(OP_MOVED, &Actor::Sm, Purpose::DeviceChange)
        .unwrap();
    store
        .change_device(OP_MOVED, &device(2), &Actor::Card(device(2).eid))
        .unwrap();
    store
        .replace_public_key(OP_MOVED, &key(2), &Actor::Card(device(2).eid))
        .unwrap();
    store
        .record_failure(OP_MOVED, &Actor::Sm, Purpose::KeyChange, MAX_ATTEMPTS)
        .unwrap();
    let mut locked = new_sub(OP_LOCKED, "8986001234567890124");
    locked.device = device(3);
    store.create_subscription(&locked, &Actor::Sm).unwrap();
    for _ in 0..MAX_ATTEMPTS {
        store
            .record_failure(OP_LOCKED, &Actor::Sm, Purpose::DeviceChange, MAX_ATTEMPTS)
            .unwrap();
    }
    let century = Duration::from_secs(100 * 365 * 86_400);
    store
        .issue_challenge(
            &ChallengeSubject::OpId(OP_MOVED.into()),
            Purpose::Sync,
            &FIXTURE_CHALLENGE,
            century,
        )
        .unwrap();
    let out = fixture_path();
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    store
        .sqlite()
        .execute("VACUUM INTO ?1", [out.to_str().unwrap()])
        .unwrap();
}

#[test]
fn the_v1_fixture_opens_migrates_and_reads_back() {
    let dir = TempDir::new("v1");
    std::fs::copy(fixture_path(), dir.db()).expect("fixture present");
    let store = Store::open(dir.db()).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::current_version());
    assert!(store.integrity_check().unwrap().is_empty());

    let moved = store.get(OP_MOVED).unwrap().expect("moved record");
    assert_eq!(moved.profile.iccid, ICCID);
    assert_eq!(moved.profile.ki.expose(), KI);
    assert_eq!(moved.profile.opc.expose(), OPC);
    assert_eq!(moved.device, device(2));
    assert_eq!(
        moved.previous_device.as_ref().map(|p| &p.device),
        Some(&device(1))
    );
    assert_eq!(moved.key, key(2));
    assert_eq!(
        (moved.failures, moved.total_failures, moved.locked),
        (1, 2, false)
    );
    assert_eq!(moved.delivery, Delivery::Pending);
    assert_eq!(moved.pending_removals.len(), 1);
    assert_eq!(moved.pending_removals[0].eid, device(1).eid);
    let b = store.bindings(OP_MOVED).unwrap();
    assert_eq!(
        b.iter().map(|b| b.state).collect::<Vec<_>>(),
        [BindingState::Stopped, BindingState::Active]
    );
    assert_eq!(
        actions(&store, OP_MOVED),
        [
            "provision",
            "profile-delivered",
            "auth-failure",
            "auth-success",
            "binding-stopped",
            "binding-started",
            "removal-requested",
            "device-change",
            "rekey",
            "auth-failure"
        ]
    );

    let locked = store.get(OP_LOCKED).unwrap().expect("locked record");
    assert!(locked.locked && locked.locked_at.is_some());
    assert_eq!(locked.failures, 3);

    // The migrated file keeps working: the old card syncs, the operator unlocks.
    store
        .confirm_removal(
            OP_MOVED,
            &device(1).eid,
            &device(1).identity_public_key,
            &Actor::Card(device(1).eid),
        )
        .unwrap();
    store.unlock(OP_LOCKED, &operator()).unwrap();
    store
        .consume_challenge(
            &ChallengeSubject::OpId(OP_MOVED.into()),
            Purpose::Sync,
            &FIXTURE_CHALLENGE,
        )
        .unwrap();
}
