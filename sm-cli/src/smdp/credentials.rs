//! The SM-DP+'s credentials (SGP.22 §4.5.2): CERT.DPauth with SK.DPauth (signs
//! serverSigned1), CERT.DPpb with SK.DPpb (signs smdpSigned2 and the BPP's
//! InitialiseSecureChannel), the CI certificates it chains to and accepts eUICC chains
//! from, and where the DPtls pair is (for the HTTPS layer).
//!
//! From a folder in the SGP.26 layout (the names `card-sim pki init` and pySim's
//! generator write: `DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der` + `SK_S_SM_DPauth_ECDSA_NIST.pem`,
//! `DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der` + `SK_...pem`, `DPtls/CERT_S_SM_DP_TLS_NIST.der` +
//! `SK_S_SM_DP_TLS_NIST.pem`, `CertificateIssuer/CERT_CI_ECDSA_NIST.der`), or without one
//! the project's test PKI in `card-sim/test-pki` (TEST MATERIAL: its keys are public).
//! Every certificate's role and every key's match with its certificate are checked.

use apdu::sgp22::pki::{verify_chain, Cert, PrivateKey, Role};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const T_CI: &[u8] =
    include_bytes!("../../../card-sim/test-pki/CertificateIssuer/CERT_CI_ECDSA_NIST.der");
const T_AUTH: &[u8] =
    include_bytes!("../../../card-sim/test-pki/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
const T_AUTH_SK: &str =
    include_str!("../../../card-sim/test-pki/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem");
const T_PB: &[u8] = include_bytes!("../../../card-sim/test-pki/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der");
const T_PB_SK: &str = include_str!("../../../card-sim/test-pki/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem");
/// The test DPtls pair (PEM), for the HTTPS layer.
pub const TEST_TLS_CERT_PEM: &str =
    include_str!("../../../card-sim/test-pki/DPtls/CERT_S_SM_DP_TLS_NIST.pem");
pub const TEST_TLS_KEY_PEM: &str =
    include_str!("../../../card-sim/test-pki/DPtls/SK_S_SM_DP_TLS_NIST.pem");

/// Largest file read from the folder.
const MAX_FILE: u64 = 16 * 1024;

/// A certificate with its private key.
pub struct KeyPair {
    pub cert: Cert,
    pub key: PrivateKey,
}

/// Everything the SM-DP+ signs and verifies with. Debug shows no key.
pub struct SmdpCredentials {
    pub dp_auth: KeyPair,
    pub dp_pb: KeyPair,
    /// The CIs (self-signed) the DPauth/DPpb chain to and eUICC chains must end at.
    pub cis: Vec<Cert>,
    /// `DPtls/CERT_S_SM_DP_TLS_NIST.der` and `SK_S_SM_DP_TLS_NIST.pem` of the folder
    /// (`None` for the test PKI: use [`TEST_TLS_CERT_PEM`] / [`TEST_TLS_KEY_PEM`]).
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// The folder, `None` for the test PKI.
    pub source: Option<PathBuf>,
}

impl std::fmt::Debug for SmdpCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmdpCredentials")
            .field("cis", &self.cis.len())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_FILE {
        return Err(format!(
            "{}: {} bytes, over {MAX_FILE}",
            path.display(),
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn pair(cert: &[u8], key_pem: &str, role: Role, what: &Path) -> Result<KeyPair, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", what.display());
    let cert = Cert::from_der(cert).map_err(|e| at(&e))?;
    if !cert.roles().map_err(|e| at(&e))?.contains(&role) {
        return Err(at(&format!("not a certificate of role {role:?}")));
    }
    let key = PrivateKey::from_pem(key_pem).map_err(|e| at(&e))?;
    if cert.public_key().map_err(|e| at(&e))? != key.public_key() {
        return Err(at(&"the key beside it does not belong to this certificate"));
    }
    Ok(KeyPair { cert, key })
}

fn check(c: SmdpCredentials) -> Result<SmdpCredentials, String> {
    for (name, p, role) in [
        ("CERT.DPauth", &c.dp_auth, Role::DpAuth),
        ("CERT.DPpb", &c.dp_pb, Role::DpPb),
    ] {
        verify_chain(&p.cert, &[], &c.cis, role, None)
            .map_err(|e| format!("{name} does not chain to a CI of the folder: {e}"))?;
    }
    Ok(c)
}

impl SmdpCredentials {
    /// The project's test PKI (card-sim/test-pki).
    pub fn test() -> Result<SmdpCredentials, String> {
        let here = Path::new("card-sim/test-pki");
        let ci = Cert::from_der(T_CI).map_err(|e| format!("test CI: {e}"))?;
        check(SmdpCredentials {
            dp_auth: pair(T_AUTH, T_AUTH_SK, Role::DpAuth, &here.join("DPauth"))?,
            dp_pb: pair(T_PB, T_PB_SK, Role::DpPb, &here.join("DPpb"))?,
            cis: vec![ci],
            tls_files: None,
            source: None,
        })
    }

    /// The folder `dir` (SGP.26 layout, NIST P-256 files).
    pub fn load(dir: &Path) -> Result<SmdpCredentials, String> {
        let f = |sub: &str, name: &str| dir.join(sub).join(name);
        let load_pair = |sub: &str, cert: &str, key: &str, role| {
            let cp = f(sub, cert);
            let kp = f(sub, key);
            let c = read(&cp)?;
            let k = Zeroizing::new(read(&kp)?);
            let k = std::str::from_utf8(&k).map_err(|_| format!("{}: not PEM", kp.display()))?;
            pair(&c, k, role, &cp)
        };
        let ci_path = f("CertificateIssuer", "CERT_CI_ECDSA_NIST.der");
        let ci =
            Cert::from_der(&read(&ci_path)?).map_err(|e| format!("{}: {e}", ci_path.display()))?;
        let tls = (
            f("DPtls", "CERT_S_SM_DP_TLS_NIST.der"),
            f("DPtls", "SK_S_SM_DP_TLS_NIST.pem"),
        );
        check(SmdpCredentials {
            dp_auth: load_pair(
                "DPauth",
                "CERT_S_SM_DPauth_ECDSA_NIST.der",
                "SK_S_SM_DPauth_ECDSA_NIST.pem",
                Role::DpAuth,
            )?,
            dp_pb: load_pair(
                "DPpb",
                "CERT_S_SM_DPpb_ECDSA_NIST.der",
                "SK_S_SM_DPpb_ECDSA_NIST.pem",
                Role::DpPb,
            )?,
            cis: vec![ci],
            tls_files: Some(tls).filter(|(c, k)| c.exists() && k.exists()),
            source: Some(dir.to_path_buf()),
        })
    }
}
