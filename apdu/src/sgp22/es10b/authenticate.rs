//! ES10b.AuthenticateServer (SGP.22 §5.7.13): `AuthenticateServerRequest ::= [56]
//! SEQUENCE { serverSigned1, serverSignature1 [APPLICATION 55], euiccCiPKIdToBeUsed
//! SubjectKeyIdentifier, serverCertificate Certificate, ctxParams1 CtxParams1 }` and its
//! answer `[56] CHOICE { authenticateResponseOk [0], authenticateResponseError [1] }`.
//! `serverSignature1` covers the `serverSigned1` TLV; `euiccSignature1` covers the
//! `euiccSigned1` TLV.

use super::common::{
    capped, certificate, decode_error_result, der, encode_error_result, nth_child, req_child,
    req_cons, transaction_id, wrap, AuthenticateErrorCode, Encoded, ToDer, MAX_SIGNATURE,
};
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, ConsTag, Tlv};
use crate::sgp22::es10::der as d;

const OUTER: ConsTag = ConsTag::of(super::tags::AUTHENTICATE_SERVER);

/// `ServerSigned1 ::= SEQUENCE { transactionId [0], euiccChallenge [1] Octet16,
/// serverAddress [3] UTF8String, serverChallenge [4] Octet16 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSigned1 {
    pub transaction_id: Vec<u8>,
    pub euicc_challenge: [u8; 16],
    pub server_address: String,
    pub server_challenge: [u8; 16],
}

impl ToDer for ServerSigned1 {
    fn to_der(&self) -> Vec<u8> {
        der(&cons::<0x30>(vec![
            prim::<0x80>(self.transaction_id.clone()),
            prim::<0x81>(self.euicc_challenge.to_vec()),
            prim::<0x83>(self.server_address.clone().into_bytes()),
            prim::<0x84>(self.server_challenge.to_vec()),
        ]))
    }
}

impl ServerSigned1 {
    fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(ServerSigned1 {
            transaction_id: transaction_id(0x80, d::req(t, 0x80)?)?,
            euicc_challenge: d::fixed(0x81, d::req(t, 0x81)?)?,
            server_address: d::utf8(0x83, d::req(t, 0x83)?, 255)?,
            server_challenge: d::fixed(0x84, d::req(t, 0x84)?)?,
        })
    }
}

/// `DeviceInfo ::= SEQUENCE { tac Octet4, deviceCapabilities DeviceCapabilities, imei
/// Octet8 OPTIONAL }` (automatic tags `80`, `A1`, `82`). lpac sends a 4-byte TAC and an
/// empty `deviceCapabilities`; the capabilities are kept as their raw content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub tac: Vec<u8>,
    /// The content octets of `deviceCapabilities` (`A1`).
    pub capabilities: Vec<u8>,
    pub imei: Option<Vec<u8>>,
}

/// `CtxParams1 ::= CHOICE { ctxParamsForCommonAuthentication [0] SEQUENCE { matchingId
/// [0] UTF8String OPTIONAL, deviceInfo [1] DeviceInfo } }`: tag `A0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtxParams1 {
    pub matching_id: Option<String>,
    pub device_info: DeviceInfo,
}

impl ToDer for CtxParams1 {
    fn to_der(&self) -> Vec<u8> {
        let di = &self.device_info;
        let tac = der(&prim::<0x80>(di.tac.clone()));
        let caps = wrap(ConsTag::of(0xA1), &[&di.capabilities]);
        let imei = di
            .imei
            .as_ref()
            .map(|i| der(&prim::<0x82>(i.clone())))
            .unwrap_or_default();
        let info = wrap(ConsTag::of(0xA1), &[&tac, &caps, &imei]);
        let matching = self
            .matching_id
            .as_ref()
            .map(|m| der(&prim::<0x80>(m.clone().into_bytes())))
            .unwrap_or_default();
        wrap(ConsTag::of(0xA0), &[&matching, &info])
    }
}

impl CtxParams1 {
    fn from_tlv(t: &Tlv) -> Result<Self> {
        let di = req_cons(t, 0xA1)?;
        let tac = d::req(di, 0x80)?;
        if !(4..=8).contains(&tac.len()) {
            return Err(Error::InvalidValue {
                tag: 0x80,
                reason: "a TAC has 4 bytes",
            });
        }
        let caps = req_cons(di, 0xA1)?;
        Ok(CtxParams1 {
            matching_id: tlv::child_bytes(t, 0x80)
                .map(|v| d::utf8(0x80, v, 255))
                .transpose()?,
            device_info: DeviceInfo {
                tac: tac.to_vec(),
                capabilities: tlv::encode_all(tlv::children(caps)),
                imei: tlv::child_bytes(di, 0x82)
                    .map(|v| capped(0x82, v, 8))
                    .transpose()?,
            },
        })
    }
}

/// The AuthenticateServer request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateServerRequest {
    pub server_signed1: Encoded<ServerSigned1>,
    /// The value of `serverSignature1` (`5F37`): r||s.
    pub server_signature1: Vec<u8>,
    /// `euiccCiPKIdToBeUsed`: the subject key identifier of the CI to use.
    pub ci_pkid: Vec<u8>,
    /// `serverCertificate`: CERT.DPauth.ECDSA, DER.
    pub server_certificate: Vec<u8>,
    pub ctx_params1: Encoded<CtxParams1>,
}

