//! Property test of issue 5 ("Bad input"): any byte string sent to the card as a command
//! APDU, alone or in a sequence with resets and power cycles, yields a well-formed
//! response APDU (ISO/IEC 7816-4 §5.1: 2 to 258 bytes, SW1 `61`-`6F` or `90`-`9F`), the
//! stored state still loads and passes its own consistency check after every command,
//! and the card still answers GetEID correctly afterwards.
//!
//! Commands are drawn from raw bytes and from near-valid shapes (known CLA/INS pairs,
//! STORE DATA with ES10 and device-change tags, chained blocks, GET RESPONSE, FETCH,
//! TERMINAL RESPONSE, MANAGE CHANNEL) so the sequences reach past the length checks.
//! 64 sequences of up to 20 commands keep `cargo test -p card-sim` fast; the
//! `card_sequence` cargo-fuzz target (fuzz/) explores the same space for longer.

mod common;
use apdu::crypto::{PrivateKey, Seed};
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::new_card;
use card_sim::state::{MemoryStorage, PersistentState, Secret, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::{Arc, OnceLock};

/// 64 sequences; `PROPTEST_CASES=N` runs more (or fewer).
fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        // Failing inputs are printed (shrunk); no regression files are written into the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// PKCS#8 of one identity key, derived once per test process: a card that has it in its
/// state skips the RSA key generation its first device-change function would do, which
/// keeps 64 sequences fast.
fn identity_pkcs8() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::derive(&Seed::from_bytes([0x1D; 32]))
            .and_then(|k| k.to_pkcs8_der())
            .map(|der| der.to_vec())
            .unwrap_or_default()
    })
}

/// Like `common::sim(2)`, with the identity key already made.
fn sim_with_identity() -> Sim {
    let storage = Arc::new(MemoryStorage::new());
    let mut state = new_card(eid(), 2);
    state.identity_key = Some(Secret::new(identity_pkcs8().to_vec()));
    storage.save(&state).expect("memory storage");
    let euicc = Euicc::new(
        state,
        Box::new(storage.clone()),
        ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    );
    let mut card = Transport::new(euicc);
    card.power_on();
    Sim { card, storage }
}

/// One step of a sequence.
#[derive(Debug, Clone)]
enum Step {
    Apdu(Vec<u8>),
    Reset,
    PowerCycle,
}

/// `header` + Lc + data (+ Le), short or extended form as the data needs.
fn with_body(header: [u8; 4], data: &[u8], le: Option<u8>) -> Vec<u8> {
    let mut out = header.to_vec();
    if data.len() > 255 {
        out.push(0);
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    } else if !data.is_empty() {
        out.push(data.len() as u8);
    }
    out.extend_from_slice(data);
    if let Some(le) = le {
        out.push(le);
    }
    out
}

/// ES10 and device-change top-level tags, and a few unknown ones.
const FUNCTION_TAGS: &[u8] = &[
    0x3E, 0x20, 0x22, 0x2E, 0x2D, 0x31, 0x32, 0x33, 0x34, 0x29, 0x3C, 0x3F, 0x28, 0x30, 0x43, 0x66,
    0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x56, 0x00,
];

/// A STORE DATA message body: a function tag with a (possibly wrong) length and content.
fn store_data_message() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(FUNCTION_TAGS),
        vec(any::<u8>(), 0..80),
        any::<bool>(),
    )
        .prop_map(|(t, content, honest_len)| {
            let mut m = vec![0xBF, t];
            let len = if honest_len {
                content.len()
            } else {
                content.len() ^ 1
            };
            m.push(len as u8);
            m.extend_from_slice(&content);
            m
        })
}

