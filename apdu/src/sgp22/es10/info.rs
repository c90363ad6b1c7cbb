//! eUICC information messages of SGP.22 §5.7.8-§5.7.10, §5.7.20, §5.7.22: GetEID
//! (`BF3E`), GetEUICCInfo1/2 (`BF20`/`BF22`), GetEuiccChallenge (`BF2E`),
//! EuiccConfiguredAddresses (`BF3C`) and GetRAT (`BF43`).

use super::der;
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, ConsTag, Tlv};
use crate::sgp22::eid::Eid;

/// `euiccCiPKIdListForVerification [9]` and `...ForSigning [10]` (SGP.22 §5.7.8).
const VERIFICATION_KEYS: ConsTag = ConsTag::of(0xA9);
const SIGNING_KEYS: ConsTag = ConsTag::of(0xAA);

/// `GetEuiccDataResponse ::= [62] SEQUENCE { eidValue [APPLICATION 26] Octet16 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EidResponse(pub Eid);

impl EidResponse {
    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(&cons::<0xBF3E>(vec![prim::<0x5A>(self.0 .0.to_vec())]))
    }

    pub fn decode(b: &[u8]) -> Result<EidResponse> {
        let t = tlv::parse_expect(b, 0xBF3E)?;
        let v = der::req(&t, 0x5A)?;
        Eid::from_bytes(v)
            .map(EidResponse)
            .map_err(|_| Error::InvalidValue {
                tag: 0x5A,
                reason: "not a valid EID",
            })
    }
}

/// `GetEuiccChallengeResponse ::= [46] SEQUENCE { euiccChallenge Octet16 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeResponse(pub [u8; 16]);

impl ChallengeResponse {
    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(&cons::<0xBF2E>(vec![prim::<0x80>(self.0.to_vec())]))
    }

    pub fn decode(b: &[u8]) -> Result<ChallengeResponse> {
        let t = tlv::parse_expect(b, 0xBF2E)?;
        der::fixed(0x80, der::req(&t, 0x80)?).map(ChallengeResponse)
    }
}

fn key_ids(tag: ConsTag, ids: &[Vec<u8>]) -> Tlv {
    tlv::cons_tagged(tag, ids.iter().map(|k| prim::<0x04>(k.clone())).collect())
}

fn read_key_ids(t: &Tlv, tag: u32) -> Vec<Vec<u8>> {
    tlv::child(t, tag)
        .map(|l| {
            tlv::children(l)
                .iter()
                .filter_map(|c| tlv::bytes(c).map(<[u8]>::to_vec))
                .collect()
        })
        .unwrap_or_default()
}

/// `EUICCInfo1 ::= [32] SEQUENCE { svn [2], euiccCiPKIdListForVerification [9],
/// euiccCiPKIdListForSigning [10] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuiccInfo1 {
    pub svn: [u8; 3],
    pub verification_keys: Vec<Vec<u8>>,
    pub signing_keys: Vec<Vec<u8>>,
}

impl EuiccInfo1 {
    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(&cons::<0xBF20>(vec![
            prim::<0x82>(self.svn.to_vec()),
            key_ids(VERIFICATION_KEYS, &self.verification_keys),
            key_ids(SIGNING_KEYS, &self.signing_keys),
        ]))
    }

    pub fn decode(b: &[u8]) -> Result<EuiccInfo1> {
        let t = tlv::parse_expect(b, 0xBF20)?;
        Ok(EuiccInfo1 {
            svn: der::fixed(0x82, der::req(&t, 0x82)?)?,
            verification_keys: read_key_ids(&t, 0xA9),
            signing_keys: read_key_ids(&t, 0xAA),
        })
    }
}

/// `EUICCInfo2` (SGP.22 §5.7.8), the fields an LPA reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuiccInfo2 {
    pub profile_version: [u8; 3],
    pub svn: [u8; 3],
    pub firmware_version: [u8; 3],
    /// `extCardResource`: `81` installed applications, `82` free non-volatile memory,
    /// `83` free volatile memory (SGP.22 §5.7.8, ETSI TS 102 226 §8.2.1.3.2.2).
    pub ext_card_resource: Vec<u8>,
    /// BIT STRING value including the unused-bits byte.
    pub uicc_capability: Vec<u8>,
    /// BIT STRING value including the unused-bits byte.
    pub rsp_capability: Vec<u8>,
    pub verification_keys: Vec<Vec<u8>>,
    pub signing_keys: Vec<Vec<u8>>,
    pub pp_version: [u8; 3],
    pub sas_accreditation_number: String,
    /// `euiccCategory [11]`: 0 other, 1 basicEuicc, 2 mediumEuicc, 3 contactlessEuicc.
    pub euicc_category: Option<u8>,
}

/// What `extCardResource` says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CardResources {
    pub installed_applications: Option<u64>,
    pub free_non_volatile_memory: Option<u64>,
    pub free_volatile_memory: Option<u64>,
}

