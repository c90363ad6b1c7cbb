//! EC keys of the SGP.22 PKI (SGP.22 §2.6.5: NIST P-256 and brainpoolP256r1) and the two
//! signature forms: the plain `r || s` 64 bytes SGP.22 carries inside its messages
//! (BSI TR-03111 §5.2.1, SGP.22 §2.6.5.1) and DER `ECDSA-Sig-Value` (RFC 5480) in X.509.
//! Every signature is ECDSA with SHA-256 and RFC 6979 nonces, so it is deterministic.
//! Private keys zeroize on drop (the RustCrypto `SecretKey`) and are redacted in Debug.

use super::error::PkiError;
use bp256::BrainpoolP256r1;
use ecdsa::elliptic_curve::Generate;
use ecdsa::signature::{Signer, Verifier};
use zeroize::Zeroizing;

/// The two curves SGP.22 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    NistP256,
    BrainpoolP256r1,
}

impl Curve {
    /// The suffix of SGP.26 file names (`CERT_CI_ECDSA_NIST.der`, `..._BRP.der`).
    pub fn file_suffix(self) -> &'static str {
        match self {
            Curve::NistP256 => "NIST",
            Curve::BrainpoolP256r1 => "BRP",
        }
    }
}

type BpSigningKey = ecdsa::SigningKey<BrainpoolP256r1>;
type BpVerifyingKey = ecdsa::VerifyingKey<BrainpoolP256r1>;

/// A private key on one of the two curves.
#[derive(Clone, PartialEq, Eq)]
pub enum PrivateKey {
    NistP256(p256::ecdsa::SigningKey),
    BrainpoolP256r1(BpSigningKey),
}

/// A public key on one of the two curves.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PublicKey {
    NistP256(p256::ecdsa::VerifyingKey),
    BrainpoolP256r1(BpVerifyingKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({:?}, <redacted>)", self.curve())
    }
}

impl PrivateKey {
    /// A new key drawn from `rng` (the card's seeded RNG under `--seed`).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(curve: Curve, rng: &mut R) -> Self {
        match curve {
            Curve::NistP256 => PrivateKey::NistP256(
                <p256::ecdsa::SigningKey as Generate>::generate_from_rng(rng),
            ),
            Curve::BrainpoolP256r1 => {
                PrivateKey::BrainpoolP256r1(<BpSigningKey as Generate>::generate_from_rng(rng))
            }
        }
    }

    /// The key from its 32-byte scalar.
    pub fn from_scalar(curve: Curve, scalar: &[u8]) -> Result<Self, PkiError> {
        let bad = |_| PkiError::Key("not a valid private scalar".into());
        Ok(match curve {
            Curve::NistP256 => {
                PrivateKey::NistP256(p256::ecdsa::SigningKey::from_slice(scalar).map_err(bad)?)
            }
            Curve::BrainpoolP256r1 => {
                PrivateKey::BrainpoolP256r1(BpSigningKey::from_slice(scalar).map_err(bad)?)
            }
        })
    }

    /// The 32-byte scalar (zeroized when dropped).
    pub fn to_scalar(&self) -> Zeroizing<Vec<u8>> {
        match self {
            PrivateKey::NistP256(k) => Zeroizing::new(k.to_bytes().to_vec()),
            PrivateKey::BrainpoolP256r1(k) => Zeroizing::new(k.to_bytes().to_vec()),
        }
    }

    /// Reads a PEM private key: SEC1 `EC PRIVATE KEY` (what pySim's
    /// generate_smdpp_certs.py writes) or PKCS#8 `PRIVATE KEY`; the curve comes from the key.
    pub fn from_pem(pem: &str) -> Result<Self, PkiError> {
        use ecdsa::elliptic_curve::SecretKey;
        let is_sec1 = pem.contains("BEGIN EC PRIVATE KEY");
        let nist = if is_sec1 {
            SecretKey::<p256::NistP256>::from_sec1_pem(pem).ok()
        } else {
            p256::pkcs8::DecodePrivateKey::from_pkcs8_pem(pem).ok()
        };
        if let Some(k) = nist {
            return Ok(PrivateKey::NistP256(k.into()));
        }
        let bp = if is_sec1 {
            SecretKey::<BrainpoolP256r1>::from_sec1_pem(pem).ok()
        } else {
            bp256::pkcs8::DecodePrivateKey::from_pkcs8_pem(pem).ok()
        };
        match bp {
            Some(k) => Ok(PrivateKey::BrainpoolP256r1(k.into())),
            None => Err(PkiError::Key(
                "not a PEM EC private key (SEC1 or PKCS#8) on NIST P-256 or brainpoolP256r1".into(),
            )),
        }
    }

    /// The key as SEC1 `EC PRIVATE KEY` PEM (the form pySim's generator writes).
    pub fn to_sec1_pem(&self) -> Result<Zeroizing<String>, PkiError> {
        use ecdsa::elliptic_curve::pkcs8::LineEnding;
        let r = match self {
            PrivateKey::NistP256(k) => {
                ecdsa::elliptic_curve::SecretKey::from(k.as_nonzero_scalar())
                    .to_sec1_pem(LineEnding::LF)
            }
            PrivateKey::BrainpoolP256r1(k) => {
                ecdsa::elliptic_curve::SecretKey::from(k.as_nonzero_scalar())
                    .to_sec1_pem(LineEnding::LF)
            }
        };
        r.map_err(|e| PkiError::Key(format!("cannot encode the key: {e}")))
    }

    pub fn curve(&self) -> Curve {
        match self {
            PrivateKey::NistP256(_) => Curve::NistP256,
            PrivateKey::BrainpoolP256r1(_) => Curve::BrainpoolP256r1,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::NistP256(k) => PublicKey::NistP256(*k.verifying_key()),
            PrivateKey::BrainpoolP256r1(k) => PublicKey::BrainpoolP256r1(*k.verifying_key()),
        }
    }

    /// ECDSA-SHA256 over `msg`, RFC 6979, as `r || s` (SGP.22 §2.6.5.1).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let bytes = match self {
            PrivateKey::NistP256(k) => Signer::<p256::ecdsa::Signature>::sign(k, msg).to_bytes(),
            PrivateKey::BrainpoolP256r1(k) => {
                Signer::<ecdsa::Signature<BrainpoolP256r1>>::sign(k, msg).to_bytes()
            }
        };
        let mut out = [0u8; 64];
        out.copy_from_slice(&bytes);
        out
    }

    /// The same signature as DER `ECDSA-Sig-Value` (X.509 certificates).
    pub fn sign_der(&self, msg: &[u8]) -> Vec<u8> {
        raw_to_der(&self.sign(msg)).unwrap_or_default()
    }

    /// ECKA-DH (BSI TR-03111 §4.3.1): the shared secret, the x coordinate of `d * Q`.
    /// `None` when `peer` is on the other curve.
    pub fn ecdh(&self, peer: &PublicKey) -> Option<Zeroizing<[u8; 32]>> {
        let mut out = Zeroizing::new([0u8; 32]);
        match (self, peer) {
            (PrivateKey::NistP256(k), PublicKey::NistP256(p)) => {
                let s = ecdsa::elliptic_curve::ecdh::diffie_hellman(
                    k.as_nonzero_scalar(),
                    p.as_affine(),
                );
                out.copy_from_slice(s.raw_secret_bytes());
            }
            (PrivateKey::BrainpoolP256r1(k), PublicKey::BrainpoolP256r1(p)) => {
                let s = ecdsa::elliptic_curve::ecdh::diffie_hellman(
                    k.as_nonzero_scalar(),
                    p.as_affine(),
                );
                out.copy_from_slice(s.raw_secret_bytes());
            }
            _ => return None,
        }
        Some(out)
    }
}

