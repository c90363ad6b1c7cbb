//! A package built from a subscription (the SM-DP+ side and the tests): header, PE-MF
//! (EF.ICCID, EF.DIR listing the USIM, EF.ARR with the SAIP §9.9 access rules), global
//! PIN1/ADM1 and PUK1, PE-USIM (EF.IMSI, EF.AD, EF.UST, EF.SPN, EF.ACC, EF.ECC, ...),
//! optional EF.MSISDN, the USIM's PIN, PE-AKAParameter, PE-End. It decodes back to the
//! same values and re-encodes to the same bytes.

use super::aka::{AkaParameter, AlgoConfiguration, AlgoParameter, Algorithm};
use super::element::{Code, Element, Fcp, FileItem, PeHeader, PinSet, ProfileHeader, TemplatePe};
use super::secret::Secret;
use super::Package;
use crate::iso7816::tlv::prim;
use crate::sgp22::es10::Iccid;

/// The USIM AID (TS 31.102 / ETSI TS 101 220: RID A000000087, PIX 1002 + country/provider).
pub const USIM_AID: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x07, 0x09, 0x00, 0x00,
];

/// OIDs of the templates used (2.23.143.1.2.1 MF, 2.23.143.1.2.4.2 ADF.USIM v2,
/// 2.23.143.1.2.5.3 optional USIM v3), as OID content bytes.
pub const OID_MF: &[u8] = &[0x67, 0x81, 0x0F, 0x01, 0x02, 0x01];
pub const OID_USIM: &[u8] = &[0x67, 0x81, 0x0F, 0x01, 0x02, 0x04, 0x02];
pub const OID_OPT_USIM: &[u8] = &[0x67, 0x81, 0x0F, 0x01, 0x02, 0x05, 0x03];

/// What a built profile holds.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub iccid: Iccid,
    /// 6 to 15 digits.
    pub imsi: String,
    pub msisdn: Option<String>,
    pub ki: Secret,
    pub opc: Secret,
    pub algorithm: Algorithm,
    pub spn: String,
    pub profile_type: String,
    /// PIN1 (4-8 digits) and ADM1 (8 characters).
    pub pin1: String,
    pub puk1: String,
    pub adm1: String,
}

/// EF.IMSI (TS 31.102 §4.2.2): length, then parity nibble and digits, nibble-swapped.
pub fn encode_imsi(imsi: &str) -> Option<[u8; 9]> {
    if !(6..=15).contains(&imsi.len()) || !imsi.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nib = vec![if imsi.len() % 2 == 1 { 9 } else { 1 }];
    nib.extend(imsi.bytes().map(|b| b - b'0'));
    nib.resize(16, 0xF);
    let mut out = [0xFFu8; 9];
    out[0] = (imsi.len() / 2 + 1) as u8;
    for (i, p) in nib.chunks(2).enumerate() {
        out[i + 1] = (p[1] << 4) | p[0];
    }
    Some(out)
}

/// The IMSI digits of an EF.IMSI content.
pub fn decode_imsi(b: &[u8]) -> Option<String> {
    let len = *b.first()? as usize;
    let body = b.get(1..1 + len)?;
    let mut nib: Vec<u8> = body.iter().flat_map(|x| [x & 0x0F, x >> 4]).collect();
    let odd = nib.first()? & 0x08 != 0;
    nib.remove(0);
    if !odd {
        nib.pop();
    }
    nib.iter()
        .all(|&n| n <= 9)
        .then(|| nib.iter().map(|n| (b'0' + n) as char).collect())
}

fn hdr(id: u16) -> PeHeader {
    PeHeader {
        mandated: true,
        identification: id,
    }
}

fn code(s: &str) -> Secret {
    let mut v = s.as_bytes().to_vec();
    v.resize(8, 0xFF);
    Secret::new(v)
}

fn fcp(tlvs: Vec<crate::iso7816::tlv::Tlv>) -> FileItem {
    FileItem::Fcp(Fcp(tlvs))
}

