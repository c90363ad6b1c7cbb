//! The server's TLS identity: the SM-DP+ TLS certificate (CERT.DPtls, SGP.22 §4.5.2.1.0.3)
//! with its chain and private key, read from an SGP.26 PKI folder (as pySim's
//! `contrib/generate_smdpp_certs.py`, osmo-smdpp and `card-sim pki init` lay it out:
//! `DPtls/CERT_S_SM_DP_TLS_NIST.pem` or `.der`, `DPtls/SK_S_SM_DP_TLS_NIST.pem`) or from
//! any PEM certificate (chain allowed) and key pair (`--tls-cert/--tls-key`).
//!
//! Only the NIST P-256 files: rustls's ring provider has no brainpoolP256r1, and TLS
//! clients (lpac's curl, Python's ssl) do not offer it either.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The folder and file names of CERT.DPtls in the SGP.26 layout (osmo-smdpp reads these).
pub const DPTLS_DIR: &str = "DPtls";
pub const DPTLS_CERT_PEM: &str = "CERT_S_SM_DP_TLS_NIST.pem";
pub const DPTLS_CERT_DER: &str = "CERT_S_SM_DP_TLS_NIST.der";
pub const DPTLS_KEY_PEM: &str = "SK_S_SM_DP_TLS_NIST.pem";

/// Why a TLS identity could not be loaded; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Bad { path: PathBuf, reason: String },
    #[error(
        "{} has no TLS certificate: expected {DPTLS_DIR}/{DPTLS_CERT_PEM} or \
         {DPTLS_DIR}/{DPTLS_CERT_DER} (SGP.26 layout, as `card-sim pki init` writes it)",
        dir.display()
    )]
    NoCertificate { dir: PathBuf },
    #[error("the TLS key does not fit the certificate ({cert} / {key}): {reason}")]
    Mismatch {
        cert: String,
        key: String,
        reason: String,
    },
}

