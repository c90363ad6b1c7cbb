//! Status words (ISO/IEC 7816-4 §5.1.3, ETSI TS 102 221 §10.2, TS 102 223 for `91xx`).
//!
//! One type for every SW either side produces or reads. Variants that carry a value
//! (`61xx`, `6Cxx`, `63Cx`, `91xx`) keep it; anything not named here is `Other`, so
//! decoding never fails. [`StatusWord::meaning`] is the one place SWs become text.

use std::fmt;

/// A status word SW1 SW2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusWord {
    /// `9000`: normal ending.
    Success,
    /// `61xx`: xx more response bytes available with GET RESPONSE (`00` means 256).
    BytesAvailable(u8),
    /// `91xx`: normal ending, a proactive command of xx bytes is pending (TS 102 221 §10.2.1.1).
    ProactiveCommandPending(u8),
    /// `6Cxx`: wrong Le; xx is the exact length available (`00` means 256).
    WrongLe(u8),
    /// `63Cx`: verification failed, x retries left.
    VerificationFailed(u8),
    /// `6281`: part of returned data may be corrupted.
    DataMayBeCorrupted,
    /// `6282`: end of file or record reached before reading Le bytes.
    EndOfFile,
    /// `6700`: wrong length.
    WrongLength,
    /// `6881`: logical channel not supported.
    LogicalChannelNotSupported,
    /// `6882`: secure messaging not supported.
    SecureMessagingNotSupported,
    /// `6883`: last command of the chain expected.
    LastCommandExpected,
    /// `6884`: command chaining not supported.
    ChainingNotSupported,
    /// `6981`: command incompatible with file structure.
    IncompatibleFileStructure,
    /// `6982`: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// `6983`: authentication method blocked.
    AuthenticationBlocked,
    /// `6984`: referenced data invalidated (TS 102 221 §10.2.1.5: e.g. CHANGE PIN on a
    /// disabled PIN).
    ReferenceDataInvalidated,
    /// `6985`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `6986`: command not allowed (no current EF).
    CommandNotAllowed,
    /// `6A80`: incorrect parameters in the command data field.
    IncorrectData,
    /// `6A81`: function not supported.
    FunctionNotSupported,
    /// `6A82`: file or application not found.
    FileNotFound,
    /// `6A83`: record not found.
    RecordNotFound,
    /// `6A84`: not enough memory space in the file.
    NotEnoughMemory,
    /// `6A86`: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// `6A88`: referenced data not found.
    ReferencedDataNotFound,
    /// `6B00`: wrong parameters P1-P2 (offset outside the EF).
    WrongP1P2,
    /// `6D00`: instruction code not supported or invalid.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// `6F00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// `9862`: authentication error, incorrect MAC (TS 31.102 §7.1.2.2, TS 102 221
    /// §10.2.1.6).
    AuthenticationMacFailure,
    /// Any other status word.
    Other(u16),
}

