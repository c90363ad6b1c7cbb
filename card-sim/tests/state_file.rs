//! The state file: schema v1 still loads, saves are atomic and reload identically, a
//! corrupt or foreign file is a clear error and is left untouched, one card-sim per file.

mod common;
use apdu::sgp22::es10::ProfileState;
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::{derive_eid, new_card};
use card_sim::state::{FileStorage, PersistentState, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::PathBuf;

const SAMPLE_V1: &str = include_str!("data/state-v1.json");

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
    // Writing it back gives the same document but for the schema number and the PKI.
    let mut written: serde_json::Value = serde_json::from_slice(&s.to_json().unwrap()).unwrap();
    assert!(written.as_object_mut().unwrap().remove("pki").is_some());
    let expected: serde_json::Value =
        serde_json::from_str(&SAMPLE_V1.replacen("\"schema\": 1,", "\"schema\": 5,", 1)).unwrap();
    assert_eq!(written, expected);
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
        let s = new_card(eid(), 1);
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
    assert_eq!(s.notifications.len(), 2);
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
