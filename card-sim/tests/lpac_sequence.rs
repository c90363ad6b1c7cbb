//! The byte sequences lpac 2.3 and pySim send (interop.md), replayed through the card.

mod common;
use apdu::sgp22::es10::{
    ConfiguredAddresses, EuiccInfo2, ProfileClass, ProfileInfoResponse, ProfileState,
};
use common::*;

#[test]
fn lpac_chip_info() {
    let mut s = sim(0);
    let c = &mut s.card;
    let eid = eid().digits();
    assert_eq!(tx(c, "80AA00000AA9088100820101830107"), "9000");
    assert_eq!(tx(c, "0070000001"), "019000");
    let r = tx(c, &format!("01A4040010{ISDR}"));
    assert!(r.ends_with("9000"), "{r}");
    assert_eq!(
        tx(c, "81E2910006BF3E035C015A"),
        format!("BF3E125A10{eid}9000")
    );
    let (d, sw) = split(&tx(c, "81E2910003BF3C00"));
    assert_eq!(sw, "9000");
    let a = ConfiguredAddresses::decode(&d).unwrap();
    assert_eq!(a.default_dp, None);
    assert_eq!(a.root_ds, "testrootsmds.example.com");
    assert_eq!(tx(c, "81E2910003BF4300"), "BF4302A0009000");
    let (d, sw) = split(&tx(c, "81E2910003BF2200"));
    assert_eq!(sw, "9000");
    let info = EuiccInfo2::decode(&d).unwrap();
    assert_eq!(info.svn, [2, 2, 2]);
    assert_eq!(tx(c, "0070800100"), "9000");
    assert_eq!(tx(c, "81E2910003BF2200"), "6881", "channel closed");
}

#[test]
fn lpac_profile_list_with_a_long_answer() {
    let mut s = sim(12);
    let c = &mut s.card;
    let ch = open_isdr(c);
    assert_eq!(ch, 1);
    let r = tx(c, "81E2910003BF2D00");
    assert!(r.starts_with("61"), "a long list needs GET RESPONSE: {r}");
    let (data, sw) = es10(c, 1, &hex::decode("BF2D00").unwrap(), 120);
    assert_eq!(sw, "9000");
    assert!(data.len() > 256);
    let ProfileInfoResponse::List(list) = ProfileInfoResponse::decode(&data).unwrap() else {
        panic!("error answer")
    };
    assert_eq!(list.len(), 13);
    assert_eq!(list[0].profile_name.as_deref(), Some("PP#0"));
    assert_eq!(list[0].class, Some(ProfileClass::Provisioning));
    assert_eq!(list[0].state, Some(ProfileState::Enabled));
    assert!(list[1..]
        .iter()
        .all(|p| p.class == Some(ProfileClass::Test)));
}

#[test]
fn get_response_as_lpac_sends_it() {
    let mut s = sim(12);
    let c = &mut s.card;
    open_isdr(c);
    let mut r = tx(c, "81E2910003BF2D00");
    let mut all = Vec::new();
    while let Some(xx) = r.strip_prefix("61").map(str::to_string) {
        r = tx(c, &format!("81C00000{xx}"));
        let (d, _) = split(&r);
        all.extend(d);
        r = r[r.len() - 4..].to_string();
    }
    assert_eq!(r, "9000");
    assert!(ProfileInfoResponse::decode(&all).is_ok());
}

#[test]
fn pysim_card_detection() {
    let mut s = sim(0);
    let c = &mut s.card;
    assert_eq!(tx(c, "00A40004023F00").get(..2), Some("62"));
    let r = tx(c, &format!("00A4040410{ISDR}"));
    assert!(r.starts_with("6F") && r.ends_with("9000"), "FCI: {r}");
    // SGP.32 GetCerts must fail with an error SW, and the card goes on.
    assert_eq!(tx(c, "80E2910003BF560000"), "6A88");
    let eid = eid().digits();
    assert_eq!(
        tx(c, "80E2910006BF3E035C015A00"),
        format!("BF3E125A10{eid}9000")
    );
    // pySim's own MANAGE CHANNEL: the channel is named, no data back.
    assert_eq!(tx(c, "0070000100"), "9000");
    assert_eq!(tx(c, "0070800100"), "9000");
    // CLA A0 (GSM SIM) is refused.
    assert_eq!(tx(c, "A0A40000023F00"), "6E00");
}
