//! Command APDUs (ISO/IEC 7816-4 §5.1) and the class byte (§5.4.1).
//!
//! [`Command::parse`] decodes all four cases, short and extended, and answers a
//! [`StatusWord`] for malformed input; [`Command::to_bytes`] picks the short form
//! whenever it fits and reports a command that fits no form ([`LengthError`]). [`Cla`] reads and writes the logical channel in CLA, for the
//! first (channels 0-3) and further (channels 4-19) interindustry encodings.

use crate::iso7816::sw::StatusWord;
use std::fmt;

/// The largest command data field (Nc) an extended Lc can carry.
pub const MAX_LC: usize = 65_535;
/// The largest Ne an extended Le can ask for (`Le = 0000`).
pub const MAX_NE: usize = 65_536;

/// A class byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cla(pub u8);

/// How a class byte is coded (ISO/IEC 7816-4 §5.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaKind {
    /// `000x xxxx` / `100x xxxx`: channels 0-3 in b2-b1, chaining in b5, SM in b4-b3.
    First,
    /// `01xx xxxx` / `11xx xxxx`: channels 4-19 in b4-b1, chaining in b5, SM in b6.
    Further,
    /// Anything else (`001x xxxx`, `101x xxxx` such as GSM's `A0`, and `FF`).
    Invalid,
}

impl Cla {
    /// How this CLA is coded.
    pub fn kind(self) -> ClaKind {
        if self.0 == 0xFF {
            ClaKind::Invalid
        } else if self.0 & 0x40 != 0 {
            ClaKind::Further
        } else if self.0 & 0x20 == 0 {
            ClaKind::First
        } else {
            ClaKind::Invalid
        }
    }

    /// The logical channel number (0-19), or `None` for an invalid CLA.
    pub fn channel(self) -> Option<u8> {
        match self.kind() {
            ClaKind::First => Some(self.0 & 0x03),
            ClaKind::Further => Some(4 + (self.0 & 0x0F)),
            ClaKind::Invalid => None,
        }
    }

