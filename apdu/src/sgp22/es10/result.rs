//! The `{ 80 code }` answers of the ES10c functions that only report a result:
//! EnableProfile `BF31`, DisableProfile `BF32`, DeleteProfile `BF33`,
//! eUICCMemoryReset `BF34`, SetNickname `BF29`, SetDefaultDpAddress `BF3F`,
//! RemoveNotificationFromList `BF30` (SGP.22 §5.7.16-§5.7.21, §5.7.10).

use super::der;
use crate::error::Result;
use crate::iso7816::tlv::{self, cons, prim};

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

    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(&cons(
            self.tag,
            vec![prim(0x80, tlv::int_bytes(self.code as u64))],
        ))
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

    /// The name SGP.22 gives this code for this function.
    pub fn meaning(&self) -> &'static str {
        match (self.tag, self.code) {
            (_, OK) => "ok",
            (_, UNDEFINED) => "undefined error",
            (0xBF31..=0xBF33, NOT_FOUND) => "ICCID or AID not found",
            (0xBF31 | 0xBF33, WRONG_STATE) => "profile not in disabled state",
            (0xBF32, WRONG_STATE) => "profile not in enabled state",
            (0xBF31..=0xBF33, DISALLOWED_BY_POLICY) => "disallowed by policy",
            (0xBF31, WRONG_REENABLING) => "wrong profile re-enabling",
            (0xBF31 | 0xBF32 | 0xBF34, CAT_BUSY) => "CAT busy",
            (0xBF34, NOT_FOUND) => "nothing to delete",
            (0xBF29, NOT_FOUND) => "ICCID not found",
            (0xBF30, NOT_FOUND) => "nothing to delete",
            _ => "unknown result code",
        }
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (result {})", self.meaning(), self.code)
    }
}
