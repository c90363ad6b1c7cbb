//! Notification messages of SGP.22 §5.7.9-§5.7.10: ListNotification (`BF28`) and
//! RemoveNotificationFromList (`BF30`, result in [`super::ResultCode`]).

use super::der;
use super::iccid::Iccid;
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, Tlv};

/// Event bits of `NotificationEvent` (bit 0 = most significant bit of the byte).
pub mod events {
    pub const INSTALL: u8 = 0x80;
    pub const ENABLE: u8 = 0x40;
    pub const DISABLE: u8 = 0x20;
    pub const DELETE: u8 = 0x10;
}

/// `NotificationMetadata ::= [47] SEQUENCE { seqNumber [0] INTEGER,
/// profileManagementOperation [1] NotificationEvent, notificationAddress UTF8String,
/// iccid Iccid OPTIONAL }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationMetadata {
    pub seq: u32,
    pub events: u8,
    pub address: String,
    pub iccid: Option<Iccid>,
}

impl NotificationMetadata {
    pub(crate) fn to_tlv(&self) -> Tlv {
        let mut c = vec![
            prim::<0x80>(tlv::int_bytes(self.seq as u64)),
            prim::<0x81>(der::bits_encode(self.events)),
            prim::<0x0C>(self.address.clone().into_bytes()),
        ];
        if let Some(i) = self.iccid {
            c.push(prim::<0x5A>(i.0.to_vec()));
        }
        cons::<0xBF2F>(c)
    }

    pub(crate) fn from_tlv(t: &Tlv) -> Result<NotificationMetadata> {
        let seq = tlv::read_uint(0x80, der::req(t, 0x80)?)?;
        Ok(NotificationMetadata {
            seq: u32::try_from(seq).map_err(|_| Error::InvalidValue {
                tag: 0x80,
                reason: "sequence number out of range",
            })?,
            events: der::bits_decode(0x81, der::req(t, 0x81)?)?,
            address: der::utf8(0x0C, der::req(t, 0x0C)?, 255)?,
            iccid: tlv::child_bytes(t, 0x5A)
                .map(Iccid::from_bytes)
                .transpose()?,
        })
    }
}

/// `ListNotificationResponse ::= [40] CHOICE { notificationMetadataList [0] SEQUENCE OF
/// NotificationMetadata, listNotificationsResultError [1] INTEGER }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationListResponse {
    List(Vec<NotificationMetadata>),
    Error(u8),
}

impl NotificationListResponse {
    pub fn encode(&self) -> Vec<u8> {
        let inner = match self {
            NotificationListResponse::List(l) => {
                cons::<0xA0>(l.iter().map(NotificationMetadata::to_tlv).collect())
            }
            NotificationListResponse::Error(e) => prim::<0x81>(tlv::int_bytes(*e as u64)),
        };
        tlv::encode(&cons::<0xBF28>(vec![inner]))
    }

    pub fn decode(b: &[u8]) -> Result<NotificationListResponse> {
        let t = tlv::parse_expect(b, 0xBF28)?;
        if let Some(v) = tlv::child_bytes(&t, 0x81) {
            return Ok(NotificationListResponse::Error(der::small_int(0x81, v)?));
        }
        let list = tlv::child(&t, 0xA0).ok_or(Error::MissingTag(0xA0))?;
        tlv::children(list)
            .iter()
            .map(NotificationMetadata::from_tlv)
            .collect::<Result<Vec<_>>>()
            .map(NotificationListResponse::List)
    }
}
