//! The state file: schema v1 and v5 still load, saves are atomic and reload identically, a
//! corrupt or foreign file is a clear error and is left untouched, one card-sim per file.

mod common;
use apdu::sgp22::es10::{events, Es10Request, Iccid, ProfileRef, ProfileState};
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::{derive_eid, new_card};
use card_sim::state::notification::{Event, Notification};
use card_sim::state::profile::NotificationConfig;
use card_sim::state::{FileStorage, MemoryStorage, PersistentState, Storage, SCHEMA_VERSION};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::PathBuf;

const SAMPLE_V1: &str = include_str!("data/state-v1.json");
/// Written by card-sim at schema 5 (main 39b5f2e, 2026-12-03 07:06 UTC, stack of
/// scripts/stack-up.sh): `card-sim --slot 0 --state F --seed 5 --test-profiles 1`, then
/// `sm-cli profiles download` of an `sm-cli smdp order --package
/// apdu/tests/vectors/saip/built-milenage.der` from `sm-cli smdp serve --hostname
/// localhost` (install notification delivered and removed) and `sm-cli profiles enable
/// 8949449999999990023`, which left a disable notification of PP#0 to `smdp.invalid` and
/// the downloaded profile's enable notification.
const SAMPLE_V5: &str = include_str!("data/state-v5.json");

