//! Round trips between the network side (`apdu::aka::network`) and the card side
//! (`apdu::aka::usim`) for both algorithms: a vector verifies and RES = XRES; a replayed
//! AUTN answers AUTS that the network resolves to the card's SQN_MS (TS 33.102 §6.3.3,
//! §6.3.5, Annex C); a flipped MAC, AMF or SQN bit answers the MAC failure (9862); the SQN
//! state changes only on success.

use apdu::aka::{
    generate_vector, resynchronise, AkaError, Algorithm, AuthOutcome, AuthenticateCommand, Key128,
    Milenage, Sqn, SqnConfig, SqnState, TestXor, Usim,
};

const AMF: [u8; 2] = [0x80, 0x00];

fn algorithms() -> Vec<Algorithm> {
    let k = Key128::new(*b"0123456789abcdef");
    let opc = Key128::new([0x5a; 16]);
    vec![
        Algorithm::from(Milenage::new(&k, &opc)),
        Algorithm::from(TestXor::new(&Key128::new(core::array::from_fn(|i| {
            i as u8
        })))),
    ]
}

fn rand(n: u8) -> [u8; 16] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(31) ^ n)
}

fn sqn(seq: u64, ind: u32) -> Sqn {
    Sqn::from_parts(seq, ind, 5).unwrap()
}

fn umts(rand: [u8; 16], autn: [u8; 16]) -> AuthenticateCommand {
    AuthenticateCommand::decode(
        0,
        0x81,
        &AuthenticateCommand::Umts { rand, autn }.encode_data(),
    )
    .unwrap()
}

#[test]
fn vector_verifies_and_res_equals_xres() {
    for alg in algorithms() {
        let usim = Usim::new(alg.clone());
        let mut st = SqnState::new(&SqnConfig::DEFAULT);
        let v = generate_vector(&alg, &rand(1), sqn(1, 4), &AMF);
        let out = usim.authenticate(&mut st, &umts(v.rand, v.autn)).unwrap();
        let AuthOutcome::Success { res, ck, ik, kc } = &out else {
            panic!("{alg:?}: {out:?}")
        };
        assert_eq!(res, &v.xres);
        assert_eq!(ck, &v.ck);
        assert_eq!(ik, &v.ik);
        assert!(kc.is_none());
        assert_eq!(out.status_word(), 0x9000);
        assert_eq!(st.seqs()[4], 1, "SEQ_MS(4) := 1");
        assert_eq!(st.seqs().iter().filter(|&&s| s != 0).count(), 1);
    }
}

#[test]
fn replayed_autn_answers_auts_the_network_resolves() {
    for alg in algorithms() {
        let usim = Usim::new(alg.clone());
        let mut st = SqnState::new(&SqnConfig::DEFAULT);
        // The card accepts SEQ 7 in IND 2, then SEQ 3 in IND 9 (another IND: fresh).
        for (r, s) in [(1, sqn(7, 2)), (2, sqn(3, 9))] {
            let v = generate_vector(&alg, &rand(r), s, &AMF);
            assert!(matches!(
                usim.authenticate(&mut st, &umts(v.rand, v.autn)).unwrap(),
                AuthOutcome::Success { .. }
            ));
        }
        // The first vector again: a replay.
        let v = generate_vector(&alg, &rand(1), sqn(7, 2), &AMF);
        let before = st.clone();
        let out = usim.authenticate(&mut st, &umts(v.rand, v.autn)).unwrap();
        let AuthOutcome::SyncFailure { auts } = out else {
            panic!("{alg:?}: a replay must fail synchronisation: {out:?}")
        };
        assert_eq!(out.status_word(), 0x9000);
        assert_eq!(out.response_data()[..2], [0xDC, 14]);
        assert_eq!(st, before, "a sync failure changes no SQN state");
        let sqn_ms = resynchronise(&alg, &v.rand, &auts).unwrap();
        assert_eq!(sqn_ms, st.sqn_ms(&SqnConfig::DEFAULT).unwrap());
        assert_eq!(sqn_ms, sqn(7, 2), "SQN_MS = the highest SEQ with its IND");
        // A tampered AUTS does not resolve.
        for i in [0, 6, 13] {
            let mut bad = auts;
            bad[i] ^= 0x10;
            assert_eq!(resynchronise(&alg, &v.rand, &bad), Err(AkaError::AutsMac));
        }
        // The network continues above SQN_MS and the card accepts that.
        let next = generate_vector(&alg, &rand(3), sqn(sqn_ms.seq(5) + 1, 2), &AMF);
        assert!(matches!(
            usim.authenticate(&mut st, &umts(next.rand, next.autn))
                .unwrap(),
            AuthOutcome::Success { .. }
        ));
    }
}

