//! Test vectors for the whole device-change key chain (issue 3, Cryptography: "Test
//! vectors for the whole chain in the repo"): parameter + salt + KDF params -> seed ->
//! RSA-2048 key -> fingerprint -> signature over a fixed message, and a sealed box that
//! must open. Any change anywhere in the chain fails this test.
//!
//! Regenerate (only on purpose, e.g. a new chain version):
//! `VEUICC_WRITE_VECTORS=1 cargo test -p apdu --test crypto_vectors`.
//! Timings: `cargo test -p apdu --test crypto_vectors -- --ignored --nocapture`.

use apdu::crypto::{
    derive_seed, key_pair_from_parameter, open, profile_aad, sign, verify, KdfParams, Parameter,
    PrivateKey, Purpose, Salt, SealedBox, SignedMessage,
};
use apdu::Eid;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Vector {
    name: String,
    parameter: String,
    salt: String,
    kdf: KdfParams,
    kdf_wire: String,
    seed: String,
    public_key_der: String,
    public_key_sha256: String,
    purpose: u8,
    challenge: String,
    op_id: String,
    eid: String,
    imei: String,
    message: String,
    signature: String,
    profile_plaintext: String,
    sealed_box: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct VectorFile {
    description: String,
    vectors: Vec<Vector>,
}

const SALT: [u8; 16] = *b"vEUICC-test-salt";
const CHALLENGE: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];
/// The card's one-time challenge of the BF69 (BF6D) in the sealed box's AAD.
const CARD_CHALLENGE: [u8; 16] = *b"card-challenge16";
const OP_ID: &str = "+8613800138000";
const EID: &str = "89049032123451234512345678901235";
const IMEI: &str = "356938035643809";
const PROFILE: &[u8] = b"ICCID=89860000000000000019;IMSI=460001234567890;MSISDN=+8613800138000";

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/device_change.json")
}

fn eid() -> Eid {
    EID.parse().expect("test EID has valid check digits")
}

/// Computes a vector from scratch. The sealed box needs randomness, so the committed one
/// is only checked to open, and a fresh one is made when writing.
fn compute(name: &str, parameter: &str, kdf: KdfParams, sealed_box: Option<&str>) -> Vector {
    let param = Parameter::new(parameter.to_owned()).unwrap();
    let seed = derive_seed(&param, &Salt(SALT), &kdf).unwrap();
    let key = PrivateKey::derive(&seed).unwrap();
    let pk = key.public_key();
    let msg = SignedMessage::new(Purpose::DeviceChange, &CHALLENGE, OP_ID, eid(), IMEI).unwrap();
    let signature = sign(&key, &msg).unwrap();
    let aad = profile_aad(OP_ID, &eid(), &CARD_CHALLENGE).unwrap();
    let sealed = match sealed_box {
        Some(s) => s.to_owned(),
        None => hex::encode(
            apdu::crypto::seal(&pk, PROFILE, &aad, &mut apdu::crypto::SysRng)
                .unwrap()
                .to_bytes(),
        ),
    };
    Vector {
        name: name.to_owned(),
        parameter: parameter.to_owned(),
        salt: hex::encode(SALT),
        kdf,
        kdf_wire: hex::encode(kdf.to_bytes()),
        seed: hex::encode(seed.expose_bytes()),
        public_key_der: hex::encode(pk.to_der()),
        public_key_sha256: pk.fingerprint().to_string(),
        purpose: Purpose::DeviceChange.byte(),
        challenge: hex::encode(CHALLENGE),
        op_id: OP_ID.to_owned(),
        eid: EID.to_owned(),
        imei: IMEI.to_owned(),
        message: hex::encode(msg.to_bytes()),
        signature: hex::encode(signature),
        profile_plaintext: String::from_utf8_lossy(PROFILE).into_owned(),
        sealed_box: sealed,
    }
}

fn expected() -> Vec<(&'static str, &'static str, KdfParams)> {
    vec![
        ("test-profile-123456", "123456", KdfParams::TEST),
        ("test-profile-8-chars", "Tr0ub4d&", KdfParams::TEST),
        ("production-profile-123456", "123456", KdfParams::PRODUCTION),
    ]
}

