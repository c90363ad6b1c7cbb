//! The SM's credential: CERT.DPpb and its private key (SGP.22 §4.5.2.1.0.2, role
//! id-rspRole-dp-pb), with which the SM authorises the card functions that change what
//! a card holds (BF69 install, BF6B removal; issue 10, findings 1-2;
//! `apdu::devchange::authorisation`). A card accepts the authorisation only when the
//! certificate chains to a CI it trusts.
//!
//! `--sm-pki DIR` (or `SM_CLI_PKI`): a folder in the SGP.26 layout `card-sim pki init`
//! writes (`DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der`, `DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem`).
//! Without it: the shipped test DPpb under the shipped test CI (card-sim/test-pki, TEST
//! MATERIAL ONLY: its key is public, so with it any program can act as the SM).

use apdu::sgp22::pki::{Cert, PrivateKey, Role};
use std::fmt;
use std::path::{Path, PathBuf};

const TEST_CERT: &[u8] =
    include_bytes!("../../../card-sim/test-pki/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der");
const TEST_KEY: &str = include_str!("../../../card-sim/test-pki/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem");

/// Largest file read from the folder.
const MAX_FILE: u64 = 16 * 1024;

/// CERT.DPpb and its key. Debug shows the certificate's subject only.
pub struct SmCredential {
    pub cert: Cert,
    pub key: PrivateKey,
    /// Where it came from, for messages: the folder, or `None` for the test one.
    pub source: Option<PathBuf>,
}

impl fmt::Debug for SmCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SmCredential {{ cert: {}, key: <redacted>, source: {:?} }}",
            self.cert.inner().tbs_certificate().subject(),
            self.source
        )
    }
}

/// A credential that cannot be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {cause}", path.display())]
pub struct CredentialError {
    pub path: PathBuf,
    pub cause: String,
}

fn err(path: &Path, cause: impl fmt::Display) -> CredentialError {
    CredentialError {
        path: path.to_path_buf(),
        cause: cause.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CredentialError> {
    let meta = std::fs::metadata(path).map_err(|e| err(path, e))?;
    if meta.len() > MAX_FILE {
        return Err(err(path, format!("{} bytes, over {MAX_FILE}", meta.len())));
    }
    std::fs::read(path).map_err(|e| err(path, e))
}

impl SmCredential {
    /// The shipped test credential.
    pub fn test() -> Result<SmCredential, CredentialError> {
        let here = Path::new("card-sim/test-pki/DPpb");
        Self::from_parts(TEST_CERT, TEST_KEY, here, None)
    }

    /// `DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der` and `DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem` of `dir`.
    pub fn load(dir: &Path) -> Result<SmCredential, CredentialError> {
        let cert_p = dir.join("DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der");
        let key_p = dir.join("DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem");
        let cert = read(&cert_p)?;
        let key = zeroize::Zeroizing::new(read(&key_p)?);
        let key = std::str::from_utf8(&key).map_err(|_| err(&key_p, "not a PEM file"))?;
        let c = Self::from_parts(&cert, key, &cert_p, Some(dir.to_path_buf()))?;
        if c.cert.public_key().map_err(|e| err(&cert_p, e))? != c.key.public_key() {
            return Err(err(
                &key_p,
                "this key does not belong to the certificate beside it",
            ));
        }
        Ok(c)
    }

    fn from_parts(
        cert: &[u8],
        key_pem: &str,
        path: &Path,
        source: Option<PathBuf>,
    ) -> Result<SmCredential, CredentialError> {
        let cert = Cert::from_der(cert).map_err(|e| err(path, e))?;
        let roles = cert.roles().map_err(|e| err(path, e))?;
        if !roles.contains(&Role::DpPb) {
            return Err(err(path, "not a CERT.DPpb (no id-rspRole-dp-pb policy)"));
        }
        let key = PrivateKey::from_pem(key_pem).map_err(|e| err(path, e))?;
        Ok(SmCredential { cert, key, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_credential_loads_and_a_folder_is_checked() {
        let t = SmCredential::test().unwrap();
        assert_eq!(t.cert.public_key().unwrap(), t.key.public_key());
        assert!(!format!("{t:?}").contains("BEGIN"));

        let dir = std::env::temp_dir().join(format!("sm-cred-{}", std::process::id()));
        let pb = dir.join("DPpb");
        std::fs::create_dir_all(&pb).unwrap();
        // Missing files: the error names the path.
        let e = SmCredential::load(&dir).unwrap_err();
        assert!(e.path.ends_with("CERT_S_SM_DPpb_ECDSA_NIST.der"), "{e}");
        // The test certificate with a key of another certificate: refused.
        std::fs::write(pb.join("CERT_S_SM_DPpb_ECDSA_NIST.der"), TEST_CERT).unwrap();
        let mut rng: rand_chacha::ChaCha20Rng =
            rand_chacha::rand_core::SeedableRng::seed_from_u64(1);
        let other = PrivateKey::generate(apdu::sgp22::pki::Curve::NistP256, &mut rng);
        std::fs::write(
            pb.join("SK_S_SM_DPpb_ECDSA_NIST.pem"),
            other.to_sec1_pem().unwrap().as_bytes(),
        )
        .unwrap();
        let e = SmCredential::load(&dir).unwrap_err();
        assert!(e.cause.contains("does not belong"), "{e}");
        std::fs::write(pb.join("SK_S_SM_DPpb_ECDSA_NIST.pem"), TEST_KEY).unwrap();
        SmCredential::load(&dir).unwrap();
        // Garbage: an error, no panic.
        std::fs::write(pb.join("CERT_S_SM_DPpb_ECDSA_NIST.der"), b"\x30\x03\x01").unwrap();
        assert!(SmCredential::load(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
