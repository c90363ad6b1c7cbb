//! PIN and PUK values of PE-PINCodes / PE-PUKCodes (SAIP v3.3.1 §8.5).

use super::error::{bad, missing, SaipError};
use super::fields::{fixed, p, uint_max};
use super::secret::Secret;
use crate::iso7816::tlv::{self, cons, prim, Tlv};

/// `PINConfiguration` / `PUKConfiguration` (SAIP §8.5): `30 { 80 keyReference, 81 value
/// (8 bytes), 82 unblockingPINReference (PIN only), 83 pinAttributes (PIN only, DEFAULT
/// 7), 84 / 82 maxNumOfAttemps-retryNumLeft (DEFAULT 0x33 PIN, 0xAA PUK) }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub key_reference: u8,
    pub value: Secret,
    pub unblocking_reference: Option<u8>,
    pub attributes: Option<u8>,
    pub attempts: Option<u8>,
}

impl Code {
    /// Max attempts (high nibble) and retries left (low nibble) with the ASN.1 DEFAULT.
    pub fn attempts_or_default(&self, puk: bool) -> u8 {
        self.attempts.unwrap_or(if puk { 0xAA } else { 0x33 })
    }

    pub(crate) fn decode(t: &Tlv, puk: bool) -> Result<Code, SaipError> {
        let attempts_tag = if puk { 0x82 } else { 0x84 };
        let mut code = Code {
            key_reference: 0,
            value: Secret::default(),
            unblocking_reference: None,
            attributes: None,
            attempts: None,
        };
        let (mut key, mut value) = (None, None);
        for ch in tlv::children(t) {
            match tlv::tag_num(ch) {
                0x80 => key = Some(uint_max(ch, 255, "keyReference")? as u8),
                0x81 => value = Some(Secret::new(fixed::<8>(ch, "PIN/PUK value")?.to_vec())),
                n if n == attempts_tag => {
                    code.attempts = Some(uint_max(ch, 255, "maxNumOfAttemps")? as u8)
                }
                0x82 if !puk => {
                    code.unblocking_reference =
                        Some(uint_max(ch, 255, "unblockingPINReference")? as u8)
                }
                0x83 if !puk => code.attributes = Some(uint_max(ch, 255, "pinAttributes")? as u8),
                _ => return Err(bad("unknown PIN/PUK field")),
            }
        }
        code.key_reference = key.ok_or(missing("keyReference"))?;
        code.value = value.ok_or(missing("PIN/PUK value"))?;
        Ok(code)
    }

    pub(crate) fn encode(&self, puk: bool) -> Tlv {
        let mut ch = vec![
            prim::<0x80>(tlv::int_bytes(self.key_reference as u64)),
            prim::<0x81>(self.value.expose().to_vec()),
        ];
        if let Some(u) = self.unblocking_reference {
            ch.push(prim::<0x82>(tlv::int_bytes(u as u64)));
        }
        if let Some(a) = self.attributes {
            ch.push(prim::<0x83>(tlv::int_bytes(a as u64)));
        }
        if let Some(a) = self.attempts {
            ch.push(p(if puk { 0x82 } else { 0x84 }, tlv::int_bytes(a as u64)));
        }
        cons::<0x30>(ch)
    }
}
