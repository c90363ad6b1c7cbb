//! Profile management messages of SGP.22 §5.7.15-§5.7.18 and §5.7.21: GetProfilesInfo
//! (`BF2D`), Enable/Disable/DeleteProfile (`BF31`/`BF32`/`BF33`), SetNickname (`BF29`),
//! and the `ProfileInfo` (`E3`) entry.

use super::der;
use super::iccid::Iccid;
use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, cons, prim, PrimTag, Tlv};

/// Tag of ProfileInfoListRequest/Response.
pub const TAG_PROFILES_INFO: u32 = 0xBF2D;

/// Which profile a command is about: `4F` ISD-P AID or `5A` ICCID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileRef {
    Iccid(Iccid),
    Aid(Vec<u8>),
}

impl ProfileRef {
    pub(crate) fn to_tlv(&self) -> Tlv {
        match self {
            ProfileRef::Iccid(i) => prim::<0x5A>(i.0.to_vec()),
            ProfileRef::Aid(a) => prim::<0x4F>(a.clone()),
        }
    }

    /// Finds the `4F` or `5A` child of `t`.
    pub(crate) fn from_children(t: &Tlv) -> Result<ProfileRef> {
        if let Some(a) = tlv::child_bytes(t, 0x4F) {
            return aid(a).map(ProfileRef::Aid);
        }
        if let Some(i) = tlv::child_bytes(t, 0x5A) {
            return Iccid::from_bytes(i).map(ProfileRef::Iccid);
        }
        Err(Error::MissingTag(0x5A))
    }
}

fn aid(a: &[u8]) -> Result<Vec<u8>> {
    if (5..=16).contains(&a.len()) {
        Ok(a.to_vec())
    } else {
        Err(Error::InvalidValue {
            tag: 0x4F,
            reason: "an AID is 5 to 16 bytes",
        })
    }
}

/// `profileState [112] INTEGER` (tag `9F70`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileState {
    Disabled = 0,
    Enabled = 1,
}

/// `profileClass [21] INTEGER` (tag `95`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileClass {
    Test = 0,
    Provisioning = 1,
    Operational = 2,
}

impl ProfileClass {
    pub(crate) fn from_u8(tag: u32, n: u8) -> Result<Self> {
        match n {
            0 => Ok(ProfileClass::Test),
            1 => Ok(ProfileClass::Provisioning),
            2 => Ok(ProfileClass::Operational),
            _ => Err(Error::InvalidValue {
                tag,
                reason: "unknown profile class",
            }),
        }
    }

    /// The name SGP.22 gives the class.
    pub fn name(self) -> &'static str {
        match self {
            ProfileClass::Test => "test",
            ProfileClass::Provisioning => "provisioning",
            ProfileClass::Operational => "operational",
        }
    }
}

/// A `ProfileInfo` (`E3`). Every field is optional on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileInfo {
    pub iccid: Option<Iccid>,
    pub aid: Option<Vec<u8>>,
    pub state: Option<ProfileState>,
    pub nickname: Option<String>,
    pub service_provider: Option<String>,
    pub profile_name: Option<String>,
    pub class: Option<ProfileClass>,
}

/// Tags of the `ProfileInfo` fields we carry, in encoding order.
pub const PROFILE_INFO_TAGS: [u32; 7] = [0x5A, 0x4F, 0x9F70, 0x90, 0x91, 0x92, 0x95];

impl ProfileInfo {
    /// Encodes the entry, keeping only the fields whose tag is in `tag_list` (a `5C`
    /// value: concatenated tags) when one is given (SGP.22 §5.7.15).
    pub fn to_tlv(&self, tag_list: Option<&[u8]>) -> Tlv {
        let wanted = |tag: u32| match tag_list {
            None => true,
            Some(list) => tag_in_list(list, tag),
        };
        let mut c = Vec::new();
        let mut add = |tag: PrimTag, v: Option<Vec<u8>>| {
            if let Some(v) = v {
                if wanted(tag.num()) {
                    c.push(tlv::prim_tagged(tag, v));
                }
            }
        };
        add(
            const { PrimTag::of(0x5A) },
            self.iccid.map(|i| i.0.to_vec()),
        );
        add(const { PrimTag::of(0x4F) }, self.aid.clone());
        add(
            const { PrimTag::of(0x9F70) },
            self.state.map(|s| vec![s as u8]),
        );
        add(
            const { PrimTag::of(0x90) },
            self.nickname.clone().map(String::into_bytes),
        );
        add(
            const { PrimTag::of(0x91) },
            self.service_provider.clone().map(String::into_bytes),
        );
        add(
            const { PrimTag::of(0x92) },
            self.profile_name.clone().map(String::into_bytes),
        );
        add(
            const { PrimTag::of(0x95) },
            self.class.map(|k| vec![k as u8]),
        );
        cons::<0xE3>(c)
    }

