//! Shape checks on caller-supplied values before they reach the database. The store
//! does not judge meaning (that an IMEI's Luhn digit is right is the CLI's business);
//! it only refuses what would make a record unusable: empty or oversized fields,
//! control characters, secrets of the wrong length.

use super::error::StoreError;

/// Longest identifier accepted (OP ID, ICCID, IMSI, MSISDN, IMEI, EID, operator name).
pub const MAX_ID_LEN: usize = 64;
/// Longest free text (SPN, profile name) in characters.
pub const MAX_NAME_LEN: usize = 64;
/// Longest audit `details` text in characters.
pub const MAX_DETAILS_LEN: usize = 1024;
/// Longest DER public key accepted (RSA-4096 SubjectPublicKeyInfo is ~550 bytes).
pub const MAX_KEY_DER_LEN: usize = 4096;
/// KDF salt length bounds.
pub const SALT_LEN: std::ops::RangeInclusive<usize> = 8..=64;
/// Longest opaque KDF parameter encoding.
pub const MAX_KDF_PARAMS_LEN: usize = 256;
/// Challenge length bounds.
pub const CHALLENGE_LEN: std::ops::RangeInclusive<usize> = 16..=64;

/// A non-empty identifier of printable ASCII without spaces.
pub fn id(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::invalid(field, "empty"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(StoreError::invalid(
            field,
            format!("longer than {MAX_ID_LEN} characters"),
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::invalid(
            field,
            "only printable ASCII without spaces is allowed",
        ));
    }
    Ok(())
}

/// Text of at most `max` characters with no control characters (may be empty only if
/// `allow_empty`).
pub fn text(
    field: &'static str,
    value: &str,
    max: usize,
    allow_empty: bool,
) -> Result<(), StoreError> {
    if value.is_empty() && !allow_empty {
        return Err(StoreError::invalid(field, "empty"));
    }
    if value.chars().count() > max {
        return Err(StoreError::invalid(
            field,
            format!("longer than {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// A byte string whose length lies in `range`.
pub fn bytes(
    field: &'static str,
    value: &[u8],
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), StoreError> {
    if range.contains(&value.len()) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!(
                "{} bytes, expected {} to {}",
                value.len(),
                range.start(),
                range.end()
            ),
        ))
    }
}

/// A subscriber key (Ki) or operator variant key (OPc): 128 or 256 bits (TS 35.206 /
/// TS 35.231).
pub fn subscriber_key(field: &'static str, value: &[u8]) -> Result<(), StoreError> {
    if value.len() == 16 || value.len() == 32 {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!("{} bytes, expected 16 or 32", value.len()),
        ))
    }
}
