//! Reading user input that names things on the card: ICCIDs, AIDs and hex APDUs, and
//! the `ICCID | --aid HEX` arguments that name a profile ([`Target`]).
//! Bad input is a usage error (exit 2) with a message saying what is expected.

use crate::errors::CliError;
use apdu::sgp22::es10::{Iccid, ProfileRef};
use clap::Args;

/// A profile named by ICCID or AID: exactly one of them (the usage line says
/// `<ICCID|--aid <HEX>>`).
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// The profile's ICCID (18-20 digits)
    pub iccid: Option<String>,
    /// Choose the profile by its AID (hex) instead of its ICCID
    #[arg(long, value_name = "HEX")]
    pub aid: Option<String>,
}

/// Parses an ICCID given as digits (18-20; spaces ignored).
pub fn iccid(s: &str) -> Result<Iccid, CliError> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    Iccid::from_digits(&digits)
        .map_err(|_| CliError::Usage(format!("'{s}' is not an ICCID: give its 18-20 digits")))
}

/// Parses hex, ignoring spaces and colons.
pub fn hex_bytes(s: &str, what: &str) -> Result<Vec<u8>, CliError> {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    hex::decode(&clean).map_err(|e| CliError::Usage(format!("{what} '{s}' is not hex: {e}")))
}

/// Parses a profile AID (5-16 bytes of hex, ISO/IEC 7816-4 §8.2.1.2).
pub fn aid(s: &str) -> Result<Vec<u8>, CliError> {
    let b = hex_bytes(s, "AID")?;
    if !(5..=16).contains(&b.len()) {
        return Err(CliError::Usage(format!(
            "an AID has 5 to 16 bytes, '{s}' has {}",
            b.len()
        )));
    }
    Ok(b)
}

/// The profile the user named.
pub fn profile_ref(t: &Target) -> Result<ProfileRef, CliError> {
    match (&t.iccid, &t.aid) {
        (_, Some(a)) => Ok(ProfileRef::Aid(aid(a)?)),
        (Some(i), None) => Ok(ProfileRef::Iccid(iccid(i)?)),
        (None, None) => Err(CliError::Usage("name the profile by ICCID or --aid".into())),
    }
}

/// How a profile reference reads in messages.
pub fn describe(r: &ProfileRef) -> String {
    match r {
        ProfileRef::Iccid(i) => format!("profile {i}"),
        ProfileRef::Aid(a) => format!("profile with AID {}", hex::encode_upper(a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iccids_and_aids() {
        assert_eq!(
            iccid("8949 0000 0000 0000 001").unwrap().digits(),
            "8949000000000000001"
        );
        let e = iccid("12ab").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("not an ICCID"), "{e}");
        assert_eq!(aid("A0:00:00:05:59").unwrap().len(), 5);
        assert!(aid("A000").is_err());
        assert!(aid("zz").is_err());
        assert_eq!(
            hex_bytes("00 A4 04 00", "APDU").unwrap(),
            vec![0, 0xA4, 4, 0]
        );
    }

    #[test]
    fn targets() {
        let t = Target {
            iccid: None,
            aid: Some("A0000005591010FFFFFFFF8900001000".into()),
        };
        let r = profile_ref(&t).unwrap();
        assert_eq!(
            describe(&r),
            "profile with AID A0000005591010FFFFFFFF8900001000"
        );
        let t = Target {
            iccid: Some("8949000000000000001".into()),
            aid: None,
        };
        assert_eq!(
            describe(&profile_ref(&t).unwrap()),
            "profile 8949000000000000001"
        );
    }
}
