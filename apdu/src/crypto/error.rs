//! [`CryptoError`]: why a cryptographic operation of [`crate::crypto`] failed.

/// Why a cryptographic operation failed. Messages never contain secret material.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("invalid key-generation parameter: {0}")]
    Parameter(&'static str),
    #[error("invalid KDF parameters: {0}")]
    KdfParams(&'static str),
    #[error("invalid KDF salt: {0}")]
    Salt(&'static str),
    #[error("key derivation failed: {0}")]
    Kdf(&'static str),
    #[error("key generation failed: {0}")]
    KeyGen(&'static str),
    #[error("invalid public key: {0}")]
    PublicKey(&'static str),
    #[error("invalid private key: {0}")]
    PrivateKey(&'static str),
    #[error("invalid message to sign: {0}")]
    Message(&'static str),
    #[error("signing failed")]
    Sign,
    #[error("signature verification failed")]
    BadSignature,
    #[error("malformed sealed box: {0}")]
    SealedBox(&'static str),
    #[error("encryption failed: {0}")]
    Seal(&'static str),
    /// One error for every decryption failure (wrong key, tampering, wrong AAD), so the
    /// answer is no oracle.
    #[error("decryption failed")]
    Open,
    #[error("random number generator failed")]
    Rng,
}

/// Result with [`CryptoError`].
pub type Result<T> = std::result::Result<T, CryptoError>;
