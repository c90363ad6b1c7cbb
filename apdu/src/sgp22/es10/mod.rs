//! The GSMA SGP.22 ES10 functions (LPA <-> ISD-R), encoders and decoders for both
//! sides. Requests are one enum, [`Es10Request`]; each response has its own type with
//! `encode` (card side) and `decode` (client side). Byte layouts follow SGP.22 v2.x
//! §5.7 (DER, automatic tags) and what lpac and pySim send (see interop.md).

pub(crate) mod der;
mod iccid;
mod info;
mod notification;
mod profile;
pub mod result;

pub use iccid::Iccid;
pub use info::{
    CardResources, ChallengeResponse, ConfiguredAddresses, EidResponse, EuiccInfo1, EuiccInfo2,
    RatResponse,
};
pub use notification::{events, NotificationListResponse, NotificationMetadata};
pub use profile::{
    tag_in_list, ProfileClass, ProfileInfo, ProfileInfoRequest, ProfileInfoResponse, ProfileRef,
    ProfileSearch, ProfileState, PROFILE_INFO_TAGS,
};
pub use result::ResultCode;

use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, ConsTag, Tlv};

/// AID of the ISD-R (SGP.02 §2.2.3, SGP.22 §2.2.3).
pub const ISDR_AID: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00,
];
/// AID of the ECASD.
pub const ECASD_AID: [u8; 16] = [
    0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x02, 0x00,
];

/// Top-level tags of the functions below, and the names SGP.22 §5.7 gives them: the
/// one list of ES10 functions (the card's decoder, its log, and the client's messages
/// all read it).
pub mod tags {
    pub const GET_EID: u32 = 0xBF3E;
    pub const EUICC_INFO1: u32 = 0xBF20;
    pub const EUICC_INFO2: u32 = 0xBF22;
    pub const CHALLENGE: u32 = 0xBF2E;
    pub const PROFILES_INFO: u32 = 0xBF2D;
    pub const ENABLE: u32 = 0xBF31;
    pub const DISABLE: u32 = 0xBF32;
    pub const DELETE: u32 = 0xBF33;
    pub const MEMORY_RESET: u32 = 0xBF34;
    pub const SET_NICKNAME: u32 = 0xBF29;
    pub const CONFIGURED_ADDRESSES: u32 = 0xBF3C;
    pub const SET_DEFAULT_DP: u32 = 0xBF3F;
    pub const LIST_NOTIFICATION: u32 = 0xBF28;
    pub const REMOVE_NOTIFICATION: u32 = 0xBF30;
    pub const GET_RAT: u32 = 0xBF43;

    /// Every ES10 function: its tag and its name (SGP.22 §5.7.x headings).
    pub const FUNCTIONS: [(u32, &str); 15] = [
        (GET_EID, "GetEID"),
        (EUICC_INFO1, "GetEUICCInfo1"),
        (EUICC_INFO2, "GetEUICCInfo2"),
        (CHALLENGE, "GetEuiccChallenge"),
        (PROFILES_INFO, "GetProfilesInfo"),
        (ENABLE, "EnableProfile"),
        (DISABLE, "DisableProfile"),
        (DELETE, "DeleteProfile"),
        (MEMORY_RESET, "eUICCMemoryReset"),
        (SET_NICKNAME, "SetNickname"),
        (CONFIGURED_ADDRESSES, "EuiccConfiguredAddresses"),
        (SET_DEFAULT_DP, "SetDefaultDpAddress"),
        (LIST_NOTIFICATION, "ListNotification"),
        (REMOVE_NOTIFICATION, "RemoveNotification"),
        (GET_RAT, "GetRAT"),
    ];

    /// Every ES10 function tag, in the order of [`FUNCTIONS`].
    pub const ALL: [u32; FUNCTIONS.len()] = {
        let mut all = [0; FUNCTIONS.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = FUNCTIONS[i].0;
            i += 1;
        }
        all
    };

    /// The name of the ES10 function with top-level tag `tag`, if it is one.
    pub fn name(tag: u32) -> Option<&'static str> {
        FUNCTIONS.iter().find(|(t, _)| *t == tag).map(|(_, n)| *n)
    }
}