    /// Bit 8: proprietary class (GlobalPlatform and ETSI commands use `8x`/`Cx`).
    pub fn is_proprietary(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// Bit 5: command chaining, "not the last command of a chain".
    pub fn is_chained(self) -> bool {
        self.kind() != ClaKind::Invalid && self.0 & 0x10 != 0
    }

    /// Secure messaging indicated.
    pub fn has_secure_messaging(self) -> bool {
        match self.kind() {
            ClaKind::First => self.0 & 0x0C != 0,
            ClaKind::Further => self.0 & 0x20 != 0,
            ClaKind::Invalid => false,
        }
    }

    /// The CLA for `channel` (0-19) with the given proprietary bit, no chaining, no SM.
    /// Returns `None` for a channel above 19.
    pub fn for_channel(proprietary: bool, channel: u8) -> Option<Cla> {
        let high = if proprietary { 0x80 } else { 0x00 };
        match channel {
            0..=3 => Some(Cla(high | channel)),
            4..=19 => Some(Cla(high | 0x40 | (channel - 4))),
            _ => None,
        }
    }

    /// The same CLA moved to another channel (keeps the proprietary bit).
    pub fn with_channel(self, channel: u8) -> Option<Cla> {
        Cla::for_channel(self.is_proprietary(), channel)
    }

    /// The same CLA with the chaining bit cleared.
    pub fn without_chaining(self) -> Cla {
        Cla(self.0 & !0x10)
    }
}

/// A command APDU. `le` is Ne, the maximum number of response bytes expected
/// (`Some(256)` for a short `Le = 00`, `Some(65536)` for an extended `Le = 0000`).
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: Cla,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<usize>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command {{ {:02X} {:02X} {:02X} {:02X}, Lc={}, Le={:?} }}",
            self.cla.0,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl Command {
    /// A case 1 command (no data, no Le).
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command {
            cla: Cla(cla),
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// Adds a data field.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Adds Ne (1..=65536).
    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// The ISO case (1-4).
    pub fn case(&self) -> u8 {
        match (self.data.is_empty(), self.le.is_some()) {
            (true, false) => 1,
            (true, true) => 2,
            (false, false) => 3,
            (false, true) => 4,
        }
    }

    /// Decodes a command APDU of any case, short or extended (ISO/IEC 7816-4 §5.1).
    /// Malformed length fields answer `6700`.
    pub fn parse(b: &[u8]) -> Result<Command, StatusWord> {
        if b.len() < 4 {
            return Err(StatusWord::WrongLength);
        }
        let mut cmd = Command::new(b[0], b[1], b[2], b[3]);
        let body = &b[4..];
        match body.len() {
            0 => {}
            1 => cmd.le = Some(short_ne(body[0])),
            _ if body[0] != 0 => {
                let lc = body[0] as usize;
                match body.len() - 1 {
                    n if n == lc => {}
                    n if n == lc + 1 => cmd.le = Some(short_ne(body[lc + 1])),
                    _ => return Err(StatusWord::WrongLength),
                }
                cmd.data = body[1..1 + lc].to_vec();
            }
            3 => cmd.le = Some(ext_ne(body[1], body[2])),
            n if n >= 4 => {
                let lc = u16::from_be_bytes([body[1], body[2]]) as usize;
                if lc == 0 {
                    return Err(StatusWord::WrongLength);
                }
                match n - 3 {
                    m if m == lc => {}
                    m if m == lc + 2 => cmd.le = Some(ext_ne(body[3 + lc], body[4 + lc])),
                    _ => return Err(StatusWord::WrongLength),
                }
                cmd.data = body[3..3 + lc].to_vec();
            }
            _ => return Err(StatusWord::WrongLength),
        }
        Ok(cmd)
    }

    /// Encodes the command, short form when Nc <= 255 and Ne <= 256, else extended.
    /// A data field over [`MAX_LC`] bytes or an Ne outside 1..=[`MAX_NE`] has no
    /// encoding (ISO/IEC 7816-4 §5.1): [`LengthError`], nothing truncated or clamped.
    pub fn to_bytes(&self) -> Result<Vec<u8>, LengthError> {
        let data = &self.data;
        let nc = u16::try_from(data.len()).map_err(|_| LengthError::DataTooLong(data.len()))?;
        let le = match self.le {
            Some(n) if !(1..=MAX_NE).contains(&n) => return Err(LengthError::NeOutOfRange(n)),
            le => le,
        };
        let mut out = Vec::with_capacity(data.len() + 9);
        out.extend_from_slice(&[self.cla.0, self.ins, self.p1, self.p2]);
        let extended = nc > 255 || le.is_some_and(|n| n > 256);
        if !extended {
            if nc > 0 {
                out.push(nc as u8);
                out.extend_from_slice(data);
            }
            if let Some(n) = le {
                // Ne 256 is written 00.
                out.push((n % 256) as u8);
            }
        } else {
            out.push(0);
            if nc > 0 {
                out.extend_from_slice(&nc.to_be_bytes());
                out.extend_from_slice(data);
            }
            if let Some(n) = le {
                // Ne 65 536 is written 0000.
                out.extend_from_slice(&((n % 65_536) as u16).to_be_bytes());
            }
        }
        Ok(out)
    }
}

/// Why a [`Command`] has no encoding.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LengthError {
    #[error("command data field of {0} bytes is longer than {MAX_LC}")]
    DataTooLong(usize),
    #[error("Ne {0} is outside 1..={MAX_NE}")]
    NeOutOfRange(usize),
}

fn short_ne(le: u8) -> usize {
    if le == 0 {
        256
    } else {
        le as usize
    }
}

fn ext_ne(a: u8, b: u8) -> usize {
    match u16::from_be_bytes([a, b]) {
        0 => 65_536,
        n => n as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(hex_in: &str) -> Command {
        let b = hex::decode(hex_in).unwrap();
        let c = Command::parse(&b).unwrap();
        assert_eq!(
            hex::encode_upper(c.to_bytes().unwrap()),
            hex_in.to_uppercase()
        );
        c
    }

    #[test]
    fn four_cases_short() {
        assert_eq!(round("00700000").case(), 1);
        let c = round("0070000001");
        assert_eq!((c.case(), c.le), (2, Some(1)));
        let c = round("01A4040010A0000005591010FFFFFFFF8900000100");
        assert_eq!((c.case(), c.data.len()), (3, 16));
        let c = round("80E2910003BF560000");
        assert_eq!((c.case(), c.le), (4, Some(256)));
    }

    #[test]
    fn four_cases_extended() {
        let c = round("00B0000000FFFF");
        assert_eq!((c.case(), c.le), (2, Some(65535)));
        let c = round("00B0000000000000".get(..14).unwrap());
        assert_eq!(c.le, Some(65536));
        let data = vec![0xAB; 300];
        let mut raw = vec![0x80, 0xE2, 0x91, 0x00, 0x00, 0x01, 0x2C];
        raw.extend_from_slice(&data);
        let c = Command::parse(&raw).unwrap();
        assert_eq!((c.case(), c.data.len()), (3, 300));
        assert_eq!(c.to_bytes().unwrap(), raw);
        raw.extend_from_slice(&[0x01, 0x00]);
        let c = Command::parse(&raw).unwrap();
        assert_eq!((c.case(), c.le), (4, Some(256)));
        assert_eq!(c.to_bytes().unwrap(), raw);
    }

    #[test]
    fn malformed_lengths_answer_6700() {
        for bad in [
            "",
            "00",
            "00A4",
            "00A404",
            "00A4040002AA",
            "00A4040001AABBCC",
            "00A4040000AA",
            "00B000000000",
            "00B00000000002AA",
        ] {
            let b = hex::decode(bad).unwrap();
            assert_eq!(Command::parse(&b), Err(StatusWord::WrongLength), "{bad}");
        }
    }

    #[test]
    fn class_byte_channels() {
        assert_eq!(Cla(0x00).channel(), Some(0));
        assert_eq!(Cla(0x83).channel(), Some(3));
        assert_eq!(Cla(0x40).channel(), Some(4));
        assert_eq!(Cla(0xCF).channel(), Some(19));
        assert_eq!(Cla(0xA0).channel(), None);
        assert_eq!(Cla(0xFF).channel(), None);
        for ch in 0..20 {
            for p in [false, true] {
                let c = Cla::for_channel(p, ch).unwrap();
                assert_eq!(c.channel(), Some(ch));
                assert_eq!(c.is_proprietary(), p);
                assert!(!c.is_chained() && !c.has_secure_messaging());
            }
        }
        assert_eq!(Cla::for_channel(false, 20), None);
        assert!(Cla(0x90).is_chained());
        assert!(Cla(0x50).is_chained());
        assert!(Cla(0x0C).has_secure_messaging());
        assert!(Cla(0x60).has_secure_messaging());
    }

    /// What ISO/IEC 7816-4 §5.1 says `b` is, written independently of `parse`:
    /// `Some((Nc, Ne))` for one of the seven encodings (cases 1, 2S, 3S, 4S, 2E, 3E, 4E),
    /// `None` for anything else.
    fn reference(b: &[u8]) -> Option<(usize, Option<usize>)> {
        let body = b.get(4..)?;
        let short_ne = |x: u8| if x == 0 { 256 } else { usize::from(x) };
        let ext_ne = |x: u8, y: u8| match u16::from_be_bytes([x, y]) {
            0 => 65_536,
            n => usize::from(n),
        };
        let n = body.len();
        if n == 0 {
            return Some((0, None)); // case 1
        }
        if n == 1 {
            return Some((0, Some(short_ne(body[0])))); // case 2S
        }
        let lc = usize::from(body[0]);
        if lc != 0 {
            return match (n - 1).checked_sub(lc) {
                Some(0) => Some((lc, None)),                        // case 3S
                Some(1) => Some((lc, Some(short_ne(body[n - 1])))), // case 4S
                _ => None,
            };
        }
        if n == 3 {
            return Some((0, Some(ext_ne(body[1], body[2])))); // case 2E
        }
        let lc = usize::from(u16::from_be_bytes([body[1], *body.get(2)?]));
        match n.checked_sub(3 + lc) {
            _ if lc == 0 => None,
            Some(0) => Some((lc, None)), // case 3E
            Some(2) => Some((lc, Some(ext_ne(body[n - 2], body[n - 1])))), // case 4E
            _ => None,
        }
    }

    /// The oracle for every input up to 12 bytes over an alphabet of length-like bytes
    /// (and 300-byte extended ones): `parse` accepts exactly what the reference accepts,
    /// with the same Nc and Ne, answers `6700` for everything else, and what it decodes
    /// encodes to bytes that decode equal.
    #[test]
    fn parse_never_panics_on_short_garbage() {
        let alphabet = [0x00u8, 0x01, 0x02, 0x03, 0xFF];
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in 0..=12usize {
            // Header bytes are arbitrary; the body is every combination of the alphabet
            // in its first three bytes (where Lc and Le sit), then filler.
            for code in 0..alphabet.len().pow(3) {
                let mut b = vec![0x80, 0xE2, 0x91, 0x00];
                let digits = [code % 5, code / 5 % 5, code / 25];
                b.extend(digits.iter().map(|&d| alphabet[d]));
                b.resize(len.max(4), 0xAA);
                b.truncate(len);
                inputs.push(b);
            }
        }
        for tail in [0usize, 1, 2, 3] {
            let mut b = vec![0x00, 0xD6, 0x00, 0x00, 0x00, 0x01, 0x2C];
            b.resize(7 + 300 + tail, 0x55);
            inputs.push(b);
        }
        let mut accepted = 0;
        for b in &inputs {
            match (Command::parse(b), reference(b)) {
                (Ok(c), Some((nc, ne))) => {
                    accepted += 1;
                    assert_eq!((c.data.len(), c.le), (nc, ne), "{}", hex::encode(b));
                    assert_eq!(&b[..4], &[c.cla.0, c.ins, c.p1, c.p2]);
                    let again = Command::parse(&c.to_bytes().unwrap());
                    assert_eq!(again.as_ref(), Ok(&c), "{}", hex::encode(b));
                }
                (Err(sw), None) => assert_eq!(sw, StatusWord::WrongLength, "{}", hex::encode(b)),
                (got, want) => panic!("{}: parse {got:?}, reference {want:?}", hex::encode(b)),
            }
        }
        assert!(accepted > 100 && accepted < inputs.len() / 2, "{accepted}");
    }

    /// Nc over 65 535 and Ne outside 1..=65 536 have no encoding: reported, not cut.
    #[test]
    fn lengths_that_fit_no_encoding_are_reported() {
        let at_max = Command::new(0x00, 0xD6, 0, 0).with_data(vec![0x11; MAX_LC]);
        let b = at_max.to_bytes().unwrap();
        assert_eq!(&b[4..7], &[0x00, 0xFF, 0xFF]);
        assert_eq!(b.len(), 7 + MAX_LC);
        let over = at_max.clone().with_data(vec![0x11; MAX_LC + 1]);
        assert_eq!(over.to_bytes(), Err(LengthError::DataTooLong(MAX_LC + 1)));
        let read = Command::new(0x00, 0xB0, 0, 0);
        assert_eq!(
            read.clone().with_le(MAX_NE).to_bytes().unwrap(),
            [0, 0xB0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            read.clone().with_le(256).to_bytes().unwrap(),
            [0, 0xB0, 0, 0, 0]
        );
        assert_eq!(
            read.clone().with_le(1).to_bytes().unwrap(),
            [0, 0xB0, 0, 0, 1]
        );
        for bad in [0, MAX_NE + 1, usize::MAX] {
            let c = read.clone().with_le(bad);
            assert_eq!(c.to_bytes(), Err(LengthError::NeOutOfRange(bad)), "{bad}");
        }
    }
}
