//! The card side of the device-change method, in process: the functions BF66-BF6C,
//! their proactive sessions (FETCH / TERMINAL RESPONSE) and what the card signs,
//! checked with the SM's own verification calls from `apdu::crypto`.

mod common;
use apdu::crypto::{self, KdfParams, PublicKey, Purpose, Salt, SignedMessage};
use apdu::devchange::{
    DcRequest, DcResponse, DcResult, Flow, Function, KeySource, OperatorProfile,
};
use apdu::sgp22::es10::{Es10Request, Iccid, ProfileClass, ProfileInfoResponse, ProfileState};
use card_sim::vpcd::Card;
use common::*;
use zeroize::Zeroizing;

const OP: &str = "+8613800000001";

fn operator_profile() -> OperatorProfile {
    OperatorProfile {
        iccid: Iccid::from_digits("89860000000000000018").unwrap(),
        imsi: "460001234567890".into(),
        msisdn: OP.into(),
        ki: Zeroizing::new([0x11; 16]),
        opc: Zeroizing::new([0x22; 16]),
        service_provider: "Example Mobile".into(),
        profile_name: "Example 5G".into(),
    }
}

struct Provisioned {
    public_key: PublicKey,
    salt: Salt,
}

/// Flow A at the card: returns the public key the SM would store.
fn provision(card: &mut impl Card, ch: u8, param: &str) -> Provisioned {
    let begun = run(
        card,
        ch,
        &DcRequest::Begin {
            flow: Flow::Provision,
        },
        &[],
    );
    let DcResponse::Begun {
        eid,
        imei,
        identity_key,
        op_id,
        ..
    } = begun
    else {
        panic!("{begun:?}")
    };
    assert_eq!((eid, imei.as_str(), op_id), (common::eid(), IMEI, None));
    let identity = PublicKey::from_der(&identity_key).unwrap();
    let salt = Salt([7; 16]);
    let challenge = [9u8; 32];
    let req = DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: OP.into(),
        challenge: challenge.to_vec(),
        salt: salt.0.to_vec(),
        kdf: KdfParams::TEST.to_bytes().to_vec(),
    };
    let r = run(card, ch, &req, &[Some(param), Some(param)]);
    let DcResponse::KeyGenerated {
        public_key,
        possession_signature,
        identity_signature,
    } = r
    else {
        panic!("{r:?}")
    };
    let pk = PublicKey::from_der(&public_key).unwrap();
    // Both signatures vouch for the new key, the salt and the KDF parameters (issue 10,
    // finding 3): without them they do not verify.
    let bound = crypto::key_binding(&public_key, &salt.0, &KdfParams::TEST.to_bytes());
    let msg = SignedMessage::new(Purpose::NewKey, &challenge, OP, eid, IMEI).unwrap();
    assert!(crypto::verify(&pk, &msg, &possession_signature).is_err());
    let msg = msg.bound(&bound).unwrap();
    crypto::verify(&pk, &msg, &possession_signature).unwrap();
    let msg = SignedMessage::new(Purpose::IdentityProof, &challenge, OP, eid, IMEI).unwrap();
    assert!(crypto::signature::verify(&identity, &msg, &identity_signature).is_err());
    let msg = msg.bound(&bound).unwrap();
    crypto::signature::verify(&identity, &msg, &identity_signature).unwrap();
    // The key for the wrong message does not verify.
    let other = SignedMessage::new(Purpose::NewKey, &[8u8; 32], OP, eid, IMEI)
        .unwrap()
        .bound(&bound)
        .unwrap();
    assert!(crypto::verify(&pk, &other, &possession_signature).is_err());

    let install = install_req(card, ch, &pk, eid, eid, KeySource::Parameter);
    let r = run(card, ch, &install, &[]);
    let DcResponse::Installed(res) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (res.code, res.iccid),
        (DcResult::Ok, Some(operator_profile().iccid))
    );
    check_signed_result(&identity, eid, res);
    // The same BF69 again: its card challenge was used (issue 10, finding 2).
    let r = run(card, ch, &install, &[]);
    assert!(
        matches!(&r, DcResponse::Installed(i) if i.code == DcResult::NotAuthorised),
        "{r:?}"
    );
    // The private key was deleted: a second delivery cannot be opened (A step 414).
    let again = install_req(card, ch, &pk, eid, eid, KeySource::Parameter);
    let r = run(card, ch, &again, &[]);
    assert!(
        matches!(&r, DcResponse::Installed(i) if i.code == DcResult::NoSession && i.iccid.is_none()),
        "{r:?}"
    );
    Provisioned {
        public_key: pk,
        salt,
    }
}