/// `resetOptions` of eUICCMemoryReset (bits 0-2 of the BIT STRING).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryResetOptions {
    pub delete_operational: bool,
    pub delete_field_loaded_test: bool,
    pub reset_default_dp: bool,
}

impl MemoryResetOptions {
    fn bits(self) -> u8 {
        (self.delete_operational as u8) << 7
            | (self.delete_field_loaded_test as u8) << 6
            | (self.reset_default_dp as u8) << 5
    }

    fn from_bits(b: u8) -> Self {
        MemoryResetOptions {
            delete_operational: b & 0x80 != 0,
            delete_field_loaded_test: b & 0x40 != 0,
            reset_default_dp: b & 0x20 != 0,
        }
    }
}

/// An ES10 request as the LPA sends it in STORE DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Es10Request {
    GetEid,
    GetEuiccInfo1,
    GetEuiccInfo2,
    GetEuiccChallenge,
    GetProfilesInfo(ProfileInfoRequest),
    EnableProfile { target: ProfileRef, refresh: bool },
    DisableProfile { target: ProfileRef, refresh: bool },
    DeleteProfile(ProfileRef),
    MemoryReset(MemoryResetOptions),
    SetNickname { iccid: Iccid, nickname: String },
    GetConfiguredAddresses,
    SetDefaultDpAddress(String),
    ListNotification { filter: Option<u8> },
    RemoveNotification(u32),
    GetRat,
}

/// Why a STORE DATA message is not an ES10 request we can execute.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown ES10 function tag {0:X}")]
    Unknown(u32),
    #[error("malformed ES10 request {0:X}: {1}")]
    Malformed(u32, Error),
    #[error("not a BER-TLV message: {0}")]
    NotTlv(Error),
}

impl Es10Request {
    /// The top-level tag of this function.
    pub fn tag(&self) -> u32 {
        self.cons_tag().num()
    }

    /// The top-level tag, checked when the crate is built.
    fn cons_tag(&self) -> ConsTag {
        use Es10Request::*;
        match self {
            GetEid => const { ConsTag::of(tags::GET_EID) },
            GetEuiccInfo1 => const { ConsTag::of(tags::EUICC_INFO1) },
            GetEuiccInfo2 => const { ConsTag::of(tags::EUICC_INFO2) },
            GetEuiccChallenge => const { ConsTag::of(tags::CHALLENGE) },
            GetProfilesInfo(_) => const { ConsTag::of(tags::PROFILES_INFO) },
            EnableProfile { .. } => const { ConsTag::of(tags::ENABLE) },
            DisableProfile { .. } => const { ConsTag::of(tags::DISABLE) },
            DeleteProfile(_) => const { ConsTag::of(tags::DELETE) },
            MemoryReset(_) => const { ConsTag::of(tags::MEMORY_RESET) },
            SetNickname { .. } => const { ConsTag::of(tags::SET_NICKNAME) },
            GetConfiguredAddresses => const { ConsTag::of(tags::CONFIGURED_ADDRESSES) },
            SetDefaultDpAddress(_) => const { ConsTag::of(tags::SET_DEFAULT_DP) },
            ListNotification { .. } => const { ConsTag::of(tags::LIST_NOTIFICATION) },
            RemoveNotification(_) => const { ConsTag::of(tags::REMOVE_NOTIFICATION) },
            GetRat => const { ConsTag::of(tags::GET_RAT) },
        }
    }

