//! Requests of the device-change functions (docs/device-change-protocol.md §Requests).
//! Context tags are shared by all functions: `81` flow, `82` OP ID, `89` challenge,
//! `8A` KDF salt, `8B` KDF parameters, `8C` parameter needed, `8D` sealed profile,
//! `8E` key source, `5A` ICCID; in BF69 and BF6B the SM's authorisation
//! ([`SmAuth`]: `89` its challenge, `90` its certificate, `91` its signature).

use super::authorisation::{SmAuth, AUTH_SIGNATURE_LEN, MAX_CERT_LEN};
use super::{Flow, Function};
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, prim, Tlv};
use crate::sgp22::es10::Iccid;

/// Longest OP ID (bytes of UTF-8).
pub const MAX_OP_ID: usize = 64;
/// Largest sealed profile we accept in one request.
pub const MAX_SEALED: usize = 16 * 1024;

/// Which private key opens a sealed profile (`8E`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The key derived from the parameter in this session (flows A, B: claim 7).
    Parameter = 0,
    /// The card's identity key (re-serving the recorded device, [0074]).
    Identity = 1,
}

/// A device-change request to the card.
#[derive(Clone, PartialEq, Eq)]
pub enum DcRequest {
    /// `BF66`: start a session of `flow`; the card asks the terminal for the OP ID
    /// (flows B, C) and the IMEI.
    Begin { flow: Flow },
    /// `BF67`: the SM's key-generation indication (A step 405; C step 613).
    GenerateKey {
        flow: Flow,
        op_id: String,
        challenge: Vec<u8>,
        salt: Vec<u8>,
        kdf: Vec<u8>,
    },
    /// `BF68`: the SM's authentication request (B step 507; C step 603; sync).
    Authenticate {
        flow: Flow,
        op_id: String,
        challenge: Vec<u8>,
        salt: Vec<u8>,
        kdf: Vec<u8>,
        need_parameter: bool,
    },
    /// `BF69`: the sealed operator profile (A step 411; B step 519), authorised by the SM
    /// over the card's challenge of the BF6D before it.
    InstallProfile {
        op_id: String,
        sealed: Vec<u8>,
        key: KeySource,
        auth: SmAuth,
    },
    /// `BF6A`: the answer of the last BF66/BF67/BF68 once its proactive session ended.
    FetchResult,
    /// `BF6B`: the SM has the old card drop a profile that moved to another device,
    /// authorised as BF69 is.
    RemoveProfile {
        op_id: String,
        iccid: Iccid,
        auth: SmAuth,
    },
    /// `BF6C`: sign a fresh challenge with the card's identity key.
    Identity { challenge: Vec<u8> },
    /// `BF6D`: a fresh one-time challenge of the card for the SM's next authorisation.
    CardChallenge,
}

impl std::fmt::Debug for DcRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DcRequest::InstallProfile {
                op_id, sealed, key, ..
            } => write!(
                f,
                "InstallProfile {{ op_id: {op_id:?}, sealed: <{} bytes>, key: {key:?} }}",
                sealed.len()
            ),
            DcRequest::Begin { flow } => write!(f, "Begin {{ {flow:?} }}"),
            DcRequest::GenerateKey { flow, op_id, .. } => {
                write!(f, "GenerateKey {{ {flow:?}, op_id: {op_id:?} }}")
            }
            DcRequest::Authenticate {
                flow,
                op_id,
                need_parameter,
                ..
            } => write!(
                f,
                "Authenticate {{ {flow:?}, op_id: {op_id:?}, need_parameter: {need_parameter} }}"
            ),
            DcRequest::FetchResult => write!(f, "FetchResult"),
            DcRequest::RemoveProfile { op_id, iccid, .. } => {
                write!(f, "RemoveProfile {{ op_id: {op_id:?}, iccid: {iccid} }}")
            }
            DcRequest::Identity { .. } => write!(f, "Identity"),
            DcRequest::CardChallenge => write!(f, "CardChallenge"),
        }
    }
}

