//! ES10b.CancelSession (SGP.22 §5.7.12): `CancelSessionRequest ::= [65] SEQUENCE {
//! transactionId [0], reason [1] CancelSessionReason }`; the answer `[65] CHOICE {
//! cancelSessionResponseOk [0] SEQUENCE { euiccCancelSessionSigned, euiccCancelSession
//! Signature [APPLICATION 55] }, cancelSessionResponseError [1] INTEGER }`.
//! `EuiccCancelSessionSigned ::= SEQUENCE { transactionId [0], smdpOid [1] OBJECT
//! IDENTIFIER, reason [2] }` (no component tagged: automatic tags `80`, `81`, `82`); the
//! signature covers its TLV.

use super::common::{
    capped, der, int_child, int_tlv, req_cons, transaction_id, wrap, CancelSessionError,
    CancelSessionReason, Encoded, ToDer, MAX_SIGNATURE,
};
use crate::error::Result;
use crate::iso7816::tlv::{self, cons, prim, ConsTag, PrimTag, Tlv};
use crate::sgp22::es10::der as d;

const OUTER: ConsTag = ConsTag::of(super::tags::CANCEL_SESSION);

/// The CancelSession request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelSessionRequest {
    pub transaction_id: Vec<u8>,
    pub reason: CancelSessionReason,
}

impl CancelSessionRequest {
    pub(super) fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(CancelSessionRequest {
            transaction_id: transaction_id(0x80, d::req(t, 0x80)?)?,
            reason: int_child(t, 0x81)?.into(),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        der(&cons::<0xBF41>(vec![
            prim::<0x80>(self.transaction_id.clone()),
            int_tlv(PrimTag::of(0x81), u8::from(self.reason)),
        ]))
    }
}

/// `EuiccCancelSessionSigned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuiccCancelSessionSigned {
    pub transaction_id: Vec<u8>,
    /// Content octets of the SM-DP+ OID (from CERT.DPauth).
    pub smdp_oid: Vec<u8>,
    pub reason: CancelSessionReason,
}

impl ToDer for EuiccCancelSessionSigned {
    fn to_der(&self) -> Vec<u8> {
        der(&cons::<0x30>(vec![
            prim::<0x80>(self.transaction_id.clone()),
            prim::<0x81>(self.smdp_oid.clone()),
            int_tlv(PrimTag::of(0x82), u8::from(self.reason)),
        ]))
    }
}

impl EuiccCancelSessionSigned {
    fn from_tlv(t: &Tlv) -> Result<Self> {
        Ok(EuiccCancelSessionSigned {
            transaction_id: transaction_id(0x80, d::req(t, 0x80)?)?,
            smdp_oid: capped(0x81, d::req(t, 0x81)?, 64)?,
            reason: int_child(t, 0x82)?.into(),
        })
    }
}

/// The CancelSession answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelSessionResponse {
    Ok {
        signed: Encoded<EuiccCancelSessionSigned>,
        signature: Vec<u8>,
    },
    Error(CancelSessionError),
}

impl CancelSessionResponse {
    pub fn encode(&self) -> Vec<u8> {
        let inner = match self {
            CancelSessionResponse::Ok { signed, signature } => wrap(
                ConsTag::of(0xA0),
                &[signed.der(), &super::signed_data::signature_tlv(signature)],
            ),
            CancelSessionResponse::Error(e) => der(&int_tlv(PrimTag::of(0x81), u8::from(*e))),
        };
        wrap(OUTER, &[&inner])
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let t = tlv::parse_expect(b, OUTER.num())?;
        if tlv::child_bytes(&t, 0x81).is_some() {
            return Ok(CancelSessionResponse::Error(int_child(&t, 0x81)?.into()));
        }
        let ok = req_cons(&t, 0xA0)?;
        Ok(CancelSessionResponse::Ok {
            signed: Encoded::from_tlv(req_cons(ok, 0x30)?, EuiccCancelSessionSigned::from_tlv)?,
            signature: capped(0x5F37, d::req(ok, 0x5F37)?, MAX_SIGNATURE)?,
        })
    }
}
