//! The card writes its state only when a command changed it, and then once (issue 8,
//! "Cost"): reads, refused changes and the whole device-change conversation up to the
//! install write nothing; the install, and a command that both makes the identity key
//! and installs, write exactly once. Counted with `MemoryStorage::saves`.

mod common;
use apdu::crypto::{KdfParams, PublicKey};
use apdu::devchange::{DcRequest, DcResponse, DcResult, Flow, KeySource, OperatorProfile};
use apdu::sgp22::es10::{Es10Request, Iccid, MemoryResetOptions, ProfileRef};
use common::*;
use zeroize::Zeroizing;

const OP: &str = "+8613800000009";

/// Sends `req` and returns how many saves it caused.
fn saves_of(s: &mut Sim, f: impl FnOnce(&mut Sim)) -> usize {
    let before = s.storage.saves();
    f(s);
    s.storage.saves() - before
}

fn es10_ok(s: &mut Sim, req: Es10Request) {
    let (_, sw) = es10(&mut s.card, 1, &req.encode(), 120);
    assert_eq!(sw, "9000", "{req:?}");
}

fn profile() -> OperatorProfile {
    OperatorProfile {
        iccid: Iccid::from_digits("89860000000000000091").unwrap(),
        imsi: "460001234567899".into(),
        msisdn: OP.into(),
        ki: Zeroizing::new([0x33; 16]),
        opc: Zeroizing::new([0x44; 16]),
        service_provider: "Example Mobile".into(),
        profile_name: "Example 5G".into(),
    }
}

/// BF6D (writes nothing), then a BF69 the test SM authorised.
fn install(
    card: &mut impl card_sim::vpcd::Card,
    ch: u8,
    pk: &PublicKey,
    key: KeySource,
) -> DcRequest {
    authorised_install(card, ch, pk, &profile().encode(), OP, eid(), eid(), key)
}

#[test]
fn commands_that_change_nothing_write_nothing() {
    let mut s = sim(1);
    assert_eq!(open_isdr(&mut s.card), 1);
    let unknown = Iccid::from_digits("89860000000000000083").unwrap();
    let enabled = s.storage.stored().unwrap().enabled().unwrap().iccid;
    let n = saves_of(&mut s, |s| {
        for req in [
            Es10Request::GetEid,
            Es10Request::GetEuiccInfo1,
            Es10Request::GetEuiccInfo2,
            Es10Request::GetEuiccChallenge,
            Es10Request::GetConfiguredAddresses,
            Es10Request::GetRat,
            Es10Request::GetProfilesInfo(Default::default()),
            Es10Request::ListNotification { filter: None },
            // Refused or without effect: nothing changes, so nothing is written.
            Es10Request::EnableProfile {
                target: ProfileRef::Iccid(enabled),
                refresh: true,
            },
            Es10Request::DeleteProfile(ProfileRef::Iccid(unknown)),
            Es10Request::RemoveNotification(4711),
            Es10Request::SetNickname {
                iccid: unknown,
                nickname: "x".into(),
            },
            Es10Request::MemoryReset(MemoryResetOptions {
                delete_operational: true,
                delete_field_loaded_test: false,
                reset_default_dp: false,
            }),
        ] {
            es10_ok(s, req);
        }
        // Files and channels.
        assert!(tx(&mut s.card, "00A40004023F00").ends_with("9000"));
        assert_eq!(tx(&mut s.card, "0070000001"), "029000");
        assert_eq!(tx(&mut s.card, "0070800200"), "9000");
    });
    assert_eq!(n, 0, "saves by commands that changed nothing");
    // A real change is one save.
    let n = saves_of(&mut s, |s| {
        es10_ok(
            s,
            Es10Request::SetNickname {
                iccid: enabled,
                nickname: "home".into(),
            },
        )
    });
    assert_eq!(n, 1);
}