impl StatusWord {
    /// Decodes SW1 SW2. Never fails: unknown values become [`StatusWord::Other`].
    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        use StatusWord::*;
        match (sw1, sw2) {
            (0x90, 0x00) => Success,
            (0x61, n) => BytesAvailable(n),
            (0x91, n) => ProactiveCommandPending(n),
            (0x6C, n) => WrongLe(n),
            (0x63, n) if n & 0xF0 == 0xC0 => VerificationFailed(n & 0x0F),
            (0x62, 0x81) => DataMayBeCorrupted,
            (0x62, 0x82) => EndOfFile,
            (0x67, 0x00) => WrongLength,
            (0x68, 0x81) => LogicalChannelNotSupported,
            (0x68, 0x82) => SecureMessagingNotSupported,
            (0x68, 0x83) => LastCommandExpected,
            (0x68, 0x84) => ChainingNotSupported,
            (0x69, 0x81) => IncompatibleFileStructure,
            (0x69, 0x82) => SecurityStatusNotSatisfied,
            (0x69, 0x83) => AuthenticationBlocked,
            (0x69, 0x84) => ReferenceDataInvalidated,
            (0x69, 0x85) => ConditionsNotSatisfied,
            (0x69, 0x86) => CommandNotAllowed,
            (0x6A, 0x80) => IncorrectData,
            (0x6A, 0x81) => FunctionNotSupported,
            (0x6A, 0x82) => FileNotFound,
            (0x6A, 0x83) => RecordNotFound,
            (0x6A, 0x84) => NotEnoughMemory,
            (0x6A, 0x86) => IncorrectP1P2,
            (0x6A, 0x88) => ReferencedDataNotFound,
            (0x6B, 0x00) => WrongP1P2,
            (0x6D, 0x00) => InsNotSupported,
            (0x6E, 0x00) => ClaNotSupported,
            (0x6F, 0x00) => NoPreciseDiagnosis,
            (0x98, 0x62) => AuthenticationMacFailure,
            (a, b) => Other(u16::from_be_bytes([a, b])),
        }
    }

    /// Decodes a 16-bit SW.
    pub fn from_u16(sw: u16) -> Self {
        let [a, b] = sw.to_be_bytes();
        Self::from_bytes(a, b)
    }

    /// The two bytes SW1 SW2.
    pub fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// The SW as one 16-bit number.
    pub fn to_u16(self) -> u16 {
        use StatusWord::*;
        match self {
            Success => 0x9000,
            BytesAvailable(n) => 0x6100 | n as u16,
            ProactiveCommandPending(n) => 0x9100 | n as u16,
            WrongLe(n) => 0x6C00 | n as u16,
            VerificationFailed(n) => 0x63C0 | (n & 0x0F) as u16,
            DataMayBeCorrupted => 0x6281,
            EndOfFile => 0x6282,
            WrongLength => 0x6700,
            LogicalChannelNotSupported => 0x6881,
            SecureMessagingNotSupported => 0x6882,
            LastCommandExpected => 0x6883,
            ChainingNotSupported => 0x6884,
            IncompatibleFileStructure => 0x6981,
            SecurityStatusNotSatisfied => 0x6982,
            AuthenticationBlocked => 0x6983,
            ReferenceDataInvalidated => 0x6984,
            ConditionsNotSatisfied => 0x6985,
            CommandNotAllowed => 0x6986,
            IncorrectData => 0x6A80,
            FunctionNotSupported => 0x6A81,
            FileNotFound => 0x6A82,
            RecordNotFound => 0x6A83,
            NotEnoughMemory => 0x6A84,
            IncorrectP1P2 => 0x6A86,
            ReferencedDataNotFound => 0x6A88,
            WrongP1P2 => 0x6B00,
            InsNotSupported => 0x6D00,
            ClaNotSupported => 0x6E00,
            NoPreciseDiagnosis => 0x6F00,
            AuthenticationMacFailure => 0x9862,
            Other(v) => v,
        }
    }

    /// True for a normal ending: `9000`, `61xx`, `91xx` (and `92xx`, `9Fxx` of TS 102 221).
    pub fn is_success(self) -> bool {
        matches!(self.to_u16() >> 8, 0x90 | 0x61 | 0x91 | 0x92 | 0x9F)
    }

    /// What the SW means, in words.
    pub fn meaning(self) -> String {
        use StatusWord::*;
        match self {
            Success => "normal ending".into(),
            BytesAvailable(n) => format!("{} response bytes available", len_or_256(n)),
            ProactiveCommandPending(n) => {
                format!("normal ending, proactive command of {n} bytes pending")
            }
            WrongLe(n) => format!("wrong Le, {} bytes available", len_or_256(n)),
            VerificationFailed(n) => format!("verification failed, {n} retries left"),
            DataMayBeCorrupted => "part of returned data may be corrupted".into(),
            EndOfFile => "end of file reached before reading Le bytes".into(),
            WrongLength => "wrong length".into(),
            LogicalChannelNotSupported => "logical channel not supported".into(),
            SecureMessagingNotSupported => "secure messaging not supported".into(),
            LastCommandExpected => "last command of the chain expected".into(),
            ChainingNotSupported => "command chaining not supported".into(),
            IncompatibleFileStructure => "command incompatible with file structure".into(),
            SecurityStatusNotSatisfied => "security status not satisfied".into(),
            AuthenticationBlocked => "authentication method blocked".into(),
            ReferenceDataInvalidated => "referenced data invalidated".into(),
            ConditionsNotSatisfied => "conditions of use not satisfied".into(),
            CommandNotAllowed => "command not allowed".into(),
            IncorrectData => "incorrect parameters in the data field".into(),
            FunctionNotSupported => "function not supported".into(),
            FileNotFound => "file or application not found".into(),
            RecordNotFound => "record not found".into(),
            NotEnoughMemory => "not enough memory space".into(),
            IncorrectP1P2 => "incorrect parameters P1-P2".into(),
            ReferencedDataNotFound => "referenced data not found".into(),
            WrongP1P2 => "wrong parameters P1-P2".into(),
            InsNotSupported => "instruction code not supported".into(),
            ClaNotSupported => "class not supported".into(),
            NoPreciseDiagnosis => "no precise diagnosis".into(),
            AuthenticationMacFailure => "authentication error, incorrect MAC".into(),
            Other(v) => match v >> 8 {
                0x62 | 0x63 => "warning, state of non-volatile memory may have changed".into(),
                0x64 => "execution error, non-volatile memory unchanged".into(),
                0x65 => "execution error, non-volatile memory changed".into(),
                0x66 => "security-related issue".into(),
                0x67 => "wrong length".into(),
                0x68 => "functions in CLA not supported".into(),
                0x69 => "command not allowed".into(),
                0x6A | 0x6B => "wrong parameters".into(),
                0x92 | 0x9F => "normal ending".into(),
                _ => "unknown status word".into(),
            },
        }
    }
}

