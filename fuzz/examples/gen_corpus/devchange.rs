//! The card sessions of the device-change method (docs/device-change-protocol.md):
//! flow A with the authorised install (BF6D, BF69), identity proof and authorised
//! removal (BF6D, BF6B), the ways a session ends early, flow B's first steps and the
//! identity paths, flow B's two installs (sealed to the identity encryption key after an
//! identity-only BF68, and to the key derived from the parameter), the authorisations
//! the card refuses, and interruptions mid-session.

use super::rec::{
    install_request, operator_profile, removal_request, seal_for, sm_auth, Bytes, Rec,
};
use apdu::crypto::{self, KdfParams, Parameter, PublicKey, Salt};
use apdu::devchange::authorisation::install_payload_hash;
use apdu::devchange::{DcRequest, DcResponse, DcResult, Flow, Function, KeySource, SmAuth};
use apdu::sgp22::es10::{Es10Request, ProfileInfoRequest};
use euicc_fuzz::answers::{CHALLENGE, OP_ID};
use euicc_fuzz::sequence::Step;
use rand_chacha::ChaCha20Rng;

/// The CERT.EUM of the shipped test PKI: chained to the trusted CI, but not a DPpb.
const EUM_CERT: &[u8] = include_bytes!("../../../card-sim/test-pki/EUM/CERT_EUM_ECDSA_NIST.der");

/// A change to a BF69's authorisation or key source.
type Tamper = fn(&mut SmAuth, &mut KeySource);

/// The parameter the seeds' user types, and the salt the seeds' SM sends.
const PARAMETER: &str = "123456";
const SALT: [u8; 16] = [7; 16];

/// The result code of a BF69 answer, which must be signed.
fn install_code(resp: &apdu::Response) -> DcResult {
    match DcResponse::decode(&resp.data) {
        Ok(DcResponse::Installed(i)) => i.code,
        other => panic!("not a signed BF69 answer: {resp:?} {other:?}"),
    }
}

/// The result code of a BF6B answer, which must be signed.
fn removal_code(resp: &apdu::Response) -> DcResult {
    match DcResponse::decode(&resp.data) {
        Ok(DcResponse::Removed { code, .. }) => code,
        other => panic!("not a signed BF6B answer: {resp:?} {other:?}"),
    }
}

/// BF66 of `flow` and BF68 without the parameter (the recorded device, flow B): the
/// card's identity encryption key from the answer (`92`).
fn identity_only(r: &mut Rec, ch: u8) -> PublicKey {
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::DeviceChange,
        },
        &[Some(OP_ID)],
        true,
    );
    let auth = DcRequest::Authenticate {
        flow: Flow::DeviceChange,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: SALT.to_vec(),
        kdf: KdfParams::TEST.to_bytes().to_vec(),
        need_parameter: false,
    };
    let resp = r.dc(ch, &auth, &[], true);
    let Ok(DcResponse::Authenticated {
        encryption_key: Some(k),
        ..
    }) = DcResponse::decode(&resp.data)
    else {
        panic!("identity-only BF68: no encryption key: {resp:?}")
    };
    PublicKey::from_der(&k).expect("the encryption key")
}

