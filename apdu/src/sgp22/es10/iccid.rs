//! ICCIDs as profiles carry them (ITU-T E.118): up to 20 decimal digits, stored in
//! EF.ICCID and in ES10 tag `5A` as 10 bytes of nibble-swapped BCD padded with `F`
//! (ETSI TS 102 221 §13.2, SGP.22 `Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10))`).

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// An ICCID in its 10-byte card encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iccid(pub [u8; 10]);

impl Iccid {
    /// From 18 to 20 decimal digits (a 19-digit ICCID is padded with `F`).
    pub fn from_digits(s: &str) -> Result<Iccid> {
        let bad = Error::InvalidValue {
            tag: 0x5A,
            reason: "an ICCID has 18 to 20 decimal digits",
        };
        if !(18..=20).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        let mut nibbles: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
        nibbles.resize(20, 0x0F);
        let mut out = [0u8; 10];
        for (i, pair) in nibbles.chunks(2).enumerate() {
            out[i] = (pair[1] << 4) | pair[0];
        }
        Ok(Iccid(out))
    }

    /// From the 10-byte encoding; every nibble must be a digit, except trailing `F` padding.
    pub fn from_bytes(b: &[u8]) -> Result<Iccid> {
        let arr: [u8; 10] = b.try_into().map_err(|_| Error::InvalidValue {
            tag: 0x5A,
            reason: "an ICCID is 10 bytes",
        })?;
        let id = Iccid(arr);
        // Re-parse the digits to validate nibbles and padding.
        let digits = id.digits_checked().ok_or(Error::InvalidValue {
            tag: 0x5A,
            reason: "ICCID nibbles are not decimal digits",
        })?;
        Iccid::from_digits(&digits)
    }

    fn digits_checked(&self) -> Option<String> {
        let mut s = String::with_capacity(20);
        let mut padding = false;
        for b in self.0 {
            for n in [b & 0x0F, b >> 4] {
                match n {
                    0..=9 if !padding => s.push((b'0' + n) as char),
                    0x0F => padding = true,
                    _ => return None,
                }
            }
        }
        Some(s)
    }

    /// The decimal digits, without padding.
    pub fn digits(&self) -> String {
        self.digits_checked()
            .unwrap_or_else(|| hex::encode_upper(self.0))
    }
}

impl FromStr for Iccid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Iccid> {
        Iccid::from_digits(s)
    }
}

impl fmt::Display for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits())
    }
}

impl fmt::Debug for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iccid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nibble_swapped() {
        let i = Iccid::from_digits("8949000000000000012").unwrap();
        assert_eq!(hex::encode_upper(i.0), "989400000000000010F2");
        assert_eq!(i.digits(), "8949000000000000012");
        assert_eq!(Iccid::from_bytes(&i.0).unwrap(), i);
        let j = Iccid::from_digits("89490000000000000123").unwrap();
        assert_eq!(hex::encode_upper(j.0), "98940000000000001032");
    }

    #[test]
    fn rejects() {
        assert!(Iccid::from_digits("123").is_err());
        assert!(Iccid::from_digits("89490000000000000A2").is_err());
        assert!(Iccid::from_bytes(&[0xAA; 10]).is_err());
        assert!(Iccid::from_bytes(&[0x98; 9]).is_err());
        // Padding in the middle.
        assert!(Iccid::from_bytes(&hex::decode("98F40000000000001032").unwrap()).is_err());
    }
}
