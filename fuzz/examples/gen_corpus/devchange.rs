//! The card sessions of the device-change method (docs/device-change-protocol.md):
//! flow A with install, identity proof and removal, the ways a session ends early,
//! flow B's first steps and the identity paths, and interruptions mid-session.

use super::rec::{operator_profile, seal_for, Bytes, Rec};
use apdu::crypto::{self, KdfParams, PublicKey};
use apdu::devchange::{DcRequest, DcResponse, Flow, KeySource};
use apdu::sgp22::es10::{Es10Request, ProfileInfoRequest};
use euicc_fuzz::answers::{CHALLENGE, OP_ID};
use euicc_fuzz::sequence::Step;
use rand_chacha::ChaCha20Rng;

/// Flow A at the card: BF66, BF67 (KDF test profile), BF69 sealed for the new key;
/// then the identity proof (BF6C) and the sync removal (BF6B) of what was installed.
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
        salt: vec![7; 16],
        kdf: KdfParams::TEST.to_bytes().to_vec(),
    };
    let resp = r.dc(ch, &gen, &[Some("123456"), Some("123456")], true);
    let Ok(DcResponse::KeyGenerated { public_key, .. }) = DcResponse::decode(&resp.data) else {
        panic!("flow A: no key: {resp:?}")
    };
    let pk = PublicKey::from_der(&public_key).expect("public key");
    let install = DcRequest::InstallProfile {
        op_id: OP_ID.into(),
        sealed: seal_for(&pk, rng),
        key: KeySource::Parameter,
    };
    let resp = r.dc(ch, &install, &[], true);
    assert!(
        matches!(DcResponse::decode(&resp.data), Ok(DcResponse::Installed(ref i)) if i.code.is_ok()),
        "flow A: not installed: {resp:?}"
    );
    r.dc(ch, &install, &[], true);
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
    r.dc(
        ch,
        &DcRequest::RemoveProfile {
            op_id: OP_ID.into(),
            iccid: operator_profile().iccid,
        },
        &[],
        true,
    );
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
        salt: vec![7; 16],
        kdf: KdfParams::TEST.to_bytes().to_vec(),
        need_parameter: need,
    };
    r.dc(ch, &auth(false), &[], true);
    r.dc(ch, &auth(true), &[Some("123456")], true);
    // A box sealed for another key: decryption fails on this card.
    let other = crypto::PrivateKey::derive(&crypto::Seed::from_bytes([0x42; 32])).expect("key");
    let install = DcRequest::InstallProfile {
        op_id: OP_ID.into(),
        sealed: seal_for(&other.public_key(), rng),
        key: KeySource::Identity,
    };
    r.dc(ch, &install, &[], true);
    // An OP ID with letters is refused.
    r.dc(
        ch,
        &DcRequest::Begin {
            flow: Flow::KeyChange,
        },
        &[Some("abc")],
        true,
    );
    r.dc(
        ch,
        &DcRequest::RemoveProfile {
            op_id: OP_ID.into(),
            iccid: operator_profile().iccid,
        },
        &[],
        true,
    );
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
    r.control(Step::PowerOff);
}