/// Flow A at the card: BF66, BF67 (KDF test profile), BF69 without a card challenge
/// (refused), BF6D and the authorised BF69 sealed for the new key, its replay (refused:
/// the challenge is used); then the identity proof (BF6C) and the authorised sync
/// removal (BF6D, BF6B) of what was installed.
pub fn dc_flow_a(r: &mut Rec, rng: &mut ChaCha20Rng) {
    let ch = r.open_isdr();
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::Provision,
        },
        &[],
        true,
    );
    let gen = DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: SALT.to_vec(),
        kdf: KdfParams::TEST.to_bytes().to_vec(),
    };
    let resp = r.dc(ch, &gen, &[Some(PARAMETER), Some(PARAMETER)], true);
    let Ok(DcResponse::KeyGenerated { public_key, .. }) = DcResponse::decode(&resp.data) else {
        panic!("flow A: no key: {resp:?}")
    };
    let pk = PublicKey::from_der(&public_key).expect("public key");
    // Without BF6D first: refused (11), signed; the derived key stays.
    let early = install_request(&pk, KeySource::Parameter, &[0; 16], rng);
    let resp = r.dc(ch, &early, &[], true);
    assert_eq!(
        install_code(&resp),
        DcResult::NotAuthorised,
        "flow A: early BF69"
    );
    let cc = r.card_challenge(ch);
    let install = install_request(&pk, KeySource::Parameter, &cc, rng);
    let resp = r.dc(ch, &install, &[], true);
    assert_eq!(install_code(&resp), DcResult::Ok, "flow A: not installed");
    // The same BF69 again: its card challenge is used up.
    let resp = r.dc(ch, &install, &[], true);
    assert_eq!(
        install_code(&resp),
        DcResult::NotAuthorised,
        "flow A: replay"
    );
    r.store_data(
        ch,
        &Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode(),
        120,
    );
    r.dc(
        ch,
        &DcRequest::Identity {
            challenge: CHALLENGE.to_vec(),
        },
        &[],
        true,
    );
    let cc = r.card_challenge(ch);
    let resp = r.dc(ch, &removal_request(&cc), &[], true);
    assert_eq!(removal_code(&resp), DcResult::Ok, "flow A: not removed");
    r.store_data(
        ch,
        &Es10Request::ListNotification { filter: None }.encode(),
        120,
    );
}

/// The ways a session ends early: IMEI refused, user ends the session, parameters that
/// differ or are too short, functions out of order.
pub fn dc_aborted(r: &mut Rec) {
    let ch = r.open_isdr();
    let begin = DcRequest::Begin {
        flow: Flow::Provision,
    };
    r.dc(ch, &begin, &[], false);
    let gen = |kdf: Vec<u8>| DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: vec![7; 16],
        kdf,
    };
    r.dc(ch, &gen(KdfParams::TEST.to_bytes().to_vec()), &[], true);
    r.dc(ch, &begin, &[], true);
    r.dc(ch, &gen(KdfParams::TEST.to_bytes().to_vec()), &[None], true);
    r.dc(ch, &begin, &[], true);
    r.dc(
        ch,
        &gen(KdfParams::TEST.to_bytes().to_vec()),
        &[Some("123456"), Some("654321")],
        true,
    );
    r.dc(ch, &begin, &[], true);
    r.dc(
        ch,
        &gen(KdfParams::TEST.to_bytes().to_vec()),
        &[Some("12")],
        true,
    );
    r.dc(ch, &begin, &[], true);
    r.dc(
        ch,
        &gen(vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01]),
        &[],
        true,
    );
    r.dc(ch, &DcRequest::FetchResult, &[], true);
    // A TERMINAL RESPONSE nobody asked for, FETCH with nothing pending.
    r.txh("801400000C810301230482028281830100");
    r.txh("8012000010");
}

/// Flow B's first steps on a card without the profile, and the identity paths.
pub fn dc_flow_b(r: &mut Rec, rng: &mut ChaCha20Rng) {
    let ch = r.open_isdr();
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::DeviceChange,
        },
        &[Some(OP_ID)],
        true,
    );
    let auth = |need| DcRequest::Authenticate {
        flow: Flow::DeviceChange,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: SALT.to_vec(),
        kdf: KdfParams::TEST.to_bytes().to_vec(),
        need_parameter: need,
    };
    r.dc(ch, &auth(false), &[], true);
    r.dc(ch, &auth(true), &[Some(PARAMETER)], true);
    // An authorised box sealed for another key: decryption fails on this card (5).
    let other = crypto::PrivateKey::derive(&crypto::Seed::from_bytes([0x42; 32])).expect("key");
    let cc = r.card_challenge(ch);
    let install = install_request(&other.public_key(), KeySource::Identity, &cc, rng);
    let resp = r.dc(ch, &install, &[], true);
    assert_eq!(
        install_code(&resp),
        DcResult::DecryptionFailed,
        "flow B: other key"
    );
    // An OP ID with letters is refused.
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::KeyChange,
        },
        &[Some("abc")],
        true,
    );
    // An authorised removal of a profile the card does not hold: not found (7), signed.
    let cc = r.card_challenge(ch);
    let resp = r.dc(ch, &removal_request(&cc), &[], true);
    assert_eq!(removal_code(&resp), DcResult::NotFound, "flow B: removal");
}