/// A certificate chain (leaf first) and its private key. The key's bytes are not shown
/// by `Debug`.
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Where it came from, for messages.
    cert_source: String,
    key_source: String,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificates", &self.chain.len())
            .field("cert_source", &self.cert_source)
            .field("key_source", &self.key_source)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, IdentityError> {
    std::fs::read(path).map_err(|source| IdentityError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn bad(path: &Path, reason: impl fmt::Display) -> IdentityError {
    IdentityError::Bad {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn certs_from_pem(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(path, format!("not a PEM certificate file ({e})")))?;
    if chain.is_empty() {
        return Err(bad(path, "no CERTIFICATE block in the file"));
    }
    Ok(chain)
}

fn key_from_pem(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, IdentityError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        bad(
            path,
            format!("no PRIVATE KEY / EC PRIVATE KEY block in the file ({e})"),
        )
    })
}

impl TlsIdentity {
    /// A PEM certificate file (leaf first, then any intermediates) and a PEM key file
    /// (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsIdentity, IdentityError> {
        let chain = certs_from_pem(cert, &read(cert)?)?;
        let key_pem = Zeroizing::new(read(key)?);
        let key_der = key_from_pem(key, &key_pem)?;
        TlsIdentity::checked(
            chain,
            key_der,
            cert.display().to_string(),
            key.display().to_string(),
        )
    }

    /// CERT.DPtls and its key from an SGP.26 PKI folder: the `.pem` certificate when it is
    /// there (it may carry a chain), else the `.der`.
    pub fn from_pki_dir(dir: &Path) -> Result<TlsIdentity, IdentityError> {
        let tls = dir.join(DPTLS_DIR);
        let pem = tls.join(DPTLS_CERT_PEM);
        let der = tls.join(DPTLS_CERT_DER);
        let key = tls.join(DPTLS_KEY_PEM);
        if pem.is_file() {
            return TlsIdentity::from_pem_files(&pem, &key);
        }
        if !der.is_file() {
            return Err(IdentityError::NoCertificate {
                dir: dir.to_path_buf(),
            });
        }
        let cert = CertificateDer::from(read(&der)?);
        let key_pem = Zeroizing::new(read(&key)?);
        let key_der = key_from_pem(&key, &key_pem)?;
        TlsIdentity::checked(
            vec![cert],
            key_der,
            der.display().to_string(),
            key.display().to_string(),
        )
    }

    /// The project's test CERT.DPtls (card-sim/test-pki, for `testsmdpplus1.example.com`,
    /// `localhost` and `127.0.0.1`, under the test CI): TEST MATERIAL, its key is public.
    pub fn test_pki() -> Result<TlsIdentity, IdentityError> {
        const CERT: &[u8] =
            include_bytes!("../../../../card-sim/test-pki/DPtls/CERT_S_SM_DP_TLS_NIST.der");
        const KEY: &str =
            include_str!("../../../../card-sim/test-pki/DPtls/SK_S_SM_DP_TLS_NIST.pem");
        let key = key_from_pem(Path::new("the test PKI's DPtls key"), KEY.as_bytes())?;
        TlsIdentity::checked(
            vec![CertificateDer::from(CERT.to_vec())],
            key,
            "the test PKI (card-sim/test-pki/DPtls)".into(),
            "the test PKI (card-sim/test-pki/DPtls)".into(),
        )
    }

    /// A chain of DER certificates (leaf first) and a PEM key held in memory (tests, a
    /// PKI made by `apdu::sgp22::pki::gen`).
    pub fn from_der_and_pem_key(
        chain: Vec<Vec<u8>>,
        key_pem: &str,
    ) -> Result<TlsIdentity, IdentityError> {
        let here = Path::new("(in memory)");
        let key_der = key_from_pem(here, key_pem.as_bytes())?;
        let chain = chain.into_iter().map(CertificateDer::from).collect();
        TlsIdentity::checked(chain, key_der, "(in memory)".into(), "(in memory)".into())
    }

    /// Checks that rustls accepts the pair (the key parses, and its public key is the
    /// leaf certificate's) so a bad pair fails at start, naming its files.
    fn checked(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_source: String,
        key_source: String,
    ) -> Result<TlsIdentity, IdentityError> {
        let id = TlsIdentity {
            chain,
            key,
            cert_source,
            key_source,
        };
        id.server_config()?;
        Ok(id)
    }

    /// The leaf certificate (DER).
    pub fn leaf_der(&self) -> &[u8] {
        self.chain.first().map(|c| c.as_ref()).unwrap_or_default()
    }

    /// Whether the leaf certificate names `host` (a DNS name or IP address in its
    /// subjectAltName, as TLS clients check it: RFC 6125, webpki).
    pub fn names(&self, host: &str) -> bool {
        let (Some(leaf), Ok(name)) = (
            self.chain.first(),
            rustls::pki_types::ServerName::try_from(host),
        ) else {
            return false;
        };
        rustls::server::ParsedCertificate::try_from(leaf)
            .and_then(|c| rustls::client::verify_server_name(&c, &name))
            .is_ok()
    }

    /// Where the certificate came from.
    pub fn cert_source(&self) -> &str {
        &self.cert_source
    }

    /// The rustls server configuration: ring provider, TLS 1.2 and 1.3 (SGP.22 §2.6.6
    /// requires at least TLS 1.2 with ECDHE-ECDSA-AES-GCM suites; rustls's defaults
    /// include them), no client certificates, ALPN `http/1.1`.
    pub(super) fn server_config(
        &self,
    ) -> Result<std::sync::Arc<rustls::ServerConfig>, IdentityError> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mismatch = |reason: String| IdentityError::Mismatch {
            cert: self.cert_source.clone(),
            key: self.key_source.clone(),
            reason,
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| mismatch(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| mismatch(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(std::sync::Arc::new(config))
    }
}
