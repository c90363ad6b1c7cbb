//! The enabled profile works as a SIM through the real stack (issue 9, "A profile that
//! works as a SIM"): card-sim as its own process behind pcscd + vpcd, with a state file
//! whose enabled profile holds a package built by `apdu::saip::build`. Checked over
//! PC/SC (T=0, `61xx` followed): SELECT by AID / FID / path / SFI, the access rule
//! refusing READ until PIN1 is verified, an UPDATE and a wrong ADM1 attempt that survive
//! kill -9, blocking at 0, and AUTHENTICATE against the network side of `apdu::aka`
//! (RES, CK, IK; AUTS after a restart resynchronises; a wrong MAC `9862`).

use apdu::aka::{generate_vector, resynchronise, AuthVector, Key128, Milenage, Sqn};
use apdu::saip::build::{build, encode_imsi, Subscription, USIM_AID};
use apdu::saip::{Algorithm, Secret};
use apdu::sgp22::es10::Iccid;
use system_tests::pcsc_io::Conn;
use system_tests::{require_stack, CardOptions, CardSim, Lease};

const KI: &str = "000102030405060708090A0B0C0D0E0F";
const OPC: &str = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF";
const IMSI: &str = "001010000000123";

fn subscription() -> Subscription {
    Subscription {
        iccid: Iccid::from_digits("89490000000000001234").unwrap(),
        imsi: IMSI.into(),
        msisdn: Some("+491700000123".into()),
        ki: Secret::new(hex::decode(KI).unwrap()),
        opc: Secret::new(hex::decode(OPC).unwrap()),
        algorithm: Algorithm::Milenage,
        spn: "System Test".into(),
        profile_type: "test".into(),
        pin1: "1234".into(),
        puk1: "12345678".into(),
        adm1: "88888888".into(),
    }
}

/// Adds an enabled profile holding the package of [`subscription`] to the card's state
/// file (the documented JSON: profiles with `package` as hex), PP#0 disabled.
fn add_profile(path: &std::path::Path) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let pkg = build(&subscription()).unwrap().encode();
    let profiles = v["profiles"].as_array_mut().unwrap();
    for p in profiles.iter_mut() {
        p["state"] = "disabled".into();
    }
    profiles.push(serde_json::json!({
        "iccid": subscription().iccid.digits(),
        "aid": "A0000005591010FFFFFFFF8900001700",
        "state": "enabled",
        "class": "test",
        "service_provider": "System Test",
        "name": "SIM",
        "package": hex::encode_upper(pkg),
    }));
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

struct Card {
    conn: Conn,
}

impl Card {
    fn connect(reader: &str) -> Card {
        Card {
            conn: Conn::connect(reader).unwrap(),
        }
    }

    /// Sends hex, follows 61xx / 6Cxx; returns (data hex, SW hex).
    fn tx(&self, h: &str) -> (String, String) {
        let r = self.conn.transmit_full(&hex::decode(h).unwrap()).unwrap();
        let n = r.len() - 2;
        (hex::encode_upper(&r[..n]), hex::encode_upper(&r[n..]))
    }

    fn sw(&self, h: &str) -> String {
        self.tx(h).1
    }

    fn select_usim(&self) {
        assert_eq!(
            self.sw(&format!("00A4040C10{}", hex::encode_upper(USIM_AID))),
            "9000"
        );
    }
}

fn pin(p: &str) -> String {
    let mut b = p.as_bytes().to_vec();
    b.resize(8, 0xFF);
    hex::encode_upper(b)
}

fn network() -> Milenage {
    let k = Key128::from_slice(&hex::decode(KI).unwrap()).unwrap();
    let opc = Key128::from_slice(&hex::decode(OPC).unwrap()).unwrap();
    Milenage::new(&k, &opc)
}

fn vector(seq: u64, rand: u8) -> AuthVector {
    let sqn = Sqn::from_parts(seq, 0, 5).unwrap();
    generate_vector(&network(), &[rand; 16], sqn, &[0x80, 0x00])
}

fn authenticate(v: &AuthVector) -> String {
    format!(
        "008800812210{}10{}00",
        hex::encode_upper(v.rand),
        hex::encode_upper(v.autn)
    )
}