impl EuiccInfo2 {
    pub fn encode(&self) -> Vec<u8> {
        let mut c = vec![
            prim::<0x81>(self.profile_version.to_vec()),
            prim::<0x82>(self.svn.to_vec()),
            prim::<0x83>(self.firmware_version.to_vec()),
            prim::<0x84>(self.ext_card_resource.clone()),
            prim::<0x85>(self.uicc_capability.clone()),
            prim::<0x88>(self.rsp_capability.clone()),
            key_ids(VERIFICATION_KEYS, &self.verification_keys),
            key_ids(SIGNING_KEYS, &self.signing_keys),
        ];
        if let Some(k) = self.euicc_category {
            c.push(prim::<0x8B>(tlv::int_bytes(k as u64)));
        }
        c.push(prim::<0x04>(self.pp_version.to_vec()));
        c.push(prim::<0x0C>(
            self.sas_accreditation_number.clone().into_bytes(),
        ));
        tlv::encode(&cons::<0xBF22>(c))
    }

    pub fn decode(b: &[u8]) -> Result<EuiccInfo2> {
        let t = tlv::parse_expect(b, 0xBF22)?;
        let category = tlv::child_bytes(&t, 0x8B).or_else(|| tlv::child_bytes(&t, 0xAB));
        Ok(EuiccInfo2 {
            profile_version: der::fixed(0x81, der::req(&t, 0x81)?)?,
            svn: der::fixed(0x82, der::req(&t, 0x82)?)?,
            firmware_version: der::fixed(0x83, der::req(&t, 0x83)?)?,
            ext_card_resource: der::req(&t, 0x84)?.to_vec(),
            uicc_capability: der::req(&t, 0x85)?.to_vec(),
            rsp_capability: der::req(&t, 0x88)?.to_vec(),
            verification_keys: read_key_ids(&t, 0xA9),
            signing_keys: read_key_ids(&t, 0xAA),
            pp_version: der::fixed(0x04, der::req(&t, 0x04)?)?,
            sas_accreditation_number: der::utf8(0x0C, der::req(&t, 0x0C)?, 64)?,
            euicc_category: category.map(|v| der::small_int(0x8B, v)).transpose()?,
        })
    }

    /// Reads `extCardResource`; unknown or malformed entries are skipped.
    pub fn resources(&self) -> CardResources {
        let mut r = CardResources::default();
        for t in tlv::parse_all(&self.ext_card_resource).unwrap_or_default() {
            let v = tlv::bytes(&t).unwrap_or(&[]);
            let n = (v.len() <= 8).then(|| v.iter().fold(0u64, |a, &x| (a << 8) | x as u64));
            match tlv::tag_num(&t) {
                0x81 => r.installed_applications = n,
                0x82 => r.free_non_volatile_memory = n,
                0x83 => r.free_volatile_memory = n,
                _ => {}
            }
        }
        r
    }

    /// Formats a `VersionType` as `major.minor.revision`.
    pub fn version(v: &[u8; 3]) -> String {
        format!("{}.{}.{}", v[0], v[1], v[2])
    }
}

/// `EuiccConfiguredAddressesResponse ::= [60] SEQUENCE { defaultDpAddress [0] UTF8String
/// OPTIONAL, rootDsAddress [1] UTF8String }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredAddresses {
    pub default_dp: Option<String>,
    pub root_ds: String,
}

impl ConfiguredAddresses {
    pub fn encode(&self) -> Vec<u8> {
        let mut c = Vec::new();
        if let Some(dp) = &self.default_dp {
            c.push(prim::<0x80>(dp.clone().into_bytes()));
        }
        c.push(prim::<0x81>(self.root_ds.clone().into_bytes()));
        tlv::encode(&cons::<0xBF3C>(c))
    }

    pub fn decode(b: &[u8]) -> Result<ConfiguredAddresses> {
        let t = tlv::parse_expect(b, 0xBF3C)?;
        Ok(ConfiguredAddresses {
            default_dp: tlv::child_bytes(&t, 0x80)
                .map(|v| der::utf8(0x80, v, 255))
                .transpose()?,
            root_ds: der::utf8(0x81, der::req(&t, 0x81)?, 255)?,
        })
    }
}

/// `GetRatResponse ::= [67] SEQUENCE { rat RulesAuthorisationTable }`; rules kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatResponse(pub Vec<Vec<u8>>);

impl RatResponse {
    pub fn encode(&self) -> Vec<u8> {
        let mut inner = Vec::new();
        for r in &self.0 {
            inner.extend_from_slice(r);
        }
        let mut a0 = vec![0xA0];
        tlv::push_len(inner.len(), &mut a0);
        a0.extend_from_slice(&inner);
        let mut out = vec![0xBF, 0x43];
        tlv::push_len(a0.len(), &mut out);
        out.extend_from_slice(&a0);
        out
    }

    pub fn decode(b: &[u8]) -> Result<RatResponse> {
        let t = tlv::parse_expect(b, 0xBF43)?;
        let list = tlv::child(&t, 0xA0).ok_or(Error::MissingTag(0xA0))?;
        Ok(RatResponse(
            tlv::children(list).iter().map(tlv::encode).collect(),
        ))
    }
}
