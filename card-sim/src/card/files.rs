//! The minimal UICC file system (ETSI TS 102 221 §13) that lets general UICC tools
//! start on the card: MF `3F00`, EF.DIR `2F00` (linear fixed, one record naming the
//! ISD-R) and EF.ICCID `2FE2` (transparent, 10 bytes: the enabled profile's ICCID).
//! FCPs (§11.1.1.3) are short (one-byte length, under 128 bytes) and carry tags `82`
//! and `80`, which pySim reads for record length and file size. Everything else, such
//! as DF.GSM `7F20`, DF.TELECOM `7F10`... `7FE0`, `7F25`, is absent (`6A82`).

use apdu::iso7816::tlv::{self, cons, prim};
use apdu::sgp22::es10::{Iccid, ISDR_AID};

pub const FID_MF: u16 = 0x3F00;
pub const FID_EF_DIR: u16 = 0x2F00;
pub const FID_EF_ICCID: u16 = 0x2FE2;

/// Record length of EF.DIR.
pub const DIR_RECORD_LEN: usize = 32;
/// Label of the ISD-R in EF.DIR.
const ISDR_LABEL: &[u8] = b"ISD-R";

/// An elementary file's structure and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EfContent {
    Transparent(Vec<u8>),
    LinearFixed {
        record_len: usize,
        records: Vec<Vec<u8>>,
    },
}

/// An EF under the MF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ef {
    pub fid: u16,
    pub sfi: u8,
    pub content: EfContent,
}

/// The EF with `fid`, given the enabled profile's ICCID (EF.ICCID is absent without one).
pub fn ef(fid: u16, enabled_iccid: Option<Iccid>) -> Option<Ef> {
    match fid {
        FID_EF_DIR => Some(Ef {
            fid,
            sfi: 0x1E,
            content: EfContent::LinearFixed {
                record_len: DIR_RECORD_LEN,
                records: vec![dir_record()],
            },
        }),
        FID_EF_ICCID => enabled_iccid.map(|i| Ef {
            fid,
            sfi: 0x02,
            content: EfContent::Transparent(i.0.to_vec()),
        }),
        _ => None,
    }
}

/// The EF with short file identifier `sfi`.
pub fn ef_by_sfi(sfi: u8, enabled_iccid: Option<Iccid>) -> Option<Ef> {
    [FID_EF_DIR, FID_EF_ICCID]
        .into_iter()
        .filter_map(|f| ef(f, enabled_iccid))
        .find(|e| e.sfi == sfi)
}

/// EF.DIR's record: application template `61 { 4F AID, 50 label }`, padded with `FF`.
fn dir_record() -> Vec<u8> {
    let mut r = tlv::encode(&cons::<0x61>(vec![
        prim::<0x4F>(ISDR_AID.to_vec()),
        prim::<0x50>(ISDR_LABEL.to_vec()),
    ]));
    r.resize(DIR_RECORD_LEN, 0xFF);
    r
}

/// The FCP template `62` of the MF.
pub fn mf_fcp() -> Vec<u8> {
    tlv::encode(&cons::<0x62>(vec![
        // DF, shareable (TS 102 221 §11.1.1.4.3).
        prim::<0x82>(vec![0x78, 0x21]),
        prim::<0x83>(FID_MF.to_be_bytes().to_vec()),
        // Life cycle: operational, activated.
        prim::<0x8A>(vec![0x05]),
        // Security attributes, compact: always.
        prim::<0x8C>(vec![0x00]),
        // PIN status template DO (tag C6 is primitive in BER terms): PS_DO 00, no PIN enabled.
        prim::<0xC6>(vec![0x90, 0x01, 0x00]),
    ]))
}

/// The FCP template `62` of an EF.
pub fn ef_fcp(e: &Ef) -> Vec<u8> {
    let (descriptor, size) = match &e.content {
        EfContent::Transparent(d) => (vec![0x41, 0x21], d.len()),
        EfContent::LinearFixed {
            record_len,
            records,
        } => (
            vec![
                0x42,
                0x21,
                (*record_len >> 8) as u8,
                *record_len as u8,
                records.len() as u8,
            ],
            record_len * records.len(),
        ),
    };
    tlv::encode(&cons::<0x62>(vec![
        prim::<0x82>(descriptor),
        prim::<0x83>(e.fid.to_be_bytes().to_vec()),
        prim::<0x8A>(vec![0x05]),
        prim::<0x8C>(vec![0x00]),
        prim::<0x80>((size as u16).to_be_bytes().to_vec()),
        prim::<0x88>(vec![e.sfi << 3]),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iccid() -> Iccid {
        Iccid::from_digits("89990001234567890128").unwrap()
    }

    #[test]
    fn fcps_are_short_and_carry_82_and_80() {
        for fid in [FID_EF_DIR, FID_EF_ICCID] {
            let f = ef(fid, Some(iccid())).unwrap();
            let fcp = ef_fcp(&f);
            assert_eq!(fcp[0], 0x62);
            assert!(fcp[1] < 128 && usize::from(fcp[1]) + 2 == fcp.len());
            let t = tlv::parse(&fcp).unwrap();
            assert!(tlv::child_bytes(&t, 0x82).is_some());
            assert!(tlv::child_bytes(&t, 0x80).is_some());
        }
        let dir = ef_fcp(&ef(FID_EF_DIR, None).unwrap());
        let t = tlv::parse(&dir).unwrap();
        // pySim: record length = descriptor bytes 2-3.
        assert_eq!(
            tlv::child_bytes(&t, 0x82).unwrap(),
            &[0x42, 0x21, 0x00, 32, 1]
        );
        assert_eq!(tlv::child_bytes(&t, 0x80).unwrap(), &[0x00, 32]);
        let mf = mf_fcp();
        assert!(mf[1] < 128);
    }

    #[test]
    fn iccid_needs_an_enabled_profile() {
        assert!(ef(FID_EF_ICCID, None).is_none());
        assert_eq!(ef_by_sfi(0x02, Some(iccid())).unwrap().fid, FID_EF_ICCID);
        assert_eq!(ef_by_sfi(0x1E, None).unwrap().fid, FID_EF_DIR);
        assert!(ef(0x7F20, Some(iccid())).is_none());
    }

    #[test]
    fn dir_record_names_the_isdr() {
        let r = dir_record();
        assert_eq!(r.len(), DIR_RECORD_LEN);
        assert_eq!(&r[..4], &[0x61, 0x19, 0x4F, 0x10]);
        assert_eq!(&r[4..20], &ISDR_AID);
        assert_eq!(r[31], 0xFF);
    }
}