/// The notification configuration an older file's `notification_address` becomes.
fn legacy_config(address: &str) -> Vec<NotificationConfig> {
    vec![NotificationConfig {
        events: vec![Event::Enable, Event::Disable, Event::Delete],
        address: address.into(),
    }]
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("card-sim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The names in `dir`, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn sample_v1_still_loads() {
    let s = PersistentState::from_json(SAMPLE_V1.as_bytes()).unwrap();
    // Version 1 is upgraded in memory: same content, the current schema, no identity key
    // yet, an eUICC PKI issued from the EID (the same on every load).
    assert_eq!(s.schema, card_sim::state::SCHEMA_VERSION);
    assert_eq!(s, PersistentState::from_json(SAMPLE_V1.as_bytes()).unwrap());
    assert!(s.identity_key.is_none());
    assert_eq!(s.eid.to_string(), "89049032000000000000000000100073");
    assert_eq!(s.profiles.len(), 3);
    assert_eq!(s.profiles[1].state, ProfileState::Enabled);
    assert_eq!(s.profiles[1].ki.as_ref().unwrap().expose().len(), 16);
    assert!(
        !format!("{s:?}").contains("000102030405"),
        "secrets redacted in Debug"
    );
    assert_eq!(s.notifications.len(), 2);
    // The profile with a notification address notifies enable, disable and delete
    // there, as it did; the others notify nothing.
    assert_eq!(
        s.profiles[1].notification_configs,
        legacy_config("smdp.example.com")
    );
    assert!(s.profiles[0].notification_configs.is_empty());
    assert!(s.profiles[2].notification_configs.is_empty());
    // Writing it back gives the same document but for the schema number, the PKI and
    // the notification address, now a configuration.
    let mut written: serde_json::Value = serde_json::from_slice(&s.to_json().unwrap()).unwrap();
    assert!(written.as_object_mut().unwrap().remove("pki").is_some());
    let profile = &mut written["profiles"][1];
    assert_eq!(
        profile
            .as_object_mut()
            .unwrap()
            .remove("notification_configs"),
        Some(serde_json::json!([{
            "events": ["enable", "disable", "delete"],
            "address": "smdp.example.com"
        }]))
    );
    profile["notification_address"] = "smdp.example.com".into();
    let expected: serde_json::Value = serde_json::from_str(&SAMPLE_V1.replacen(
        "\"schema\": 1,",
        &format!("\"schema\": {SCHEMA_VERSION},"),
        1,
    ))
    .unwrap();
    assert_eq!(written, expected);
}

/// A schema 5 file (before notification configurations): the downloaded profile's
/// notification address becomes enable/disable/delete there, PP#0 and the test profile
/// configure nothing, the pending notifications stay as they were. On the card it then
/// notifies the downloaded profile's disable and nothing for PP#0 or the test profile.
#[test]
fn sample_v5_still_loads_with_notification_configs() {
    assert!(SAMPLE_V5.contains("\"schema\": 5,"));
    let s = PersistentState::from_json(SAMPLE_V5.as_bytes()).unwrap();
    assert_eq!(s.schema, SCHEMA_VERSION);
    assert_eq!(s, PersistentState::from_json(SAMPLE_V5.as_bytes()).unwrap());
    let downloaded = Iccid::from_digits("8949449999999990023").unwrap();
    let configs: Vec<_> = s
        .profiles
        .iter()
        .map(|p| (p.iccid, p.notification_configs.clone()))
        .collect();
    assert_eq!(
        configs,
        vec![
            (s.profiles[0].iccid, vec![]),
            (s.profiles[1].iccid, vec![]),
            (downloaded, legacy_config("localhost:35495")),
        ]
    );
    let pending: Vec<(u32, Event, &str, Option<Iccid>)> = s
        .notifications
        .iter()
        .map(|n| (n.seq, n.event, n.address.as_str(), n.iccid))
        .collect();
    let pp = Some(s.profiles[0].iccid);
    assert_eq!(
        pending,
        vec![
            (2, Event::Disable, "smdp.invalid", pp),
            (3, Event::Enable, "localhost:35495", Some(downloaded)),
        ]
    );
    assert_eq!(s.next_notification_seq, 4);
    // Written back: the same document but for the schema number and the configuration.
    let mut written: serde_json::Value = serde_json::from_slice(&s.to_json().unwrap()).unwrap();
    let profile = written["profiles"][2].as_object_mut().unwrap();
    assert!(profile.remove("notification_configs").is_some());
    profile.insert("notification_address".into(), "localhost:35495".into());
    let expected: serde_json::Value = serde_json::from_str(&SAMPLE_V5.replacen(
        "\"schema\": 5,",
        &format!("\"schema\": {SCHEMA_VERSION},"),
        1,
    ))
    .unwrap();
    assert_eq!(written, expected);

    // On the card: PP#0 enabled (the downloaded profile disabled: notified), then the
    // test profile (PP#0 disabled: nothing; the test profile: nothing).
    let test1 = s.profiles[1].iccid;
    let pp = s.profiles[0].iccid;
    let mut c = card_with(s, Box::new(std::sync::Arc::new(MemoryStorage::new())));
    open_isdr(&mut c);
    for target in [pp, test1] {
        let req = Es10Request::EnableProfile {
            target: ProfileRef::Iccid(target),
            refresh: false,
        };
        assert_eq!(es10(&mut c, 1, &req.encode(), 120).1, "9000");
    }
    let state = c.applet().state();
    assert_eq!(state.enabled().unwrap().iccid, test1);
    assert_eq!(
        state.notifications.last(),
        Some(&Notification {
            seq: 4,
            event: Event::Disable,
            address: "localhost:35495".into(),
            iccid: Some(downloaded),
            signed: None,
        })
    );
    assert_eq!(state.notifications.len(), 3);
    assert_eq!(state.next_notification_seq, 5);
    assert_eq!(state.notifications[2].metadata().events, events::DISABLE);
}

/// Schema 6 round trip: a profile's notification configurations and a notification
/// without an ICCID (an install refused before its metadata was kept) are written and
/// read back; the old `notification_address` is no field of schema 6.
#[test]
fn notification_configs_and_an_install_result_without_iccid_round_trip() {
    let mut s = new_card(derive_eid(None, 5), 1);
    s.profiles[1].notification_configs = vec![
        NotificationConfig {
            events: vec![Event::Enable],
            address: "a.example".into(),
        },
        NotificationConfig {
            events: vec![Event::Disable, Event::Delete],
            address: "b.example".into(),
        },
    ];
    s.notifications.push(Notification {
        seq: 1,
        event: Event::Install,
        address: "smdp.example".into(),
        iccid: None,
        signed: Some(vec![0xBF, 0x37, 0x00]),
    });
    s.next_notification_seq = 2;
    s.validate().unwrap();
    let json = s.to_json().unwrap();
    assert_eq!(PersistentState::from_json(&json).unwrap(), s);
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert!(v["notifications"][0].get("iccid").is_none());
    assert_eq!(
        v["profiles"][1]["notification_configs"][1],
        serde_json::json!({"events": ["disable", "delete"], "address": "b.example"})
    );
    let text = String::from_utf8(json).unwrap().replacen(
        "\"notification_configs\"",
        "\"notification_address\": \"a.example\", \"notification_configs\"",
        1,
    );
    let e = PersistentState::from_json(text.as_bytes()).unwrap_err();
    assert!(format!("{e:#}").contains("notification_address"), "{e:#}");
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let bad = [
        ("", "JSON"),
        ("{", "JSON"),
        (r#"{"schema": 2}"#, "schema version 2"),
        (r#"{"eid": "x"}"#, "schema"),
        (&SAMPLE_V1.replace("100073", "100074"), "check digits"),
        (&SAMPLE_V1.replace("\"disabled\"", "\"enabled\""), "enabled"),
        (
            &SAMPLE_V1.replace("\"name\": \"PP#0\"", "\"name\": \"PP#0\", \"extra\": 1"),
            "extra",
        ),
        (
            &SAMPLE_V1.replace("89990020000000010001", "89990010000000010003"),
            "twice",
        ),
    ];
    for (text, why) in bad {
        let e = PersistentState::from_json(text.as_bytes()).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains(why), "{why}: {msg}");
    }
}

#[test]
fn file_storage_round_trip_and_corruption() {
    let dir = tmpdir("roundtrip");
    let path = dir.join("card.json");
    let st = FileStorage::open(&path).unwrap();
    assert_eq!(st.load().unwrap(), None, "new card");
    let s = new_card(derive_eid(None, 3), 2);
    st.save(&s).unwrap();
    assert_eq!(st.load().unwrap(), Some(s.clone()));
    assert!(
        !dir.join("card.json.tmp").exists(),
        "temp file renamed away"
    );
    assert_eq!(
        names(&dir),
        ["card.json", "card.json.lock"],
        "nothing but the state and its lock"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second card-sim on the same file is refused.
    let e = FileStorage::open(&path).unwrap_err();
    assert!(format!("{e:#}").contains("in use"), "{e:#}");
    drop(st);
    // Corrupt it: a clear error, and the file is left as it was.
    std::fs::write(&path, b"{ not json").unwrap();
    let st = FileStorage::open(&path).unwrap();
    let e = st.load().unwrap_err();
    assert!(format!("{e:#}").contains("corrupt"), "{e:#}");
    assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_restarted_card_keeps_its_state() {
    let dir = tmpdir("restart");
    let path = dir.join("card.json");
    let iccid;
    {
        let st = FileStorage::open(&path).unwrap();
        let mut s = new_card(eid(), 1);
        // Configured to notify its enable (PP#0, disabled by it, notifies nothing).
        s.profiles[1].notification_configs = vec![NotificationConfig {
            events: vec![Event::Enable],
            address: "smdp.example".into(),
        }];
        st.save(&s).unwrap();
        iccid = s.profiles[1].iccid;
        let mut card = Transport::new(Euicc::new(
            s,
            Box::new(st),
            ChaCha20Rng::seed_from_u64(0),
            atr::DEFAULT_ATR.to_vec(),
        ));
        card.power_on();
        open_isdr(&mut card);
        let req = apdu::sgp22::es10::Es10Request::EnableProfile {
            target: apdu::sgp22::es10::ProfileRef::Iccid(iccid),
            refresh: true,
        };
        assert_eq!(es10(&mut card, 1, &req.encode(), 120).1, "9000");
        // Dropped without any shutdown: like a killed process.
    }
    let st = FileStorage::open(&path).unwrap();
    let s = st.load().unwrap().unwrap();
    assert_eq!(s.enabled().unwrap().iccid, iccid);
    assert_eq!(s.notifications.len(), 1);
    assert_eq!(
        (s.notifications[0].event, s.notifications[0].iccid),
        (Event::Enable, Some(iccid))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn temporaries_of_a_killed_save_are_removed_at_open() {
    let dir = tmpdir("stale");
    let path = dir.join("card.json");
    let s = new_card(derive_eid(None, 4), 0);
    {
        let st = FileStorage::open(&path).unwrap();
        st.save(&s).unwrap();
    }
    // What a card-sim killed between creating and renaming its temporary file leaves:
    // this crate's name, the name of versions before it; other files stay.
    for n in [
        ".card.json.Ab3xY9",
        "card.json.tmp",
        ".card.json.notours",
        "other",
    ] {
        std::fs::write(dir.join(n), b"{ torn").unwrap();
    }
    let st = FileStorage::open(&path).unwrap();
    assert_eq!(
        names(&dir),
        [".card.json.notours", "card.json", "card.json.lock", "other"]
    );
    assert_eq!(st.load().unwrap(), Some(s));
    let _ = std::fs::remove_dir_all(&dir);
}