/// Flow B for the recorded device: BF66, the identity-only BF68 (the card's identity
/// encryption key in `92`), BF6D and the authorised BF69 with key source 1 sealed to that
/// key; then, authorised again, BF69 (already installed, 6) and BF6B (removed).
pub fn dc_flow_b_recorded(r: &mut Rec, rng: &mut ChaCha20Rng) {
    let ch = r.open_isdr();
    let enc = identity_only(r, ch);
    let cc = r.card_challenge(ch);
    let resp = r.dc(
        ch,
        &install_request(&enc, KeySource::Identity, &cc, rng),
        &[],
        true,
    );
    assert_eq!(
        install_code(&resp),
        DcResult::Ok,
        "flow B recorded: install"
    );
    let cc = r.card_challenge(ch);
    let resp = r.dc(
        ch,
        &install_request(&enc, KeySource::Identity, &cc, rng),
        &[],
        true,
    );
    assert_eq!(
        install_code(&resp),
        DcResult::AlreadyInstalled,
        "flow B recorded: twice"
    );
    let cc = r.card_challenge(ch);
    let resp = r.dc(ch, &removal_request(&cc), &[], true);
    assert_eq!(
        removal_code(&resp),
        DcResult::Ok,
        "flow B recorded: removal"
    );
}

/// Flow B on a new card: BF66, BF68 with the parameter (the card derives the stored key
/// and keeps it), BF6D and the authorised BF69 with key source 0 sealed for that key.
pub fn dc_flow_b_parameter(r: &mut Rec, rng: &mut ChaCha20Rng) {
    let ch = r.open_isdr();
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::DeviceChange,
        },
        &[Some(OP_ID)],
        true,
    );
    let auth = DcRequest::Authenticate {
        flow: Flow::DeviceChange,
        op_id: OP_ID.into(),
        challenge: CHALLENGE.to_vec(),
        salt: SALT.to_vec(),
        kdf: KdfParams::TEST.to_bytes().to_vec(),
        need_parameter: true,
    };
    let resp = r.dc(ch, &auth, &[Some(PARAMETER)], true);
    assert!(
        matches!(
            DcResponse::decode(&resp.data),
            Ok(DcResponse::Authenticated {
                parameter_signature: Some(_),
                ..
            })
        ),
        "flow B: no parameter signature: {resp:?}"
    );
    // The SM's stored key: the one the parameter derives (the SM has its public half).
    let parameter = Parameter::new(PARAMETER.to_string()).expect("parameter");
    let key = crypto::key_pair_from_parameter(&parameter, &Salt(SALT), &KdfParams::TEST)
        .expect("deriving the stored key");
    let cc = r.card_challenge(ch);
    let resp = r.dc(
        ch,
        &install_request(&key.public_key(), KeySource::Parameter, &cc, rng),
        &[],
        true,
    );
    assert_eq!(
        install_code(&resp),
        DcResult::Ok,
        "flow B parameter: install"
    );
    r.store_data(
        ch,
        &Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode(),
        120,
    );
}

