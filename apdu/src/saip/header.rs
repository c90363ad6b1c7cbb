//! ProfileHeader (SAIP v3.3.1 §8.2, PEDefinitions `ProfileHeader`, `ServicesList`).

use super::error::{bad, missing, SaipError};
use super::fields::{fixed, octets, p, uint_max};
use crate::iso7816::tlv::{self, cons, prim, Tlv};

/// `ServicesList` names by position (PEDefinitions v3.3.1): the NULL with context tag
/// `[n]` present means service `SERVICES[n]` is required of the eUICC.
pub const SERVICES: [&str; 30] = [
    "contactless",
    "usim",
    "isim",
    "csim",
    "milenage",
    "tuak128",
    "cave",
    "gba-usim",
    "gba-isim",
    "mbms",
    "eap",
    "javacard",
    "multos",
    "multiple-usim",
    "multiple-isim",
    "multiple-csim",
    "tuak256",
    "usim-test-algorithm",
    "ber-tlv",
    "dfLink",
    "cat-tp",
    "get-identity",
    "profile-a-x25519",
    "profile-b-p256",
    "suciCalculatorApi",
    "dns-resolution",
    "scp11ac",
    "scp11c-authorization-mechanism",
    "s16mode",
    "eaka",
];

/// `ProfileHeader` (SAIP §8.2): `A0 { 80 major, 81 minor, 82 profileType, 83 iccid,
/// 84 pol, A5 services, A6 GFSTE OIDs, 87 connectivity, A8 AIDs, A9 iotOptions }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileHeader {
    pub major: u8,
    pub minor: u8,
    pub profile_type: Option<String>,
    /// The ICCID as the header holds it: BCD in reading order, `F`-padded (unlike
    /// EF.ICCID, whose nibbles are swapped).
    pub iccid: [u8; 10],
    pub pol: Option<Vec<u8>>,
    /// Positions in [`SERVICES`] of the mandatory services, ascending.
    pub services: Vec<u8>,
    /// `eUICC-Mandatory-GFSTEList`: the template OIDs (content bytes of each `06`).
    pub gfste: Vec<Vec<u8>>,
    pub connectivity: Option<Vec<u8>>,
    /// `eUICC-Mandatory-AIDs` and `iotOptions`, kept as they came.
    pub mandatory_aids: Option<Tlv>,
    pub iot_options: Option<Tlv>,
}

impl ProfileHeader {
    pub fn decode(t: &Tlv) -> Result<ProfileHeader, SaipError> {
        let (mut major, mut minor, mut iccid) = (None, None, None);
        let mut h = ProfileHeader {
            major: 0,
            minor: 0,
            profile_type: None,
            iccid: [0; 10],
            pol: None,
            services: vec![],
            gfste: vec![],
            connectivity: None,
            mandatory_aids: None,
            iot_options: None,
        };
        for ch in tlv::children(t) {
            match tlv::tag_num(ch) {
                0x80 => major = Some(uint_max(ch, 255, "major-version")? as u8),
                0x81 => minor = Some(uint_max(ch, 255, "minor-version")? as u8),
                0x82 => {
                    let v = octets(ch, "profileType")?;
                    if v.is_empty() || v.len() > 100 {
                        return Err(bad("profileType size"));
                    }
                    let s = String::from_utf8(v.to_vec()).map_err(|_| bad("profileType UTF-8"))?;
                    h.profile_type = Some(s);
                }
                0x83 => iccid = Some(fixed::<10>(ch, "header iccid")?),
                0x84 => h.pol = Some(octets(ch, "pol")?.to_vec()),
                0xA5 => {
                    for s in tlv::children(ch) {
                        let n = tlv::tag_num(s);
                        match n.checked_sub(0x80) {
                            Some(i) if (i as usize) < SERVICES.len() => h.services.push(i as u8),
                            _ => return Err(bad("unknown mandatory service")),
                        }
                    }
                }
                0xA6 => {
                    for o in tlv::children(ch) {
                        if tlv::tag_num(o) != 0x06 {
                            return Err(bad("GFSTE list holds OIDs"));
                        }
                        h.gfste.push(octets(o, "OID")?.to_vec());
                    }
                }
                0x87 => h.connectivity = Some(octets(ch, "connectivityParameters")?.to_vec()),
                0xA8 => h.mandatory_aids = Some(ch.clone()),
                0xA9 => h.iot_options = Some(ch.clone()),
                _ => return Err(bad("unknown ProfileHeader field")),
            }
        }
        h.major = major.ok_or(missing("major-version"))?;
        h.minor = minor.ok_or(missing("minor-version"))?;
        h.iccid = iccid.ok_or(missing("iccid"))?;
        if tlv::child(t, 0xA5).is_none() {
            return Err(missing("eUICC-Mandatory-services"));
        }
        if tlv::child(t, 0xA6).is_none() {
            return Err(missing("eUICC-Mandatory-GFSTEList"));
        }
        Ok(h)
    }

    pub fn encode(&self) -> Tlv {
        let mut ch = vec![
            prim::<0x80>(tlv::int_bytes(self.major as u64)),
            prim::<0x81>(tlv::int_bytes(self.minor as u64)),
        ];
        if let Some(s) = &self.profile_type {
            ch.push(prim::<0x82>(s.as_bytes()));
        }
        ch.push(prim::<0x83>(self.iccid.to_vec()));
        if let Some(v) = &self.pol {
            ch.push(prim::<0x84>(v.clone()));
        }
        let services = self.services.iter().map(|&i| p(0x80 + i as u32, vec![]));
        ch.push(cons::<0xA5>(services.collect()));
        let oids = self.gfste.iter().map(|o| prim::<0x06>(o.clone()));
        ch.push(cons::<0xA6>(oids.collect()));
        if let Some(v) = &self.connectivity {
            ch.push(prim::<0x87>(v.clone()));
        }
        ch.extend(self.mandatory_aids.iter().cloned());
        ch.extend(self.iot_options.iter().cloned());
        cons::<0xA0>(ch)
    }

    /// The ICCID's digits (header coding: reading order, `F` padding).
    pub fn iccid_digits(&self) -> String {
        hex::encode_upper(self.iccid)
            .trim_end_matches('F')
            .to_string()
    }

    /// Whether service `name` (one of [`SERVICES`]) is listed as mandatory.
    pub fn requires(&self, name: &str) -> bool {
        SERVICES
            .iter()
            .position(|s| *s == name)
            .is_some_and(|i| self.services.contains(&(i as u8)))
    }
}
