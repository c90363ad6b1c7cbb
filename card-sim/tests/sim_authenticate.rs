//! AUTHENTICATE in the enabled profile's USIM (3GPP TS 31.102 §7.1.2) with the package's
//! Ki / OPc, checked against the network side computed independently by
//! `apdu::aka::generate_vector`: RES, CK and IK; a replayed AUTN gets AUTS that
//! resynchronises the network (TS 33.102 §6.3.5); a wrong MAC `9862`; the SQN state is
//! saved with the answer and survives a restart; the PIN and the application are checked.

mod common;
use apdu::aka::{self, generate_vector, resynchronise, AuthVector, Key128, Milenage, Sqn};
use apdu::saip::build::USIM_AID;
use card_sim::state::{MemoryStorage, Storage};
use common::*;
use std::sync::Arc;

const AMF: [u8; 2] = [0x80, 0x00];

fn network() -> Milenage {
    let k = Key128::from_slice(&hex::decode(KI).unwrap()).unwrap();
    let opc = Key128::from_slice(&hex::decode(OPC).unwrap()).unwrap();
    Milenage::new(&k, &opc)
}

fn vector(seq: u64, ind: u32, rand: u8) -> AuthVector {
    let sqn = Sqn::from_parts(seq, ind, 5).unwrap();
    generate_vector(&network(), &[rand; 16], sqn, &AMF)
}

fn command(v: &AuthVector) -> String {
    format!(
        "008800812210{}10{}00",
        hex::encode_upper(v.rand),
        hex::encode_upper(v.autn)
    )
}

fn ready(c: &mut impl card_sim::vpcd::Card) {
    assert_eq!(
        tx(c, &format!("00A4040C10{}", hex::encode_upper(USIM_AID))),
        "9000"
    );
    assert_eq!(tx(c, &format!("0020000108{}", pin_block(PIN1))), "9000");
}

#[test]
fn success_matches_the_network_and_the_sqn_is_saved() {
    let mut s = sim_profile();
    let v = vector(1, 0, 0x11);
    let c = &mut s.card;
    assert_eq!(tx(c, &command(&v)), "6985", "no USIM selected");
    assert_eq!(
        tx(c, &format!("00A4040C10{}", hex::encode_upper(USIM_AID))),
        "9000"
    );
    assert_eq!(tx(c, &command(&v)), "6982", "PIN1 not verified");
    assert_eq!(tx(c, &format!("0020000108{}", pin_block(PIN1))), "9000");
    let before = s.storage.saves();
    let (data, sw) = split(&tx(&mut s.card, &command(&v)));
    assert_eq!(sw, "9000");
    assert_eq!(
        s.storage.saves(),
        before + 1,
        "SEQ_MS saved with the answer"
    );
    let mut want = vec![0xDB, 8];
    want.extend_from_slice(v.xres.as_bytes());
    want.push(16);
    want.extend_from_slice(v.ck.expose());
    want.push(16);
    want.extend_from_slice(v.ik.expose());
    assert_eq!(
        hex::encode_upper(&data),
        hex::encode_upper(&want),
        "DB RES CK IK, no Kc"
    );
    // The same AUTN again: a synchronisation failure whose AUTS the network accepts.
    let (data, sw) = split(&tx(&mut s.card, &command(&v)));
    assert_eq!(sw, "9000");
    assert_eq!(data[..2], [0xDC, 14]);
    let auts: aka::Auts = data[2..16].try_into().unwrap();
    let sqn_ms = resynchronise(&network(), &v.rand, &auts).unwrap();
    assert_eq!(sqn_ms, Sqn::from_parts(1, 0, 5).unwrap());
    assert_eq!(s.storage.saves(), before + 1, "a refusal saves nothing");
    // A wrong MAC: 9862, nothing saved.
    let mut bad = vector(2, 0, 0x22);
    bad.autn[15] ^= 1;
    assert_eq!(tx(&mut s.card, &command(&bad)), "9862");
    assert_eq!(s.storage.saves(), before + 1);
    // The GSM context is not offered (no GSM access in EF.UST).
    assert_eq!(
        tx(
            &mut s.card,
            &format!("008800801110{}00", hex::encode_upper([0x33u8; 16]))
        ),
        "6A86"
    );

    // After a restart the accepted SQN is still known: the replay is refused, the next
    // SQN (the one the network moves to after AUTS) is accepted.
    s.restart();
    ready(&mut s.card);
    assert!(tx(&mut s.card, &command(&v)).starts_with("DC0E"));
    let next = vector(sqn_ms.seq(5) + 1, 0, 0x44);
    let (data, sw) = split(&tx(&mut s.card, &command(&next)));
    assert_eq!(sw, "9000");
    assert_eq!(&data[2..10], next.xres.as_bytes());
    // Another IND with a lower SEQ is still fresh (TS 33.102 Annex C.2.2).
    assert!(tx(&mut s.card, &command(&vector(1, 3, 0x55))).starts_with("DB08"));
    let p = s.storage.stored().unwrap();
    let sqn = &p.enabled().unwrap().sim.sqn;
    assert_eq!(sqn.len(), 1);
    let seqs = sqn.values().next().unwrap().seqs();
    assert_eq!((seqs[0], seqs[3]), (2, 1));
}

