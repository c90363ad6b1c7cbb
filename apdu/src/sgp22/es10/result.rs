//! The `{ 80 code }` answers of the ES10c functions that only report a result:
//! EnableProfile `BF31`, DisableProfile `BF32`, DeleteProfile `BF33`,
//! eUICCMemoryReset `BF34`, SetNickname `BF29`, SetDefaultDpAddress `BF3F`,
//! RemoveNotificationFromList `BF30` (SGP.22 §5.7.16-§5.7.21, §5.7.10).

use super::der;
use crate::error::Result;
use crate::iso7816::tlv::{self, prim, ConsTag};

// Result code values; their meaning depends on the function ([`ResultCode::meaning`]).
pub const OK: u8 = 0;
pub const NOT_FOUND: u8 = 1;
pub const WRONG_STATE: u8 = 2;
pub const DISALLOWED_BY_POLICY: u8 = 3;
pub const WRONG_REENABLING: u8 = 4;
pub const CAT_BUSY: u8 = 5;
pub const UNDEFINED: u8 = 127;

/// A function's result: its top-level tag and the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultCode {
    pub tag: u32,
    pub code: u8,
}

impl ResultCode {
    pub fn new(tag: u32, code: u8) -> Self {
        ResultCode { tag, code }
    }

    /// The card's answer `{ 80 code }` for the function with top-level tag `tag`
    /// (typed, so it cannot fail: `const { ConsTag::of(tags::ENABLE) }`).
    pub fn answer(tag: ConsTag, code: u8) -> Vec<u8> {
        let code = prim::<0x80>(tlv::int_bytes(code as u64));
        tlv::encode(&tlv::cons_tagged(tag, vec![code]))
    }

    /// [`ResultCode::answer`] for this value; [`crate::Error::InvalidTag`] if `tag` is
    /// no constructed tag.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let tag = ConsTag::new(self.tag).ok_or(crate::Error::InvalidTag(self.tag))?;
        Ok(Self::answer(tag, self.code))
    }

    pub fn decode(expected_tag: u32, b: &[u8]) -> Result<ResultCode> {
        let t = tlv::parse_expect(b, expected_tag)?;
        Ok(ResultCode {
            tag: expected_tag,
            code: der::small_int(0x80, der::req(&t, 0x80)?)?,
        })
    }

    pub fn is_ok(&self) -> bool {
        self.code == OK
    }

    /// The name SGP.22 gives this code for this function (§5.7.10, §5.7.16-§5.7.21;
    /// GetProfilesInfo's `incorrectInputValues` of §5.7.15 too).
    pub fn meaning(&self) -> &'static str {
        use super::tags::{DELETE, DISABLE, ENABLE, MEMORY_RESET, PROFILES_INFO};
        use super::tags::{REMOVE_NOTIFICATION, SET_NICKNAME};
        match (self.tag, self.code) {
            (_, OK) => "ok",
            (_, UNDEFINED) => "undefined error",
            (PROFILES_INFO, 1) => "incorrect input values",
            (ENABLE..=DELETE, NOT_FOUND) => "ICCID or AID not found",
            (ENABLE | DELETE, WRONG_STATE) => "profile not in disabled state",
            (DISABLE, WRONG_STATE) => "profile not in enabled state",
            (ENABLE..=DELETE, DISALLOWED_BY_POLICY) => "disallowed by policy",
            (ENABLE, WRONG_REENABLING) => "wrong profile re-enabling",
            (ENABLE | DISABLE | MEMORY_RESET, CAT_BUSY) => "CAT busy",
            (MEMORY_RESET, NOT_FOUND) => "nothing to delete",
            (SET_NICKNAME, NOT_FOUND) => "ICCID not found",
            (REMOVE_NOTIFICATION, NOT_FOUND) => "nothing to delete",
            _ => "unknown result code",
        }
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (result {})", self.meaning(), self.code)
    }
}