#[test]
fn flipped_mac_amf_or_sqn_bit_is_a_mac_failure() {
    for alg in algorithms() {
        let usim = Usim::new(alg.clone());
        let v = generate_vector(&alg, &rand(5), sqn(2, 0), &AMF);
        for bit in 0..128 {
            let mut autn = v.autn;
            autn[bit / 8] ^= 0x80 >> (bit % 8);
            let mut st = SqnState::new(&SqnConfig::DEFAULT);
            let out = usim.authenticate(&mut st, &umts(v.rand, autn)).unwrap();
            assert!(
                matches!(out, AuthOutcome::MacFailure),
                "{alg:?}, AUTN bit {bit}: {out:?}"
            );
            assert_eq!(out.status_word(), 0x9862);
            assert!(out.response_data().is_empty());
            assert_eq!(
                st,
                SqnState::new(&SqnConfig::DEFAULT),
                "a MAC failure changes no SQN state"
            );
        }
        // A replay with a bad MAC is a MAC failure, not a sync failure (MAC first).
        let mut st = SqnState::new(&SqnConfig::DEFAULT);
        assert!(matches!(
            usim.authenticate(&mut st, &umts(v.rand, v.autn)).unwrap(),
            AuthOutcome::Success { .. }
        ));
        let mut autn = v.autn;
        autn[15] ^= 1;
        assert!(matches!(
            usim.authenticate(&mut st, &umts(v.rand, autn)).unwrap(),
            AuthOutcome::MacFailure
        ));
        // Another RAND with the same AUTN: a MAC failure too.
        assert!(matches!(
            usim.authenticate(&mut st, &umts(rand(6), v.autn)).unwrap(),
            AuthOutcome::MacFailure
        ));
    }
}

#[test]
fn annex_c_limits_delta_and_age() {
    let cfg = SqnConfig::new(5, Some(100), Some(50)).unwrap();
    for alg in algorithms() {
        let mut usim = Usim::new(alg.clone());
        usim.sqn = Some(cfg);
        let mut st = SqnState::new(&cfg);
        let run = |st: &mut SqnState, s: Sqn, r: u8| {
            let v = generate_vector(&alg, &rand(r), s, &AMF);
            usim.authenticate(st, &umts(v.rand, v.autn)).unwrap()
        };
        assert!(
            matches!(
                run(&mut st, sqn(101, 0), 1),
                AuthOutcome::SyncFailure { .. }
            ),
            "C.2.1: 101 - 0 > 100"
        );
        assert!(matches!(
            run(&mut st, sqn(100, 0), 1),
            AuthOutcome::Success { .. }
        ));
        assert!(
            matches!(run(&mut st, sqn(49, 1), 2), AuthOutcome::SyncFailure { .. }),
            "C.2.3: 100 - 49 > 50"
        );
        assert!(matches!(
            run(&mut st, sqn(50, 1), 2),
            AuthOutcome::Success { .. }
        ));
        assert!(
            matches!(run(&mut st, sqn(50, 1), 3), AuthOutcome::SyncFailure { .. }),
            "C.2.2: 50 <= 50"
        );
        assert_eq!(st.seqs()[..2], [100, 50]);
    }
}

#[test]
fn kc_and_gsm_context_when_offered() {
    for alg in algorithms() {
        let mut usim = Usim::new(alg.clone());
        let mut st = SqnState::new(&SqnConfig::DEFAULT);
        let gsm = AuthenticateCommand::decode(0, 0x80, &[&[16u8][..], &rand(1)].concat()).unwrap();
        assert!(matches!(
            usim.authenticate(&mut st, &gsm),
            Err(AkaError::UnsupportedContext { p1: 0, p2: 0x80 })
        ));
        usim.gsm_context = true;
        usim.include_kc = true;
        let AuthOutcome::Gsm { kc: gsm_kc, .. } = usim.authenticate(&mut st, &gsm).unwrap() else {
            panic!("GSM context")
        };
        let v = generate_vector(&alg, &rand(1), sqn(1, 0), &AMF);
        let out = usim.authenticate(&mut st, &umts(v.rand, v.autn)).unwrap();
        let AuthOutcome::Success { kc: Some(kc), .. } = &out else {
            panic!("Kc in the 3G answer")
        };
        assert_eq!(kc, &gsm_kc, "one c3 for both contexts");
        let data = out.response_data();
        assert_eq!(data[data.len() - 9], 8);
    }
}

#[test]
fn a_state_that_does_not_fit_its_configuration_is_refused() {
    let usim = Usim::new(algorithms().remove(0));
    let small = SqnConfig::new(2, None, None).unwrap();
    let mut st = SqnState::new(&small);
    let v = generate_vector(&usim.algorithm, &rand(1), sqn(1, 0), &AMF);
    assert!(matches!(
        usim.authenticate(&mut st, &umts(v.rand, v.autn)),
        Err(AkaError::SqnState(_))
    ));
}

#[test]
fn debug_output_never_shows_keys() {
    let k = *b"0123456789abcdef";
    let alg = Algorithm::from(Milenage::new(&Key128::new(k), &Key128::new([0x5a; 16])));
    let v = generate_vector(&alg, &rand(1), sqn(1, 0), &AMF);
    let text = format!("{alg:?} {v:?}");
    assert!(!text.contains(&format!("{:?}", v.ck.expose())), "{text}");
    assert!(!text.contains("90, 90"), "{text}");
    assert!(text.contains("<redacted>"));
}
