//! Bad input on a card that serves a profile's package (issue 5's property, for the SIM
//! of issue 9): any sequence of commands, drawn from raw bytes and from near-valid shapes
//! of the SIM commands (SELECT, READ / UPDATE BINARY and RECORD, the PIN commands,
//! AUTHENTICATE, STATUS) with power cycles between them, yields a well-formed response
//! APDU, the saved state still loads and validates after every command, and the card
//! still serves its USIM afterwards.

mod common;
use apdu::saip::build::USIM_AID;
use card_sim::state::PersistentState;
use card_sim::vpcd::Card;
use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A step: a command (or `None`: a power cycle).
fn step() -> impl Strategy<Value = Option<Vec<u8>>> {
    let ins = prop::sample::select(vec![
        0xA4u8, 0xB0, 0xB2, 0xD6, 0xDC, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x88, 0xF2, 0xC0,
    ]);
    let shaped = (
        prop::sample::select(vec![0x00u8, 0x80, 0x01, 0x40]),
        ins,
        any::<u8>(),
        any::<u8>(),
        vec(any::<u8>(), 0..40),
        prop::option::of(any::<u8>()),
    )
        .prop_map(|(cla, ins, p1, p2, data, le)| {
            let mut c = vec![cla, ins, p1, p2];
            if !data.is_empty() {
                c.push(data.len() as u8);
                c.extend(data);
            }
            if let Some(le) = le {
                c.push(le);
            }
            c
        });
    let usim = Just({
        let mut c = vec![0x00, 0xA4, 0x04, 0x04, 0x10];
        c.extend(USIM_AID);
        c
    });
    let fid = (prop::sample::select(vec![
        0x3F00u16, 0x2FE2, 0x2F00, 0x7FFF, 0x6F07, 0x6F3C, 0x6F7E, 0x6FAD, 0x6F06, 0x2F06,
    ]))
    .prop_map(|f| {
        let [a, b] = f.to_be_bytes();
        vec![0x00, 0xA4, 0x00, 0x04, 0x02, a, b]
    });
    let pin = (
        any::<bool>(),
        prop::sample::select(vec![0x01u8, 0x0A, 0x81]),
    )
        .prop_map(|(right, key)| {
            let v: &[u8] = match (right, key) {
                (true, 0x0A) => b"88888888",
                (true, _) => b"1234\xFF\xFF\xFF\xFF",
                _ => b"0000\xFF\xFF\xFF\xFF",
            };
            let mut c = vec![0x00, 0x20, 0x00, key, 0x08];
            c.extend_from_slice(v);
            c
        });
    let file_op = (
        prop::sample::select(vec![0xB0u8, 0xB2, 0xD6, 0xDC]),
        prop_oneof![0u8..4, 0x80u8..0xA0],
        any::<u8>(),
        vec(any::<u8>(), 0..12),
        prop::option::of(any::<u8>()),
    )
        .prop_map(|(ins, p1, p2, data, le)| {
            let mut c = vec![0x00, ins, p1, p2];
            // Reads carry no data (else 6700 before anything is read).
            if !data.is_empty() && matches!(ins, 0xD6 | 0xDC) {
                c.push(data.len() as u8);
                c.extend(data);
            }
            if let Some(le) = le {
                c.push(le);
            }
            c
        });
    prop_oneof![
        4 => file_op.prop_map(Some),
        1 => Just(None),
        2 => vec(any::<u8>(), 0..24).prop_map(Some),
        6 => shaped.prop_map(Some),
        2 => usim.prop_map(Some),
        3 => fid.prop_map(Some),
        2 => pin.prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_sequence_gets_well_formed_answers(
        start in prop::sample::select(vec![
            "",
            "00A40004022FE2",
            "00A40004022F00",
            "00A4040C10A0000000871002FFFFFFFF8907090000,00A40004026FAD",
            "00A4040C10A0000000871002FFFFFFFF8907090000,002000010831323334FFFFFFFF,00A4000C026F3C",
        ]),
        steps in vec(step(), 1..20),
    ) {
        let mut s = sim_profile();
        // A start that leaves a current EF, so the file commands get past `6986`.
        for c in start.split(',').filter(|c| !c.is_empty()) {
            prop_assert!(tx(&mut s.card, c).ends_with("9000"));
        }
        for st in steps {
            match st {
                None => {
                    s.card.power_off();
                    s.card.power_on();
                }
                Some(cmd) => {
                    let r = s.card.transmit(&cmd);
                    let shown = format!("{} -> {}", hex::encode(&cmd), hex::encode(&r));
                    prop_assert!((2..=258).contains(&r.len()), "{}", shown);
                    let sw1 = r[r.len() - 2];
                    prop_assert!(matches!(sw1, 0x61..=0x6F | 0x90..=0x9F), "{}", hex::encode(&r));
                }
            }
            let saved = s.storage.stored().unwrap();
            let again = PersistentState::from_json(&saved.to_json().unwrap());
            prop_assert!(again.is_ok(), "{:?}", again.err());
        }
        // Still a SIM: the USIM is there (PINs may be blocked by now, so no VERIFY).
        s.card.power_off();
        s.card.power_on();
        let r = tx(&mut s.card, &format!("00A4040C10{}", hex::encode_upper(USIM_AID)));
        prop_assert_eq!(r, "9000");
    }
}
