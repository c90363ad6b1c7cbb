//! The card sessions of ES10 and ISO 7816 traffic (interop.md): lpac's and pySim's
//! sequences, every ES10 function, segmented and chained STORE DATA, extended APDUs,
//! GET RESPONSE edge cases, logical channels and files, the malformed-APDU battery.

use super::rec::{h, Bytes, Rec};
use apdu::sgp22::es10::{
    Es10Request, MemoryResetOptions, ProfileClass, ProfileInfoRequest, ProfileRef, ProfileSearch,
};
use apdu::{Command, StatusWord};
use card_sim::state::new_card::derive_iccid;
use euicc_fuzz::harness::eid;
use euicc_fuzz::sequence::Step;

pub fn lpac_chip_info(r: &mut Rec) {
    // card-sim/tests/data/lpac-chip-info.scriptor (interop.md).
    r.control(Step::Reset);
    for a in [
        "80AA00000AA9088100820101830107",
        "0070000001",
        "01A4040010A0000005591010FFFFFFFF8900000100",
        "81E2910006BF3E035C015A",
        "81E2910003BF3C00",
        "81E2910003BF4300",
        "81E2910003BF2200",
        "81E2910003BF2D00",
        "0070800100",
    ] {
        r.txh(a);
    }
}

pub fn lpac_profile_list(r: &mut Rec) {
    r.txh("80AA00000AA9088100820101830107");
    let ch = r.open_isdr();
    let msg = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let resp = r.store_data(ch, &msg, 120);
    assert_eq!(resp.sw, StatusWord::Success);
    r.txh(&format!("007080{ch:02X}00"));
}

pub fn pysim_detection(r: &mut Rec) {
    for a in [
        "00A40004023F00",
        "00A4040410A0000005591010FFFFFFFF8900000100",
        "80E2910003BF560000",
        "80E2910006BF3E035C015A00",
        "0070000100",
        "81A4040410A0000005591010FFFFFFFF8900000100",
        "81E2910003BF220000",
        "0070800100",
        "A0A40000023F00",
    ] {
        r.txh(a);
    }
}

pub fn every_es10_function(r: &mut Rec) {
    let ch = r.open_isdr();
    let test1 = derive_iccid(&eid(), 1);
    let test2 = derive_iccid(&eid(), 2);
    let reqs = vec![
        Es10Request::GetEid,
        Es10Request::GetEuiccInfo1,
        Es10Request::GetEuiccInfo2,
        Es10Request::GetEuiccChallenge,
        Es10Request::GetConfiguredAddresses,
        Es10Request::GetRat,
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Iccid(test1)),
            tag_list: Some(h("5A9F709095")),
        }),
        Es10Request::GetProfilesInfo(ProfileInfoRequest {
            search: Some(ProfileSearch::Class(ProfileClass::Test)),
            tag_list: None,
        }),
        Es10Request::EnableProfile {
            target: ProfileRef::Iccid(test1),
            refresh: true,
        },
        Es10Request::SetNickname {
            iccid: test1,
            nickname: "work".into(),
        },
        Es10Request::SetDefaultDpAddress("smdp.example.com".into()),
        Es10Request::GetConfiguredAddresses,
        Es10Request::ListNotification { filter: None },
        Es10Request::DisableProfile {
            target: ProfileRef::Iccid(test1),
            refresh: false,
        },
        Es10Request::EnableProfile {
            target: ProfileRef::Aid(card_sim::state::new_card::derive_aid(2)),
            refresh: false,
        },
        Es10Request::ListNotification {
            filter: Some(apdu::sgp22::es10::events::ENABLE),
        },
        Es10Request::RemoveNotification(1),
        Es10Request::RemoveNotification(99),
        Es10Request::DeleteProfile(ProfileRef::Iccid(test2)),
        Es10Request::DeleteProfile(ProfileRef::Iccid(test1)),
        Es10Request::MemoryReset(MemoryResetOptions {
            delete_operational: true,
            delete_field_loaded_test: true,
            reset_default_dp: true,
        }),
        Es10Request::GetProfilesInfo(ProfileInfoRequest::default()),
    ];
    for req in reqs {
        r.store_data(ch, &req.encode(), 120);
    }
}

pub fn store_data_small_blocks(r: &mut Rec) {
    r.open_isdr();
    let ch = r.open_isdr();
    let address = format!("smdp.example.com/{}", "a".repeat(150));
    r.store_data(ch, &Es10Request::SetDefaultDpAddress(address).encode(), 6);
    r.store_data(ch, &Es10Request::GetConfiguredAddresses.encode(), 6);
    // A client that gives up midway and starts again at block 0.
    let msg = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let blocks = apdu::sgp22::store_data::segment(ch, &msg, 6, true);
    r.tx(&blocks[0].bytes());
    r.store_data(ch, &Es10Request::GetEid.encode(), 6);
    // Out of sequence, bad P1, a last block with no first.
    let cla = 0x80 | ch;
    r.tx(&[cla, 0xE2, 0x11, 0x00, 0x03, 0xBF, 0x2D, 0x00]);
    r.tx(&[cla, 0xE2, 0x11, 0x02, 0x01, 0x00]);
    r.tx(&[cla, 0xE2, 0x01, 0x00, 0x03, 0xBF, 0x2D, 0x00]);
    r.tx(&[cla, 0xE2, 0x91, 0x05, 0x03, 0xBF, 0x2D, 0x00]);
}

