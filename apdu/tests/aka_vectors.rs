//! apdu::aka against published and derived vectors.
//!
//! - `vectors/aka_ts35208.json`: every Milenage test set of 3GPP TS 35.208 v6.0.0 §4.3
//!   (test sets 1 to 20; the spec's set 2 repeats set 1): K, RAND, SQN, AMF, OP and OPc,
//!   f1, f1*, f2, f3, f4, f5, f5*; and the 19 GSM-Milenage sets of TS 55.205 (SRES, Kc).
//!   Copied from hostap `tests/test-milenage.c` (quoting the specs) and compared field by
//!   field with sigscale/ocs `test/ocs_milenage_SUITE.erl` (no difference).
//! - `vectors/aka_derived.json`: derived by `vectors/aka_reference.py` (an independent
//!   Python reading of TS 34.108 §8.1.2, TS 35.206 §4.1, TS 33.102 §6.3.3 / §6.8.1.2 and
//!   TS 31.102 §7.1.2.1, using the `cryptography` package's AES; that script also
//!   recomputes every TS 35.208 value): the TS 34.108 test algorithm (with the TS.48 key
//!   000102..0F), a Milenage variant with operator constants, and byte-exact AUTHENTICATE
//!   answers. Re-check: `python3 apdu/tests/vectors/aka_reference.py`.

use apdu::aka::milenage::opc_from_op;
use apdu::aka::usim::auts;
use apdu::aka::{
    c2, c3, generate_vector, resynchronise, AkaFunctions, AuthenticateCommand, Key128, Milenage,
    MilenageConstants, Sqn, SqnConfig, SqnState, TestXor, Usim,
};
use serde::Deserialize;
use std::path::PathBuf;

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("read vectors"))
        .expect("parse vectors")
}

fn h<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).expect("hex").try_into().expect("length")
}

#[derive(Deserialize)]
struct Ts35208 {
    milenage: Vec<MilenageSet>,
    gsm_milenage: Vec<GsmSet>,
}

#[derive(Deserialize)]
struct MilenageSet {
    set: u32,
    k: String,
    rand: String,
    sqn: String,
    amf: String,
    op: String,
    opc: String,
    f1: String,
    f1star: String,
    f2: String,
    f3: String,
    f4: String,
    f5: String,
    f5star: String,
}

#[derive(Deserialize)]
struct GsmSet {
    set: u32,
    k: String,
    rand: String,
    opc: String,
    sres: String,
    kc: String,
}

#[test]
fn milenage_every_ts_35_208_test_set() {
    let v: Ts35208 = load("aka_ts35208.json");
    assert_eq!(v.milenage.len(), 20, "TS 35.208 §4.3 has test sets 1 to 20");
    for s in &v.milenage {
        let k = Key128::new(h(&s.k));
        let opc = opc_from_op(&k, &h(&s.op));
        assert_eq!(opc.expose(), &h::<16>(&s.opc), "OPc, set {}", s.set);
        for m in [Milenage::new(&k, &opc), Milenage::from_op(&k, &h(&s.op))] {
            let (rand, sqn, amf) = (h(&s.rand), Sqn::from_bytes(h(&s.sqn)), h(&s.amf));
            assert_eq!(m.f1(&rand, sqn, &amf), h(&s.f1), "f1, set {}", s.set);
            assert_eq!(
                m.f1_star(&rand, sqn, &amf),
                h(&s.f1star),
                "f1*, set {}",
                s.set
            );
            let o = m.f2345(&rand);
            assert_eq!(o.res.as_bytes(), &h::<8>(&s.f2), "f2, set {}", s.set);
            assert_eq!(o.ck.expose(), &h::<16>(&s.f3), "f3, set {}", s.set);
            assert_eq!(o.ik.expose(), &h::<16>(&s.f4), "f4, set {}", s.set);
            assert_eq!(o.ak, h(&s.f5), "f5, set {}", s.set);
            assert_eq!(m.f5_star(&rand), h(&s.f5star), "f5*, set {}", s.set);
        }
    }
}