pub(crate) fn flow_of(t: &Tlv) -> Result<Flow> {
    let v = tlv::require_bytes(t, 0x81)?;
    match v {
        [b] => Flow::from_u8(*b),
        _ => None,
    }
    .ok_or(Error::InvalidValue {
        tag: 0x81,
        reason: "unknown flow",
    })
}

pub(crate) fn op_id_of(t: &Tlv) -> Result<String> {
    let v = tlv::require_bytes(t, 0x82)?;
    if v.is_empty() || v.len() > MAX_OP_ID {
        return Err(Error::InvalidValue {
            tag: 0x82,
            reason: "OP ID must be 1 to 64 bytes",
        });
    }
    String::from_utf8(v.to_vec()).map_err(|_| Error::InvalidValue {
        tag: 0x82,
        reason: "OP ID is not UTF-8",
    })
}

/// The fields the SM sends with BF67 and BF68: flow, OP ID, challenge, salt, KDF.
fn sm_fields(flow: Flow, op_id: &str, challenge: &[u8], salt: &[u8], kdf: &[u8]) -> Vec<Tlv> {
    vec![
        prim::<0x81>(vec![flow as u8]),
        prim::<0x82>(op_id.as_bytes().to_vec()),
        prim::<0x89>(challenge.to_vec()),
        prim::<0x8A>(salt.to_vec()),
        prim::<0x8B>(kdf.to_vec()),
    ]
}

/// The SM's authorisation fields of BF69 and BF6B.
fn auth_fields(a: &SmAuth) -> [Tlv; 3] {
    [
        prim::<0x89>(a.sm_challenge.clone()),
        prim::<0x90>(a.certificate.clone()),
        prim::<0x91>(a.signature.clone()),
    ]
}

fn auth_of(t: &Tlv) -> Result<SmAuth> {
    Ok(SmAuth {
        sm_challenge: bytes_of(t, 0x89, 64)?,
        certificate: bytes_of(t, 0x90, MAX_CERT_LEN)?,
        signature: bytes_of(t, 0x91, AUTH_SIGNATURE_LEN)?,
    })
}

fn bytes_of(t: &Tlv, tag: u32, max: usize) -> Result<Vec<u8>> {
    let v = tlv::require_bytes(t, tag)?;
    if v.len() > max {
        return Err(Error::InvalidValue {
            tag,
            reason: "value too long",
        });
    }
    Ok(v.to_vec())
}

impl DcRequest {
    /// The function this request calls.
    pub fn function(&self) -> Function {
        match self {
            DcRequest::Begin { .. } => Function::Begin,
            DcRequest::GenerateKey { .. } => Function::GenerateKey,
            DcRequest::Authenticate { .. } => Function::Authenticate,
            DcRequest::InstallProfile { .. } => Function::InstallProfile,
            DcRequest::FetchResult => Function::FetchResult,
            DcRequest::RemoveProfile { .. } => Function::RemoveProfile,
            DcRequest::Identity { .. } => Function::Identity,
            DcRequest::CardChallenge => Function::CardChallenge,
        }
    }

    /// The top-level tag of this request.
    pub fn tag(&self) -> u32 {
        self.function().tag()
    }

