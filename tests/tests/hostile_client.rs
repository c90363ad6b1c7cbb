//! Issue 10, findings 1 and 5, through pcscd with card-sim as its own process: a hostile
//! program on the PC/SC socket (tests/src/attacker.rs: raw APDUs, its own terminal
//! answers, no key of the card's SM) tries to install its own profile (sealed to the
//! card's identity key, or to a key it had the card derive in a session of its own), to
//! remove the operator's profile, and to collect identity proofs outside the flow that
//! needs them. Each must be refused and leave the card's profiles as they were.
//!
//! The card has a PKI of its own (`card-sim pki init`, `--pki`) and the SM its CERT.DPpb
//! (`--sm-pki`): the shipped test PKI's keys are public, so with it anyone is the SM
//! (docs/device-change-protocol.md "Threat model"). The attacker signs with a DPpb of its
//! own CI, with the shipped test DPpb, or not at all.
//!
//! Before the fix (main at 7d6dd29), the first attempt succeeded: "BF69 with key source
//! 1 from a hostile client: Installed(InstallResult { code: Ok, .. })".

use apdu::crypto::{profile_aad, seal, KdfParams, PublicKey, SysRng};
use apdu::devchange::authorisation::{install_payload_hash, removal_payload_hash};
use apdu::devchange::{
    AuthMessage, DcRequest, DcResponse, DcResult, Flow, Function, KeySource, OperatorProfile,
    SmAuth,
};
use apdu::sgp22::es10::Iccid;
use apdu::sgp22::pki::{gen, Cert, Curve, PrivateKey};
use apdu::Eid;
use rand_core::SeedableRng;
use system_tests::attacker::{answers, Attacker};
use system_tests::download::pki_init;
use system_tests::flows::profiles;
use system_tests::{require_stack, CardOptions, CardSim, Lease, Sm};
use zeroize::Zeroizing;

const EID: &str = "89049032123451234512345678901235";

/// The DPpb certificates and keys an attacker can have: one under a CI of its own, and
/// the shipped test one (public on purpose).
fn attacker_signers() -> Vec<(&'static str, Cert, PrivateKey)> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(66);
    let own = gen::test_pki(
        Curve::NistP256,
        EID.parse().unwrap(),
        "evil.example",
        &mut rng,
    )
    .unwrap();
    let tp = concat!(env!("CARGO_MANIFEST_DIR"), "/../card-sim/test-pki/DPpb/");
    let test_cert =
        Cert::from_der(&std::fs::read(format!("{tp}CERT_S_SM_DPpb_ECDSA_NIST.der")).unwrap())
            .unwrap();
    let test_key = PrivateKey::from_pem(
        &std::fs::read_to_string(format!("{tp}SK_S_SM_DPpb_ECDSA_NIST.pem")).unwrap(),
    )
    .unwrap();
    vec![
        (
            "a DPpb of the attacker's own CI",
            own.dp_pb.cert,
            own.dp_pb.key,
        ),
        ("the shipped test DPpb", test_cert, test_key),
    ]
}

/// The attacker's authorisation of `function` over the card challenge it just asked for.
fn forge(
    m: &Attacker,
    signer: &(&str, Cert, PrivateKey),
    function: Function,
    eid: Eid,
    op_id: &str,
    payload_hash: [u8; 32],
) -> ([u8; 16], SmAuth) {
    let DcResponse::CardChallenge { challenge } = m
        .request(&DcRequest::CardChallenge, |_| unreachable!())
        .unwrap()
    else {
        panic!("BF6D did not answer a challenge");
    };
    let sm_challenge = vec![0x44; 32];
    let msg = AuthMessage {
        function,
        card_challenge: &challenge,
        eid,
        op_id,
        sm_challenge: &sm_challenge,
        payload_hash,
    };
    let signature = msg.sign(&signer.2).unwrap().to_vec();
    (
        challenge,
        SmAuth {
            sm_challenge,
            certificate: signer.1.der().to_vec(),
            signature,
        },
    )
}

const OP: &str = "+8613800000077";
const ATTACK_OP: &str = "+8613999999999";
const IMEI: &str = "490154203237518";

