//! The enabled profile's file system as SELECT and STATUS see it (issue 9, "A profile
//! that works as a SIM"; ETSI TS 102 221 §8.4, §11.1.1, §11.1.2): by FID with the §8.4.1
//! rules, by path from the MF and from the current DF, by AID (partial, first / next
//! occurrence, the ISD-R always), by SFI; EF.DIR and EF.ICCID come from the package.

mod common;
use apdu::iso7816::tlv;
use apdu::saip::build::USIM_AID;
use apdu::sgp22::es10::{Es10Request, ProfileRef};
use common::*;

fn usim_aid() -> String {
    hex::encode_upper(USIM_AID)
}

/// The FCP's tag `tag` value in hex.
fn fcp_field(r: &str, tag: u32) -> Option<String> {
    let (data, sw) = split(r);
    assert_eq!(sw, "9000", "{r}");
    let t = tlv::parse(&data).unwrap();
    tlv::child_bytes(&t, tag).map(hex::encode_upper)
}

#[test]
fn select_by_fid_follows_the_8_4_1_rules() {
    let mut s = sim_profile();
    let c = &mut s.card;
    // The package's MF: its FCP names 3F00 and its PINs (C6).
    let r = tx(c, "00A40004023F00");
    assert_eq!(fcp_field(&r, 0x83).as_deref(), Some("3F00"));
    assert!(fcp_field(&r, 0xC6).is_some(), "{r}");
    // EF.ICCID from the package (ICCID 8949...42 swapped).
    let r = tx(c, "00A40004022FE2");
    assert_eq!(fcp_field(&r, 0x80).as_deref(), Some("0A"));
    let iccid = hex::encode_upper(subscription().iccid.0);
    assert_eq!(tx(c, "00B000000A"), format!("{iccid}9000"));
    // ADF.USIM files are not children of the MF; no current application yet.
    assert_eq!(tx(c, "00A4000C026F07"), "6A82");
    assert_eq!(tx(c, "00A4000C027FFF"), "6A82");
    // Into the USIM by AID, then by FID.
    let r = tx(c, &format!("00A4040410{}", usim_aid()));
    assert_eq!(fcp_field(&r, 0x84), Some(usim_aid()));
    assert_eq!(fcp_field(&r, 0x83), None, "an ADF's FCP has no FID");
    let r = tx(c, "00A40004026F07");
    assert_eq!(fcp_field(&r, 0x83).as_deref(), Some("6F07"));
    assert_eq!(fcp_field(&r, 0x80).as_deref(), Some("09"));
    // The MF's EF is not found from the ADF, the MF is, and 7FFF is the current ADF.
    assert_eq!(tx(c, "00A4000C022FE2"), "6A82");
    assert_eq!(tx(c, "00A4000C023F00"), "9000");
    assert_eq!(tx(c, "00A4000C022FE2"), "9000");
    assert_eq!(tx(c, "00A4000C027FFF"), "9000");
    assert_eq!(
        tx(c, "00A4000C026FAD"),
        "9000",
        "EF.AD under the current ADF"
    );
    let ad = tx(c, "00B0000004");
    assert_eq!(ad.len(), 12, "EF.AD is 4 bytes: {ad}");
    // A failed SELECT keeps the selection: EF.AD is still current.
    assert_eq!(tx(c, "00A4000C021234"), "6A82");
    assert_eq!(tx(c, "00B0000004"), ad);
}

#[test]
fn select_by_path_from_mf_and_current_df() {
    let mut s = sim_profile();
    let c = &mut s.card;
    // From the MF with and without 3F00; the ADF only as 7FFF once it is current.
    assert!(tx(c, "00A40804043F002FE2").ends_with("9000"));
    assert!(tx(c, "00A40804022F00").ends_with("9000"));
    assert_eq!(
        tx(c, "00A40804047FFF6F07"),
        "6A82",
        "no current application"
    );
    assert_eq!(tx(c, &format!("00A4040C10{}", usim_aid())), "9000");
    assert_eq!(tx(c, "00A4000C023F00"), "9000");
    let r = tx(c, "00A40804047FFF6F07");
    assert_eq!(fcp_field(&r, 0x83).as_deref(), Some("6F07"));
    // From the current DF (the ADF): a relative path, and 7FFF first.
    assert_eq!(tx(c, "00A4000C027FFF"), "9000");
    let r = tx(c, "00A40904026F38");
    assert_eq!(fcp_field(&r, 0x83).as_deref(), Some("6F38"));
    let r = tx(c, "00A40904047FFF6FAD");
    assert_eq!(fcp_field(&r, 0x83).as_deref(), Some("6FAD"));
    // An EF in the middle of a path, and a path from the MF to an ADF file: not found.
    assert_eq!(tx(c, "00A40804042FE26F07"), "6A82");
    assert_eq!(tx(c, "00A40804046F076F07"), "6A82");
    // Parent of the ADF is the MF (P1 03).
    let r = tx(c, "00A4030400");
    assert_eq!(fcp_field(&r, 0x83).as_deref(), Some("3F00"));
}

