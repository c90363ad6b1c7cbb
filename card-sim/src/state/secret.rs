//! Secret bytes of the persistent state (a profile's Ki and OPc): zeroized on drop,
//! redacted in `Debug`, stored as a hex string in the state file. Nothing in this crate
//! logs them; the state file itself is written with mode 0600 (see [`super::file`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use zeroize::Zeroizing;

/// Secret key material.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps bytes (the caller's copy should be zeroized by the caller).
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }

    /// The secret bytes; use only where the key is needed.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Parses hex, zeroizing the intermediate copies.
    pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
        hex::decode(s).map(Secret::new)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(hex::encode_upper(&*self.0));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        Secret::from_hex(&text).map_err(|_| serde::de::Error::custom("secret is not hex"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let s = Secret::new(vec![0xAB; 16]);
        let shown = format!("{s:?}");
        assert!(!shown.contains("AB") && !shown.contains("ab") && !shown.contains("171"));
        assert_eq!(shown, "Secret(<16 bytes redacted>)");
    }

    #[test]
    fn hex_round_trip() {
        let s = Secret::new(vec![0x00, 0x11, 0xFF]);
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, "\"0011FF\"");
        assert_eq!(serde_json::from_str::<Secret>(&j).unwrap(), s);
        assert!(serde_json::from_str::<Secret>("\"zz\"").is_err());
    }
}
