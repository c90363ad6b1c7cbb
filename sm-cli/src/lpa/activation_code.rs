//! Activation Codes (SGP.22 v2.x §4.1): what the end user scans or types to start a
//! profile download, `1$<SM-DP+ address>$<AC_Token>[$<SM-DP+ OID>[$<CC required flag>]]`,
//! optionally behind the `LPA:` scheme of the QR code (§4.1.1; accepted in any case, and
//! also without it, as lpac and other LPAs accept it).
//!
//! The rules checked (§4.1):
//! - `AC_Format` is `1` (the only format defined);
//! - the SM-DP+ address is an FQDN (labels of letters, digits and `-`, at most 63 characters
//!   each, not starting or ending with `-`; at most 255 characters), optionally followed
//!   by `:port` (1-65535), which the test servers of this project and osmo-smdpp use;
//! - the AC_Token is the Matching ID: only `0`-`9`, `A`-`Z` and `-`, at most 255
//!   characters (ctxParams1's matchingId); it may be empty (then no matchingId is sent,
//!   the default-SM-DP+ case of §3.1.3);
//! - the SM-DP+ OID, when present and not empty, is a dotted-decimal OBJECT IDENTIFIER;
//! - the Confirmation Code Required Flag, when present, is `1`.
//!
//! The parser works on untrusted text (QR codes, command lines, fuzzing): it never
//! panics, reads at most [`MAX_LEN`] bytes and names the part that is wrong.

use std::fmt;

/// The longest activation code accepted (bytes, after the `LPA:` prefix): the FQDN and
/// Matching ID at their maxima with an OID and the flag fit well within it.
pub const MAX_LEN: usize = 1024;
/// The longest Matching ID (ctxParams1 matchingId, SGP.22 §5.7.13: at most 255).
pub const MAX_MATCHING_ID: usize = 255;
/// The longest FQDN (RFC 1035 §2.3.4).
const MAX_FQDN: usize = 255;
/// The longest DNS label (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;

/// Why a string is not an activation code; each names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcError {
    #[error("the activation code is empty")]
    Empty,
    #[error("the activation code is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error(
        "an activation code has 3 to 5 parts separated by '$' \
         (1$SM-DP+ address$matching ID[$OID[$1]]), this one has {0}"
    )]
    Parts(usize),
    #[error("activation code format '{0}' is not supported (SGP.22 defines only format 1)")]
    Format(String),
    #[error("the SM-DP+ address is empty")]
    NoAddress,
    #[error("the SM-DP+ address '{address}' is not an FQDN[:port]: {reason}")]
    Address {
        address: String,
        reason: &'static str,
    },
    #[error(
        "the matching ID '{0}' may hold only digits, upper-case letters A-Z and '-' \
         (SGP.22 §4.1)"
    )]
    MatchingIdChars(String),
    #[error("the matching ID has {0} characters, at most {MAX_MATCHING_ID} are allowed")]
    MatchingIdLength(usize),
    #[error(
        "the SM-DP+ OID '{0}' is not a dotted-decimal object identifier (e.g. 1.3.6.1.4.1.31746)"
    )]
    Oid(String),
    #[error("the confirmation code required flag is '{0}'; when present it must be '1'")]
    Flag(String),
}

/// An SM-DP+ address: an FQDN and an optional port (443 when absent, SGP.22 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmdpAddress {
    host: String,
    port: Option<u16>,
}

impl SmdpAddress {
    /// Parses `host[:port]` with the rules of the module docs.
    pub fn parse(s: &str) -> Result<SmdpAddress, AcError> {
        if s.is_empty() {
            return Err(AcError::NoAddress);
        }
        let bad = |reason| AcError::Address {
            address: s.to_string(),
            reason,
        };
        let (host, port) = match s.split_once(':') {
            Some((h, p)) => {
                if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("the port must be a number 1-65535"));
                }
                match p.parse::<u16>() {
                    Ok(n) if n > 0 => (h, Some(n)),
                    _ => return Err(bad("the port must be a number 1-65535")),
                }
            }
            None => (s, None),
        };
        if host.is_empty() {
            return Err(bad("the host name is empty"));
        }
        if host.len() > MAX_FQDN {
            return Err(bad("the host name is longer than 255 characters"));
        }
        // A trailing dot (the DNS root) is allowed once.
        let labels = host.strip_suffix('.').unwrap_or(host);
        for label in labels.split('.') {
            if label.is_empty() {
                return Err(bad("a host name label is empty"));
            }
            if label.len() > MAX_LABEL {
                return Err(bad("a host name label is longer than 63 characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(bad("a host name has only letters, digits, '-' and '.'"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(bad("a host name label neither starts nor ends with '-'"));
            }
        }
        Ok(SmdpAddress {
            host: host.to_string(),
            port,
        })
    }

    /// The host name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, when the address gives one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port to connect to (443 when none is given, SGP.22 §6.1: HTTPS).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(443)
    }
}

