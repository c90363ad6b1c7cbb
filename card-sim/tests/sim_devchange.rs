//! An operator profile installed by the device-change flows is a SAIP profile (issue 9):
//! the card builds its package from the profile's ICCID, IMSI, MSISDN, Ki and OPc and
//! serves its USIM, which authenticates with Milenage under that Ki / OPc (PIN1
//! disabled, as delivered).

mod common;
use apdu::aka::{generate_vector, Key128, Milenage, Sqn};
use apdu::crypto::PublicKey;
use apdu::devchange::{DcRequest, DcResponse, DcResult, KeySource, OperatorProfile};
use apdu::saip::build::{encode_imsi, USIM_AID};
use apdu::sgp22::es10::Iccid;
use card_sim::vpcd::Card;
use common::*;
use zeroize::Zeroizing;

const OP: &str = "+8613800000077";

fn profile() -> OperatorProfile {
    OperatorProfile {
        iccid: Iccid::from_digits("89860000000000000778").unwrap(),
        imsi: "460001234567077".into(),
        msisdn: OP.into(),
        ki: Zeroizing::new([0x33; 16]),
        opc: Zeroizing::new([0x44; 16]),
        service_provider: "Example Mobile".into(),
        profile_name: "Example 5G".into(),
    }
}

#[test]
fn the_installed_operator_profile_authenticates_with_milenage() {
    let mut s = sim(0);
    let ch = open_isdr(&mut s.card);
    // A box sealed to the identity *signing* key (BF6C's) does not open: the card
    // decrypts with its encryption key only (issue 10, finding 10).
    let r = run(
        &mut s.card,
        ch,
        &DcRequest::Identity {
            challenge: vec![5; 32],
        },
        &[],
    );
    let DcResponse::Identity { identity_key, .. } = r else {
        panic!("{r:?}")
    };
    let signing = PublicKey::from_der(&identity_key).unwrap();
    let req = authorised_install(
        &mut s.card,
        ch,
        &signing,
        &profile().encode(),
        OP,
        eid(),
        eid(),
        KeySource::Identity,
    );
    let r = run(&mut s.card, ch, &req, &[]);
    assert!(
        matches!(r, DcResponse::Installed(ref i) if i.code == DcResult::DecryptionFailed),
        "{r:?}"
    );
    // The card's identity encryption key, as flow B's recorded device gives it.
    let pk = encryption_key(&mut s.card, ch, OP);
    assert_ne!(pk, signing, "one key for signing, another for decryption");
    let req = authorised_install(
        &mut s.card,
        ch,
        &pk,
        &profile().encode(),
        OP,
        eid(),
        eid(),
        KeySource::Identity,
    );
    let r = run(&mut s.card, ch, &req, &[]);
    assert!(
        matches!(r, DcResponse::Installed(ref i) if i.code == DcResult::Ok),
        "{r:?}"
    );
    let stored = s.storage.stored().unwrap();
    let p = stored.enabled().unwrap();
    assert_eq!(p.msisdn.as_deref(), Some(OP));
    assert!(p.package.is_some(), "a SAIP package was built");

    // Its USIM: EF.IMSI and EF.ICCID from the operator profile, PIN1 disabled.
    let c = &mut s.card;
    assert_eq!(tx(c, "00A4000C022FE2"), "9000");
    assert_eq!(
        tx(c, "00B000000A"),
        format!("{}9000", hex::encode_upper(profile().iccid.0))
    );
    assert_eq!(
        tx(c, &format!("00A4040C10{}", hex::encode_upper(USIM_AID))),
        "9000"
    );
    let imsi = hex::encode_upper(encode_imsi(&profile().imsi).unwrap());
    assert_eq!(tx(c, "00B0870009"), format!("{imsi}9000"));
    let k = Key128::new([0x33; 16]);
    let opc = Key128::new([0x44; 16]);
    let v = generate_vector(
        &Milenage::new(&k, &opc),
        &[9; 16],
        Sqn::from_parts(1, 0, 5).unwrap(),
        &[0x80, 0],
    );
    let cmd = format!(
        "008800812210{}10{}00",
        hex::encode_upper(v.rand),
        hex::encode_upper(v.autn)
    );
    let (data, sw) = split(&tx(c, &cmd));
    assert_eq!(sw, "9000");
    assert_eq!(&data[2..10], v.xres.as_bytes());
    assert_eq!(&data[11..27], v.ck.expose());
    assert_eq!(&data[28..44], v.ik.expose());
    // PIN1 can be enabled with its delivered value.
    assert_eq!(tx(c, &format!("0028000108{}", pin_block("0000"))), "9000");
    c.power_off();
    c.power_on();
    assert_eq!(
        tx(c, &format!("00A4040C10{}", hex::encode_upper(USIM_AID))),
        "9000"
    );
    assert_eq!(tx(c, &cmd), "6982", "PIN1 enabled and not verified");
}