/// BF6D, then the operator profile sealed for `pk` with the AAD of `aad_eid`, authorised
/// by the test SM for the card `eid`.
fn install_req(
    card: &mut impl Card,
    ch: u8,
    pk: &PublicKey,
    aad_eid: apdu::Eid,
    eid: apdu::Eid,
    key: KeySource,
) -> DcRequest {
    authorised_install(
        card,
        ch,
        pk,
        &operator_profile().encode(),
        OP,
        aad_eid,
        eid,
        key,
    )
}

/// The result is signed by the card's identity key over the SM's challenge (finding 9).
fn check_signed_result(identity: &PublicKey, eid: apdu::Eid, r: &apdu::devchange::InstallResult) {
    let bound = crypto::result_binding(r.code.code(), r.iccid.as_ref().map(|i| &i.0));
    let msg = SignedMessage::new(Purpose::InstallResult, &[0x5C; 32], OP, eid, "-")
        .unwrap()
        .bound(&bound)
        .unwrap();
    crypto::identity::verify_identity_proof(identity, &msg, &r.signature).unwrap();
    let forged = crypto::result_binding(DcResult::Undefined.code(), None);
    let msg = SignedMessage::new(Purpose::InstallResult, &[0x5C; 32], OP, eid, "-")
        .unwrap()
        .bound(&forged)
        .unwrap();
    assert!(crypto::identity::verify_identity_proof(identity, &msg, &r.signature).is_err());
}

fn profiles(card: &mut impl Card, ch: u8) -> Vec<apdu::sgp22::es10::ProfileInfo> {
    let (d, _) = es10(
        card,
        ch,
        &Es10Request::GetProfilesInfo(Default::default()).encode(),
        120,
    );
    match ProfileInfoResponse::decode(&d).unwrap() {
        ProfileInfoResponse::List(l) => l,
        e => panic!("{e:?}"),
    }
}

#[test]
fn flow_a_installs_the_profile_and_disables_pp0() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    provision(&mut s.card, ch, "123456");
    let list = profiles(&mut s.card, ch);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].state, Some(ProfileState::Disabled));
    assert_eq!(list[1].class, Some(ProfileClass::Operational));
    assert_eq!(list[1].state, Some(ProfileState::Enabled));
    assert_eq!(list[1].profile_name.as_deref(), Some("Example 5G"));
    // Persisted, with the secrets stored but never in Debug.
    let stored = s.storage.stored().unwrap();
    let p = stored
        .profiles
        .iter()
        .find(|p| p.msisdn.as_deref() == Some(OP))
        .unwrap();
    assert_eq!(p.ki.as_ref().unwrap().expose(), &[0x11; 16]);
    assert!(stored.identity_key.is_some());
    assert!(!format!("{stored:?}").contains("1111111111"));
}