#[test]
fn gsm_milenage_every_ts_55_205_test_set() {
    let v: Ts35208 = load("aka_ts35208.json");
    assert_eq!(v.gsm_milenage.len(), 19);
    for s in &v.gsm_milenage {
        let m = Milenage::new(&Key128::new(h(&s.k)), &Key128::new(h(&s.opc)));
        let o = m.f2345(&h(&s.rand));
        assert_eq!(c2(&o.res), h(&s.sres), "SRES, set {}", s.set);
        assert_eq!(
            c3(&o.ck, &o.ik).expose(),
            &h::<8>(&s.kc),
            "Kc, set {}",
            s.set
        );
    }
}

#[derive(Deserialize)]
struct Derived {
    test_algorithm: Vec<XorCase>,
    milenage_variant: Variant,
    milenage_answers: Answers,
}

#[derive(Deserialize)]
struct XorCase {
    name: String,
    k: String,
    rand: String,
    sqn: String,
    amf: String,
    res_len: usize,
    res: String,
    ck: String,
    ik: String,
    ak: String,
    mac: String,
    autn: String,
    sqn_ms: String,
    auts: String,
    answer_3g: String,
    answer_sync: String,
}

#[derive(Deserialize)]
struct Variant {
    k: String,
    opc: String,
    rand: String,
    sqn: String,
    amf: String,
    rotation_constants: String,
    xoring_constants: String,
    f1: String,
    f1star: String,
    f2: String,
    f3: String,
    f4: String,
    f5: String,
    f5star: String,
}

#[derive(Deserialize)]
struct Answers {
    k: String,
    opc: String,
    rand: String,
    sqn: String,
    amf: String,
    autn: String,
    answer_3g: String,
    answer_3g_with_kc: String,
    answer_gsm: String,
    sqn_ms: String,
    auts: String,
    answer_sync: String,
}

#[test]
fn ts_34_108_test_algorithm_derived_vectors() {
    let d: Derived = load("aka_derived.json");
    assert!(d
        .test_algorithm
        .iter()
        .any(|c| c.k == "000102030405060708090a0b0c0d0e0f"));
    for c in &d.test_algorithm {
        let x = TestXor::with_res_len(&Key128::new(h(&c.k)), c.res_len).unwrap();
        let (rand, sqn, amf) = (h(&c.rand), Sqn::from_bytes(h(&c.sqn)), h(&c.amf));
        let o = x.f2345(&rand);
        assert_eq!(hex::encode(o.res.as_bytes()), c.res, "RES, {}", c.name);
        assert_eq!(o.ck.expose(), &h::<16>(&c.ck), "CK, {}", c.name);
        assert_eq!(o.ik.expose(), &h::<16>(&c.ik), "IK, {}", c.name);
        assert_eq!(o.ak, h(&c.ak), "AK, {}", c.name);
        assert_eq!(x.f1(&rand, sqn, &amf), h(&c.mac), "MAC, {}", c.name);
        let v = generate_vector(&x, &rand, sqn, &amf);
        assert_eq!(v.autn, h(&c.autn), "AUTN, {}", c.name);
        let sqn_ms = Sqn::from_bytes(h(&c.sqn_ms));
        assert_eq!(auts(&x, &rand, sqn_ms), h(&c.auts), "AUTS, {}", c.name);
        assert_eq!(resynchronise(&x, &rand, &h(&c.auts)).unwrap(), sqn_ms);

        // The card's answers, byte for byte. A fresh SQN (the TS 34.108 test USIM takes
        // the SQN of AUTN: no Annex C check) ...
        let mut usim = Usim::new(x.into());
        usim.sqn = None;
        let cmd = AuthenticateCommand::Umts { rand, autn: v.autn };
        let mut st = SqnState::new(&SqnConfig::DEFAULT);
        let ok = usim.authenticate(&mut st, &cmd).unwrap();
        assert_eq!(
            hex::encode(&*ok.response_data()),
            c.answer_3g,
            "3G answer, {}",
            c.name
        );
        // ... and, with Annex C, the same AUTN against a card that has accepted it and
        // whose highest SQN is SQN_MS: the sync-failure answer.
        let cfg = SqnConfig::new(5, None, None).unwrap();
        usim.sqn = Some(cfg);
        let mut seqs = vec![0; cfg.entries()];
        seqs[sqn.ind(5) as usize] = sqn.seq(5);
        seqs[sqn_ms.ind(5) as usize] = sqn_ms.seq(5);
        let mut st = SqnState::from_seqs(&cfg, seqs).unwrap();
        assert_eq!(st.sqn_ms(&cfg).unwrap(), sqn_ms);
        let sync = usim.authenticate(&mut st, &cmd).unwrap();
        assert_eq!(
            hex::encode(&*sync.response_data()),
            c.answer_sync,
            "sync answer, {}",
            c.name
        );
    }
}

