//! The result codes in `80` of the device-change answers
//! (docs/device-change-protocol.md §Functions; 0 and 127 as in SGP.22 §5.7).

use std::fmt;

/// A result code of a device-change answer.
///
/// [`DcResult::from_code`] is total and lossless: a code this version does not know
/// becomes [`DcResult::Other`] and encodes back to the same byte. It never yields
/// `Other` for a code that has its own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DcResult {
    /// 0.
    Ok,
    /// 1: no session, or a function out of order (e.g. BF67 without BF66 first).
    NoSession,
    /// 2: the user ended the proactive session or gave no answer.
    UserAborted,
    /// 3: the two entries of a new parameter differ.
    ParameterMismatch,
    /// 4: the parameter is too short or too long.
    ParameterInvalid,
    /// 5: the sealed profile could not be opened (wrong key, tampered, wrong card).
    DecryptionFailed,
    /// 6: the card already holds a profile with this OP ID or ICCID.
    AlreadyInstalled,
    /// 7: no profile with this OP ID / ICCID.
    NotFound,
    /// 8: the terminal could not give the IMEI.
    NoImei,
    /// 9: bad KDF parameters or challenge from the SM.
    BadRequest,
    /// 10: the terminal's input is not acceptable (e.g. an OP ID with letters).
    InputInvalid,
    /// 11: the SM's authorisation of a BF69/BF6B is missing, stale or does not verify
    /// (issue 10, findings 1-2).
    NotAuthorised,
    /// 127.
    Undefined,
    /// Any other code a card sent.
    Other(u8),
}

/// Every code with its own variant, with its byte and meaning (the one table).
const TABLE: [(DcResult, u8, &str); 13] = [
    (DcResult::Ok, 0, "ok"),
    (
        DcResult::NoSession,
        1,
        "no device-change session in progress on the card",
    ),
    (DcResult::UserAborted, 2, "the user ended the session"),
    (
        DcResult::ParameterMismatch,
        3,
        "the two entries of the new parameter differ",
    ),
    (
        DcResult::ParameterInvalid,
        4,
        "the parameter has the wrong length",
    ),
    (
        DcResult::DecryptionFailed,
        5,
        "the operator profile could not be decrypted on this card",
    ),
    (
        DcResult::AlreadyInstalled,
        6,
        "the card already holds this operator profile",
    ),
    (DcResult::NotFound, 7, "no such profile on the card"),
    (DcResult::NoImei, 8, "the terminal did not provide an IMEI"),
    (
        DcResult::BadRequest,
        9,
        "the SM's request was rejected by the card",
    ),
    (
        DcResult::InputInvalid,
        10,
        "the input given to the card is not acceptable",
    ),
    (
        DcResult::NotAuthorised,
        11,
        "the card did not accept the SM's authorisation (certificate, signature or one-time challenge)",
    ),
    (DcResult::Undefined, 127, "undefined error"),
];

impl DcResult {
    /// The byte in `80` (encode).
    pub fn code(self) -> u8 {
        match self {
            DcResult::Other(c) => c,
            known => TABLE
                .iter()
                .find(|(r, _, _)| *r == known)
                .map_or(127, |(_, c, _)| *c),
        }
    }

    /// The result of byte `code` (decode).
    pub fn from_code(code: u8) -> DcResult {
        TABLE
            .iter()
            .find(|(_, c, _)| *c == code)
            .map_or(DcResult::Other(code), |(r, _, _)| *r)
    }

    /// What the code means, for messages.
    pub fn meaning(self) -> &'static str {
        let known = DcResult::from_code(self.code());
        TABLE
            .iter()
            .find(|(r, _, _)| *r == known)
            .map_or("undefined error", |(_, _, m)| m)
    }

    pub fn is_ok(self) -> bool {
        self.code() == 0
    }
}

impl fmt::Display for DcResult {
    /// The number, as in "result 5".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_and_known_codes_have_their_variant() {
        for b in 0..=255u8 {
            let r = DcResult::from_code(b);
            assert_eq!(r.code(), b);
            let known = TABLE.iter().any(|(_, c, _)| *c == b);
            assert_eq!(!matches!(r, DcResult::Other(_)), known, "{b}");
        }
        assert_eq!(DcResult::from_code(5), DcResult::DecryptionFailed);
        assert_eq!(DcResult::Undefined.code(), 127);
        assert_eq!(DcResult::Other(42).meaning(), "undefined error");
        assert_eq!(DcResult::NoImei.to_string(), "8");
    }
}
