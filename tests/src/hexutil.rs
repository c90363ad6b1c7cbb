//! Small helpers the tests share: hex in and out, status words, and an EID check written
//! here from the rule (ISO/IEC 7064 MOD 97-10, interop.md "EIDs carry two check digits"),
//! independent of the `apdu` crate it is meant to check.

/// Bytes from hex; spaces are ignored. Panics on bad hex: callers pass literals.
pub fn hex(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    match hex::decode(&clean) {
        Ok(b) => b,
        Err(e) => panic!("bad hex literal {s:?}: {e}"),
    }
}

/// Upper-case hex.
pub fn up(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// The status word at the end of a response APDU (0 when shorter than 2 bytes).
pub fn sw(resp: &[u8]) -> u16 {
    match resp {
        [.., a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// The data part of a response APDU.
pub fn data(resp: &[u8]) -> &[u8] {
    &resp[..resp.len().saturating_sub(2)]
}

/// True when `eid` is 32 decimal digits whose value mod 97 is 1.
pub fn eid_valid(eid: &str) -> bool {
    eid.len() == 32
        && eid.bytes().all(|b| b.is_ascii_digit())
        && eid
            .bytes()
            .fold(0u32, |acc, d| (acc * 10 + u32::from(d - b'0')) % 97)
            == 1
}

/// The EID digits inside a GetEID answer `BF3E 12 5A 10 <16 bytes>` (+ SW), if well formed.
pub fn eid_from_get_eid(resp: &[u8]) -> Option<String> {
    let d = data(resp);
    if d.len() == 21 && d[..5] == [0xBF, 0x3E, 0x12, 0x5A, 0x10] {
        Some(hex::encode(&d[5..]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eid_check_digits() {
        // The SGP.29 example EID.
        assert!(eid_valid("89049032123451234512345678901235"));
        assert!(!eid_valid("89049032123451234512345678901234"));
        assert!(!eid_valid("8904903212345123451234567890123"));
    }

    #[test]
    fn sw_and_data() {
        assert_eq!(sw(&[0x01, 0x90, 0x00]), 0x9000);
        assert_eq!(data(&[0x01, 0x90, 0x00]), &[0x01]);
        assert_eq!(sw(&[0x90]), 0);
    }
}
