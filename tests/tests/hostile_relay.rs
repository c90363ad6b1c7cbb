//! Issue 10, findings 2, 3 and 9 and the replayed signature, through pcscd with card-sim
//! as its own process: sm-cli's SM (in process, store in a file) and a real card, with a
//! hostile terminal between them (tests/src/relay.rs) that swaps keys, fakes results and
//! replays what it recorded. The SM must refuse and record nothing it did not verify;
//! the card must install nothing a replay brings.
//!
//! On main before the fix (7d6dd29): the swapped key was stored (3), a faked "installed"
//! marked the profile delivered (9), and the replayed re-serve reinstalled the profile
//! on the old card (2: the measurement of the issue).

use apdu::crypto::{
    key_binding, key_pair_from_parameter, sign, KdfParams, Parameter, Purpose, Salt, SignedMessage,
};
use apdu::devchange::{DcRequest, DcResponse, DcResult, InstallResult};
use apdu::Eid;
use sm_cli::sm::service::{Order, ProfileSpec};
use sm_cli::sm::store::Delivery;
use system_tests::attacker::Attacker;
use system_tests::flows::{eid_raw, profiles};
use system_tests::relay::{drive, forward, Act, TestSm, User};
use system_tests::{require_stack, CardOptions, CardSim, Lease, Stack};

const OP: &str = "+8613800000088";
const IMEI_A: &str = "490154203237518";
const IMEI_B: &str = "356938035643809";

fn provision_order() -> Order {
    Order::Provision {
        op_id: OP.into(),
        kdf: KdfParams::TEST,
        profile: ProfileSpec::default(),
    }
}

fn user<'a>(imei: &'a str, parameter: &'a str) -> User<'a> {
    User {
        imei,
        op_id: OP,
        parameter,
    }
}

fn eid_of(card: &CardSim) -> Eid {
    eid_raw(&card.reader).unwrap().parse().unwrap()
}

fn holds_op(stack: &Stack, reader: &str) -> bool {
    profiles(stack, reader)
        .iter()
        .any(|p| p.class == "operational")
}

/// A test SM over the store in `card`'s scratch folder, with the shipped test
/// credential's folder layout (cards made without --pki trust it).
fn sm_for(card: &CardSim) -> TestSm {
    let pki = concat!(env!("CARGO_MANIFEST_DIR"), "/../card-sim/test-pki");
    TestSm::open(
        &card.dir.join("relay-sm.sqlite3"),
        std::path::Path::new(pki),
    )
    .unwrap()
}

