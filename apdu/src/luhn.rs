//! The Luhn check digit (ISO/IEC 7812-1 Annex B), as ITU-T E.118 §4.4 uses it for the
//! ICCID and 3GPP TS 23.003 §6.2.1 (Annex B) for the IMEI. The one implementation both
//! sides use: card-sim derives ICCIDs, the SM allocates them, the CAT code checks IMEIs.

/// The check digit to append to `body`, a string of decimal digits; `None` if `body`
/// holds anything else. Doubling starts at the rightmost digit of `body`.
pub fn check_digit(body: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        sum += if i % 2 == 0 {
            let x = d * 2;
            x / 10 + x % 10
        } else {
            d
        };
    }
    // `sum % 10` < 10, so the value fits a u8.
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether `number` (at least two decimal digits) ends in the check digit of the rest.
pub fn is_valid(number: &str) -> bool {
    match number.as_bytes().split_last() {
        Some((&last, body)) if !body.is_empty() && last.is_ascii_digit() => {
            // `body` is a prefix of a &str ending before an ASCII byte: valid UTF-8.
            std::str::from_utf8(body)
                .ok()
                .and_then(check_digit)
                .is_some_and(|d| d == last - b'0')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        // Textbook example, an IMEI (TS 23.003 Annex B) and an ICCID from the card tests.
        assert_eq!(check_digit("7992739871"), Some(3));
        assert_eq!(check_digit("49015420323751"), Some(8));
        assert_eq!(check_digit("8901410321111851072"), Some(0));
        assert_eq!(check_digit(""), Some(0));
        assert_eq!(check_digit("12a"), None);
        assert!(is_valid("490154203237518"));
        assert!(!is_valid("490154203237519"));
        assert!(!is_valid("8"));
        assert!(!is_valid(""));
        assert!(!is_valid("4901542032375x8"));
    }

    #[test]
    fn every_single_digit_change_is_detected() {
        let good = "490154203237518";
        for i in 0..good.len() {
            for d in b'0'..=b'9' {
                let mut s = good.as_bytes().to_vec();
                if s[i] == d {
                    continue;
                }
                s[i] = d;
                let s = String::from_utf8(s).unwrap();
                assert!(!is_valid(&s), "{s}");
            }
        }
    }
}