fn attacker_profile() -> OperatorProfile {
    OperatorProfile {
        iccid: Iccid::from_digits("8949000000000099999").unwrap(),
        imsi: "001019999999999".into(),
        msisdn: ATTACK_OP.into(),
        ki: Zeroizing::new([0x11; 16]),
        opc: Zeroizing::new([0x22; 16]),
        service_provider: "Mallory".into(),
        profile_name: "Mallory".into(),
    }
}

fn sealed_for(key_der: &[u8], op_id: &str, eid: &Eid, card_challenge: &[u8; 16]) -> Vec<u8> {
    let key = PublicKey::from_der(key_der).unwrap();
    let aad = profile_aad(op_id, eid, card_challenge).unwrap();
    seal(&key, &attacker_profile().encode(), &aad, &mut SysRng)
        .unwrap()
        .to_bytes()
}

#[test]
fn a_hostile_pcsc_client_cannot_install_remove_or_collect_proofs() {
    let Some(stack) =
        require_stack("a_hostile_pcsc_client_cannot_install_remove_or_collect_proofs")
    else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let pki = stack.scratch_dir("hostile-pki");
    pki_init(&stack.card_sim, &pki, EID, "sm.example", 5).unwrap();
    let pki_arg = pki.display().to_string();
    let opts = CardOptions {
        extra: vec!["--pki".into(), pki_arg.clone()],
        ..CardOptions::default()
    };
    let card = CardSim::start(&stack, &lease, "hostile", &opts).unwrap();
    let sm = Sm::new(&stack, &card.dir.join("sm.sqlite3"));
    let r = &card.reader;
    sm.run(
        &[
            "--sm-pki",
            &pki_arg,
            "-r",
            r,
            "provision",
            "--op-id",
            OP,
            "--imei",
            IMEI,
            "--param-stdin",
            "--kdf",
            "test",
        ],
        Some("123456\n"),
    )
    .expect_success();
    let signers = attacker_signers();
    let before = profiles(&stack, r);
    let operator = before
        .iter()
        .find(|p| p.class == "operational" && p.state == "enabled")
        .expect("the SM installed and enabled the operator profile")
        .clone();

    let mallory = Attacker::connect(r).unwrap();
    // The card's identity key, from BF6C (no session needed).
    let DcResponse::Identity {
        eid, identity_key, ..
    } = mallory
        .request(
            &DcRequest::Identity {
                challenge: vec![0x5A; 32],
            },
            |_| unreachable!(),
        )
        .unwrap()
    else {
        panic!("BF6C did not answer an identity");
    };

    // 1a. A profile sealed to the card's identity key (key source 1): without any
    // authorisation, then with each signer the attacker has.
    let no_auth = SmAuth {
        sm_challenge: vec![0x44; 32],
        certificate: signers[0].1.der().to_vec(),
        signature: vec![0; 64],
    };
    let a = mallory
        .request(
            &DcRequest::InstallProfile {
                op_id: ATTACK_OP.into(),
                sealed: sealed_for(&identity_key, ATTACK_OP, &eid, &[0; 16]),
                key: KeySource::Identity,
                auth: no_auth.clone(),
            },
            |_| unreachable!(),
        )
        .unwrap();
    assert!(
        matches!(&a, DcResponse::Installed(r) if r.code == DcResult::NotAuthorised),
        "BF69 without BF6D from a hostile client: {a:?}"
    );
    for signer in &signers {
        // The attacker does everything the SM does: asks for the card's challenge,
        // seals for it, signs the hash of what it sends.
        let DcResponse::CardChallenge { challenge } = mallory
            .request(&DcRequest::CardChallenge, |_| unreachable!())
            .unwrap()
        else {
            panic!("BF6D");
        };
        let sealed = sealed_for(&identity_key, ATTACK_OP, &eid, &challenge);
        let sm_challenge = vec![0x44; 32];
        let msg = AuthMessage {
            function: Function::InstallProfile,
            card_challenge: &challenge,
            eid,
            op_id: ATTACK_OP,
            sm_challenge: &sm_challenge,
            payload_hash: install_payload_hash(KeySource::Identity as u8, &sealed),
        };
        let auth = SmAuth {
            sm_challenge: sm_challenge.clone(),
            certificate: signer.1.der().to_vec(),
            signature: msg.sign(&signer.2).unwrap().to_vec(),
        };
        let a = mallory
            .request(
                &DcRequest::InstallProfile {
                    op_id: ATTACK_OP.into(),
                    sealed,
                    key: KeySource::Identity,
                    auth,
                },
                |_| unreachable!(),
            )
            .unwrap();
        assert!(
            matches!(&a, DcResponse::Installed(r) if r.code == DcResult::NotAuthorised),
            "BF69 (key source 1) signed with {}: {a:?}",
            signer.0
        );
        assert_eq!(profiles(&stack, r), before, "the card's profiles changed");
    }

    // 1b. A session of the attacker's own: BF66, BF67 with its own parameter, then a
    // profile sealed to the key the card derived.
    let mut typed = answers(IMEI, "", "999999");
    let begun = mallory
        .request(
            &DcRequest::Begin {
                flow: Flow::Provision,
            },
            &mut typed,
        )
        .unwrap();
    assert!(matches!(begun, DcResponse::Begun { .. }), "{begun:?}");
    let generated = mallory
        .request(
            &DcRequest::GenerateKey {
                flow: Flow::Provision,
                op_id: ATTACK_OP.into(),
                challenge: vec![0x77; 32],
                salt: vec![0x99; 16],
                kdf: KdfParams::TEST.to_bytes().to_vec(),
            },
            &mut typed,
        )
        .unwrap();
    let DcResponse::KeyGenerated { public_key, .. } = &generated else {
        panic!("BF67 in the attacker's own session: {generated:?}");
    };
    let DcResponse::CardChallenge { challenge } = mallory
        .request(&DcRequest::CardChallenge, |_| unreachable!())
        .unwrap()
    else {
        panic!("BF6D");
    };
    let sealed = sealed_for(public_key, ATTACK_OP, &eid, &challenge);
    let sm_challenge = vec![0x45; 32];
    let msg = AuthMessage {
        function: Function::InstallProfile,
        card_challenge: &challenge,
        eid,
        op_id: ATTACK_OP,
        sm_challenge: &sm_challenge,
        payload_hash: install_payload_hash(KeySource::Parameter as u8, &sealed),
    };
    let a = mallory
        .request(
            &DcRequest::InstallProfile {
                op_id: ATTACK_OP.into(),
                auth: SmAuth {
                    sm_challenge: sm_challenge.clone(),
                    certificate: signers[1].1.der().to_vec(),
                    signature: msg.sign(&signers[1].2).unwrap().to_vec(),
                },
                sealed,
                key: KeySource::Parameter,
            },
            |_| unreachable!(),
        )
        .unwrap();
    assert!(
        matches!(&a, DcResponse::Installed(r) if r.code == DcResult::NotAuthorised),
        "BF69 with key source 0 from a hostile client: {a:?}"
    );
    assert_eq!(profiles(&stack, r), before, "the card's profiles changed");

    // 1c. Removal of the operator's profile (BF6B).
    let iccid = Iccid::from_digits(&operator.iccid).unwrap();
    for signer in &signers {
        let (_, auth) = forge(
            &mallory,
            signer,
            Function::RemoveProfile,
            eid,
            OP,
            removal_payload_hash(&iccid),
        );
        let a = mallory
            .request(
                &DcRequest::RemoveProfile {
                    op_id: OP.into(),
                    iccid,
                    auth,
                },
                |_| unreachable!(),
            )
            .unwrap();
        assert!(
            matches!(&a, DcResponse::Removed { code, .. } if *code == DcResult::NotAuthorised),
            "BF6B signed with {}: {a:?}",
            signer.0
        );
        assert_eq!(profiles(&stack, r), before, "the card's profiles changed");
    }

    // 5. An identity-only proof (BF68, 8C = 00) outside flow B: refused.
    mallory
        .request(
            &DcRequest::Begin {
                flow: Flow::Provision,
            },
            &mut typed,
        )
        .unwrap();
    let a = mallory
        .request(
            &DcRequest::Authenticate {
                flow: Flow::Provision,
                op_id: ATTACK_OP.into(),
                challenge: vec![0x66; 32],
                salt: vec![0x99; 16],
                kdf: KdfParams::TEST.to_bytes().to_vec(),
                need_parameter: false,
            },
            |_| unreachable!(),
        )
        .unwrap();
    assert!(
        matches!(
            a,
            DcResponse::Failed {
                code: DcResult::BadRequest,
                ..
            }
        ),
        "BF68 identity-only in flow A: {a:?}"
    );
    mallory.conn.close().unwrap();
}