/// Finding 3: the relay swaps the new public key and its possession proof in BF67 for a
/// key of its own; finding 3 too: it weakens the salt it forwards. Both refused, nothing
/// recorded.
#[test]
fn a_relay_cannot_swap_the_new_key_or_the_kdf_values() {
    let Some(stack) = require_stack("a_relay_cannot_swap_the_new_key_or_the_kdf_values") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let card = CardSim::start(&stack, &lease, "relay-key", &CardOptions::default()).unwrap();
    let sm = sm_for(&card);
    let eid = eid_of(&card);
    let relay = Attacker::connect(&card.reader).unwrap();

    // The relay's own key, with a possession proof as good as the card's.
    let mut bf67: Option<DcRequest> = None;
    let (verdict, _) = drive(
        &sm.service(),
        &relay,
        eid,
        provision_order(),
        &user(IMEI_A, "123456"),
        |req| {
            if matches!(req, DcRequest::GenerateKey { .. }) {
                bf67 = Some(req.clone());
            }
            Act::Forward
        },
        |req, answer| {
            let (
                DcRequest::GenerateKey {
                    challenge,
                    salt,
                    kdf,
                    op_id,
                    ..
                },
                DcResponse::KeyGenerated {
                    identity_signature, ..
                },
            ) = (req, &answer)
            else {
                return answer;
            };
            let mine = key_pair_from_parameter(
                &Parameter::new(String::from("000000")).unwrap(),
                &Salt::from_bytes(salt).unwrap(),
                &KdfParams::from_bytes(kdf).unwrap(),
            )
            .unwrap();
            let der = mine.public_key().to_der();
            let bound = key_binding(&der, salt, kdf);
            let msg = SignedMessage::new(Purpose::NewKey, challenge, op_id, eid, IMEI_A)
                .unwrap()
                .bound(&bound)
                .unwrap();
            DcResponse::KeyGenerated {
                public_key: der,
                possession_signature: sign(&mine, &msg).unwrap(),
                identity_signature: identity_signature.clone(),
            }
        },
    )
    .unwrap();
    let e = verdict.expect_err("the SM accepted a swapped key");
    assert!(e.to_string().contains("identity signature"), "{e}");
    assert!(bf67.is_some());
    assert!(sm.store.get(OP).unwrap().is_none(), "a record was made");
    assert!(!holds_op(&stack, &card.reader));

    // The relay forwards BF67 with a salt of its own: the card's signatures cover the
    // salt it used, the SM checks them against the salt it sent.
    let (verdict, _) = drive(
        &sm.service(),
        &relay,
        eid,
        provision_order(),
        &user(IMEI_A, "123456"),
        |req| match req {
            DcRequest::GenerateKey {
                flow,
                op_id,
                challenge,
                kdf,
                ..
            } => Act::Send(DcRequest::GenerateKey {
                flow: *flow,
                op_id: op_id.clone(),
                challenge: challenge.clone(),
                salt: vec![0; 16],
                kdf: kdf.clone(),
            }),
            _ => Act::Forward,
        },
        |_, a| a,
    )
    .unwrap();
    assert!(
        verdict.is_err(),
        "the SM accepted a key made with another salt"
    );
    assert!(sm.store.get(OP).unwrap().is_none(), "a record was made");
    relay.conn.close().unwrap();
}

/// Finding 9: the relay answers BF69 itself ("installed", a signature it made up), and
/// later BF6B ("removed"): the SM records neither.
#[test]
fn a_relay_cannot_fake_an_install_or_a_removal() {
    let Some(stack) = require_stack("a_relay_cannot_fake_an_install_or_a_removal") else {
        return;
    };
    let lease = Lease::take(&stack, 2, false).unwrap();
    let opts = CardOptions::default();
    let a = CardSim::start_on(&stack, lease.slots[0], &lease.readers[0], "fake-a", &opts).unwrap();
    let b = CardSim::start_on(&stack, lease.slots[1], &lease.readers[1], "fake-b", &opts).unwrap();
    let sm = sm_for(&a);
    let (eid_a, eid_b) = (eid_of(&a), eid_of(&b));
    let relay_a = Attacker::connect(&a.reader).unwrap();
    let faked = |req: &DcRequest| match req {
        DcRequest::InstallProfile { .. } => Act::Answer(DcResponse::Installed(InstallResult {
            code: DcResult::Ok,
            iccid: None,
            signature: vec![0x42; 256],
        })),
        DcRequest::RemoveProfile { .. } => Act::Answer(DcResponse::Removed {
            code: DcResult::Ok,
            signature: vec![0x42; 256],
        }),
        _ => Act::Forward,
    };
    let (verdict, _) = drive(
        &sm.service(),
        &relay_a,
        eid_a,
        provision_order(),
        &user(IMEI_A, "123456"),
        faked,
        |_, a| a,
    )
    .unwrap();
    let e = verdict.expect_err("the SM believed a faked install");
    assert!(e.to_string().contains("signed install result"), "{e}");
    let rec = sm
        .store
        .get(OP)
        .unwrap()
        .expect("the record of the verified key");
    assert_eq!(
        rec.delivery,
        Delivery::Pending,
        "a faked install was recorded"
    );
    assert!(!holds_op(&stack, &a.reader));

    // The real install (honest relay): delivered.
    let (verdict, _) = forward(
        &sm.service(),
        &relay_a,
        eid_a,
        Order::DeviceChange,
        &user(IMEI_A, "123456"),
    )
    .unwrap();
    verdict.expect("the bound card gets its profile");
    assert!(matches!(
        sm.store.get(OP).unwrap().unwrap().delivery,
        Delivery::Delivered { .. }
    ));
    assert!(holds_op(&stack, &a.reader));

    // Device change to B, then A's sync with a faked "removed": the removal stays.
    let relay_b = Attacker::connect(&b.reader).unwrap();
    let (verdict, _) = forward(
        &sm.service(),
        &relay_b,
        eid_b,
        Order::DeviceChange,
        &user(IMEI_B, "123456"),
    )
    .unwrap();
    verdict.expect("device change to B");
    let (verdict, _) = drive(
        &sm.service(),
        &relay_a,
        eid_a,
        Order::Sync,
        &user(IMEI_A, ""),
        faked,
        |_, a| a,
    )
    .unwrap();
    let e = verdict.expect_err("the SM believed a faked removal");
    assert!(e.to_string().contains("signed removal result"), "{e}");
    assert_eq!(
        sm.store
            .pending_removals_for(&eid_a.to_string())
            .unwrap()
            .len(),
        1,
        "a faked removal was confirmed"
    );
    assert!(
        holds_op(&stack, &a.reader),
        "the relay did not forward BF6B"
    );
    // The honest sync removes it and confirms.
    let (verdict, _) = forward(
        &sm.service(),
        &relay_a,
        eid_a,
        Order::Sync,
        &user(IMEI_A, ""),
    )
    .unwrap();
    verdict.expect("sync");
    assert!(!holds_op(&stack, &a.reader));
    assert!(sm
        .store
        .pending_removals_for(&eid_a.to_string())
        .unwrap()
        .is_empty());
    relay_a.conn.close().unwrap();
    relay_b.conn.close().unwrap();
}

