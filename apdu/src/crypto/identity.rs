//! Each card's own identity key pair (issue 3, Security behaviour): made from the card's
//! RNG when the card is created, kept in the card state file as PKCS#8 DER (as an eUICC
//! certificate key is in SGP.22). The SM pins its public key at provisioning; a later
//! request counts as "the recorded device" ([0074]) only with an identity proof, a
//! [`Purpose::IdentityProof`] signature over a fresh SM challenge and the request context.

use rand_core::TryCryptoRng;
use std::fmt;
use zeroize::Zeroizing;

use super::error::{CryptoError, Result};
use super::keygen::PrivateKey;
use super::public_key::PublicKey;
use super::signature::{sign, verify, Purpose, SignedMessage};

/// A card's identity key. Zeroized on drop; Debug shows only the public fingerprint.
#[derive(Clone)]
pub struct IdentityKey(PrivateKey);

impl IdentityKey {
    /// A fresh identity key from the card's RNG (e.g. `&mut SysRng`).
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<IdentityKey> {
        PrivateKey::generate(rng).map(IdentityKey)
    }

    /// The public key the SM pins.
    pub fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }

    /// Signs an identity proof or a signed result; `msg` must have one of the
    /// identity key's purposes ([`is_identity_purpose`]).
    pub fn prove(&self, msg: &SignedMessage<'_>) -> Result<Vec<u8>> {
        if !is_identity_purpose(msg.purpose()) {
            return Err(CryptoError::Message(
                "the identity key signs identity proofs and results only",
            ));
        }
        sign(&self.0, msg)
    }

    /// Opens a profile the SM sealed to this identity key (re-serving the recorded
    /// device, [0074]).
    pub fn open(&self, sealed: &super::SealedBox, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        super::open(&self.0, sealed, aad)
    }

    /// PKCS#8 DER, for the card state file.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.0.to_pkcs8_der()
    }

    /// Reads PKCS#8 DER of an RSA-2048 key (as [`PrivateKey::from_pkcs8_der`]).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<IdentityKey> {
        PrivateKey::from_pkcs8_der(der).map(IdentityKey)
    }
}

/// What the identity key signs: identity proofs and the results of BF69 and BF6B
/// (issue 10, finding 9); never the purposes of a key derived from the parameter.
pub fn is_identity_purpose(p: Purpose) -> bool {
    matches!(
        p,
        Purpose::IdentityProof | Purpose::InstallResult | Purpose::RemovalResult
    )
}

/// SM side: checks an identity signature against the pinned key; the purpose must be one
/// of [`is_identity_purpose`], else [`CryptoError::BadSignature`].
pub fn verify_identity_proof(
    pinned: &PublicKey,
    msg: &SignedMessage<'_>,
    sig: &[u8],
) -> Result<()> {
    if !is_identity_purpose(msg.purpose()) {
        return Err(CryptoError::BadSignature);
    }
    verify(pinned, msg, sig)
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IdentityKey(<redacted>, public {})",
            self.public_key().fingerprint()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SysRng;
    use crate::Eid;

    #[test]
    fn proof_round_trip_state_file_and_refusals() {
        let id = IdentityKey::generate(&mut SysRng).unwrap();
        let pinned = id.public_key();
        let eid = Eid::test_eid(11);
        let ch = [0x42; 32];
        let m =
            SignedMessage::new(Purpose::IdentityProof, &ch, "+8613800000000", eid, "35").unwrap();
        let sig = id.prove(&m).unwrap();
        verify_identity_proof(&pinned, &m, &sig).unwrap();

        // Fresh challenge: the captured proof is worthless.
        let ch2 = [0x43; 32];
        let m2 =
            SignedMessage::new(Purpose::IdentityProof, &ch2, "+8613800000000", eid, "35").unwrap();
        assert!(verify_identity_proof(&pinned, &m2, &sig).is_err());
        // Another card's key: refused.
        let other = IdentityKey::generate(&mut SysRng).unwrap();
        assert!(verify_identity_proof(&other.public_key(), &m, &sig).is_err());
        // Wrong purpose: refused on both sides.
        let dc =
            SignedMessage::new(Purpose::DeviceChange, &ch, "+8613800000000", eid, "35").unwrap();
        assert!(id.prove(&dc).is_err());
        assert!(verify_identity_proof(&pinned, &dc, &sig).is_err());

        // The state file keeps the PKCS#8 DER (card-sim's `identity_key`).
        let der = id.to_pkcs8_der().unwrap();
        let back = IdentityKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.public_key(), pinned);
        assert!(!format!("{id:?}").contains(&hex::encode(&der[..20])));
        assert!(IdentityKey::from_pkcs8_der(&[0x00]).is_err());
        assert!(IdentityKey::from_pkcs8_der(b"zz").is_err());
        assert!(IdentityKey::from_pkcs8_der(&[0x30; 5000]).is_err());
    }
}