#[test]
fn milenage_variant_with_operator_constants() {
    let d: Derived = load("aka_derived.json");
    let v = &d.milenage_variant;
    let consts = MilenageConstants::from_saip(
        &hex::decode(&v.rotation_constants).unwrap(),
        &hex::decode(&v.xoring_constants).unwrap(),
    )
    .unwrap();
    let (k, opc) = (Key128::new(h(&v.k)), Key128::new(h(&v.opc)));
    let m = Milenage::with_constants(&k, &opc, consts);
    let (rand, sqn, amf) = (h(&v.rand), Sqn::from_bytes(h(&v.sqn)), h(&v.amf));
    assert_eq!(m.f1(&rand, sqn, &amf), h(&v.f1));
    assert_eq!(m.f1_star(&rand, sqn, &amf), h(&v.f1star));
    let o = m.f2345(&rand);
    assert_eq!(o.res.as_bytes(), &h::<8>(&v.f2));
    assert_eq!(o.ck.expose(), &h::<16>(&v.f3));
    assert_eq!(o.ik.expose(), &h::<16>(&v.f4));
    assert_eq!(o.ak, h(&v.f5));
    assert_eq!(m.f5_star(&rand), h(&v.f5star));
    // And the variant really differs from the standard constants.
    assert_ne!(
        Milenage::new(&k, &opc).f1(&rand, sqn, &amf),
        m.f1(&rand, sqn, &amf)
    );
}

#[test]
fn milenage_authenticate_answers_byte_exact() {
    let d: Derived = load("aka_derived.json");
    let a = &d.milenage_answers;
    let m = Milenage::new(&Key128::new(h(&a.k)), &Key128::new(h(&a.opc)));
    let (rand, sqn, amf) = (h(&a.rand), Sqn::from_bytes(h(&a.sqn)), h(&a.amf));
    let v = generate_vector(&m, &rand, sqn, &amf);
    assert_eq!(v.autn, h(&a.autn));
    let mut data = vec![16];
    data.extend(rand);
    data.push(16);
    data.extend(v.autn);
    let cmd = AuthenticateCommand::decode(0x00, 0x81, &data).unwrap();

    // Test set 1's SQN has a SEQ far above 2^28: no wrap-around limit for this card.
    let cfg = SqnConfig::new(5, None, None).unwrap();
    let mut usim = Usim::new(m.into());
    usim.sqn = Some(cfg);
    let mut st = SqnState::new(&cfg);
    let ok = usim.authenticate(&mut st, &cmd).unwrap();
    assert_eq!(ok.status_word(), 0x9000);
    assert_eq!(hex::encode(&*ok.response_data()), a.answer_3g);

    usim.include_kc = true;
    usim.gsm_context = true;
    let mut st = SqnState::new(&cfg);
    let ok = usim.authenticate(&mut st, &cmd).unwrap();
    assert_eq!(hex::encode(&*ok.response_data()), a.answer_3g_with_kc);
    let gsm = AuthenticateCommand::decode(0x00, 0x80, &data[..17]).unwrap();
    let g = usim.authenticate(&mut st, &gsm).unwrap();
    assert_eq!(hex::encode(&*g.response_data()), a.answer_gsm);

    // A card whose only accepted SQN is SQN_MS = SEQ 0x7f || IND 3 gets that SQN again:
    // it answers DC 0E AUTS, byte for byte.
    let sqn_ms = Sqn::from_bytes(h(&a.sqn_ms));
    assert_eq!(auts(&usim.algorithm, &rand, sqn_ms), h(&a.auts));
    let mut seqs = vec![0u64; 32];
    seqs[3] = 0x7f;
    let mut st = SqnState::from_seqs(&cfg, seqs).unwrap();
    let replay = generate_vector(&usim.algorithm, &rand, sqn_ms, &amf);
    let sync = usim
        .authenticate(
            &mut st,
            &AuthenticateCommand::Umts {
                rand,
                autn: replay.autn,
            },
        )
        .unwrap();
    assert_eq!(sync.status_word(), 0x9000);
    assert_eq!(hex::encode(&*sync.response_data()), a.answer_sync);
}