/// Finding 2, the measurement of the issue: A is provisioned; its profile is deleted;
/// A asks again and the SM re-serves it by identity, which the relay records; the
/// profile moves to B; A's sync removes it; the relay replays the recorded session to A.
/// A must not hold the profile again.
#[test]
fn a_recorded_session_replayed_does_not_clone_the_subscription() {
    let Some(stack) = require_stack("a_recorded_session_replayed_does_not_clone_the_subscription")
    else {
        return;
    };
    let lease = Lease::take(&stack, 2, false).unwrap();
    let opts = CardOptions::default();
    let a = CardSim::start_on(&stack, lease.slots[0], &lease.readers[0], "clone-a", &opts).unwrap();
    let b = CardSim::start_on(&stack, lease.slots[1], &lease.readers[1], "clone-b", &opts).unwrap();
    let sm = sm_for(&a);
    let (eid_a, eid_b) = (eid_of(&a), eid_of(&b));
    let relay_a = Attacker::connect(&a.reader).unwrap();
    let run = |relay: &Attacker, eid, order, u: &User<'_>| {
        let (verdict, log) = drive(
            &sm.service(),
            relay,
            eid,
            order,
            u,
            |_| Act::Forward,
            |_, a| a,
        )
        .unwrap();
        (verdict.expect("an honest flow"), log)
    };
    run(&relay_a, eid_a, provision_order(), &user(IMEI_A, "123456"));
    assert!(holds_op(&stack, &a.reader));
    // The user deletes the operator profile on A (disable, delete).
    let iccid = profiles(&stack, &a.reader)
        .into_iter()
        .find(|p| p.class == "operational")
        .unwrap()
        .iccid;
    let sm_cli = |args: &[&str]| system_tests::sm_cli(&stack, args);
    sm_cli(&["-r", &a.reader, "profiles", "disable", &iccid]).expect_success();
    sm_cli(&["-r", &a.reader, "profiles", "delete", &iccid]).expect_success();
    assert!(!holds_op(&stack, &a.reader));
    // A asks again: the recorded device, served by its identity key; the relay keeps
    // every request.
    let (_, recorded) = run(&relay_a, eid_a, Order::DeviceChange, &user(IMEI_A, ""));
    assert!(holds_op(&stack, &a.reader));
    assert!(recorded
        .iter()
        .any(|x| matches!(x.request, DcRequest::InstallProfile { .. })));
    // The profile moves to B; A's sync removes it.
    let relay_b = Attacker::connect(&b.reader).unwrap();
    run(
        &relay_b,
        eid_b,
        Order::DeviceChange,
        &user(IMEI_B, "123456"),
    );
    run(&relay_a, eid_a, Order::Sync, &user(IMEI_A, ""));
    assert!(!holds_op(&stack, &a.reader), "the sync did not remove it");
    assert!(holds_op(&stack, &b.reader));
    // The replay: every recorded request again, whatever the card answers (as
    // `script run --keep-going` would).
    let mut answers = Vec::new();
    for x in &recorded {
        answers.push(
            relay_a
                .request(&x.request, system_tests::attacker::answers(IMEI_A, OP, ""))
                .map_err(|e| e.to_string()),
        );
    }
    assert!(
        !holds_op(&stack, &a.reader),
        "the replay reinstalled the operator profile on A: {answers:?}"
    );
    let install = answers
        .iter()
        .zip(&recorded)
        .find(|(_, x)| matches!(x.request, DcRequest::InstallProfile { .. }))
        .map(|(a, _)| a.clone());
    assert!(
        matches!(
            install,
            Some(Ok(DcResponse::Installed(InstallResult {
                code: DcResult::NotAuthorised,
                ..
            })))
        ),
        "the replayed BF69: {install:?}"
    );
    relay_a.conn.close().unwrap();
    relay_b.conn.close().unwrap();
}

