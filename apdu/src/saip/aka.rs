//! PE-AKAParameter (SAIP v3.3.1 §8.6.1): the NAA's authentication algorithm and keys.
//! `A4 { A0 header, A1 algoConfiguration { A1 algoParameter { 80 algorithmID, 81
//! algorithmOptions, 82 key, 83 opc, 84 rotationConstants, 85 xoringConstants, 86
//! authCounterMax, 87 numberOfKeccak } | A0 mappingParameter }, 82 sqnOptions, 83
//! sqnDelta, 84 sqnAgeLimit, A5 sqnInit (32 x 04 06) }`. DEFAULTs stay `None`.

use super::error::{bad, missing, SaipError};
use super::fields::{fixed, octets, uint_max, PeHeader};
use super::secret::Secret;
use crate::iso7816::tlv::{self, cons, prim, Tlv};

/// `algorithmID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Milenage = 1,
    Tuak = 2,
    /// The TS 34.108 §8.1.2 test algorithm (TS.48 test profiles).
    UsimTestAlgorithm = 3,
}

/// `AlgoParameter`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlgoParameter {
    pub algorithm: Algorithm,
    pub options: u8,
    pub key: Secret,
    /// OPc (Milenage), TOPc (TUAK); ignored by the test algorithm.
    pub opc: Secret,
    pub rotation: Option<[u8; 5]>,
    pub xoring: Option<Vec<u8>>,
    pub auth_counter_max: Option<[u8; 3]>,
    pub keccak: Option<u8>,
}

/// Milenage r1..r5 DEFAULT `4000204060` (TS 35.206 §4.1, in units of bits / 8).
pub const DEFAULT_ROTATION: [u8; 5] = [0x40, 0x00, 0x20, 0x40, 0x60];

impl AlgoParameter {
    /// c1..c5 (each 16 bytes) with the DEFAULT (0, 1, 2, 4, 8 in the last byte).
    pub fn xoring_or_default(&self) -> Vec<u8> {
        self.xoring.clone().unwrap_or_else(|| {
            let mut v = vec![0u8; 80];
            for (i, last) in [0u8, 1, 2, 4, 8].into_iter().enumerate() {
                v[i * 16 + 15] = last;
            }
            v
        })
    }
}

/// `algoConfiguration`.
#[derive(Debug, Clone, PartialEq)]
pub enum AlgoConfiguration {
    Parameters(AlgoParameter),
    /// `mappingParameter`: reuse another NAA's keys (kept as its TLV).
    Mapping(Tlv),
}

/// PE-AKAParameter.
#[derive(Debug, Clone, PartialEq)]
pub struct AkaParameter {
    pub header: PeHeader,
    pub config: AlgoConfiguration,
    pub sqn_options: Option<u8>,
    pub sqn_delta: Option<[u8; 6]>,
    pub sqn_age_limit: Option<[u8; 6]>,
    pub sqn_init: Option<Vec<[u8; 6]>>,
}

impl AkaParameter {
    /// sqnOptions with its DEFAULT `02`.
    pub fn sqn_options_or_default(&self) -> u8 {
        self.sqn_options.unwrap_or(0x02)
    }
    /// sqnDelta / sqnAgeLimit DEFAULT `000010000000` (2^28).
    pub fn sqn_delta_or_default(&self) -> [u8; 6] {
        self.sqn_delta.unwrap_or([0, 0, 0x10, 0, 0, 0])
    }
    pub fn sqn_age_limit_or_default(&self) -> [u8; 6] {
        self.sqn_age_limit.unwrap_or([0, 0, 0x10, 0, 0, 0])
    }