impl AuthenticateServerRequest {
    pub(super) fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(AuthenticateServerRequest {
            server_signed1: Encoded::from_tlv(req_cons(t, 0x30)?, ServerSigned1::from_tlv)?,
            server_signature1: capped(0x5F37, d::req(t, 0x5F37)?, MAX_SIGNATURE)?,
            ci_pkid: capped(0x04, d::req(t, 0x04)?, 32)?,
            server_certificate: certificate(nth_child(t, 0x30, 1)?)?,
            ctx_params1: Encoded::from_tlv(req_cons(t, 0xA0)?, CtxParams1::from_tlv)?,
        })
    }

    /// The request bytes, as lpac assembles them from the SM-DP+'s answer.
    pub fn encode(&self) -> Vec<u8> {
        wrap(
            OUTER,
            &[
                self.server_signed1.der(),
                &super::signed_data::signature_tlv(&self.server_signature1),
                &der(&prim::<0x04>(self.ci_pkid.clone())),
                &self.server_certificate,
                self.ctx_params1.der(),
            ],
        )
    }
}

/// `EuiccSigned1 ::= SEQUENCE { transactionId [0], serverAddress [3], serverChallenge
/// [4] Octet16, euiccInfo2 [34] EUICCInfo2, ctxParams1 CtxParams1 }`; `euiccInfo2` and
/// `ctxParams1` as whole TLVs (the card's `BF22` answer, the request's `A0` echoed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuiccSigned1 {
    pub transaction_id: Vec<u8>,
    pub server_address: String,
    pub server_challenge: [u8; 16],
    pub euicc_info2: Vec<u8>,
    pub ctx_params1: Vec<u8>,
}

impl ToDer for EuiccSigned1 {
    fn to_der(&self) -> Vec<u8> {
        wrap(
            ConsTag::of(0x30),
            &[
                &der(&prim::<0x80>(self.transaction_id.clone())),
                &der(&prim::<0x83>(self.server_address.clone().into_bytes())),
                &der(&prim::<0x84>(self.server_challenge.to_vec())),
                &self.euicc_info2,
                &self.ctx_params1,
            ],
        )
    }
}

impl EuiccSigned1 {
    fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(EuiccSigned1 {
            transaction_id: transaction_id(0x80, d::req(t, 0x80)?)?,
            server_address: d::utf8(0x83, d::req(t, 0x83)?, 255)?,
            server_challenge: d::fixed(0x84, d::req(t, 0x84)?)?,
            euicc_info2: der(req_cons(t, 0xBF22)?),
            ctx_params1: der(req_cons(t, 0xA0)?),
        })
    }
}

/// `AuthenticateResponseOk ::= SEQUENCE { euiccSigned1, euiccSignature1 [APPLICATION 55],
/// euiccCertificate Certificate, eumCertificate Certificate }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticateResponseOk {
    pub euicc_signed1: Encoded<EuiccSigned1>,
    /// r||s over `euicc_signed1.der()`.
    pub euicc_signature1: Vec<u8>,
    pub euicc_certificate: Vec<u8>,
    pub eum_certificate: Vec<u8>,
}

/// The AuthenticateServer answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticateServerResponse {
    Ok(Box<AuthenticateResponseOk>),
    /// `authenticateResponseError [1] SEQUENCE { transactionId [0], authenticateErrorCode
    /// INTEGER }`.
    Error {
        transaction_id: Vec<u8>,
        code: AuthenticateErrorCode,
    },
}

impl AuthenticateServerResponse {
    pub fn encode(&self) -> Vec<u8> {
        let inner = match self {
            AuthenticateServerResponse::Ok(ok) => wrap(
                ConsTag::of(0xA0),
                &[
                    ok.euicc_signed1.der(),
                    &super::signed_data::signature_tlv(&ok.euicc_signature1),
                    &ok.euicc_certificate,
                    &ok.eum_certificate,
                ],
            ),
            AuthenticateServerResponse::Error {
                transaction_id,
                code,
            } => encode_error_result(transaction_id, u8::from(*code)),
        };
        wrap(OUTER, &[&inner])
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let t = tlv::parse_expect(b, OUTER.num())?;
        if let Some((transaction_id, code)) = decode_error_result(&t)? {
            return Ok(AuthenticateServerResponse::Error {
                transaction_id,
                code: code.into(),
            });
        }
        let ok = req_cons(&t, 0xA0)?;
        Ok(AuthenticateServerResponse::Ok(Box::new(
            AuthenticateResponseOk {
                euicc_signed1: Encoded::from_tlv(req_child(ok, 0x30)?, EuiccSigned1::from_tlv)?,
                euicc_signature1: capped(0x5F37, d::req(ok, 0x5F37)?, MAX_SIGNATURE)?,
                euicc_certificate: certificate(nth_child(ok, 0x30, 1)?)?,
                eum_certificate: certificate(nth_child(ok, 0x30, 2)?)?,
            },
        )))
    }
}