    /// Encodes the request as lpac does.
    pub fn encode(&self) -> Vec<u8> {
        use Es10Request::*;
        let children: Vec<Tlv> = match self {
            GetEid => vec![prim::<0x5C>(vec![0x5A])],
            GetEuiccInfo1 | GetEuiccInfo2 | GetEuiccChallenge | GetConfiguredAddresses | GetRat => {
                vec![]
            }
            GetProfilesInfo(r) => r.children(),
            EnableProfile { target, refresh } | DisableProfile { target, refresh } => vec![
                cons::<0xA0>(vec![target.to_tlv()]),
                prim::<0x81>(vec![if *refresh { 0xFF } else { 0x00 }]),
            ],
            DeleteProfile(target) => vec![target.to_tlv()],
            MemoryReset(o) => vec![prim::<0x82>(der::bits_encode(o.bits()))],
            SetNickname { iccid, nickname } => vec![
                prim::<0x5A>(iccid.0.to_vec()),
                prim::<0x90>(nickname.clone().into_bytes()),
            ],
            SetDefaultDpAddress(a) => vec![prim::<0x80>(a.clone().into_bytes())],
            ListNotification { filter } => filter
                .map(|f| vec![prim::<0x81>(der::bits_encode(f))])
                .unwrap_or_default(),
            RemoveNotification(seq) => vec![prim::<0x80>(tlv::int_bytes(*seq as u64))],
        };
        tlv::encode(&tlv::cons_tagged(self.cons_tag(), children))
    }

    /// Decodes a whole reassembled STORE DATA message.
    pub fn decode(msg: &[u8]) -> std::result::Result<Es10Request, DecodeError> {
        let t = tlv::parse(msg).map_err(DecodeError::NotTlv)?;
        let tag = tlv::tag_num(&t);
        Self::decode_tlv(tag, &t)
    }

    fn decode_tlv(tag: u32, t: &Tlv) -> std::result::Result<Es10Request, DecodeError> {
        if !tags::ALL.contains(&tag) {
            return Err(DecodeError::Unknown(tag));
        }
        if !t.tag().is_constructed() {
            return Err(DecodeError::Malformed(
                tag,
                Error::Malformed("not constructed"),
            ));
        }
        Self::decode_known(tag, t).map_err(|e| DecodeError::Malformed(tag, e))
    }

    fn decode_known(tag: u32, t: &Tlv) -> Result<Es10Request> {
        use Es10Request::*;
        Ok(match tag {
            tags::GET_EID => GetEid,
            tags::EUICC_INFO1 => GetEuiccInfo1,
            tags::EUICC_INFO2 => GetEuiccInfo2,
            tags::CHALLENGE => GetEuiccChallenge,
            tags::CONFIGURED_ADDRESSES => GetConfiguredAddresses,
            tags::GET_RAT => GetRat,
            tags::PROFILES_INFO => GetProfilesInfo(ProfileInfoRequest::from_tlv(t)?),
            tags::ENABLE | tags::DISABLE => {
                let a0 = tlv::child(t, 0xA0).ok_or(Error::MissingTag(0xA0))?;
                let target = ProfileRef::from_children(a0)?;
                let refresh = match tlv::child_bytes(t, 0x81) {
                    Some(v) => der::boolean(0x81, v)?,
                    None => false,
                };
                if tag == tags::ENABLE {
                    EnableProfile { target, refresh }
                } else {
                    DisableProfile { target, refresh }
                }
            }
            tags::DELETE => DeleteProfile(ProfileRef::from_children(t)?),
            tags::MEMORY_RESET => MemoryReset(MemoryResetOptions::from_bits(der::bits_decode(
                0x82,
                der::req(t, 0x82)?,
            )?)),
            tags::SET_NICKNAME => SetNickname {
                iccid: Iccid::from_bytes(der::req(t, 0x5A)?)?,
                nickname: der::utf8(0x90, der::req(t, 0x90)?, 64)?,
            },
            tags::SET_DEFAULT_DP => SetDefaultDpAddress(der::utf8(0x80, der::req(t, 0x80)?, 255)?),
            tags::LIST_NOTIFICATION => ListNotification {
                filter: tlv::child_bytes(t, 0x81)
                    .map(|v| der::bits_decode(0x81, v))
                    .transpose()?,
            },
            tags::REMOVE_NOTIFICATION => {
                let seq = tlv::read_uint(0x80, der::req(t, 0x80)?)?;
                RemoveNotification(u32::try_from(seq).map_err(|_| Error::InvalidValue {
                    tag: 0x80,
                    reason: "sequence number out of range",
                })?)
            }
            _ => return Err(Error::Malformed("unreachable tag")),
        })
    }
}

#[cfg(test)]
mod tests;