fn apdu() -> impl Strategy<Value = Vec<u8>> {
    let cla = prop_oneof![
        prop::sample::select(vec![
            0x00u8, 0x01, 0x80, 0x81, 0x82, 0x83, 0x90, 0x91, 0xC0, 0x40
        ]),
        any::<u8>(),
    ];
    let ins = prop::sample::select(vec![
        0xA4u8, 0xB0, 0xB2, 0xF2, 0xAA, 0xE2, 0x12, 0x14, 0x70, 0xC0, 0xCA,
    ]);
    prop_oneof![
        // Raw bytes of any length a reader may deliver.
        3 => vec(any::<u8>(), 0..300),
        // A known instruction with random parameters and a consistent length.
        3 => (cla.clone(), ins, any::<[u8; 2]>(), vec(any::<u8>(), 0..40), prop::option::of(any::<u8>()))
            .prop_map(|(c, i, p, d, le)| with_body([c, i, p[0], p[1]], &d, le)),
        // STORE DATA to the ISD-R, possibly chained or out of sequence.
        3 => (0u8..4, prop::sample::select(vec![0x11u8, 0x91, 0x10, 0x90, 0x00]), 0u8..3, store_data_message(), any::<bool>())
            .prop_map(|(ch, p1, p2, m, chained)| {
                let cla = 0x80 | ch | if chained { 0x10 } else { 0 };
                with_body([cla, 0xE2, p1, p2], &m, None)
            }),
        // SELECT the ISD-R (so STORE DATA reaches the ES10 dispatcher) on a channel.
        1 => (0u8..4).prop_map(|ch| with_body([ch, 0xA4, 0x04, 0x00], &hex::decode(ISDR).unwrap_or_default(), None)),
        // MANAGE CHANNEL open (card's choice) / close.
        1 => (0u8..4, any::<bool>(), 0u8..21).prop_map(|(ch, close, n)| {
            if close { vec![ch, 0x70, 0x80, n] } else { vec![ch, 0x70, 0x00, 0x00, 0x01] }
        }),
        // GET RESPONSE, FETCH, TERMINAL RESPONSE.
        1 => (0u8..4, any::<u8>()).prop_map(|(ch, le)| vec![0x80 | ch, 0xC0, 0x00, 0x00, le]),
        1 => any::<u8>().prop_map(|le| vec![0x80, 0x12, 0x00, 0x00, le]),
        1 => vec(any::<u8>(), 1..40).prop_map(|d| with_body([0x80, 0x14, 0x00, 0x00], &d, None)),
        // A long chained block.
        1 => (0u8..4, vec(any::<u8>(), 256..600)).prop_map(|(ch, d)| with_body([0x90 | ch, 0xE2, 0x11, 0x00], &d, None)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        18 => apdu().prop_map(Step::Apdu),
        1 => Just(Step::Reset),
        1 => Just(Step::PowerCycle),
    ]
}

/// A response APDU as ISO/IEC 7816-4 §5.1 and the transport's 256-byte cap allow.
fn check_response(cmd: &[u8], r: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        (2..=258).contains(&r.len()),
        "response of {} bytes to {}",
        r.len(),
        hex::encode_upper(cmd)
    );
    let sw1 = r[r.len() - 2];
    prop_assert!(
        (0x61..=0x6F).contains(&sw1) || (0x90..=0x9F).contains(&sw1),
        "SW1 {:02X} to {}",
        sw1,
        hex::encode_upper(cmd)
    );
    Ok(())
}

/// The stored state loads back from its JSON and validates, and is what the card holds.
fn check_state(s: &Sim) -> Result<(), TestCaseError> {
    let stored = s
        .storage
        .stored()
        .ok_or_else(|| TestCaseError::fail("no stored state"))?;
    let json = stored
        .to_json()
        .map_err(|e| TestCaseError::fail(format!("stored state does not serialize: {e}")))?;
    let reloaded = PersistentState::from_json(&json)
        .map_err(|e| TestCaseError::fail(format!("stored state does not load: {e:#}")))?;
    prop_assert_eq!(&reloaded, &stored);
    stored
        .validate()
        .map_err(|e| TestCaseError::fail(format!("stored state invalid: {e:#}")))?;
    prop_assert_eq!(s.card.applet().state(), &stored);
    Ok(())
}

/// GetEID on the basic channel, first ending whatever chain the sequence left open.
fn check_get_eid(card: &mut impl Card) -> Result<(), TestCaseError> {
    // A chain left open ends at the first command with another header (6883), or joins
    // a command with the same header once; two SELECT MF end any chain.
    for _ in 0..2 {
        card.transmit(&hex::decode("00A40004023F00").unwrap_or_default());
    }
    let r = tx(card, &format!("00A4040010{ISDR}"));
    prop_assert!(r.ends_with("9000"), "SELECT ISD-R: {}", r);
    let r = tx(card, "80E2910006BF3E035C015A");
    prop_assert_eq!(r, format!("BF3E125A10{}9000", eid().digits()));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_single_command_gets_a_well_formed_answer(cmd in apdu()) {
        let mut s = sim(2);
        let r = s.card.transmit(&cmd);
        check_response(&cmd, &r)?;
        check_state(&s)?;
        check_get_eid(&mut s.card)?;
    }

    #[test]
    fn any_command_sequence_keeps_the_card_sound(steps in vec(step(), 1..=20)) {
        let mut s = sim_with_identity();
        for st in &steps {
            match st {
                Step::Apdu(cmd) => {
                    let r = s.card.transmit(cmd);
                    check_response(cmd, &r)?;
                }
                Step::Reset => s.card.reset(),
                Step::PowerCycle => {
                    s.card.power_off();
                    s.card.power_on();
                }
            }
            check_state(&s)?;
        }
        check_get_eid(&mut s.card)?;
        // And after a power cycle, from a clean slate.
        s.card.power_off();
        s.card.power_on();
        check_get_eid(&mut s.card)?;
        check_state(&s)?;
    }
}