/// The authorisations the card refuses (11 unless noted), each answered signed, on a
/// card whose identity encryption key opens key-source-1 boxes: a card challenge lost
/// to a reset, one replaced by a newer BF6D, a changed signature, a certificate of the
/// wrong role (CERT.EUM) or no certificate at all, a changed key source, an SM challenge
/// too short to sign a result over (`6A80`), BF6B signed as BF69, and a box bound to
/// another card challenge (authorised, but it does not open: 5). The last BF69 is valid.
pub fn dc_authorisation_refused(r: &mut Rec, rng: &mut ChaCha20Rng) {
    let ch = r.open_isdr();
    let enc = identity_only(r, ch);
    // A reset forgets the card challenge.
    r.card_challenge(ch);
    r.control(Step::Reset);
    let ch = r.open_isdr();
    let resp = r.dc(
        ch,
        &install_request(&enc, KeySource::Identity, &[0; 16], rng),
        &[],
        true,
    );
    assert_eq!(install_code(&resp), DcResult::NotAuthorised, "after reset");
    // A newer BF6D replaces the first.
    let first = r.card_challenge(ch);
    r.card_challenge(ch);
    let resp = r.dc(
        ch,
        &install_request(&enc, KeySource::Identity, &first, rng),
        &[],
        true,
    );
    assert_eq!(install_code(&resp), DcResult::NotAuthorised, "replaced");
    // Changed authorisations of an otherwise valid BF69.
    let tampered: [(&str, Tamper); 5] = [
        ("signature", |auth, _| auth.signature[5] ^= 0x01),
        ("certificate of role EUM", |auth, _| {
            auth.certificate = EUM_CERT.to_vec()
        }),
        ("no certificate", |auth, _| auth.certificate = Vec::new()),
        ("key source", |_, key| *key = KeySource::Parameter),
        ("short SM challenge", |auth, _| {
            auth.sm_challenge.truncate(8)
        }),
    ];
    for (what, change) in tampered {
        let cc = r.card_challenge(ch);
        let mut req = install_request(&enc, KeySource::Identity, &cc, rng);
        if let DcRequest::InstallProfile { auth, key, .. } = &mut req {
            change(auth, key);
        }
        let resp = r.dc(ch, &req, &[], true);
        if what == "short SM challenge" {
            assert_eq!(resp.sw, apdu::StatusWord::IncorrectData, "{what}");
        } else {
            assert_eq!(install_code(&resp), DcResult::NotAuthorised, "{what}");
        }
    }
    // BF6B carrying a BF69's authorisation.
    let cc = r.card_challenge(ch);
    let iccid = operator_profile().iccid;
    let removal = DcRequest::RemoveProfile {
        op_id: OP_ID.into(),
        iccid,
        auth: sm_auth(
            Function::InstallProfile,
            &cc,
            OP_ID,
            apdu::devchange::authorisation::removal_payload_hash(&iccid),
        ),
    };
    let resp = r.dc(ch, &removal, &[], true);
    assert_eq!(removal_code(&resp), DcResult::NotAuthorised, "BF6B as BF69");
    // Authorised, but the box is bound (AAD) to another card challenge.
    let cc = r.card_challenge(ch);
    let sealed = seal_for(&enc, &[0xCC; 16], rng);
    let auth: SmAuth = sm_auth(
        Function::InstallProfile,
        &cc,
        OP_ID,
        install_payload_hash(KeySource::Identity as u8, &sealed),
    );
    let req = DcRequest::InstallProfile {
        op_id: OP_ID.into(),
        sealed,
        key: KeySource::Identity,
        auth,
    };
    let resp = r.dc(ch, &req, &[], true);
    assert_eq!(install_code(&resp), DcResult::DecryptionFailed, "other AAD");
    let cc = r.card_challenge(ch);
    let resp = r.dc(
        ch,
        &install_request(&enc, KeySource::Identity, &cc, rng),
        &[],
        true,
    );
    assert_eq!(install_code(&resp), DcResult::Ok, "the valid one");
}

/// Power off, reset and channel close in the middle of a proactive session and of a
/// STORE DATA sequence.
pub fn dc_interrupted(r: &mut Rec) {
    let ch = r.open_isdr();
    let begin = DcRequest::Begin {
        flow: Flow::Provision,
    }
    .encode();
    r.store_data(ch, &begin, 120);
    r.control(Step::PowerOff);
    r.txh("8012000010");
    r.control(Step::PowerOn);
    let ch = r.open_isdr();
    r.store_data(ch, &begin, 120);
    r.txh("8012000010");
    r.control(Step::Reset);
    r.txh("801400000C810301260182028281830100");
    let ch = r.open_isdr();
    let long = Es10Request::SetDefaultDpAddress("smdp.example.com".into()).encode();
    let blocks = apdu::sgp22::store_data::segment(ch, &long, 6, false);
    r.tx(&blocks[0].bytes());
    r.control(Step::Reset);
    r.tx(&blocks[1].bytes());
    let ch = r.open_isdr();
    r.store_data(ch, &begin, 120);
    r.txh(&format!("007080{ch:02X}00"));
    r.store_data(0, &DcRequest::FetchResult.encode(), 120);
    // A card challenge, then power off: it is gone when the card is back.
    let ch = r.open_isdr();
    r.card_challenge(ch);
    r.control(Step::PowerOff);
    let ch = r.open_isdr();
    let resp = r.store_data(ch, &removal_request(&[0; 16]).encode(), 120);
    assert_eq!(
        removal_code(&resp),
        DcResult::NotAuthorised,
        "after power off"
    );
    r.control(Step::PowerOff);
}