impl fmt::Display for SmdpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// A parsed activation code (SGP.22 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCode {
    pub address: SmdpAddress,
    /// The AC_Token; `None` when it is empty.
    pub matching_id: Option<String>,
    /// The SM-DP+ OID (dotted decimal), when given.
    pub smdp_oid: Option<String>,
    /// The Confirmation Code Required Flag.
    pub confirmation_code_required: bool,
}

fn check_matching_id(s: &str) -> Result<(), AcError> {
    if s.len() > MAX_MATCHING_ID {
        return Err(AcError::MatchingIdLength(s.chars().count()));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'-')
    {
        return Err(AcError::MatchingIdChars(s.to_string()));
    }
    Ok(())
}

/// Dotted decimal with at least two arcs, the first 0-2 (ITU-T X.660).
fn is_oid(s: &str) -> bool {
    let arcs: Vec<&str> = s.split('.').collect();
    arcs.len() >= 2
        && arcs
            .iter()
            .all(|a| !a.is_empty() && a.len() <= 20 && a.bytes().all(|b| b.is_ascii_digit()))
        && matches!(arcs[0], "0" | "1" | "2")
}

impl ActivationCode {
    /// Parses an activation code (module docs). Leading and trailing white space (a
    /// pasted line) is ignored.
    pub fn parse(input: &str) -> Result<ActivationCode, AcError> {
        let s = input.trim();
        let s = match s.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("LPA:") => &s[4..],
            _ => s,
        };
        if s.is_empty() {
            return Err(AcError::Empty);
        }
        if s.len() > MAX_LEN {
            return Err(AcError::TooLong);
        }
        let parts: Vec<&str> = s.split('$').collect();
        if !(3..=5).contains(&parts.len()) {
            return Err(AcError::Parts(parts.len()));
        }
        if parts[0] != "1" {
            return Err(AcError::Format(parts[0].to_string()));
        }
        let address = SmdpAddress::parse(parts[1])?;
        check_matching_id(parts[2])?;
        let smdp_oid = match parts.get(3) {
            None | Some(&"") => None,
            Some(o) if is_oid(o) => Some(o.to_string()),
            Some(o) => return Err(AcError::Oid(o.to_string())),
        };
        let confirmation_code_required = match parts.get(4) {
            None => false,
            Some(&"1") => true,
            Some(f) => return Err(AcError::Flag(f.to_string())),
        };
        Ok(ActivationCode {
            address,
            matching_id: (!parts[2].is_empty()).then(|| parts[2].to_string()),
            smdp_oid,
            confirmation_code_required,
        })
    }
}

impl std::str::FromStr for ActivationCode {
    type Err = AcError;
    fn from_str(s: &str) -> Result<Self, AcError> {
        ActivationCode::parse(s)
    }
}