#[test]
fn a_profile_works_as_a_sim_across_kill9() {
    let Some(stack) = require_stack("a_profile_works_as_a_sim_across_kill9") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let mut card = CardSim::start(&stack, &lease, "sim", &CardOptions::default()).unwrap();
    card.stop().unwrap();
    add_profile(&card.state);
    card.restart().unwrap();
    let r = card.reader.clone();

    let c = Card::connect(&r);
    // The package's EF.ICCID under the MF, EF.DIR listing the USIM, by FID and path.
    let (iccid, sw) = c.tx("00A40004022FE2");
    assert_eq!(sw, "9000", "{iccid}");
    assert_eq!(
        c.tx("00B000000A").0,
        hex::encode_upper(subscription().iccid.0)
    );
    let (dir, sw) = c.tx("00B201F426");
    assert_eq!(sw, "9000");
    assert!(dir.contains(&hex::encode_upper(USIM_AID)), "{dir}");
    // The USIM: EF.IMSI needs PIN1.
    c.select_usim();
    assert_eq!(c.sw("00A4000C026F07"), "9000");
    assert_eq!(c.sw("00B0000009"), "6982");
    assert_eq!(c.sw(&format!("0020000108{}", pin("1234"))), "9000");
    let imsi = hex::encode_upper(encode_imsi(IMSI).unwrap());
    assert_eq!(c.tx("00B0000009"), (imsi.clone(), "9000".into()));
    assert_eq!(c.tx("00A40804047FFF6F07").1, "9000", "path with 7FFF");
    assert_eq!(c.tx("00B0870009").0, imsi, "SFI 07");
    // Changes that must survive: EF.LOCI, a wrong ADM1, an accepted SQN.
    assert_eq!(c.sw("00A4000C026F7E"), "9000");
    assert_eq!(c.sw("00D600000B0102030405060708090A0B"), "9000");
    assert_eq!(c.sw(&format!("0020000A08{}", pin("00000000"))), "63C2");
    let v = vector(1, 0x11);
    let (res, sw) = c.tx(&authenticate(&v));
    assert_eq!(sw, "9000");
    let mut want = format!("DB08{}", hex::encode_upper(v.xres.as_bytes()));
    want += &format!(
        "10{}10{}",
        hex::encode_upper(v.ck.expose()),
        hex::encode_upper(v.ik.expose())
    );
    assert_eq!(res, want, "RES, CK, IK as the network computes them");
    let mut bad = vector(2, 0x12);
    bad.autn[8] ^= 0x01;
    assert_eq!(c.sw(&authenticate(&bad)), "9862");
    drop(c);

    card.kill9().unwrap();
    card.restart().unwrap();
    let c = Card::connect(&r);
    c.select_usim();
    assert_eq!(
        c.sw("0020000A00"),
        "63C2",
        "the wrong ADM1 was saved before its answer"
    );
    assert_eq!(c.sw("00A4000C026F7E"), "9000");
    assert_eq!(c.sw("00B000000B"), "6982", "verification does not survive");
    assert_eq!(c.sw(&format!("0020000108{}", pin("1234"))), "9000");
    assert_eq!(c.tx("00B000000B").0, "0102030405060708090A0B");
    // The replayed AUTN: AUTS, from which the network learns SQN 1.
    let (auts, sw) = c.tx(&authenticate(&v));
    assert_eq!(sw, "9000");
    assert!(auts.starts_with("DC0E"), "{auts}");
    let auts: [u8; 14] = hex::decode(&auts[4..]).unwrap().try_into().unwrap();
    let sqn_ms = resynchronise(&network(), &v.rand, &auts).unwrap();
    assert_eq!(sqn_ms, Sqn::from_parts(1, 0, 5).unwrap());
    let next = vector(sqn_ms.seq(5) + 1, 0x13);
    assert!(c.tx(&authenticate(&next)).0.starts_with("DB08"));
    // ADM1 blocks at 0, and stays blocked after kill -9.
    assert_eq!(c.sw(&format!("0020000A08{}", pin("00000000"))), "63C1");
    assert_eq!(c.sw(&format!("0020000A08{}", pin("00000000"))), "63C0");
    assert_eq!(c.sw(&format!("0020000A08{}", pin("88888888"))), "6983");
    drop(c);
    card.kill9().unwrap();
    card.restart().unwrap();
    let c = Card::connect(&r);
    assert_eq!(c.sw(&format!("0020000A08{}", pin("88888888"))), "6983");
    // The ISD-R is still there (GetEID through it).
    let (eid, sw) = c.tx(&format!("00A4040010{}", "A0000005591010FFFFFFFF8900000100"));
    assert_eq!(sw, "9000", "{eid}");
    let (data, sw) = c.tx("80E2910006BF3E035C015A");
    assert_eq!(sw, "9000");
    assert!(data.starts_with("BF3E125A10"), "{data}");
}