/// The SAIP §9.9 access rules, EF.ARR records 1..14 (AM_DO/SC_DO pairs).
const ARR_RULES: [&str; 14] = [
    "8001019000800102A406830101950108800158A40683010A950108",
    "800101A40683010195010880015AA40683010A950108",
    "80015BA40683010A950108",
    "800101900080011A9700800140A40683010A950108",
    "800103A406830101950108800158A40683010A950108",
    "800111A40683010195010880014AA40683010A950108",
    "800103A406830101950108800158A40683010A950108840132A406830101950108",
    "800101A406830101950108800102A406830181950108800158A40683010A950108",
    "800101900080011AA406830101950108800140A40683010A950108",
    "800101900080015AA40683010A950108",
    "8001019000800118A40683010A9501088001429700",
    "800101A40683010195010880015A9700",
    "800113A406830101950108800148A40683010A950108",
    "80015EA40683010A950108",
];

fn arr_file() -> Vec<FileItem> {
    let recs: Vec<Vec<u8>> = ARR_RULES
        .iter()
        .map(|h| hex::decode(h).unwrap_or_default())
        .collect();
    let len = recs.iter().map(Vec::len).max().unwrap_or(1);
    let mut content = Vec::new();
    for mut r in recs {
        r.resize(len, 0xFF);
        content.extend(r);
    }
    vec![
        fcp(vec![
            prim::<0x82>(vec![0x42, 0x21, 0x00, len as u8]),
            prim::<0x80>(crate::iso7816::tlv::int_bytes(content.len() as u64)),
        ]),
        FileItem::Content(content),
    ]
}

