//! The state file with profiles served as SIMs: a schema 3 file (written by the card-sim
//! before schema 4, `data/state-v3.json`) and a schema 4 file (`data/state-v4.json`,
//! before the identity encryption key of schema 5) still load and their packages are
//! served; the
//! profile's `sim` part (files, PIN counters, SQN) is written to the file and read back
//! by a new card-sim on the same file.

mod common;
use apdu::saip::build::USIM_AID;
use card_sim::state::{FileStorage, PersistentState, Storage};
use common::*;

const SAMPLE_V3: &str = include_str!("data/state-v3.json");
const SAMPLE_V4: &str = include_str!("data/state-v4.json");

/// `"schema": N,` of this build's schema version.
fn current_schema() -> String {
    format!("\"schema\": {},", card_sim::state::SCHEMA_VERSION)
}

#[test]
fn sample_v4_still_loads_with_its_identity_key_and_sim_part() {
    assert!(SAMPLE_V4.contains("\"schema\": 4,"));
    let s = PersistentState::from_json(SAMPLE_V4.as_bytes()).unwrap();
    assert_eq!(s.schema, card_sim::state::SCHEMA_VERSION);
    assert!(s.identity_key.is_some());
    assert!(
        s.identity_encryption_key.is_none(),
        "made when first needed"
    );
    let p = s.enabled().unwrap();
    assert!(p.package.is_some() && !p.sim.is_empty());
    let written: serde_json::Value = serde_json::from_slice(&s.to_json().unwrap()).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&SAMPLE_V4.replacen("\"schema\": 4,", &current_schema(), 1)).unwrap();
    assert_eq!(written, expected);
}

#[test]
fn sample_v3_still_loads_and_serves_its_package() {
    assert!(SAMPLE_V3.contains("\"schema\": 3,"));
    let s = PersistentState::from_json(SAMPLE_V3.as_bytes()).unwrap();
    assert_eq!(s.schema, card_sim::state::SCHEMA_VERSION);
    let p = s.enabled().unwrap();
    assert!(p.package.is_some() && p.sim.is_empty());
    // Written back: the same document but for the schema number and the profile's
    // notification address, now its notification configuration (schema 6).
    let written: serde_json::Value = serde_json::from_slice(&s.to_json().unwrap()).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &SAMPLE_V3
            .replacen("\"schema\": 3,", &current_schema(), 1)
            .replacen(
                "\"notification_address\": \"smdp.example.com\"",
                "\"notification_configs\": [{\"events\": [\"enable\", \"disable\", \"delete\"], \
                 \"address\": \"smdp.example.com\"}]",
                1,
            ),
    )
    .unwrap();
    assert_eq!(written, expected);
    // The enabled profile's package is served: its USIM, PIN 1234.
    let storage = std::sync::Arc::new(card_sim::state::MemoryStorage::new());
    let mut c = card_with(s, Box::new(storage));
    assert_eq!(
        tx(
            &mut c,
            &format!("00A4040C10{}", hex::encode_upper(USIM_AID))
        ),
        "9000"
    );
    assert_eq!(
        tx(&mut c, &format!("0020000108{}", pin_block("1234"))),
        "9000"
    );
    assert!(tx(&mut c, "00B0870009").ends_with("9000"));
}

#[test]
fn the_sim_part_is_in_the_file_and_read_back() {
    let dir = std::env::temp_dir().join(format!("card-sim-sim-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.json");
    {
        let st = FileStorage::open(&path).unwrap();
        let s = state_with_package(&subscription());
        st.save(&s).unwrap();
        let mut c = card_with(s, Box::new(st));
        assert_eq!(
            tx(&mut c, &format!("0020000108{}", pin_block("0000"))),
            "63C2"
        );
        assert_eq!(
            tx(
                &mut c,
                &format!("00A4040C10{}", hex::encode_upper(USIM_AID))
            ),
            "9000"
        );
        assert_eq!(
            tx(&mut c, &format!("0020000108{}", pin_block(PIN1))),
            "9000"
        );
        assert_eq!(tx(&mut c, "00D68B0001EE"), "9000", "EF.LOCI by SFI 0B");
        assert_eq!(
            tx(&mut c, &format!("0020000108{}", pin_block("0000"))),
            "63C2"
        );
        // Dropped without a shutdown, like a killed process.
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"sim\""), "{text}");
    let st = FileStorage::open(&path).unwrap();
    let s = st.load().unwrap().unwrap();
    let sim = &s.enabled().unwrap().sim;
    let pin = sim.pins.values().next().unwrap();
    assert_eq!(pin.left, 2);
    assert!(pin.value.is_none(), "a value is kept only once changed");
    let mut c = card_with(s, Box::new(st));
    assert_eq!(tx(&mut c, "00200001"), "63C2");
    assert_eq!(
        tx(&mut c, &format!("0020000108{}", pin_block(PIN1))),
        "9000"
    );
    assert_eq!(
        tx(
            &mut c,
            &format!("00A4040C10{}", hex::encode_upper(USIM_AID))
        ),
        "9000"
    );
    assert!(tx(&mut c, "00B08B0001").starts_with("EE"));
    let _ = std::fs::remove_dir_all(&dir);
}
