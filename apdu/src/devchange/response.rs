//! Answers of the device-change functions (docs/device-change-protocol.md §Answers).
//! Every answer is `<function tag> { 80 result, ... }`; fields use the context tags
//! `81` flow, `82` OP ID, `83` IMEI, `84` identity public key, `85` new public key,
//! `86` possession signature, `87` identity signature (in BF69/BF6B: the signed
//! result), `88` parameter signature, `8F` the card's challenge (BF6D), `92` the
//! identity encryption key, `5A` EID or ICCID.

use super::request::{flow_of, op_id_of};
use super::{DcResult, Flow, Function};
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, prim, Tlv};
use crate::sgp22::eid::Eid;
use crate::sgp22::es10::Iccid;

/// Largest key or signature field accepted.
const MAX_FIELD: usize = 1024;

/// What BF69 reports, signed by the card's identity key over the SM's challenge of the
/// request (purpose install result; bound: the code and the ICCID; issue 10, finding 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallResult {
    pub code: DcResult,
    pub iccid: Option<Iccid>,
    pub signature: Vec<u8>,
}

/// A card's answer to a device-change function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcResponse {
    /// BF66: the OP acquisition / key modification request (A 404, B 506, C 602).
    Begun {
        flow: Flow,
        op_id: Option<String>,
        eid: Eid,
        imei: String,
        identity_key: Vec<u8>,
    },
    /// BF67: the new public key (A 410, C 613), proven by a signature of the new key
    /// and by the card's identity key.
    KeyGenerated {
        public_key: Vec<u8>,
        possession_signature: Vec<u8>,
        identity_signature: Vec<u8>,
    },
    /// BF68: the signature over the SM's challenge (B 513, C 611). Without a parameter
    /// (the recorded device, flow B) also the card's identity encryption key (`92`),
    /// vouched for by the identity signature: the key the SM seals the profile to,
    /// apart from the signing key (issue 10, finding 10).
    Authenticated {
        parameter_signature: Option<Vec<u8>>,
        identity_signature: Vec<u8>,
        encryption_key: Option<Vec<u8>>,
    },
    /// BF69.
    Installed(InstallResult),
    /// BF6B, signed as BF69's result is (purpose removal result).
    Removed { code: DcResult, signature: Vec<u8> },
    /// BF6D: the card's one-time challenge for the SM's next BF69 or BF6B.
    CardChallenge {
        challenge: [u8; super::CARD_CHALLENGE_LEN],
    },
    /// BF6C.
    Identity {
        eid: Eid,
        identity_key: Vec<u8>,
        signature: Vec<u8>,
    },
    /// Any function that failed with a result code (never 0). `tag` is the function
    /// whose answer this is (BF6A when there was nothing to fetch).
    Failed { tag: Function, code: DcResult },
}

fn field(t: &Tlv, tag: u32) -> Result<Vec<u8>> {
    let v = tlv::require_bytes(t, tag)?;
    if v.len() > MAX_FIELD {
        return Err(Error::InvalidValue {
            tag,
            reason: "value too long",
        });
    }
    Ok(v.to_vec())
}

fn eid_of(t: &Tlv) -> Result<Eid> {
    Eid::from_bytes(tlv::require_bytes(t, 0x5A)?).map_err(|_| Error::InvalidValue {
        tag: 0x5A,
        reason: "not a valid EID",
    })
}

fn code(c: DcResult) -> Tlv {
    prim::<0x80>(vec![c.code()])
}

fn ok() -> Tlv {
    code(DcResult::Ok)
}

impl DcResponse {
    /// The function this answer belongs to.
    pub fn function(&self) -> Function {
        match self {
            DcResponse::Begun { .. } => Function::Begin,
            DcResponse::KeyGenerated { .. } => Function::GenerateKey,
            DcResponse::Authenticated { .. } => Function::Authenticate,
            DcResponse::Installed(_) => Function::InstallProfile,
            DcResponse::Removed { .. } => Function::RemoveProfile,
            DcResponse::Identity { .. } => Function::Identity,
            DcResponse::CardChallenge { .. } => Function::CardChallenge,
            DcResponse::Failed { tag, .. } => *tag,
        }
    }

    /// The function tag of this answer.
    pub fn tag(&self) -> u32 {
        self.function().tag()
    }