/// Builds the package of `s`.
pub fn build(s: &Subscription) -> Option<Package> {
    let mut header_iccid = [0u8; 10];
    let digits = s.iccid.digits();
    let padded = format!("{digits:F<20}");
    hex::decode_to_slice(&padded, &mut header_iccid).ok()?;
    let test_alg = s.algorithm == Algorithm::UsimTestAlgorithm;
    let header = ProfileHeader {
        major: 2,
        minor: 3,
        profile_type: Some(s.profile_type.clone()),
        iccid: header_iccid,
        pol: None,
        // usim(1), milenage(4) or usim-test-algorithm(17).
        services: vec![1, if test_alg { 17 } else { 4 }],
        gfste: vec![OID_MF.to_vec(), OID_USIM.to_vec(), OID_OPT_USIM.to_vec()],
        connectivity: None,
        mandatory_aids: None,
        iot_options: None,
    };
    let mut dir_rec = vec![0x61, 0x16, 0x4F, 0x10];
    dir_rec.extend_from_slice(&USIM_AID);
    dir_rec.extend_from_slice(&[0x50, 0x04, b'U', b'S', b'I', b'M']);
    let mf = TemplatePe {
        choice: 16,
        header: hdr(1),
        template: OID_MF.to_vec(),
        files: vec![
            (
                2,
                vec![fcp(vec![prim::<0xC6>(pin_status_do(&[0x01, 0x0A]))])],
            ),
            (4, vec![FileItem::Content(s.iccid.0.to_vec())]),
            (
                5,
                vec![
                    fcp(vec![
                        prim::<0x82>(vec![0x42, 0x21, 0x00, 0x26]),
                        prim::<0x80>(vec![0x4C]),
                    ]),
                    FileItem::Content(dir_rec),
                ],
            ),
            (6, arr_file()),
        ],
    };
    let pins = Element::PinCodes {
        header: hdr(3),
        pins: PinSet::Configs(vec![
            Code {
                key_reference: 0x01,
                value: code(&s.pin1),
                unblocking_reference: Some(1),
                attributes: None,
                attempts: None,
            },
            Code {
                key_reference: 0x0A,
                value: code(&s.adm1),
                unblocking_reference: None,
                attributes: None,
                attempts: None,
            },
        ]),
    };
    let puks = Element::PukCodes {
        header: hdr(2),
        puks: vec![Code {
            key_reference: 0x01,
            value: code(&s.puk1),
            unblocking_reference: None,
            attributes: None,
            attempts: None,
        }],
    };
    let imsi = encode_imsi(&s.imsi)?;
    let last = s.imsi.bytes().last()? - b'0';
    let acc = (1u16 << last).to_be_bytes();
    let mut spn = vec![0x01];
    spn.extend(s.spn.bytes().take(16));
    spn.resize(17, 0xFF);
    let usim = TemplatePe {
        choice: 19,
        header: hdr(4),
        template: OID_USIM.to_vec(),
        files: vec![
            (
                2,
                vec![fcp(vec![
                    prim::<0x83>(vec![0x7F, 0xF1]),
                    prim::<0x84>(USIM_AID.to_vec()),
                    prim::<0xC6>(pin_status_do(&[0x01, 0x81, 0x0A])),
                ])],
            ),
            (3, vec![FileItem::Content(imsi.to_vec())]),
            (4, arr_file()),
            // Services 2 (FDN off), 3.. kept minimal: 1 (local phone book) off; the
            // TS 31.102 §4.2.8 bits for SPN (19), EST (not needed).
            (
                8,
                vec![FileItem::Content(vec![
                    0x00, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ])],
            ),
            (13, vec![FileItem::Content(spn)]),
            (14, vec![FileItem::Content(vec![0x00])]),
            (18, vec![FileItem::Content(acc.to_vec())]),
            (21, vec![FileItem::Content(vec![0x00, 0x00, 0x00, 0x02])]),
            (22, vec![FileItem::Content(vec![0xFF; 4])]),
        ],
    };
    let mut elements = vec![
        Element::Header(header),
        Element::Template(mf),
        puks,
        pins,
        Element::Template(usim),
    ];
    if let Some(m) = &s.msisdn {
        elements.push(Element::Template(TemplatePe {
            choice: 20,
            header: hdr(5),
            template: OID_OPT_USIM.to_vec(),
            files: vec![(7, vec![FileItem::Content(msisdn_record(m)?)])],
        }));
    }
    elements.push(Element::PinCodes {
        header: hdr(6),
        pins: PinSet::Configs(vec![Code {
            key_reference: 0x81,
            value: code(&s.pin1),
            unblocking_reference: Some(0x81),
            attributes: None,
            attempts: None,
        }]),
    });
    elements.push(Element::Aka(AkaParameter {
        header: hdr(7),
        config: AlgoConfiguration::Parameters(AlgoParameter {
            algorithm: s.algorithm,
            options: if test_alg { 0x02 } else { 0x00 },
            key: s.ki.clone(),
            opc: s.opc.clone(),
            rotation: None,
            xoring: None,
            auth_counter_max: None,
            keccak: None,
        }),
        sqn_options: None,
        sqn_delta: None,
        sqn_age_limit: None,
        sqn_init: None,
    }));
    elements.push(Element::End(hdr(8)));
    Some(Package { elements })
}

/// EF.MSISDN record of 24 bytes (TS 31.102 §4.2.26, TS 24.008 BCD): 10 alpha bytes,
/// BCD length, TON/NPI `91` (international, ISDN), 10 BCD bytes, CCP and Ext FF.
fn msisdn_record(m: &str) -> Option<Vec<u8>> {
    let digits = m.trim_start_matches('+');
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut r = vec![0xFF; 10];
    let mut nib: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    if nib.len() % 2 == 1 {
        nib.push(0xF);
    }
    r.push((nib.len() / 2 + 1) as u8);
    r.push(0x91);
    let mut bcd: Vec<u8> = nib.chunks(2).map(|p| (p[1] << 4) | p[0]).collect();
    bcd.resize(10, 0xFF);
    r.extend(bcd);
    r.extend([0xFF, 0xFF]);
    Some(r)
}

/// A pinStatusTemplateDO (TS 102 221 §9.5.2, the content of FCP tag `C6`): PS_DO `90`
/// (every listed PIN enabled) and one key reference DO `83` per PIN.
fn pin_status_do(key_refs: &[u8]) -> Vec<u8> {
    let enabled = 0xFFu8
        .checked_shl(8 - key_refs.len().min(8) as u32)
        .unwrap_or(0);
    let mut v = vec![0x90, 0x01, enabled];
    for k in key_refs {
        v.extend_from_slice(&[0x83, 0x01, *k]);
    }
    v
}
