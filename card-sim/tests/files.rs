//! The minimal UICC file system as pySim and other UICC tools walk it.

mod common;
use apdu::sgp22::es10::{Es10Request, Iccid, ProfileRef};
use common::*;

#[test]
fn mf_dir_and_iccid() {
    let mut s = sim(1);
    let c = &mut s.card;
    let r = tx(c, "00A40004023F00");
    assert!(r.starts_with("62") && r.ends_with("9000"), "{r}");
    // EF.DIR: linear fixed, 1 record of 32 bytes, naming the ISD-R.
    let r = tx(c, "00A40004022F00");
    assert!(r.contains("820542210020018"), "descriptor: {r}");
    assert!(r.contains("80020020"), "size: {r}");
    let r = tx(c, "00B2010420");
    assert!(r.starts_with(&format!("61194F10{ISDR}5005")), "{r}");
    assert!(r.ends_with("FFFF9000"));
    assert_eq!(tx(c, "00B2020420"), "6A83");
    assert_eq!(tx(c, "00B2010410"), "6C20");
    assert_eq!(tx(c, "00B000000A"), "6981", "not transparent");
    // EF.ICCID: the enabled profile's ICCID, nibble-swapped.
    let pp = s.card.applet().state().profiles[0].iccid;
    let c = &mut s.card;
    let r = tx(c, "00A40004022FE2");
    assert!(r.contains("82024121") && r.contains("8002000A"), "{r}");
    assert_eq!(
        tx(c, "00B000000A"),
        format!("{}9000", hex::encode_upper(pp.0))
    );
    assert_eq!(
        tx(c, "00B0000000"),
        format!("{}9000", hex::encode_upper(pp.0))
    );
    assert_eq!(
        tx(c, "00B0000400"),
        format!("{}9000", hex::encode_upper(&pp.0[4..]))
    );
    assert_eq!(tx(c, "00B0000C00"), "6B00");
    assert_eq!(tx(c, "00B0000005"), "6C0A");
    assert_eq!(tx(c, "00B2010400"), "6981", "not a record file");
    // By SFI, from the MF.
    assert_eq!(tx(c, "00A4000C023F00"), "9000");
    assert_eq!(tx(c, "00B000000A"), "6986", "no current EF");
    assert_eq!(
        tx(c, "00B0820000"),
        format!("{}9000", hex::encode_upper(pp.0))
    );
    assert_eq!(tx(c, "00B201F420").get(..4), Some("6119"));
    // Path selection.
    assert!(tx(c, "00A40804043F002FE2").ends_with("9000"));
    assert!(tx(c, "00A40804022FE2").ends_with("9000"));
    assert_eq!(tx(c, "00A40804047F206F07"), "6A82");
}

#[test]
fn iccid_follows_the_enabled_profile() {
    let mut s = sim(1);
    let c = &mut s.card;
    let t1: Iccid = s_iccid(c.applet().state(), 1);
    open_isdr(c);
    let req = Es10Request::EnableProfile {
        target: ProfileRef::Iccid(t1),
        refresh: true,
    };
    assert_eq!(es10(c, 1, &req.encode(), 120).1, "9000");
    assert!(tx(c, "00A4000C022FE2").ends_with("9000"));
    assert_eq!(
        tx(c, "00B000000A"),
        format!("{}9000", hex::encode_upper(t1.0))
    );
    // No profile enabled: no EF.ICCID.
    let req = Es10Request::DisableProfile {
        target: ProfileRef::Iccid(t1),
        refresh: true,
    };
    assert_eq!(es10(c, 1, &req.encode(), 120).1, "9000");
    assert_eq!(tx(c, "00A4000C022FE2"), "6A82");
}

fn s_iccid(state: &card_sim::state::PersistentState, i: usize) -> Iccid {
    state.profiles[i].iccid
}

#[test]
fn absent_files_and_applications_answer_6a82() {
    let mut s = sim(0);
    let c = &mut s.card;
    for fid in ["7F20", "7FE0", "7F25", "7F10", "6F07", "3FFF", "7FFF"] {
        assert_eq!(tx(c, &format!("00A4000402{fid}")), "6A82", "{fid}");
    }
    assert_eq!(tx(c, "00A4010402 7F10"), "6A82");
    for aid in [
        "A000000151000000",                 // GP ISD
        "A00000015141434C00",               // ARA-M
        "A0000000871004",                   // ISIM (partial)
        "A0000000871002",                   // USIM (partial)
        "A0000005591010FFFFFFFF8900000200", // ECASD
        "A000000559",                       // too short to be an ISD-R prefix? no: a prefix
    ] {
        let r = tx(c, &format!("00A40404{:02X}{aid}", aid.len() / 2));
        if aid == "A000000559" {
            assert!(
                r.starts_with("6F"),
                "a 5-byte prefix of the ISD-R selects it: {r}"
            );
        } else {
            assert_eq!(r, "6A82", "{aid}");
        }
    }
    assert_eq!(tx(c, "00A4040402A000"), "6A82", "under 5 bytes");
    // Partial AID of the ISD-R (as pySim probes).
    let r = tx(c, "00A404040CA0000005591010FFFFFFFF89");
    assert!(r.starts_with("6F"), "{r}");
    assert_eq!(
        tx(c, "00A404060CA0000005591010FFFFFFFF89"),
        "6A82",
        "no next occurrence"
    );
}

#[test]
fn status_and_selection_per_channel() {
    let mut s = sim(0);
    let c = &mut s.card;
    let ch = open_isdr(c);
    assert_eq!(
        tx(c, "80F2000000").get(..2),
        Some("62"),
        "basic channel: MF"
    );
    assert_eq!(tx(c, "80F2000100"), "9000", "the MF has no DF name");
    let r = tx(c, &format!("8{ch}F2000100"));
    assert_eq!(r, format!("8410{ISDR}9000"));
    assert_eq!(tx(c, &format!("8{ch}F2000000")).get(..2), Some("6F"));
    assert_eq!(tx(c, "80F2000C"), "9000");
    assert_eq!(tx(c, "80F2000500"), "6A86");
    // A channel opened from channel 1 inherits the ISD-R.
    assert_eq!(tx(c, &format!("0{ch}70000000")), "029000");
    assert_eq!(tx(c, "82E2910003BF4300"), "BF4302A0009000");
    // STORE DATA on the basic channel (MF selected) is refused.
    assert_eq!(tx(c, "80E2910003BF4300"), "6985");
}