#[test]
fn select_by_aid_and_the_isdr_stays() {
    let mut s = sim_profile();
    let c = &mut s.card;
    // Partial AID (RID + app code) selects ADF.USIM; a second "next" finds none.
    let r = tx(c, "00A4040407A0000000871002");
    assert_eq!(fcp_field(&r, 0x84), Some(usim_aid()));
    assert_eq!(tx(c, "00A4040607A0000000871002"), "6A82", "no next USIM");
    assert_eq!(tx(c, "00A4040C05A000000088"), "6A82");
    // The ISD-R by AID, answered as without a package (its FCI).
    let r = tx(c, &format!("00A4040010{ISDR}"));
    let fci = hex::encode_upper(card_sim::card::select::isdr_fci());
    assert_eq!(r, format!("{fci}9000"));
    // ES10 works there as always.
    let (data, sw) = es10(c, 0, &Es10Request::GetEid.encode(), 120);
    assert_eq!(sw, "9000");
    assert_eq!(data[..3], [0xBF, 0x3E, 0x12]);
    // STATUS in the ISD-R names the ISD-R; after it the USIM is still the application.
    let (d, sw) = split(&tx(c, "80F2000100"));
    assert_eq!(sw, "9000");
    assert_eq!(hex::encode_upper(d), format!("8410{ISDR}"));
    assert_eq!(tx(c, "00A4000C027FFF"), "9000");
    let (d, _) = split(&tx(c, "80F20001FF"));
    assert_eq!(hex::encode_upper(d), format!("8410{}", usim_aid()));
}

#[test]
fn status_with_and_without_le() {
    let mut s = sim_profile();
    let c = &mut s.card;
    // At the MF: the MF's FCP; no application yet: no DF name.
    let r = tx(c, "80F2000000");
    assert_eq!(fcp_field(&r, 0x83).as_deref(), Some("3F00"));
    assert_eq!(tx(c, "80F2000100"), "9000");
    assert_eq!(tx(c, "80F2000C00"), "9000");
    tx(c, &format!("00A4040C10{}", usim_aid()));
    // As pySim asks (Le FF), with Le 00, and without Le: the ADF's FCP each time.
    for cmd in ["80F20000FF", "80F2000000", "80F20000"] {
        let r = tx(c, cmd);
        assert_eq!(fcp_field(&r, 0x84), Some(usim_aid()), "{cmd}");
    }
    // An EF selected: STATUS still describes the current DF (the ADF).
    tx(c, "00A4000C026F07");
    let r = tx(c, "80F2000000");
    assert_eq!(fcp_field(&r, 0x84), Some(usim_aid()));
    assert_eq!(tx(c, "80F2000C"), "9000");
}

#[test]
fn sfi_addressing_in_the_current_df() {
    let mut s = sim_profile();
    let c = &mut s.card;
    // EF.DIR (SFI 1E) under the MF: the package's, listing ADF.USIM.
    let r = tx(c, "00B201F426");
    let (rec, sw) = split(&r);
    assert_eq!(sw, "9000");
    assert_eq!(hex::encode_upper(&rec[4..20]), usim_aid());
    // EF.IMSI has SFI 07 in ADF.USIM only.
    assert_eq!(tx(c, "00B0870009"), "6A82");
    tx(c, &format!("00A4040C10{}", usim_aid()));
    // EF.AD (SFI 03): read always; it becomes the current EF.
    let ad = tx(c, "00B0830004");
    assert!(ad.ends_with("9000"), "{ad}");
    assert_eq!(tx(c, "00B0000004"), ad);
    let r = tx(c, "80F2000000");
    assert_eq!(
        fcp_field(&r, 0x84),
        Some(usim_aid()),
        "SFI leaves the DF as it was"
    );
}

#[test]
fn minimal_file_system_without_a_package() {
    let mut s = sim_profile();
    let c = &mut s.card;
    assert_eq!(tx(c, "00A4000C026F07"), "6A82");
    // Disable the profile: the minimal file system is back, exactly as before.
    open_isdr(c);
    let iccid = subscription().iccid;
    let req = Es10Request::DisableProfile {
        target: ProfileRef::Iccid(iccid),
        refresh: true,
    };
    assert_eq!(es10(c, 1, &req.encode(), 120).1, "9000");
    let r = tx(c, "00A40004022F00");
    assert!(r.contains("820542210020018"), "the minimal EF.DIR: {r}");
    assert_eq!(tx(c, "00A4000C022FE2"), "6A82", "no profile enabled");
    assert_eq!(tx(c, "0020000108FFFFFFFFFFFFFFFF"), "6D00");
    assert_eq!(tx(c, "00B2000200"), "6A86");
    // Enabled again: the package's file system.
    let req = Es10Request::EnableProfile {
        target: ProfileRef::Iccid(iccid),
        refresh: true,
    };
    assert_eq!(es10(c, 1, &req.encode(), 120).1, "9000");
    let r = tx(c, "00A40004022F00");
    assert!(r.contains("8205422100260"), "the package's EF.DIR: {r}");
}