impl PublicKey {
    /// From SEC1 bytes (`04 || X || Y` as SGP.22 carries them, or compressed).
    pub fn from_sec1(curve: Curve, bytes: &[u8]) -> Result<Self, PkiError> {
        let bad = |_| PkiError::Key("not a point on the curve".into());
        Ok(match curve {
            Curve::NistP256 => {
                PublicKey::NistP256(p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(bad)?)
            }
            Curve::BrainpoolP256r1 => {
                PublicKey::BrainpoolP256r1(BpVerifyingKey::from_sec1_bytes(bytes).map_err(bad)?)
            }
        })
    }

    /// Uncompressed SEC1, 65 bytes `04 || X || Y` (SGP.22 euiccOtpk / smdpOtpk, tag 5F49).
    pub fn to_sec1(&self) -> Vec<u8> {
        match self {
            PublicKey::NistP256(k) => k.to_sec1_point(false).as_bytes().to_vec(),
            PublicKey::BrainpoolP256r1(k) => k.to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    pub fn curve(&self) -> Curve {
        match self {
            PublicKey::NistP256(_) => Curve::NistP256,
            PublicKey::BrainpoolP256r1(_) => Curve::BrainpoolP256r1,
        }
    }

    /// Checks an `r || s` ECDSA-SHA256 signature over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> Result<(), PkiError> {
        let ok = match self {
            PublicKey::NistP256(k) => {
                p256::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
            PublicKey::BrainpoolP256r1(k) => ecdsa::Signature::<BrainpoolP256r1>::from_slice(sig)
                .is_ok_and(|s| k.verify(msg, &s).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err(PkiError::BadSignature)
        }
    }

    /// Checks a DER `ECDSA-Sig-Value` signature over `msg`.
    pub fn verify_der(&self, msg: &[u8], der_sig: &[u8]) -> Result<(), PkiError> {
        self.verify(msg, &der_to_raw(der_sig)?)
    }
}

/// `r || s` to DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 5480 §2.2).
/// P-256's type carries both curves' values (P-256's order is the larger).
pub fn raw_to_der(raw: &[u8; 64]) -> Result<Vec<u8>, PkiError> {
    p256::ecdsa::Signature::from_slice(raw)
        .map(|s| s.to_der().as_bytes().to_vec())
        .map_err(|_| PkiError::BadSignature)
}

/// DER `ECDSA-Sig-Value` to `r || s`, each left-padded to 32 bytes. Refuses r or s of
/// zero or not below P-256's order (which is above brainpoolP256r1's, so one check serves
/// both curves; the curve's own verification checks its own range).
pub fn der_to_raw(der_sig: &[u8]) -> Result<[u8; 64], PkiError> {
    let sig = p256::ecdsa::Signature::from_der(der_sig).map_err(|_| PkiError::BadSignature)?;
    let mut out = [0u8; 64];
    out.copy_from_slice(&sig.to_bytes());
    Ok(out)
}