pub fn iso_chaining(r: &mut Rec) {
    let ch = r.open_isdr();
    let msg = Es10Request::GetProfilesInfo(ProfileInfoRequest {
        search: None,
        tag_list: Some(h("5A4F9F7090919295")),
    })
    .encode();
    // ISO/IEC 7816-4 command chaining (CLA b5) of one STORE DATA block 0, last.
    let parts: Vec<&[u8]> = msg.chunks(4).collect();
    for (i, p) in parts.iter().enumerate() {
        let chained = if i + 1 < parts.len() { 0x10 } else { 0 };
        r.exchange(
            &Command::new(0x80 | ch | chained, 0xE2, 0x91, 0x00)
                .with_data(p.to_vec())
                .bytes(),
        );
    }
    // A chain broken by another command, and GET RESPONSE inside a chain.
    r.tx(&[0x90 | ch, 0xE2, 0x91, 0x00, 0x02, 0xBF, 0x3E]);
    r.tx(&[ch, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00]);
    r.tx(&[0x90 | ch, 0xC0, 0x00, 0x00, 0x00]);
    r.tx(&[0x90 | ch, 0x70, 0x00, 0x00, 0x01]);
}

pub fn extended_apdu(r: &mut Rec) {
    let ch = r.open_isdr();
    let address = format!("smdp.example.com/{}", "x".repeat(235));
    let msg = Es10Request::SetDefaultDpAddress(address).encode();
    assert!(msg.len() > 255);
    let cmd = Command::new(0x80 | ch, 0xE2, 0x91, 0x00).with_data(msg.clone());
    r.messages.push(msg);
    r.exchange(&cmd.bytes());
    // Extended Le on a long answer: still at most 256 bytes per response.
    let list = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let cmd = Command::new(0x80 | ch, 0xE2, 0x91, 0x00)
        .with_data(list)
        .with_le(65_536);
    r.exchange(&cmd.bytes());
}

pub fn get_response_edges(r: &mut Rec) {
    let ch = r.open_isdr();
    let list = Es10Request::GetProfilesInfo(ProfileInfoRequest::default()).encode();
    let cla = 0x80 | ch;
    let mut cmd = vec![cla, 0xE2, 0x91, 0x00, list.len() as u8];
    cmd.extend_from_slice(&list);
    r.tx(&cmd);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x10]);
    r.tx(&[cla, 0xC0, 0x01, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x01, 0xAA]);
    r.tx(&[cla, 0xC0, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
    // Another command drops what GET RESPONSE could still fetch.
    r.tx(&cmd);
    r.tx(&[cla, 0xF2, 0x00, 0x00, 0x00]);
    r.tx(&[cla, 0xC0, 0x00, 0x00, 0x00]);
}

pub fn channels_and_files(r: &mut Rec) {
    for _ in 0..20 {
        r.txh("0070000001");
    }
    for a in [
        "C3A4040010A0000005591010FFFFFFFF8900000100",
        "C3E2910006BF3E035C015A",
        "CFF2000000",
        "00700013",
        "0070800700",
        "C3E2910006BF3E035C015A",
        "0070000700",
        "47A4000C023F00",
        "00A40004023F00",
        "00A40004022F00",
        "00B2010420",
        "00B2020420",
        "00B2010410",
        "00A40004022FE2",
        "00B000000A",
        "00B0000005",
        "00B0820000",
        "00A40804043F002FE2",
        "00A40804047F206F07",
        "00A4000C023F00",
        "00B000000A",
        "80F2000000",
        "80F2000100",
        "00A404040CA0000005591010FFFFFFFF89",
        "00A404060CA0000005591010FFFFFFFF89",
    ] {
        r.txh(a);
    }
}

pub fn malformed_battery(r: &mut Rec) {
    // card-sim/tests/malformed.rs: each gets its ISO 7816 SW.
    for a in [
        "",
        "00",
        "00A4",
        "00A404",
        "00A4040010A000",
        "00A40400020102AABB",
        "00A4000403AABBCC",
        "00B0000001AA",
        "80AA0000",
        "0070000001AA",
        "00A4050400",
        "00A40020023F00",
        "00B2000400",
        "00B2010700",
        "80AA01000181",
        "0070400000",
        "00700020",
        "0070800000",
        "80F2000300",
        "00DE000000",
        "80CA9F7F00",
        "0060000000",
        "A0A40000023F00",
        "FF000000",
        "80A4000C023F00",
        "00E2910003BF2D00",
        "0CA4000C023F00",
        "81E2910003BF2D00",
        "C3E2910003BF2D00",
        "0070800500",
        "80E2910003BF2D00",
        "00C0000000",
        "00B000000A",
        "00B0000000FFFF",
        "00A40400000000",
        "00B00000000000",
    ] {
        r.txh(a);
    }
    let ch = r.open_isdr();
    let cla = 0x80 | ch;
    for body in [
        "E2110103BF2D00",
        "E2010003BF2D00",
        "E29100",
        "E2910002BF2D",
        "E2910003BF5600",
        "E2910003BF7700",
        "E29100035A0100",
        "E2910005BF3103800101",
        "E2910006BF30038001FF",
        "E2910005BF2D03810101",
        "E2910008BF2D05A003950109",
        "E2910006BF28038101FF",
        "E2910009BF6606810109820100",
        "E2910004BF6A0100",
        "E2910003BF6B00",
        "12000000",
        "14000000",
        "1400000301020300",
    ] {
        r.tx(&[vec![cla], h(body)].concat());
    }
}