impl fmt::Display for ActivationCode {
    /// The canonical form, with the `LPA:` prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LPA:1${}${}",
            self.address,
            self.matching_id.as_deref().unwrap_or("")
        )?;
        match (&self.smdp_oid, self.confirmation_code_required) {
            (None, false) => Ok(()),
            (Some(o), false) => write!(f, "${o}"),
            (o, true) => write!(f, "${}$1", o.as_deref().unwrap_or("")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> ActivationCode {
        ActivationCode::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_usual_shapes_parse() {
        let ac = ok("LPA:1$smdp.example.com$ABC-123");
        assert_eq!(ac.address.host(), "smdp.example.com");
        assert_eq!(ac.address.port(), None);
        assert_eq!(ac.address.port_or_default(), 443);
        assert_eq!(ac.matching_id.as_deref(), Some("ABC-123"));
        assert_eq!(ac.smdp_oid, None);
        assert!(!ac.confirmation_code_required);

        // Without the prefix, lower-case prefix, with a port, OID and flag.
        let ac = ok("1$127.0.0.1:8443$X");
        assert_eq!(
            (ac.address.host(), ac.address.port()),
            ("127.0.0.1", Some(8443))
        );
        assert_eq!(ok("lpa:1$a.b$X"), ok("LPA:1$a.b$X"));
        let ac = ok("LPA:1$smdp.io$M1$1.3.6.1.4.1.31746$1");
        assert_eq!(ac.smdp_oid.as_deref(), Some("1.3.6.1.4.1.31746"));
        assert!(ac.confirmation_code_required);
        // An empty OID before the flag; an empty matching ID.
        let ac = ok("LPA:1$smdp.io$M1$$1");
        assert_eq!((ac.smdp_oid, ac.confirmation_code_required), (None, true));
        assert_eq!(ok("LPA:1$smdp.io$").matching_id, None);
        // Pasted with a newline.
        assert_eq!(ok("  LPA:1$a.b$X\n"), ok("LPA:1$a.b$X"));
    }

    #[test]
    fn display_gives_the_canonical_code_back() {
        for s in [
            "LPA:1$smdp.example.com$ABC-123",
            "LPA:1$h:8443$M$1.2.3",
            "LPA:1$h$M$$1",
            "LPA:1$h$M$1.2.3$1",
            "LPA:1$h$",
        ] {
            assert_eq!(ok(s).to_string(), s);
        }
        assert_eq!(ok("1$h$M").to_string(), "LPA:1$h$M");
    }

    #[test]
    fn each_rule_has_its_error() {
        let err = |s: &str| ActivationCode::parse(s).unwrap_err();
        assert_eq!(err(""), AcError::Empty);
        assert_eq!(err("LPA:"), AcError::Empty);
        assert_eq!(err("LPA:1$h"), AcError::Parts(2));
        assert_eq!(err("LPA:1$h$M$1.2$1$x"), AcError::Parts(6));
        assert_eq!(err("LPA:2$h$M"), AcError::Format("2".into()));
        assert_eq!(err("LPA:1$$M"), AcError::NoAddress);
        assert_eq!(err("LPA:1$h$abc"), AcError::MatchingIdChars("abc".into()));
        assert_eq!(err("LPA:1$h$A B"), AcError::MatchingIdChars("A B".into()));
        assert_eq!(
            err(&format!("LPA:1$h${}", "A".repeat(256))),
            AcError::MatchingIdLength(256)
        );
        assert!(ActivationCode::parse(&format!("LPA:1$h${}", "A".repeat(255))).is_ok());
        assert_eq!(err("LPA:1$h$M$1.x"), AcError::Oid("1.x".into()));
        assert_eq!(err("LPA:1$h$M$7.1"), AcError::Oid("7.1".into()));
        assert_eq!(err("LPA:1$h$M$1"), AcError::Oid("1".into()));
        assert_eq!(err("LPA:1$h$M$$0"), AcError::Flag("0".into()));
        assert_eq!(err("LPA:1$h$M$$yes"), AcError::Flag("yes".into()));
        assert_eq!(err(&"A".repeat(MAX_LEN + 1)), AcError::TooLong);
        for bad in [
            "h:", "h:0", "h:65536", "h:80x", ":80", "a..b", "-a.b", "a-.b", "a_b.c", "h:1:2",
        ] {
            assert!(
                matches!(err(&format!("1${bad}$M")), AcError::Address { .. }),
                "{bad}"
            );
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(matches!(
            err(&format!("1${long_label}$M")),
            AcError::Address { .. }
        ));
        assert!(ActivationCode::parse("1$example.com.$M").is_ok());
    }

    #[test]
    fn messages_name_the_part() {
        let e = ActivationCode::parse("LPA:1$smdp.io:99999$M").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the SM-DP+ address 'smdp.io:99999' is not an FQDN[:port]: the port must be a number 1-65535"
        );
        let e = ActivationCode::parse("LPA:1$smdp.io$lower").unwrap_err();
        assert!(e.to_string().starts_with("the matching ID 'lower'"), "{e}");
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A small deterministic fuzz: every prefix of tricky strings, and byte soup
        // (multi-byte UTF-8 around the positions the parser slices at).
        let seeds = [
            "LPA:1$smdp.example.com:8443$ABC-123$1.3.6.1$1",
            "lpa:é$ü$€$$",
            "LPÄ:1$h$M",
            "ＬPA:1$h$M",
            "$$$$$$$$",
            "1$a:$",
        ];
        for s in seeds {
            for (i, _) in s.char_indices() {
                let _ = ActivationCode::parse(&s[..i]);
                let _ = ActivationCode::parse(&s[i..]);
            }
        }
        const ALPHABET: &[u8] = b"LPA:1$.-:9Az\xC3\xA9";
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let mut b = Vec::new();
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b.push(ALPHABET[x as usize % ALPHABET.len()]);
            }
            let s = String::from_utf8_lossy(&b);
            let _ = ActivationCode::parse(&s);
        }
    }
}