    /// Decodes an `E3` entry, ignoring fields we do not model (icons, PPRs, ...).
    pub fn from_tlv(t: &Tlv) -> Result<ProfileInfo> {
        let mut p = ProfileInfo::default();
        if let Some(v) = tlv::child_bytes(t, 0x5A) {
            p.iccid = Some(Iccid::from_bytes(v)?);
        }
        if let Some(v) = tlv::child_bytes(t, 0x4F) {
            p.aid = Some(aid(v)?);
        }
        if let Some(v) = tlv::child_bytes(t, 0x9F70) {
            p.state = Some(match der::small_int(0x9F70, v)? {
                0 => ProfileState::Disabled,
                1 => ProfileState::Enabled,
                _ => {
                    return Err(Error::InvalidValue {
                        tag: 0x9F70,
                        reason: "unknown profile state",
                    })
                }
            });
        }
        if let Some(v) = tlv::child_bytes(t, 0x90) {
            p.nickname = Some(der::utf8(0x90, v, 64)?);
        }
        if let Some(v) = tlv::child_bytes(t, 0x91) {
            p.service_provider = Some(der::utf8(0x91, v, 32)?);
        }
        if let Some(v) = tlv::child_bytes(t, 0x92) {
            p.profile_name = Some(der::utf8(0x92, v, 64)?);
        }
        if let Some(v) = tlv::child_bytes(t, 0x95) {
            p.class = Some(ProfileClass::from_u8(0x95, der::small_int(0x95, v)?)?);
        }
        Ok(p)
    }
}

/// True when `tag` appears in a `5C` tag list (a concatenation of BER tags).
pub fn tag_in_list(list: &[u8], tag: u32) -> bool {
    let mut pos = 0;
    while pos < list.len() {
        match tlv::read_tag(list, pos) {
            Ok((t, _, _)) if t == tag => return true,
            Ok((_, _, next)) => pos = next,
            // A malformed tag: what follows it cannot be read as tags.
            Err(_) => return false,
        }
    }
    false
}

/// `searchCriteria` of GetProfilesInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSearch {
    Aid(Vec<u8>),
    Iccid(Iccid),
    Class(ProfileClass),
}

/// `ProfileInfoListRequest ::= [45] SEQUENCE { searchCriteria [0] CHOICE {...} OPTIONAL,
/// tagList [APPLICATION 28] OCTET STRING OPTIONAL }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileInfoRequest {
    pub search: Option<ProfileSearch>,
    pub tag_list: Option<Vec<u8>>,
}

impl ProfileInfoRequest {
    pub(crate) fn children(&self) -> Vec<Tlv> {
        let mut c = Vec::new();
        if let Some(s) = &self.search {
            let inner = match s {
                ProfileSearch::Aid(a) => prim::<0x4F>(a.clone()),
                ProfileSearch::Iccid(i) => prim::<0x5A>(i.0.to_vec()),
                ProfileSearch::Class(k) => prim::<0x95>(vec![*k as u8]),
            };
            c.push(cons::<0xA0>(vec![inner]));
        }
        if let Some(l) = &self.tag_list {
            c.push(prim::<0x5C>(l.clone()));
        }
        c
    }

    pub(crate) fn from_tlv(t: &Tlv) -> Result<ProfileInfoRequest> {
        let mut r = ProfileInfoRequest::default();
        if let Some(a0) = tlv::child(t, 0xA0) {
            r.search = Some(if let Some(v) = tlv::child_bytes(a0, 0x4F) {
                ProfileSearch::Aid(aid(v)?)
            } else if let Some(v) = tlv::child_bytes(a0, 0x5A) {
                ProfileSearch::Iccid(Iccid::from_bytes(v)?)
            } else if let Some(v) = tlv::child_bytes(a0, 0x95) {
                ProfileSearch::Class(ProfileClass::from_u8(0x95, der::small_int(0x95, v)?)?)
            } else {
                return Err(Error::InvalidValue {
                    tag: 0xA0,
                    reason: "search criteria must be 4F, 5A or 95",
                });
            });
        }
        if let Some(v) = tlv::child_bytes(t, 0x5C) {
            r.tag_list = Some(v.to_vec());
        }
        Ok(r)
    }

    /// Whether `p` matches the search criteria.
    pub fn matches(&self, p: &ProfileInfo) -> bool {
        match &self.search {
            None => true,
            Some(ProfileSearch::Aid(a)) => p.aid.as_ref() == Some(a),
            Some(ProfileSearch::Iccid(i)) => p.iccid.as_ref() == Some(i),
            Some(ProfileSearch::Class(k)) => p.class == Some(*k),
        }
    }
}

/// `ProfileInfoListResponse`: the list, or `profileInfoListError` (1 incorrectInputValues,
/// 127 undefinedError).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileInfoResponse {
    List(Vec<ProfileInfo>),
    Error(u8),
}

impl ProfileInfoResponse {
    /// Encodes with the request's tag list applied to every entry.
    pub fn encode_with(&self, tag_list: Option<&[u8]>) -> Vec<u8> {
        let inner = match self {
            ProfileInfoResponse::List(l) => {
                cons::<0xA0>(l.iter().map(|p| p.to_tlv(tag_list)).collect())
            }
            ProfileInfoResponse::Error(e) => prim::<0x81>(tlv::int_bytes(*e as u64)),
        };
        tlv::encode(&cons::<{ TAG_PROFILES_INFO }>(vec![inner]))
    }

    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(None)
    }

    pub fn decode(b: &[u8]) -> Result<ProfileInfoResponse> {
        let t = tlv::parse_expect(b, TAG_PROFILES_INFO)?;
        if let Some(v) = tlv::child_bytes(&t, 0x81) {
            return Ok(ProfileInfoResponse::Error(der::small_int(0x81, v)?));
        }
        let list = tlv::child(&t, 0xA0).ok_or(Error::MissingTag(0xA0))?;
        tlv::children(list)
            .iter()
            .filter(|c| tlv::tag_num(c) == 0xE3)
            .map(ProfileInfo::from_tlv)
            .collect::<Result<Vec<_>>>()
            .map(ProfileInfoResponse::List)
    }
}
