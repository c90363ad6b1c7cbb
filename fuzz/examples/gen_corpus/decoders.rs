//! The seeds of the decoder targets, from the messages and commands the card sessions
//! carried: `es10_decode` (every distinct message, and the crypto wire formats),
//! `ber_tlv` (the messages and hand-made TLV shapes), `apdu_command` (the distinct
//! command shapes, and the extended forms).

use super::rec::{h, operator_profile, seal_for};
use apdu::crypto::{self, KdfParams};
use apdu::iso7816::tlv;
use euicc_fuzz::answers::IMEI;
use euicc_fuzz::harness::eid;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeSet;

/// A target's seeds: (file name, bytes).
pub type Seeds = Vec<(String, Vec<u8>)>;

/// The `es10_decode` and `ber_tlv` seeds.
pub fn message_seeds(messages: &[Vec<u8>], rng: &mut ChaCha20Rng) -> (Seeds, Seeds) {
    // The decoders: every distinct message, and the crypto wire formats.
    let mut decoder_seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut tlv_seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seen = BTreeSet::new();
    for m in messages {
        let tag = m.iter().take(2).fold(0u32, |a, &b| (a << 8) | u32::from(b));
        // Requests and answers of one function share the top-level tag; its first
        // child's tag tells them apart (`80`: an answer's result code).
        let first = tlv::parse(m)
            .ok()
            .and_then(|t| tlv::children(&t).first().map(tlv::tag_num));
        // Up to 3 messages per top-level tag and first child keep the corpus small.
        let kind = seen
            .iter()
            .filter(|(t, f, _)| (*t, *f) == (tag, first))
            .count();
        if kind >= 3 || m.len() > 4096 || seen.iter().any(|(_, _, s)| s == m) {
            continue;
        }
        let n = seen.iter().filter(|(t, _, _)| *t == tag).count();
        seen.insert((tag, first, m.clone()));
        let name = format!("msg-{tag:04x}-{n}");
        if kind < 2 {
            tlv_seeds.push((name.clone(), m.clone()));
        }
        decoder_seeds.push((name, m.clone()));
    }
    let pk = crypto::PrivateKey::derive(&crypto::Seed::from_bytes([0x42; 32])).expect("key");
    decoder_seeds.push(("public-key.der".into(), pk.public_key().to_der()));
    decoder_seeds.push((
        "sealed-box".into(),
        seal_for(&pk.public_key(), &[0xCC; 16], rng),
    ));
    decoder_seeds.push(("kdf-test".into(), KdfParams::TEST.to_bytes().to_vec()));
    decoder_seeds.push((
        "kdf-production".into(),
        KdfParams::PRODUCTION.to_bytes().to_vec(),
    ));
    decoder_seeds.push((
        "operator-profile".into(),
        operator_profile().encode().to_vec(),
    ));
    decoder_seeds.push((
        "imei-bcd".into(),
        apdu::cat::imei_to_bcd(IMEI).expect("IMEI"),
    ));
    decoder_seeds.push(("eid".into(), eid().0.to_vec()));
    decoder_seeds.push(("iccid".into(), operator_profile().iccid.0.to_vec()));
    decoder_seeds.push(("ucs2-text".into(), h("0800410042")));
    for (name, t) in [
        ("three-byte-tag", "9F810103010203"),
        ("long-length", "0481820102"),
        ("nested-empty", "3006A004A1023000"),
        ("two-objects", "04010105020202"),
        ("bf-two-byte-length", "BF2D820004A0020000"),
    ] {
        tlv_seeds.push((name.into(), h(t)));
    }
    (decoder_seeds, tlv_seeds)
}

/// The `apdu_command` seeds.
pub fn command_seeds(commands: &[Vec<u8>]) -> Seeds {
    // Commands: the distinct header shapes of the sessions, plus the extended forms.
    let mut shapes = BTreeSet::new();
    let mut command_seeds = Vec::new();
    for c in commands {
        let shape = (c.get(..2).map(<[u8]>::to_vec), c.len().min(300) / 40);
        if shapes.insert(shape) {
            command_seeds.push((format!("cmd-{:02}", command_seeds.len()), c.clone()));
        }
    }
    for (name, c) in [
        ("ext-case2", "00B0000000FFFF"),
        ("ext-case2-65536", "00B00000000000"),
        ("ext-case3", "80E2910000000301020A"),
        ("ext-case4", "80E29100000003010203FFFF"),
        ("resp-9000", "9000"),
        ("resp-61xx", "01026110"),
    ] {
        command_seeds.push((name.into(), h(c)));
    }
    command_seeds
}