#[test]
fn the_test_algorithm_takes_any_sqn() {
    let mut sub = subscription();
    sub.algorithm = apdu::saip::Algorithm::UsimTestAlgorithm;
    let state = state_with_package(&sub);
    let storage = Arc::new(MemoryStorage::new());
    storage.save(&state).unwrap();
    let mut c = card_with(state, Box::new(storage.clone()));
    ready(&mut c);
    let k = Key128::from_slice(&hex::decode(KI).unwrap()).unwrap();
    let alg = aka::TestXor::new(&k);
    let v = generate_vector(&alg, &[7; 16], Sqn::new(5).unwrap(), &AMF);
    for _ in 0..2 {
        let (data, sw) = split(&tx(&mut c, &command(&v)));
        assert_eq!(sw, "9000");
        assert_eq!(&data[2..18], v.xres.as_bytes(), "128-bit RES of TS 34.108");
    }
}

#[test]
fn gsm_access_adds_kc_and_the_gsm_context() {
    // The package with UST service 27 (GSM access, TS 31.102 §4.2.8: byte 4, bit 3).
    let mut pkg = apdu::saip::build::build(&subscription()).unwrap();
    for e in pkg.elements.iter_mut() {
        if let apdu::saip::Element::Template(t) = e {
            if t.choice == 19 {
                for (n, items) in t.files.iter_mut() {
                    if *n == 8 {
                        if let Some(apdu::saip::FileItem::Content(ust)) = items.first_mut() {
                            ust[3] |= 0x04;
                        }
                    }
                }
            }
        }
    }
    let mut state = state_with_package(&subscription());
    state.profiles.last_mut().unwrap().package = Some(card_sim::state::Secret::new(pkg.encode()));
    let storage = Arc::new(MemoryStorage::new());
    storage.save(&state).unwrap();
    let mut c = card_with(state, Box::new(storage));
    ready(&mut c);
    let v = vector(1, 0, 0x66);
    let kc = aka::c3(&v.ck, &v.ik);
    let (data, sw) = split(&tx(&mut c, &command(&v)));
    assert_eq!(sw, "9000");
    assert_eq!(data.len(), 1 + 9 + 17 + 17 + 9, "DB RES CK IK Kc");
    assert_eq!(&data[44..], [&[8u8][..], kc.expose()].concat());
    // GSM context: SRES = c2(RES), Kc = c3(CK, IK).
    let rand = [0x77u8; 16];
    let o = aka::AkaFunctions::f2345(&network(), &rand);
    let (data, sw) = split(&tx(
        &mut c,
        &format!("008800801110{}00", hex::encode_upper(rand)),
    ));
    assert_eq!(sw, "9000");
    let mut want = vec![4];
    want.extend(aka::c2(&o.res));
    want.push(8);
    want.extend(aka::c3(&o.ck, &o.ik).expose());
    assert_eq!(data, want);
}
