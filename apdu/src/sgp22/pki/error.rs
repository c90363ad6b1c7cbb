//! Why a key, certificate or chain of the SGP.22 PKI is refused.

use super::role::Role;

/// Why a key, certificate or chain is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    #[error("key: {0}")]
    Key(String),
    #[error("certificate: {0}")]
    Cert(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the certificate does not carry the {expected:?} role policy")]
    WrongRole { expected: Role },
    #[error("chain: {0}")]
    Chain(String),
    #[error("a certificate is outside its validity period")]
    Expired,
}
