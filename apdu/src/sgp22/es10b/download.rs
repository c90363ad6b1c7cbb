//! ES10b.PrepareDownload (SGP.22 §5.7.14): `PrepareDownloadRequest ::= [33] SEQUENCE {
//! smdpSigned2 SmdpSigned2, smdpSignature2 [APPLICATION 55], hashCc Octet32 OPTIONAL,
//! smdpCertificate Certificate }` and its answer `[33] CHOICE { downloadResponseOk [0],
//! downloadResponseError [1] }`. `smdpSignature2` covers `smdpSigned2 ||
//! euiccSignature1`; `euiccSignature2` covers `euiccSigned2 || smdpSignature2`
//! (see [`super::signed_data`]).

use super::common::{
    capped, certificate, decode_error_result, der, encode_error_result, nth_child, req_cons,
    transaction_id, wrap, DownloadErrorCode, Encoded, ToDer, MAX_OTPK, MAX_SIGNATURE,
};
use crate::error::Result;
use crate::iso7816::tlv::{self, cons, prim, ConsTag, Tlv};
use crate::sgp22::es10::der as d;

const OUTER: ConsTag = ConsTag::of(super::tags::PREPARE_DOWNLOAD);

/// `SmdpSigned2 ::= SEQUENCE { transactionId [0], ccRequiredFlag BOOLEAN, bppEuiccOtpk
/// [APPLICATION 73] OCTET STRING OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmdpSigned2 {
    pub transaction_id: Vec<u8>,
    pub cc_required: bool,
    /// An otPK.EUICC.ECKA already used to bind the BPP (a retried download).
    pub bpp_euicc_otpk: Option<Vec<u8>>,
}

impl ToDer for SmdpSigned2 {
    fn to_der(&self) -> Vec<u8> {
        let mut c = vec![
            prim::<0x80>(self.transaction_id.clone()),
            // X.690 §11.1: DER TRUE is FF.
            prim::<0x01>(vec![if self.cc_required { 0xFF } else { 0x00 }]),
        ];
        if let Some(k) = &self.bpp_euicc_otpk {
            c.push(prim::<0x5F49>(k.clone()));
        }
        der(&cons::<0x30>(c))
    }
}

impl SmdpSigned2 {
    fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(SmdpSigned2 {
            transaction_id: transaction_id(0x80, d::req(t, 0x80)?)?,
            cc_required: d::boolean(0x01, d::req(t, 0x01)?)?,
            bpp_euicc_otpk: tlv::child_bytes(t, 0x5F49)
                .map(|v| capped(0x5F49, v, MAX_OTPK))
                .transpose()?,
        })
    }
}

/// The PrepareDownload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareDownloadRequest {
    pub smdp_signed2: Encoded<SmdpSigned2>,
    /// The value of `smdpSignature2` (`5F37`): r||s.
    pub smdp_signature2: Vec<u8>,
    /// `SHA-256(SHA-256(confirmation code) || transactionId)`, computed by the LPA.
    pub hash_cc: Option<[u8; 32]>,
    /// CERT.DPpb.ECDSA, DER.
    pub smdp_certificate: Vec<u8>,
}

impl PrepareDownloadRequest {
    pub(super) fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(PrepareDownloadRequest {
            smdp_signed2: Encoded::from_tlv(req_cons(t, 0x30)?, SmdpSigned2::from_tlv)?,
            smdp_signature2: capped(0x5F37, d::req(t, 0x5F37)?, MAX_SIGNATURE)?,
            hash_cc: tlv::child_bytes(t, 0x04)
                .map(|v| d::fixed(0x04, v))
                .transpose()?,
            smdp_certificate: certificate(nth_child(t, 0x30, 1)?)?,
        })
    }

    /// The request as lpac assembles it.
    pub fn encode(&self) -> Vec<u8> {
        let hash = self
            .hash_cc
            .map(|h| der(&prim::<0x04>(h.to_vec())))
            .unwrap_or_default();
        wrap(
            OUTER,
            &[
                self.smdp_signed2.der(),
                &super::signed_data::signature_tlv(&self.smdp_signature2),
                &hash,
                &self.smdp_certificate,
            ],
        )
    }
}

/// `EUICCSigned2 ::= SEQUENCE { transactionId [0], euiccOtpk [APPLICATION 73] OCTET
/// STRING, hashCc Octet32 OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuiccSigned2 {
    pub transaction_id: Vec<u8>,
    /// otPK.EUICC.ECKA, an uncompressed point (`04 || X || Y`).
    pub euicc_otpk: Vec<u8>,
    pub hash_cc: Option<[u8; 32]>,
}

impl ToDer for EuiccSigned2 {
    fn to_der(&self) -> Vec<u8> {
        let mut c = vec![
            prim::<0x80>(self.transaction_id.clone()),
            prim::<0x5F49>(self.euicc_otpk.clone()),
        ];
        if let Some(h) = self.hash_cc {
            c.push(prim::<0x04>(h.to_vec()));
        }
        der(&cons::<0x30>(c))
    }
}

impl EuiccSigned2 {
    fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(EuiccSigned2 {
            transaction_id: transaction_id(0x80, d::req(t, 0x80)?)?,
            euicc_otpk: capped(0x5F49, d::req(t, 0x5F49)?, MAX_OTPK)?,
            hash_cc: tlv::child_bytes(t, 0x04)
                .map(|v| d::fixed(0x04, v))
                .transpose()?,
        })
    }
}

/// `PrepareDownloadResponseOk ::= SEQUENCE { euiccSigned2, euiccSignature2 [APPLICATION 55] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareDownloadResponseOk {
    pub euicc_signed2: Encoded<EuiccSigned2>,
    pub euicc_signature2: Vec<u8>,
}

/// The PrepareDownload answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareDownloadResponse {
    Ok(PrepareDownloadResponseOk),
    /// `downloadResponseError [1] SEQUENCE { transactionId [0], downloadErrorCode INTEGER }`.
    Error {
        transaction_id: Vec<u8>,
        code: DownloadErrorCode,
    },
}

impl PrepareDownloadResponse {
    pub fn encode(&self) -> Vec<u8> {
        let inner = match self {
            PrepareDownloadResponse::Ok(ok) => wrap(
                ConsTag::of(0xA0),
                &[
                    ok.euicc_signed2.der(),
                    &super::signed_data::signature_tlv(&ok.euicc_signature2),
                ],
            ),
            PrepareDownloadResponse::Error {
                transaction_id,
                code,
            } => encode_error_result(transaction_id, u8::from(*code)),
        };
        wrap(OUTER, &[&inner])
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let t = tlv::parse_expect(b, OUTER.num())?;
        if let Some((transaction_id, code)) = decode_error_result(&t)? {
            return Ok(PrepareDownloadResponse::Error {
                transaction_id,
                code: code.into(),
            });
        }
        let ok = req_cons(&t, 0xA0)?;
        Ok(PrepareDownloadResponse::Ok(PrepareDownloadResponseOk {
            euicc_signed2: Encoded::from_tlv(req_cons(ok, 0x30)?, EuiccSigned2::from_tlv)?,
            euicc_signature2: capped(0x5F37, d::req(ok, 0x5F37)?, MAX_SIGNATURE)?,
        }))
    }
}
