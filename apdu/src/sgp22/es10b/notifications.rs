//! ES10b.RetrieveNotificationsList (SGP.22 §5.7.11):
//!
//! ```text
//! RetrieveNotificationsListRequest ::= [43] SEQUENCE {                 -- BF2B
//!   searchCriteria [0] CHOICE { seqNumber [0] INTEGER,                 -- A0 { 80 | 81 }
//!                               profileManagementOperation [1] NotificationEvent } OPTIONAL }
//! RetrieveNotificationsListResponse ::= [43] CHOICE {
//!   notificationList [0] SEQUENCE OF PendingNotification,              -- A0
//!   notificationsListResultError [1] INTEGER }                         -- 81
//! PendingNotification ::= CHOICE {
//!   profileInstallationResult [55] ProfileInstallationResult,          -- BF37
//!   otherSignedNotification SEQUENCE {                                 -- 30
//!     tbsOtherNotification NotificationMetadata,                       -- BF2F
//!     euiccNotificationSignature [APPLICATION 55],                     -- 5F37, over the BF2F TLV
//!     euiccCertificate Certificate, eumCertificate Certificate } }
//! ```

use super::common::{
    capped, certificate, der, int_child, int_tlv, nth_child, req_cons, wrap, Encoded,
    RetrieveNotificationsError, ToDer, MAX_SIGNATURE,
};
use super::install_result::ProfileInstallationResult;
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, ConsTag, PrimTag, Tlv};
use crate::sgp22::es10::{der as d, NotificationMetadata};

const OUTER: ConsTag = ConsTag::of(super::tags::RETRIEVE_NOTIFICATIONS);
/// Most notifications we decode from one answer.
const MAX_NOTIFICATIONS: usize = 256;

/// `searchCriteria`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchCriteria {
    SeqNumber(u32),
    /// `NotificationEvent` bits ([`crate::sgp22::es10::events`]).
    Operation(u8),
}

/// The RetrieveNotificationsList request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetrieveNotificationsListRequest {
    pub search: Option<SearchCriteria>,
}

impl RetrieveNotificationsListRequest {
    pub(super) fn from_tlv(t: &Tlv) -> Result<Self> {
        let Some(sc) = tlv::child(t, 0xA0) else {
            return Ok(Self::default());
        };
        let search = if let Some(v) = tlv::child_bytes(sc, 0x80) {
            let n = tlv::read_uint(0x80, v)?;
            SearchCriteria::SeqNumber(u32::try_from(n).map_err(|_| Error::InvalidValue {
                tag: 0x80,
                reason: "sequence number out of range",
            })?)
        } else {
            SearchCriteria::Operation(d::bits_decode(0x81, d::req(sc, 0x81)?)?)
        };
        Ok(RetrieveNotificationsListRequest {
            search: Some(search),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let c = match self.search {
            None => vec![],
            Some(SearchCriteria::SeqNumber(n)) => vec![cons::<0xA0>(vec![prim::<0x80>(
                tlv::int_bytes(u64::from(n)),
            )])],
            Some(SearchCriteria::Operation(b)) => {
                vec![cons::<0xA0>(vec![prim::<0x81>(d::bits_encode(b))])]
            }
        };
        der(&cons::<0xBF2B>(c))
    }
}

/// `OtherSignedNotification`: enable, disable and delete notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherSignedNotification {
    pub tbs: Encoded<NotificationMetadata>,
    /// r||s over `tbs.der()`.
    pub signature: Vec<u8>,
    pub euicc_certificate: Vec<u8>,
    pub eum_certificate: Vec<u8>,
}

impl ToDer for NotificationMetadata {
    fn to_der(&self) -> Vec<u8> {
        der(&self.to_tlv())
    }
}

/// A pending notification as RetrieveNotificationsList answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingNotification {
    InstallResult(ProfileInstallationResult),
    Other(OtherSignedNotification),
}

impl PendingNotification {
    /// The notification's metadata (sequence number, event, address, ICCID).
    pub fn metadata(&self) -> &NotificationMetadata {
        match self {
            PendingNotification::InstallResult(r) => &r.data.value().notification,
            PendingNotification::Other(o) => o.tbs.value(),
        }
    }

    /// The whole TLV, as the LPA forwards it to ES9+ HandleNotification.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            PendingNotification::InstallResult(r) => r.encode(),
            PendingNotification::Other(o) => wrap(
                ConsTag::of(0x30),
                &[
                    o.tbs.der(),
                    &super::signed_data::signature_tlv(&o.signature),
                    &o.euicc_certificate,
                    &o.eum_certificate,
                ],
            ),
        }
    }

    fn from_tlv(t: &Tlv) -> Result<Self> {
        match tlv::tag_num(t) {
            0xBF37 => Ok(PendingNotification::InstallResult(
                ProfileInstallationResult::from_tlv(t)?,
            )),
            0x30 => Ok(PendingNotification::Other(OtherSignedNotification {
                tbs: Encoded::from_tlv(req_cons(t, 0xBF2F)?, NotificationMetadata::from_tlv)?,
                signature: capped(0x5F37, d::req(t, 0x5F37)?, MAX_SIGNATURE)?,
                euicc_certificate: certificate(nth_child(t, 0x30, 0)?)?,
                eum_certificate: certificate(nth_child(t, 0x30, 1)?)?,
            })),
            found => Err(Error::UnexpectedTag {
                expected: 0x30,
                found,
            }),
        }
    }
}

/// The RetrieveNotificationsList answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrieveNotificationsListResponse {
    List(Vec<PendingNotification>),
    Error(RetrieveNotificationsError),
}

impl RetrieveNotificationsListResponse {
    pub fn encode(&self) -> Vec<u8> {
        let inner = match self {
            RetrieveNotificationsListResponse::List(l) => {
                let parts: Vec<Vec<u8>> = l.iter().map(PendingNotification::encode).collect();
                let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                wrap(ConsTag::of(0xA0), &refs)
            }
            RetrieveNotificationsListResponse::Error(e) => {
                der(&int_tlv(PrimTag::of(0x81), u8::from(*e)))
            }
        };
        wrap(OUTER, &[&inner])
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let t = tlv::parse_expect(b, OUTER.num())?;
        if tlv::child_bytes(&t, 0x81).is_some() {
            return Ok(RetrieveNotificationsListResponse::Error(
                int_child(&t, 0x81)?.into(),
            ));
        }
        let list = req_cons(&t, 0xA0)?;
        let items = tlv::children(list);
        if items.len() > MAX_NOTIFICATIONS {
            return Err(Error::Malformed("too many notifications"));
        }
        items
            .iter()
            .map(PendingNotification::from_tlv)
            .collect::<Result<Vec<_>>>()
            .map(RetrieveNotificationsListResponse::List)
    }
}