/// The replayed signature (issue 10, "Faults still open"): a parameter proof the relay
/// recorded in one session (BF6A's answer to BF68) and sends in a later session in the
/// card's place is refused, counted as a failed attempt and audited.
#[test]
fn a_replayed_parameter_proof_is_refused_counted_and_audited() {
    let Some(stack) = require_stack("a_replayed_parameter_proof_is_refused_counted_and_audited")
    else {
        return;
    };
    let lease = Lease::take(&stack, 2, false).unwrap();
    let opts = CardOptions::default();
    let a =
        CardSim::start_on(&stack, lease.slots[0], &lease.readers[0], "replay-a", &opts).unwrap();
    let b =
        CardSim::start_on(&stack, lease.slots[1], &lease.readers[1], "replay-b", &opts).unwrap();
    let sm = sm_for(&a);
    let (eid_a, eid_b) = (eid_of(&a), eid_of(&b));
    let relay_a = Attacker::connect(&a.reader).unwrap();
    let (v, _) = forward(
        &sm.service(),
        &relay_a,
        eid_a,
        provision_order(),
        &user(IMEI_A, "123456"),
    )
    .unwrap();
    v.expect("provision");
    // Session 1 on B: a wrong parameter; the relay keeps the card's answer to BF68.
    let relay_b = Attacker::connect(&b.reader).unwrap();
    let (v, log) = forward(
        &sm.service(),
        &relay_b,
        eid_b,
        Order::DeviceChange,
        &user(IMEI_B, "000000"),
    )
    .unwrap();
    assert!(v.is_err(), "a wrong parameter was accepted");
    assert_eq!(sm.store.get(OP).unwrap().unwrap().failures, 1);
    let proof = log
        .iter()
        .find(|x| matches!(x.request, DcRequest::Authenticate { .. }))
        .map(|x| x.answer.clone())
        .expect("the BF68 answer");
    assert!(matches!(
        proof,
        DcResponse::Authenticated {
            parameter_signature: Some(_),
            ..
        }
    ));
    let audited = |s: &TestSm| s.store.audit(OP).unwrap().len();
    let before = audited(&sm);
    // Session 2: the relay answers BF68 with the recorded proof.
    let (v, _) = drive(
        &sm.service(),
        &relay_b,
        eid_b,
        Order::DeviceChange,
        &user(IMEI_B, "000000"),
        |req| match req {
            DcRequest::Authenticate { .. } => Act::Answer(proof.clone()),
            _ => Act::Forward,
        },
        |_, a| a,
    )
    .unwrap();
    assert!(v.is_err(), "the replayed proof was accepted");
    let rec = sm.store.get(OP).unwrap().unwrap();
    assert_eq!(rec.failures, 2, "the replay was not counted");
    assert!(audited(&sm) > before, "the replay was not audited");
    assert!(!holds_op(&stack, &b.reader));
    relay_a.conn.close().unwrap();
    relay_b.conn.close().unwrap();
}
