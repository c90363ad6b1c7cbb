//! The operator profile the SM creates at provisioning (spec A.6: "SM sends the OP ...
//! and allocates the OP ID"; issue 3, Cryptography, last point): ICCID with its Luhn
//! check digit, IMSI, MSISDN = the OP ID, random Ki and OPc, SPN and profile name, and
//! the conversions between the store's record and the wire form that is sealed.
//!
//! Numbering is that of a test network: IMSIs under the ITU test PLMN 001-01
//! (3GPP TS 23.003 §2.2), ICCIDs `89 999 1 ...` (ITU-T E.118: industry 89, the E.164
//! code 999 reserved for future use), so no number can belong to a real operator.

use super::super::store::{OperatorProfile as StoredProfile, SecretBytes};
use super::error::SmError;
use apdu::crypto::{random_array, SysRng};
use apdu::devchange::OperatorProfile;
use apdu::sgp22::es10::Iccid;
use zeroize::Zeroizing;

/// ICCID prefix (19 digits are this prefix and random digits, then the check digit).
pub const ICCID_PREFIX: &str = "899991";
/// IMSI prefix: MCC 001, MNC 01 (the test network).
pub const IMSI_PREFIX: &str = "00101";
/// Default service provider name.
pub const DEFAULT_SPN: &str = "vEUICC Mobile";

/// What the operator may choose for a new profile.
#[derive(Debug, Clone)]
pub struct ProfileSpec {
    pub spn: String,
    /// `None`: "<SPN> <OP ID>".
    pub name: Option<String>,
}

impl Default for ProfileSpec {
    fn default() -> ProfileSpec {
        ProfileSpec {
            spn: DEFAULT_SPN.into(),
            name: None,
        }
    }
}

/// `n` random decimal digits, without modulo bias.
fn random_digits(n: usize) -> Result<String, SmError> {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let bytes: [u8; 32] = random_array(&mut SysRng)?;
        for b in bytes {
            // 250 = 25 * 10: values below it are uniform modulo 10.
            if b < 250 && out.len() < n {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    Ok(out)
}

/// A new ICCID: prefix, random digits, Luhn check digit (20 digits).
pub fn new_iccid() -> Result<String, SmError> {
    let body = format!("{ICCID_PREFIX}{}", random_digits(19 - ICCID_PREFIX.len())?);
    let check =
        apdu::luhn::check_digit(&body).ok_or_else(|| SmError::Invalid("ICCID digits".into()))?;
    Ok(format!("{body}{check}"))
}

/// A new profile for `op_id`, with fresh ICCID, IMSI, Ki and OPc.
pub fn new_profile(op_id: &str, spec: &ProfileSpec) -> Result<StoredProfile, SmError> {
    let ki: Zeroizing<[u8; 16]> = Zeroizing::new(random_array(&mut SysRng)?);
    let opc: Zeroizing<[u8; 16]> = Zeroizing::new(random_array(&mut SysRng)?);
    Ok(StoredProfile {
        iccid: new_iccid()?,
        imsi: format!("{IMSI_PREFIX}{}", random_digits(15 - IMSI_PREFIX.len())?),
        msisdn: op_id.to_string(),
        ki: SecretBytes::from_slice(ki.as_slice()),
        opc: SecretBytes::from_slice(opc.as_slice()),
        spn: spec.spn.clone(),
        profile_name: spec
            .name
            .clone()
            .unwrap_or_else(|| format!("{} {op_id}", spec.spn)),
    })
}

fn key16(name: &str, b: &SecretBytes) -> Result<Zeroizing<[u8; 16]>, SmError> {
    let mut k = Zeroizing::new([0u8; 16]);
    if b.expose().len() != 16 {
        return Err(SmError::Invalid(format!(
            "the stored {name} has {} bytes; the card takes 16",
            b.expose().len()
        )));
    }
    k.copy_from_slice(b.expose());
    Ok(k)
}

/// The wire form of a stored profile, ready to encode and seal.
pub fn to_wire(p: &StoredProfile) -> Result<OperatorProfile, SmError> {
    Ok(OperatorProfile {
        iccid: Iccid::from_digits(&p.iccid)
            .map_err(|e| SmError::Invalid(format!("stored ICCID {}: {e}", p.iccid)))?,
        imsi: p.imsi.clone(),
        msisdn: p.msisdn.clone(),
        ki: key16("Ki", &p.ki)?,
        opc: key16("OPc", &p.opc)?,
        service_provider: p.spn.clone(),
        profile_name: p.profile_name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_matches_known_numbers() {
        // IMEI 49015420323751-8 and ICCID 8949 0000 0000 0000 001-? from the es10 tests.
        assert_eq!(apdu::luhn::check_digit("49015420323751"), Some(8));
        assert_eq!(apdu::luhn::check_digit("7992739871"), Some(3));
        assert_eq!(apdu::luhn::check_digit("12a"), None);
        assert!(apdu::cat::imei_is_valid("490154203237518"));
    }

    #[test]
    fn new_profiles_are_valid_and_different() {
        let spec = ProfileSpec::default();
        let a = new_profile("+8613800000001", &spec).unwrap();
        let b = new_profile("+8613800000001", &spec).unwrap();
        assert_eq!(a.iccid.len(), 20);
        assert!(a.iccid.starts_with(ICCID_PREFIX));
        let (body, check) = a.iccid.split_at(19);
        assert_eq!(
            apdu::luhn::check_digit(body)
                .map(|d| d.to_string())
                .as_deref(),
            Some(check)
        );
        assert_eq!(a.imsi.len(), 15);
        assert!(a.imsi.starts_with(IMSI_PREFIX));
        assert_eq!(a.msisdn, "+8613800000001");
        assert_eq!(a.profile_name, "vEUICC Mobile +8613800000001");
        assert_ne!(a.iccid, b.iccid);
        assert_ne!(a.ki.expose(), b.ki.expose());
        assert_ne!(a.ki.expose(), a.opc.expose());
        let wire = to_wire(&a).unwrap();
        assert_eq!(wire.iccid.digits(), a.iccid);
        let back = OperatorProfile::decode(&wire.encode()).unwrap();
        assert_eq!(back, wire);
        assert!(!format!("{a:?}{wire:?}").contains(&hex::encode(a.ki.expose())));
    }
}