#[test]
fn the_device_change_conversation_writes_only_at_the_install() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    let identity = DcRequest::Identity {
        challenge: vec![5; 32],
    };
    // The first function makes and saves the identity key, once; then never again.
    let n = saves_of(&mut s, |s| {
        run(&mut s.card, ch, &identity, &[]);
    });
    assert_eq!(n, 1, "the identity key is saved once");
    let mut pk = None;
    let n = saves_of(&mut s, |s| {
        run(&mut s.card, ch, &identity, &[]);
        let begin = DcRequest::Begin {
            flow: Flow::Provision,
        };
        run(&mut s.card, ch, &begin, &[]);
        let gk = DcRequest::GenerateKey {
            flow: Flow::Provision,
            op_id: OP.into(),
            challenge: vec![9; 32],
            salt: vec![7; 16],
            kdf: KdfParams::TEST.to_bytes().to_vec(),
        };
        let r = run(&mut s.card, ch, &gk, &[Some("31415926"), Some("31415926")]);
        let DcResponse::KeyGenerated { public_key, .. } = r else {
            panic!("{r:?}")
        };
        pk = Some(PublicKey::from_der(&public_key).unwrap());
        // FETCH and BF6A with nothing pending.
        assert_eq!(tx(&mut s.card, "8012000010"), "6985");
        run(&mut s.card, ch, &DcRequest::FetchResult, &[]);
    });
    assert_eq!(
        n, 0,
        "BF6C, BF66, BF67, FETCH, TERMINAL RESPONSE, BF6A wrote the state"
    );
    let pk = pk.unwrap();
    let n = saves_of(&mut s, |s| {
        let req = install(&mut s.card, ch, &pk, KeySource::Parameter);
        let r = run(&mut s.card, ch, &req, &[]);
        assert!(matches!(r, DcResponse::Installed(ref i) if i.code == DcResult::Ok));
    });
    assert_eq!(n, 1, "the install is saved once");
    // Refused installs write nothing: the key is gone, the profile is there. (The
    // identity encryption key, made at its first use, is made here first.)
    encryption_key(&mut s.card, ch, OP);
    let n = saves_of(&mut s, |s| {
        let req = install(&mut s.card, ch, &pk, KeySource::Parameter);
        run(&mut s.card, ch, &req, &[]);
        let req = install(&mut s.card, ch, &pk, KeySource::Identity);
        run(&mut s.card, ch, &req, &[]);
    });
    assert_eq!(n, 0);
}

#[test]
fn a_command_with_two_changes_saves_once() {
    // Two cards with the same seed make the same keys: learn the identity encryption
    // key on the twin (flow B, identity only), then send the other, fresh card an
    // install sealed to it. That one command makes the identity key and the encryption
    // key and installs the profile: three changes, one save. The twin draws a card
    // challenge (BF6D) first, as the install below does, so both cards make their keys
    // from the same point of the seeded generator.
    let mut twin = sim(0);
    let ch = open_isdr(&mut twin.card);
    card_challenge(&mut twin.card, ch);
    let identity = encryption_key(&mut twin.card, ch, OP);

    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    assert!(s.storage.stored().unwrap().identity_key.is_none());
    let n = saves_of(&mut s, |s| {
        let req = install(&mut s.card, ch, &identity, KeySource::Identity);
        let r = run(&mut s.card, ch, &req, &[]);
        assert!(
            matches!(r, DcResponse::Installed(ref i) if i.code == DcResult::Ok),
            "{r:?}"
        );
    });
    assert_eq!(n, 1, "identity key, encryption key and install in one save");
    let stored = s.storage.stored().unwrap();
    assert!(stored.identity_key.is_some());
    assert!(stored.identity_encryption_key.is_some());
    assert!(stored
        .profiles
        .iter()
        .any(|p| p.msisdn.as_deref() == Some(OP)));
}

#[test]
fn a_failed_save_of_a_new_identity_key_forgets_it() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    s.storage.set_failing(true);
    let (_, sw) = es10(
        &mut s.card,
        ch,
        &DcRequest::Identity {
            challenge: vec![5; 32],
        }
        .encode(),
        120,
    );
    assert_eq!(sw, "6581");
    assert!(s.card.applet().state().identity_key.is_none());
    s.storage.set_failing(false);
    // The next try makes the key again and saves it.
    let r = run(
        &mut s.card,
        ch,
        &DcRequest::Identity {
            challenge: vec![5; 32],
        },
        &[],
    );
    assert!(matches!(r, DcResponse::Identity { .. }), "{r:?}");
    assert!(s.storage.stored().unwrap().identity_key.is_some());
}