    pub fn encode(&self) -> Vec<u8> {
        let c = match self {
            DcResponse::Begun {
                flow,
                op_id,
                eid,
                imei,
                identity_key,
            } => {
                let mut c = vec![ok(), prim::<0x81>(vec![*flow as u8])];
                if let Some(o) = op_id {
                    c.push(prim::<0x82>(o.as_bytes().to_vec()));
                }
                c.push(prim::<0x5A>(eid.0.to_vec()));
                c.push(prim::<0x83>(imei.as_bytes().to_vec()));
                c.push(prim::<0x84>(identity_key.clone()));
                c
            }
            DcResponse::KeyGenerated {
                public_key,
                possession_signature,
                identity_signature,
            } => vec![
                ok(),
                prim::<0x85>(public_key.clone()),
                prim::<0x86>(possession_signature.clone()),
                prim::<0x87>(identity_signature.clone()),
            ],
            DcResponse::Authenticated {
                parameter_signature,
                identity_signature,
                encryption_key,
            } => {
                let mut c = vec![ok()];
                if let Some(s) = parameter_signature {
                    c.push(prim::<0x88>(s.clone()));
                }
                c.push(prim::<0x87>(identity_signature.clone()));
                if let Some(k) = encryption_key {
                    c.push(prim::<0x92>(k.clone()));
                }
                c
            }
            DcResponse::Installed(r) => {
                let mut c = vec![code(r.code)];
                if let Some(i) = r.iccid {
                    c.push(prim::<0x5A>(i.0.to_vec()));
                }
                c.push(prim::<0x87>(r.signature.clone()));
                c
            }
            DcResponse::Removed { code: c, signature } => {
                vec![code(*c), prim::<0x87>(signature.clone())]
            }
            DcResponse::CardChallenge { challenge } => {
                vec![ok(), prim::<0x8F>(challenge.to_vec())]
            }
            DcResponse::Identity {
                eid,
                identity_key,
                signature,
            } => vec![
                ok(),
                prim::<0x5A>(eid.0.to_vec()),
                prim::<0x84>(identity_key.clone()),
                prim::<0x87>(signature.clone()),
            ],
            DcResponse::Failed { code: c, .. } => vec![code(*c)],
        };
        tlv::encode(&tlv::cons_tagged(self.function().cons_tag(), c))
    }

    /// Decodes an answer and checks it belongs to `expected` (a function tag).
    /// BF6A answers carry the tag of the function whose result they are.
    pub fn decode(b: &[u8]) -> Result<DcResponse> {
        let t = tlv::parse(b)?;
        let tag = tlv::tag_num(&t);
        let Some(function) = Function::from_tag(tag) else {
            return Err(Error::Malformed("not a device-change answer"));
        };
        let code = match tlv::require_bytes(&t, 0x80)? {
            [c] => DcResult::from_code(*c),
            _ => {
                return Err(Error::InvalidValue {
                    tag: 0x80,
                    reason: "result is one byte",
                })
            }
        };
        // BF69 and BF6B answer their results signed (`87`) whatever the code; without a
        // signature the answer is a plain failure the SM acts on no further.
        let signed = matches!(function, Function::InstallProfile | Function::RemoveProfile)
            && tlv::child(&t, 0x87).is_some();
        if !code.is_ok() && !signed {
            return Ok(DcResponse::Failed {
                tag: function,
                code,
            });
        }
        Ok(match function {
            Function::Begin => DcResponse::Begun {
                flow: flow_of(&t)?,
                op_id: tlv::child(&t, 0x82).map(|_| op_id_of(&t)).transpose()?,
                eid: eid_of(&t)?,
                imei: String::from_utf8(field(&t, 0x83)?).map_err(|_| Error::InvalidValue {
                    tag: 0x83,
                    reason: "IMEI is not text",
                })?,
                identity_key: field(&t, 0x84)?,
            },
            Function::GenerateKey => DcResponse::KeyGenerated {
                public_key: field(&t, 0x85)?,
                possession_signature: field(&t, 0x86)?,
                identity_signature: field(&t, 0x87)?,
            },
            Function::Authenticate => DcResponse::Authenticated {
                parameter_signature: tlv::child(&t, 0x88).map(|_| field(&t, 0x88)).transpose()?,
                identity_signature: field(&t, 0x87)?,
                encryption_key: tlv::child(&t, 0x92).map(|_| field(&t, 0x92)).transpose()?,
            },
            Function::InstallProfile => DcResponse::Installed(InstallResult {
                code,
                iccid: tlv::child_bytes(&t, 0x5A)
                    .map(Iccid::from_bytes)
                    .transpose()?,
                signature: field(&t, 0x87)?,
            }),
            Function::RemoveProfile => DcResponse::Removed {
                code,
                signature: field(&t, 0x87)?,
            },
            Function::CardChallenge => DcResponse::CardChallenge {
                challenge: tlv::require_bytes(&t, 0x8F)?.try_into().map_err(|_| {
                    Error::InvalidValue {
                        tag: 0x8F,
                        reason: "the card's challenge has 16 bytes",
                    }
                })?,
            },
            Function::Identity => DcResponse::Identity {
                eid: eid_of(&t)?,
                identity_key: field(&t, 0x84)?,
                signature: field(&t, 0x87)?,
            },
            // BF6A with result 0 never happens: the card answers with the function's tag.
            Function::FetchResult => DcResponse::Failed {
                tag: function,
                code,
            },
        })
    }
}
