//! Secret bytes of a package (Ki, OPc, PIN and PUK values): zeroized on drop, printed
//! as `<redacted>`.

use zeroize::Zeroizing;

/// Secret bytes.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub fn new(v: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(v))
    }
    /// The bytes, for the one place that uses them (AUTHENTICATE, VERIFY, encode).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
