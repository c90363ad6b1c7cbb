//! The eUICC identifier (GSMA SGP.29): 32 decimal digits, the last two check digits
//! computed with ISO/IEC 7064 MOD 97-10 so that the whole number mod 97 equals 1.
//! Test eUICCs use the SGP.26 prefix `89049032`.

use std::fmt;
use std::str::FromStr;

/// An EID, 16 bytes of packed decimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Eid(pub [u8; 16]);

/// Why a string or bytes are not an EID.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EidError {
    #[error("an EID has 32 decimal digits, got {0}")]
    Length(usize),
    #[error("an EID has only decimal digits")]
    NotDecimal,
    #[error("EID check digits are wrong (mod 97 of the number must be 1)")]
    CheckDigits,
}

/// The SGP.26 test EID prefix.
pub const TEST_PREFIX: &str = "89049032";

fn mod97(digits: &str) -> u32 {
    digits
        .bytes()
        .fold(0u32, |acc, d| (acc * 10 + (d - b'0') as u32) % 97)
}

impl Eid {
    /// Builds a valid EID from the first 30 digits by appending the check digits.
    pub fn with_check_digits(first30: &str) -> Result<Eid, EidError> {
        if first30.len() != 30 {
            return Err(EidError::Length(first30.len() + 2));
        }
        if !first30.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EidError::NotDecimal);
        }
        let check = 98 - mod97(&format!("{first30}00"));
        format!("{first30}{check:02}").parse()
    }

    /// A test EID (SGP.26 prefix) whose middle digits come from `serial`.
    pub fn test_eid(serial: u64) -> Eid {
        // 8 prefix digits + 22 digits of serial.
        let s = format!("{TEST_PREFIX}{:022}", serial % 10u64.pow(19));
        // The format above cannot fail to be 30 decimal digits.
        Eid::with_check_digits(&s).unwrap_or(Eid([0x89; 16]))
    }

    /// The 32 digits.
    pub fn digits(&self) -> String {
        hex::encode_upper(self.0)
    }

    /// Reads 16 bytes, checking digits and check digits.
    pub fn from_bytes(b: &[u8]) -> Result<Eid, EidError> {
        let arr: [u8; 16] = b.try_into().map_err(|_| EidError::Length(b.len() * 2))?;
        Eid(arr).digits().parse()
    }
}

impl FromStr for Eid {
    type Err = EidError;
    fn from_str(s: &str) -> Result<Eid, EidError> {
        if s.len() != 32 {
            return Err(EidError::Length(s.len()));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EidError::NotDecimal);
        }
        if mod97(s) != 1 {
            return Err(EidError::CheckDigits);
        }
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| EidError::NotDecimal)?;
        Ok(Eid(out))
    }
}

impl fmt::Display for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits())
    }
}

impl fmt::Debug for Eid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_valid_eid() {
        // SGP.26 test EID used by many test cards.
        let e: Eid = "89049032123451234512345678901235".parse().unwrap();
        assert_eq!(e.to_string(), "89049032123451234512345678901235");
        assert_eq!(
            "89049032123451234512345678901234".parse::<Eid>(),
            Err(EidError::CheckDigits)
        );
    }

    #[test]
    fn generated_eids_are_valid() {
        for serial in [0u64, 1, 42, u64::MAX] {
            let e = Eid::test_eid(serial);
            assert!(e.to_string().starts_with(TEST_PREFIX));
            assert_eq!(e.to_string().parse::<Eid>().unwrap(), e);
            assert_eq!(Eid::from_bytes(&e.0).unwrap(), e);
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!("123".parse::<Eid>(), Err(EidError::Length(3)));
        assert_eq!(
            "8904903212345123451234567890123A".parse::<Eid>(),
            Err(EidError::NotDecimal)
        );
        assert!(Eid::from_bytes(&[0xAB; 16]).is_err());
    }
}