#[test]
fn committed_vectors_recompute() {
    if std::env::var_os("VEUICC_WRITE_VECTORS").is_some() {
        let vectors = expected()
            .into_iter()
            .map(|(n, p, k)| compute(n, p, k, None))
            .collect();
        let file = VectorFile {
            description: "vEUICC device-change chain: Argon2id(parameter, salt) -> seed -> \
                ChaCha20Rng -> RSA-2048 (apdu/src/crypto/keygen.rs) -> PKCS#1 v1.5 SHA-256 \
                signature over `message`; `sealed_box` opens to `profile_plaintext` with AAD \
                profile_aad(op_id, eid, card_challenge). All binary fields are hex."
                .into(),
            vectors,
        };
        let text = serde_json::to_string_pretty(&file).unwrap() + "\n";
        std::fs::write(path(), text).unwrap();
    }
    let text = std::fs::read_to_string(path()).expect("tests/vectors/device_change.json");
    let file: VectorFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file.vectors.len(), expected().len());
    for (committed, (name, param, kdf)) in file.vectors.iter().zip(expected()) {
        let t = Instant::now();
        let fresh = compute(name, param, kdf, Some(&committed.sealed_box));
        assert_eq!(&fresh, committed, "vector {name} changed");
        // Independent checks from the committed bytes alone.
        let pk =
            apdu::crypto::PublicKey::from_der(&hex::decode(&committed.public_key_der).unwrap())
                .unwrap();
        let msg =
            SignedMessage::new(Purpose::DeviceChange, &CHALLENGE, OP_ID, eid(), IMEI).unwrap();
        verify(&pk, &msg, &hex::decode(&committed.signature).unwrap()).unwrap();
        let key = key_pair_from_parameter(
            &Parameter::new(param.to_owned()).unwrap(),
            &Salt(SALT),
            &kdf,
        )
        .unwrap();
        let sealed = SealedBox::from_bytes(&hex::decode(&committed.sealed_box).unwrap()).unwrap();
        let aad = profile_aad(OP_ID, &eid(), &CARD_CHALLENGE).unwrap();
        assert_eq!(open(&key, &sealed, &aad).unwrap().as_slice(), PROFILE);
        println!("vector {name}: {:?}", t.elapsed());
    }
}

#[test]
fn wrong_parameter_cannot_sign_or_open() {
    if std::env::var_os("VEUICC_WRITE_VECTORS").is_some() {
        return; // the file is being rewritten by the other test
    }
    let text = std::fs::read_to_string(path()).unwrap();
    let file: VectorFile = serde_json::from_str(&text).unwrap();
    let v = &file.vectors[0];
    let pk = apdu::crypto::PublicKey::from_der(&hex::decode(&v.public_key_der).unwrap()).unwrap();
    let wrong = key_pair_from_parameter(
        &Parameter::new("123457".to_owned()).unwrap(),
        &Salt(SALT),
        &v.kdf,
    )
    .unwrap();
    let msg = SignedMessage::new(Purpose::DeviceChange, &CHALLENGE, OP_ID, eid(), IMEI).unwrap();
    assert!(verify(&pk, &msg, &sign(&wrong, &msg).unwrap()).is_err());
    let sealed = SealedBox::from_bytes(&hex::decode(&v.sealed_box).unwrap()).unwrap();
    let aad = profile_aad(OP_ID, &eid(), &CARD_CHALLENGE).unwrap();
    assert!(open(&wrong, &sealed, &aad).is_err());
}

/// Not a check: prints what each step costs on this machine.
#[test]
#[ignore]
fn measure_costs() {
    let param = Parameter::new("123456".to_owned()).unwrap();
    for (name, kdf) in [
        ("test", KdfParams::TEST),
        ("production", KdfParams::PRODUCTION),
    ] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let _ = derive_seed(&param, &Salt(SALT), &kdf).unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "KDF {name} profile: median {:?} (min {:?}, max {:?})",
            times[2], times[0], times[4]
        );
    }
    let mut times = Vec::new();
    for i in 0..20u8 {
        let seed = apdu::crypto::Seed::from_bytes([i; 32]);
        let t = Instant::now();
        let _ = PrivateKey::derive(&seed).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "keygen RSA-2048 (20 seeds): median {:?} (min {:?}, max {:?})",
        times[10], times[0], times[19]
    );
    let key = PrivateKey::derive(&apdu::crypto::Seed::from_bytes([1; 32])).unwrap();
    let msg = SignedMessage::new(Purpose::DeviceChange, &CHALLENGE, OP_ID, eid(), IMEI).unwrap();
    let t = Instant::now();
    let sig = sign(&key, &msg).unwrap();
    println!("sign: {:?}", t.elapsed());
    let t = Instant::now();
    verify(&key.public_key(), &msg, &sig).unwrap();
    println!("verify: {:?}", t.elapsed());
    let aad = profile_aad(OP_ID, &eid(), &CARD_CHALLENGE).unwrap();
    let t = Instant::now();
    let sealed =
        apdu::crypto::seal(&key.public_key(), PROFILE, &aad, &mut apdu::crypto::SysRng).unwrap();
    println!("seal: {:?}", t.elapsed());
    let t = Instant::now();
    open(&key, &sealed, &aad).unwrap();
    println!("open: {:?}", t.elapsed());
}