    pub fn decode(t: &Tlv) -> Result<AkaParameter, SaipError> {
        let header = PeHeader::decode(tlv::child(t, 0xA0).ok_or(missing("aka-header"))?)?;
        let cfg = tlv::child(t, 0xA1).ok_or(missing("algoConfiguration"))?;
        let inner = tlv::children(cfg)
            .first()
            .ok_or(missing("algoConfiguration"))?;
        let config = match tlv::tag_num(inner) {
            0xA0 => AlgoConfiguration::Mapping(inner.clone()),
            0xA1 => AlgoConfiguration::Parameters(decode_algo(inner)?),
            _ => return Err(bad("algoConfiguration choice")),
        };
        let mut a = AkaParameter {
            header,
            config,
            sqn_options: None,
            sqn_delta: None,
            sqn_age_limit: None,
            sqn_init: None,
        };
        for ch in tlv::children(t).iter().skip(2) {
            match tlv::tag_num(ch) {
                0x82 => a.sqn_options = Some(fixed::<1>(ch, "sqnOptions")?[0]),
                0x83 => a.sqn_delta = Some(fixed::<6>(ch, "sqnDelta")?),
                0x84 => a.sqn_age_limit = Some(fixed::<6>(ch, "sqnAgeLimit")?),
                0xA5 => {
                    let v = tlv::children(ch)
                        .iter()
                        .map(|s| fixed::<6>(s, "sqnInit"))
                        .collect::<Result<Vec<_>, _>>()?;
                    if v.len() != 32 {
                        return Err(bad("sqnInit holds 32 values"));
                    }
                    a.sqn_init = Some(v);
                }
                _ => return Err(bad("unknown PE-AKAParameter field")),
            }
        }
        Ok(a)
    }

    pub fn encode(&self) -> Tlv {
        let cfg = match &self.config {
            AlgoConfiguration::Mapping(t) => t.clone(),
            AlgoConfiguration::Parameters(p) => encode_algo(p),
        };
        let mut ch = vec![self.header.encode(), cons::<0xA1>(vec![cfg])];
        if let Some(o) = self.sqn_options {
            ch.push(prim::<0x82>(vec![o]));
        }
        if let Some(d) = self.sqn_delta {
            ch.push(prim::<0x83>(d.to_vec()));
        }
        if let Some(d) = self.sqn_age_limit {
            ch.push(prim::<0x84>(d.to_vec()));
        }
        if let Some(v) = &self.sqn_init {
            ch.push(cons::<0xA5>(
                v.iter().map(|s| prim::<0x04>(s.to_vec())).collect(),
            ));
        }
        cons::<0xA4>(ch)
    }
}

fn decode_algo(t: &Tlv) -> Result<AlgoParameter, SaipError> {
    let req = |tag, what| tlv::child(t, tag).ok_or(missing(what));
    let algorithm = match uint_max(req(0x80, "algorithmID")?, 255, "algorithmID")? {
        1 => Algorithm::Milenage,
        2 => Algorithm::Tuak,
        3 => Algorithm::UsimTestAlgorithm,
        _ => return Err(bad("unknown algorithmID")),
    };
    let key = octets(req(0x82, "key")?, "key")?;
    let opc = octets(req(0x83, "opc")?, "opc")?;
    if !matches!(key.len(), 16 | 32) || !matches!(opc.len(), 16 | 32) {
        return Err(bad("key and opc are 16 or 32 bytes"));
    }
    let opt = |tag| tlv::child(t, tag);
    let xoring = opt(0x85)
        .map(|x| octets(x, "xoringConstants"))
        .transpose()?;
    if xoring.is_some_and(|x| x.len() != 80) {
        return Err(bad("xoringConstants is 80 bytes"));
    }
    Ok(AlgoParameter {
        algorithm,
        options: fixed::<1>(req(0x81, "algorithmOptions")?, "algorithmOptions")?[0],
        key: Secret::new(key.to_vec()),
        opc: Secret::new(opc.to_vec()),
        rotation: opt(0x84)
            .map(|r| fixed::<5>(r, "rotationConstants"))
            .transpose()?,
        xoring: xoring.map(<[u8]>::to_vec),
        auth_counter_max: opt(0x86)
            .map(|r| fixed::<3>(r, "authCounterMax"))
            .transpose()?,
        keccak: opt(0x87)
            .map(|k| uint_max(k, 255, "numberOfKeccak").map(|n| n as u8))
            .transpose()?,
    })
}

fn encode_algo(p: &AlgoParameter) -> Tlv {
    let mut ch = vec![
        prim::<0x80>(vec![p.algorithm as u8]),
        prim::<0x81>(vec![p.options]),
        prim::<0x82>(p.key.expose().to_vec()),
        prim::<0x83>(p.opc.expose().to_vec()),
    ];
    if let Some(r) = p.rotation {
        ch.push(prim::<0x84>(r.to_vec()));
    }
    if let Some(x) = &p.xoring {
        ch.push(prim::<0x85>(x.clone()));
    }
    if let Some(a) = p.auth_counter_max {
        ch.push(prim::<0x86>(a.to_vec()));
    }
    if let Some(k) = p.keccak {
        ch.push(prim::<0x87>(tlv::int_bytes(k as u64)));
    }
    cons::<0xA1>(ch)
}