#[test]
fn flow_b_on_another_card_with_the_same_parameter() {
    let mut old = sim(0);
    let ch = open_isdr(&mut old.card);
    let stored = provision(&mut old.card, ch, "123456");

    let mut new = common::sim_with_eid(apdu::Eid::test_eid(777));
    let ch = open_isdr(&mut new.card);
    let begun = run(
        &mut new.card,
        ch,
        &DcRequest::Begin {
            flow: Flow::DeviceChange,
        },
        &[Some(OP)],
    );
    let DcResponse::Begun { op_id, eid, .. } = begun else {
        panic!("{begun:?}")
    };
    assert_eq!(op_id.as_deref(), Some(OP));
    let challenge = [3u8; 32];
    let auth = |need| DcRequest::Authenticate {
        flow: Flow::DeviceChange,
        op_id: OP.into(),
        challenge: challenge.to_vec(),
        salt: stored.salt.0.to_vec(),
        kdf: KdfParams::TEST.to_bytes().to_vec(),
        need_parameter: need,
    };
    let kdf_bound = crypto::kdf_binding(&stored.salt.0, &KdfParams::TEST.to_bytes());
    let msg = SignedMessage::new(Purpose::DeviceChange, &challenge, OP, eid, IMEI)
        .unwrap()
        .bound(&kdf_bound)
        .unwrap();
    // Wrong parameter: a signature the stored key rejects.
    let DcResponse::Authenticated {
        parameter_signature: Some(bad),
        ..
    } = run(&mut new.card, ch, &auth(true), &[Some("654321")])
    else {
        panic!()
    };
    assert!(crypto::verify(&stored.public_key, &msg, &bad).is_err());
    // Right parameter: verifies; the profile sealed for the stored key opens.
    let DcResponse::Authenticated {
        parameter_signature: Some(good),
        ..
    } = run(&mut new.card, ch, &auth(true), &[Some("123456")])
    else {
        panic!()
    };
    crypto::verify(&stored.public_key, &msg, &good).unwrap();
    let req = install_req(
        &mut new.card,
        ch,
        &stored.public_key,
        eid,
        eid,
        KeySource::Parameter,
    );
    let r = run(&mut new.card, ch, &req, &[]);
    assert!(
        matches!(r, DcResponse::Installed(ref i) if i.code == DcResult::Ok),
        "{r:?}"
    );
    // A profile sealed for another card's EID does not open here.
    let req = install_req(
        &mut new.card,
        ch,
        &stored.public_key,
        common::eid(),
        eid,
        KeySource::Identity,
    );
    let r = run(&mut new.card, ch, &req, &[]);
    assert!(
        matches!(
            r,
            DcResponse::Installed(apdu::devchange::InstallResult {
                code: DcResult::DecryptionFailed,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn refusals_and_resets() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    // Out of order.
    assert_eq!(
        run(&mut s.card, ch, &DcRequest::FetchResult, &[]),
        DcResponse::Failed {
            tag: Function::FetchResult,
            code: DcResult::NoSession
        }
    );
    assert_eq!(tx(&mut s.card, "8012000010"), "6985");
    assert_eq!(tx(&mut s.card, "8014000005810301230400"), "6985");
    // The user ends the session at the OP ID question.
    let r = run(
        &mut s.card,
        ch,
        &DcRequest::Begin {
            flow: Flow::KeyChange,
        },
        &[None],
    );
    assert_eq!(
        r,
        DcResponse::Failed {
            tag: Function::Begin,
            code: DcResult::UserAborted
        }
    );
    // Letters in an OP ID.
    let r = run(
        &mut s.card,
        ch,
        &DcRequest::Begin {
            flow: Flow::KeyChange,
        },
        &[Some("abc")],
    );
    assert_eq!(
        r,
        DcResponse::Failed {
            tag: Function::Begin,
            code: DcResult::InputInvalid
        }
    );
    // New parameter entries that differ.
    run(
        &mut s.card,
        ch,
        &DcRequest::Begin {
            flow: Flow::Provision,
        },
        &[],
    );
    let gk = DcRequest::GenerateKey {
        flow: Flow::Provision,
        op_id: OP.into(),
        challenge: vec![1; 32],
        salt: vec![2; 16],
        kdf: KdfParams::TEST.to_bytes().to_vec(),
    };
    let r = run(&mut s.card, ch, &gk, &[Some("123456"), Some("123457")]);
    assert_eq!(
        r,
        DcResponse::Failed {
            tag: Function::GenerateKey,
            code: DcResult::ParameterMismatch
        }
    );
    // A KDF asking for 4 GiB is refused before any work.
    let mut kdf = KdfParams::TEST.to_bytes().to_vec();
    kdf[1..5].copy_from_slice(&[0xFF; 4]);
    let r = run(
        &mut s.card,
        ch,
        &DcRequest::GenerateKey {
            flow: Flow::Provision,
            op_id: OP.into(),
            challenge: vec![1; 32],
            salt: vec![2; 16],
            kdf,
        },
        &[],
    );
    assert_eq!(
        r,
        DcResponse::Failed {
            tag: Function::GenerateKey,
            code: DcResult::BadRequest
        }
    );
    // A reset ends the session: the next function has no session.
    s.card.reset();
    let ch = open_isdr(&mut s.card);
    let r = run(&mut s.card, ch, &gk, &[]);
    assert_eq!(
        r,
        DcResponse::Failed {
            tag: Function::GenerateKey,
            code: DcResult::NoSession
        }
    );
    // Malformed messages with our tags answer 6A80; the card still answers after.
    let (_, sw) = es10(&mut s.card, ch, &[0xBF, 0x66, 0x03, 0x81, 0x01, 0x09], 120);
    assert_eq!(sw, "6A80");
    let (_, sw) = es10(&mut s.card, ch, &Es10Request::GetEid.encode(), 120);
    assert_eq!(sw, "9000");
}

#[test]
fn an_unreadable_identity_key_answers_6f00() {
    use card_sim::card::{atr, Euicc};
    use card_sim::state::{MemoryStorage, Secret, Storage};
    use card_sim::transport::Transport;
    use rand_core::SeedableRng;
    let mut state = card_sim::state::new_card::new_card(common::eid(), 0);
    state.identity_key = Some(Secret::new(vec![0x30, 0x03, 0x02, 0x01, 0x00]));
    let storage = std::sync::Arc::new(MemoryStorage::new());
    storage.save(&state).unwrap();
    let mut card = Transport::new(Euicc::new(
        state,
        Box::new(storage.clone()),
        rand_chacha::ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    ));
    card.power_on();
    let ch = open_isdr(&mut card);
    let req = DcRequest::Identity {
        challenge: vec![5; 32],
    };
    let (_, sw) = es10(&mut card, ch, &req.encode(), 120);
    assert_eq!(sw, "6F00");
    // Kept as it was: never replaced by a new key.
    assert_eq!(
        storage.stored().unwrap().identity_key.unwrap().expose(),
        &[0x30, 0x03, 0x02, 0x01, 0x00]
    );
}
