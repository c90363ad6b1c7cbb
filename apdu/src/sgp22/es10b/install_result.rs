//! ProfileInstallationResult (SGP.22 §5.7.6; the answer to the last LoadBoundProfilePackage
//! segment, or to the one that failed, and a pending notification afterwards):
//!
//! ```text
//! ProfileInstallationResult ::= [55] SEQUENCE {                      -- BF37
//!   profileInstallationResultData [39] SEQUENCE {                    -- BF27
//!     transactionId [0], notificationMetadata [47],                  -- 80, BF2F
//!     smdpOid OBJECT IDENTIFIER OPTIONAL,                            -- 06
//!     finalResult [2] CHOICE {                                       -- A2
//!       successResult [0] { aid [APPLICATION 15], simaResponse OCTET STRING },   -- A0 {4F, 04}
//!       errorResult [1] { bppCommandId [0], errorReason [1], simaResponse [2] OPTIONAL } } }, -- A1 {80, 81, 82}
//!   euiccSignPIR [APPLICATION 55] }                                   -- 5F37
//! ```
//! `euiccSignPIR` covers the `profileInstallationResultData` TLV (osmo-smdpp verifies
//! exactly that).

use super::common::{
    capped, der, int_child, int_tlv, req_cons, transaction_id, wrap, BppCommandId, Encoded,
    ErrorReason, ToDer, MAX_SIGNATURE,
};
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, ConsTag, PrimTag, Tlv};
use crate::sgp22::es10::{der as d, NotificationMetadata};

const OUTER: ConsTag = ConsTag::of(super::tags::PROFILE_INSTALLATION_RESULT);
/// Largest `simaResponse` we decode.
const MAX_SIMA_RESPONSE: usize = 4096;

/// `finalResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalResult {
    Success {
        /// AID of the ISD-P (5 to 16 bytes).
        aid: Vec<u8>,
        /// `EUICCResponse`s of the SIMalliance profile package (SAIP §8.3).
        sima_response: Vec<u8>,
    },
    Error {
        command: BppCommandId,
        reason: ErrorReason,
        sima_response: Option<Vec<u8>>,
    },
}

/// `ProfileInstallationResultData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInstallationResultData {
    pub transaction_id: Vec<u8>,
    pub notification: NotificationMetadata,
    /// The content octets of the SM-DP+ OID (as in CERT.DPpb), if known.
    pub smdp_oid: Option<Vec<u8>>,
    pub final_result: FinalResult,
}

impl ToDer for ProfileInstallationResultData {
    fn to_der(&self) -> Vec<u8> {
        let mut c = vec![
            prim::<0x80>(self.transaction_id.clone()),
            self.notification.to_tlv(),
        ];
        if let Some(oid) = &self.smdp_oid {
            c.push(prim::<0x06>(oid.clone()));
        }
        let result = match &self.final_result {
            FinalResult::Success { aid, sima_response } => cons::<0xA0>(vec![
                prim::<0x4F>(aid.clone()),
                prim::<0x04>(sima_response.clone()),
            ]),
            FinalResult::Error {
                command,
                reason,
                sima_response,
            } => {
                let mut e = vec![
                    int_tlv(PrimTag::of(0x80), u8::from(*command)),
                    int_tlv(PrimTag::of(0x81), u8::from(*reason)),
                ];
                if let Some(s) = sima_response {
                    e.push(prim::<0x82>(s.clone()));
                }
                cons::<0xA1>(e)
            }
        };
        c.push(cons::<0xA2>(vec![result]));
        der(&cons::<0xBF27>(c))
    }
}

impl ProfileInstallationResultData {
    fn from_tlv(t: &Tlv) -> Result<Self> {
        let fr = req_cons(t, 0xA2)?;
        let final_result = if let Some(ok) = tlv::child(fr, 0xA0) {
            let aid = d::req(ok, 0x4F)?;
            if !(5..=16).contains(&aid.len()) {
                return Err(Error::InvalidValue {
                    tag: 0x4F,
                    reason: "an ISD-P AID has 5 to 16 bytes",
                });
            }
            FinalResult::Success {
                aid: aid.to_vec(),
                sima_response: capped(0x04, d::req(ok, 0x04)?, MAX_SIMA_RESPONSE)?,
            }
        } else {
            let e = req_cons(fr, 0xA1)?;
            FinalResult::Error {
                command: int_child(e, 0x80)?.into(),
                reason: int_child(e, 0x81)?.into(),
                sima_response: tlv::child_bytes(e, 0x82)
                    .map(|v| capped(0x82, v, MAX_SIMA_RESPONSE))
                    .transpose()?,
            }
        };
        Ok(ProfileInstallationResultData {
            transaction_id: transaction_id(0x80, d::req(t, 0x80)?)?,
            notification: NotificationMetadata::from_tlv(req_cons(t, 0xBF2F)?)?,
            smdp_oid: tlv::child_bytes(t, 0x06)
                .map(|v| capped(0x06, v, 64))
                .transpose()?,
            final_result,
        })
    }
}

/// `ProfileInstallationResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInstallationResult {
    pub data: Encoded<ProfileInstallationResultData>,
    /// `euiccSignPIR`: r||s over `data.der()`.
    pub signature: Vec<u8>,
}

impl ProfileInstallationResult {
    pub fn encode(&self) -> Vec<u8> {
        wrap(
            OUTER,
            &[
                self.data.der(),
                &super::signed_data::signature_tlv(&self.signature),
            ],
        )
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        Self::from_tlv(&tlv::parse_expect(b, OUTER.num())?)
    }

    pub(super) fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(ProfileInstallationResult {
            data: Encoded::from_tlv(
                req_cons(t, 0xBF27)?,
                ProfileInstallationResultData::from_tlv,
            )?,
            signature: capped(0x5F37, d::req(t, 0x5F37)?, MAX_SIGNATURE)?,
        })
    }
}
