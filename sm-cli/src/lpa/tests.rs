//! The ES10 session against a scripted card, with the bytes lpac sends (interop.md).

use crate::lpa::Es10Session;
use crate::reader::transport::fake::ScriptedCard;
use apdu::sgp22::es10::{
    Iccid, MemoryResetOptions, ProfileClass, ProfileInfo, ProfileInfoResponse, ProfileRef,
    ProfileState,
};

const TC: &str = "80AA00000AA9088100820101830107";
const OPEN: &str = "0070000001";
const SELECT1: &str = "01A4040010A0000005591010FFFFFFFF8900000100";
const CLOSE1: &str = "00708001";
const EID: &str = "89049032123451234512345678901235";

fn prologue() -> Vec<(&'static str, &'static str)> {
    vec![(TC, "9000"), (OPEN, "019000"), (SELECT1, "9000")]
}

#[test]
fn get_eid_sends_what_lpac_sends() {
    let answer = format!("BF3E125A10{EID}9000");
    let mut script = prologue();
    script.push(("81E2910006BF3E035C015A", &answer));
    script.push((CLOSE1, "9000"));
    let mut card = ScriptedCard::new(&script);
    let mut s = Es10Session::open(&mut card, 120).unwrap();
    assert_eq!(s.get_eid().unwrap().to_string(), EID);
    s.close().unwrap();
    assert!(card.done());
}

#[test]
fn long_answers_are_reassembled_from_61xx() {
    let list = ProfileInfoResponse::List(vec![ProfileInfo {
        iccid: Some(Iccid::from_digits("8949000000000000001").unwrap()),
        state: Some(ProfileState::Enabled),
        class: Some(ProfileClass::Test),
        nickname: Some("x".repeat(40)),
        ..Default::default()
    }])
    .encode();
    let h = hex::encode_upper(&list);
    let (a, b) = h.split_at(20);
    let first = format!("{a}61{:02X}", b.len() / 2);
    let second = format!("{b}9000");
    let get = format!("81C00000{:02X}", b.len() / 2);
    let mut script = prologue();
    script.push(("81E2910003BF2D00", &first));
    script.push((&get, &second));
    script.push((CLOSE1, "9000"));
    let mut card = ScriptedCard::new(&script);
    let mut s = Es10Session::open(&mut card, 120).unwrap();
    let profiles = s.get_profiles(None).unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(
        profiles[0].nickname.as_deref(),
        Some("x".repeat(40).as_str())
    );
    drop(s);
    assert!(card.done(), "the channel is closed on drop too");
}

#[test]
fn result_codes_become_errors_with_their_meaning() {
    let iccid = Iccid::from_digits("8949000000000000001").unwrap();
    let msg = apdu::sgp22::es10::Es10Request::EnableProfile {
        target: ProfileRef::Iccid(iccid),
        refresh: false,
    }
    .encode();
    let cmd = format!("81E29100{:02X}{}", msg.len(), hex::encode_upper(&msg));
    let mut script = prologue();
    script.push((&cmd, "BF31038001029000"));
    script.push((CLOSE1, "9000"));
    let mut card = ScriptedCard::new(&script);
    let mut s = Es10Session::open(&mut card, 120).unwrap();
    let e = s
        .enable_profile(ProfileRef::Iccid(iccid), false)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "EnableProfile failed: profile not in disabled state (result 2)"
    );
    assert_eq!(e.exit_code(), 22);
    drop(s);
    assert!(card.done());
}

#[test]
fn small_blocks_are_segmented_with_p1_11_then_91() {
    let opts = MemoryResetOptions {
        delete_operational: true,
        delete_field_loaded_test: true,
        reset_default_dp: true,
    };
    let msg = apdu::sgp22::es10::Es10Request::MemoryReset(opts).encode();
    assert_eq!(hex::encode_upper(&msg), "BF3404820205E0");
    let mut script = prologue();
    script.push(("81E2110006BF3404820205", "9000"));
    script.push(("81E2910101E0", "BF34038001009000"));
    script.push((CLOSE1, "9000"));
    let mut card = ScriptedCard::new(&script);
    let mut s = Es10Session::open(&mut card, 6).unwrap();
    s.memory_reset(opts).unwrap();
    s.close().unwrap();
    assert!(card.done());
}

#[test]
fn cards_without_channels_use_the_basic_channel() {
    let answer = format!("BF3E125A10{EID}9000");
    let mut card = ScriptedCard::new(&[
        (TC, "6D00"),
        (OPEN, "6881"),
        ("00A4040010A0000005591010FFFFFFFF8900000100", "9000"),
        ("80E2910006BF3E035C015A", &answer),
    ]);
    let mut s = Es10Session::open(&mut card, 120).unwrap();
    s.get_eid().unwrap();
    s.close().unwrap();
    assert!(card.done(), "no MANAGE CHANNEL close on the basic channel");
}

#[test]
fn a_card_without_isdr_is_not_an_euicc_and_the_channel_is_closed() {
    let mut card = ScriptedCard::new(&[
        (TC, "9000"),
        (OPEN, "029000"),
        ("02A4040010A0000005591010FFFFFFFF8900000100", "6A82"),
        ("00708002", "9000"),
    ]);
    let e = Es10Session::open(&mut card, 120).err().unwrap();
    assert_eq!((e.exit_code(), e.kind()), (13, "not_an_euicc"));
    assert!(card.done());
}

#[test]
fn store_data_errors_name_the_function() {
    let mut script = prologue();
    script.push(("81E2910003BF2200", "6A80"));
    script.push((CLOSE1, "9000"));
    let mut card = ScriptedCard::new(&script);
    let mut s = Es10Session::open(&mut card, 120).unwrap();
    let e = s.get_euicc_info2().unwrap_err();
    assert_eq!(
        e.to_string(),
        "GetEUICCInfo2: the card answered 6A80: incorrect parameters in the data field"
    );
}

#[test]
fn bad_channel_numbers_are_malformed_answers() {
    for bad in ["009000", "149000", "01029000", "9000"] {
        let mut card = ScriptedCard::new(&[(TC, "9000"), (OPEN, bad)]);
        let e = Es10Session::open(&mut card, 120).err().unwrap();
        assert_eq!(e.kind(), "malformed_answer", "{bad}");
    }
}