    pub fn encode(&self) -> Vec<u8> {
        let c: Vec<Tlv> = match self {
            DcRequest::Begin { flow } => vec![prim::<0x81>(vec![*flow as u8])],
            DcRequest::GenerateKey {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
            } => sm_fields(*flow, op_id, challenge, salt, kdf),
            DcRequest::Authenticate {
                flow,
                op_id,
                challenge,
                salt,
                kdf,
                need_parameter,
            } => {
                let mut c = sm_fields(*flow, op_id, challenge, salt, kdf);
                let flag = if *need_parameter { 0xFF } else { 0x00 };
                c.push(prim::<0x8C>(vec![flag]));
                c
            }
            DcRequest::InstallProfile {
                op_id,
                sealed,
                key,
                auth,
            } => {
                let mut c = vec![
                    prim::<0x82>(op_id.as_bytes().to_vec()),
                    prim::<0x8D>(sealed.clone()),
                    prim::<0x8E>(vec![*key as u8]),
                ];
                c.extend(auth_fields(auth));
                c
            }
            DcRequest::FetchResult | DcRequest::CardChallenge => vec![],
            DcRequest::RemoveProfile { op_id, iccid, auth } => {
                let mut c = vec![
                    prim::<0x82>(op_id.as_bytes().to_vec()),
                    prim::<0x5A>(iccid.0.to_vec()),
                ];
                c.extend(auth_fields(auth));
                c
            }
            DcRequest::Identity { challenge } => vec![prim::<0x89>(challenge.clone())],
        };
        tlv::encode(&tlv::cons_tagged(self.function().cons_tag(), c))
    }

    /// Decodes a request whose top-level tag is a [`Function`]'s; `None` for any other
    /// tag (so the caller can try ES10), `Some(Err)` for bad content.
    pub fn decode_tlv(t: &Tlv) -> Option<Result<DcRequest>> {
        let function = Function::from_tag(tlv::tag_num(t))?;
        Some(Self::decode_known(function, t))
    }

    fn decode_known(function: Function, t: &Tlv) -> Result<DcRequest> {
        if !t.tag().is_constructed() {
            return Err(Error::Malformed("not constructed"));
        }
        Ok(match function {
            Function::Begin => DcRequest::Begin { flow: flow_of(t)? },
            Function::GenerateKey => DcRequest::GenerateKey {
                flow: flow_of(t)?,
                op_id: op_id_of(t)?,
                challenge: bytes_of(t, 0x89, 64)?,
                salt: bytes_of(t, 0x8A, 64)?,
                kdf: bytes_of(t, 0x8B, 64)?,
            },
            Function::Authenticate => DcRequest::Authenticate {
                flow: flow_of(t)?,
                op_id: op_id_of(t)?,
                challenge: bytes_of(t, 0x89, 64)?,
                salt: bytes_of(t, 0x8A, 64)?,
                kdf: bytes_of(t, 0x8B, 64)?,
                need_parameter: match tlv::require_bytes(t, 0x8C)? {
                    [b] => *b != 0,
                    _ => {
                        return Err(Error::InvalidValue {
                            tag: 0x8C,
                            reason: "a BOOLEAN is one byte",
                        })
                    }
                },
            },
            Function::InstallProfile => DcRequest::InstallProfile {
                op_id: op_id_of(t)?,
                sealed: bytes_of(t, 0x8D, MAX_SEALED)?,
                key: match tlv::require_bytes(t, 0x8E)? {
                    [0] => KeySource::Parameter,
                    [1] => KeySource::Identity,
                    _ => {
                        return Err(Error::InvalidValue {
                            tag: 0x8E,
                            reason: "unknown key source",
                        })
                    }
                },
                auth: auth_of(t)?,
            },
            Function::FetchResult => DcRequest::FetchResult,
            Function::RemoveProfile => DcRequest::RemoveProfile {
                op_id: op_id_of(t)?,
                iccid: Iccid::from_bytes(tlv::require_bytes(t, 0x5A)?)?,
                auth: auth_of(t)?,
            },
            Function::Identity => DcRequest::Identity {
                challenge: bytes_of(t, 0x89, 64)?,
            },
            Function::CardChallenge => DcRequest::CardChallenge,
        })
    }

    /// Decodes a whole STORE DATA message.
    pub fn decode(b: &[u8]) -> Result<DcRequest> {
        let t = tlv::parse(b)?;
        Self::decode_tlv(&t).unwrap_or(Err(Error::Malformed("not a device-change function")))
    }
}