fn len_or_256(n: u8) -> usize {
    if n == 0 {
        256
    } else {
        n as usize
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}: {}", self.to_u16(), self.meaning())
    }
}

impl From<u16> for StatusWord {
    fn from(v: u16) -> Self {
        Self::from_u16(v)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> u16 {
        sw.to_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u16_round_trips() {
        for v in 0..=u16::MAX {
            assert_eq!(StatusWord::from_u16(v).to_u16(), v, "{v:04X}");
        }
    }

    #[test]
    fn value_carrying_variants() {
        assert_eq!(
            StatusWord::from_u16(0x6115),
            StatusWord::BytesAvailable(0x15)
        );
        assert_eq!(StatusWord::from_u16(0x6C10), StatusWord::WrongLe(0x10));
        assert_eq!(
            StatusWord::from_u16(0x63C2),
            StatusWord::VerificationFailed(2)
        );
        assert_eq!(
            StatusWord::from_u16(0x9127),
            StatusWord::ProactiveCommandPending(0x27)
        );
        assert_eq!(StatusWord::from_u16(0x6310), StatusWord::Other(0x6310));
    }

    #[test]
    fn display_shows_code_and_meaning() {
        assert_eq!(
            StatusWord::SecurityStatusNotSatisfied.to_string(),
            "6982: security status not satisfied"
        );
        assert_eq!(
            StatusWord::BytesAvailable(0).meaning(),
            "256 response bytes available"
        );
    }

    #[test]
    fn success_classes() {
        assert!(StatusWord::Success.is_success());
        assert!(StatusWord::BytesAvailable(3).is_success());
        assert!(StatusWord::ProactiveCommandPending(3).is_success());
        assert!(!StatusWord::FileNotFound.is_success());
    }
}
