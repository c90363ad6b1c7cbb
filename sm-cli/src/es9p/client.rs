//! The HTTPS client of ES9+ ([`HttpsTransport`], the LPA's [`Es9Transport`]): ureq 3 on
//! rustls with the ring provider. One transport per SM-DP+ address; its connections are
//! kept alive across the calls of a download.
//!
//! What it sends (SGP.22 §6.1.1, as lpac does): `POST https://<address>/gsma/rsp2/es9plus/<function>`
//! with `X-Admin-Protocol: gsma/rsp/v2.2.0`, `Content-Type: application/json` and
//! `User-Agent: gsma-rsp-lpad`. The address is the SM-DP+ address of the activation code
//! (SGP.22 §4.1: an FQDN, here also `host:port`; port 443 when none is given).
//!
//! Trust ([`Trust`]): CA certificates from a PEM file (the CI the SM-DP+'s CERT.DPtls
//! chains to; SGP.22 §2.6.6.1), the project's test CI, or the operating system's roots.
//! The SGP.26 test certificates pass rustls-webpki as they are: the CI is only a trust
//! anchor (its critical certificatePolicies extension is not checked there), and
//! CERT.DPtls marks only keyUsage and extendedKeyUsage critical, which webpki knows; its
//! certificatePolicies is not critical. A chain with an intermediate CA whose
//! certificatePolicies is critical (SGP.22 v3 SubCAs) is refused by webpki
//! ("UnsupportedCriticalExtension").
//!
//! Every failure maps to a [`TransportError`] naming the address and the reason:
//! refused, host not found, TLS, certificate, timeout; an HTTP status other than 200/204;
//! an answer over [`MAX_RESPONSE_BODY`].

use super::PATH_PREFIX;
use super::{Es9Transport, TransportError, MAX_RESPONSE_BODY};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// The `X-Admin-Protocol` value sent (lpac's, SGP.22 v2.2.0).
pub const ADMIN_PROTOCOL: &str = "gsma/rsp/v2.2.0";

/// The `User-Agent` an LPA in a device sends (SGP.22 §6.1.1; lpac sends it too).
pub const USER_AGENT: &str = "gsma-rsp-lpad";

/// The project's test CI (card-sim/test-pki): TEST MATERIAL, trusted only when asked for.
pub const TEST_CI_PEM: &[u8] =
    include_bytes!("../../../card-sim/test-pki/CertificateIssuer/CERT_CI_ECDSA_NIST.pem");

/// Which certificate authorities the SM-DP+'s TLS certificate may chain to.
#[derive(Debug, Clone)]
pub enum Trust {
    /// A PEM file of one or more CA certificates (e.g. an SGP.26 PKI's
    /// `CertificateIssuer/CERT_CI_ECDSA_NIST.pem`).
    CaFile(PathBuf),
    /// PEM text of one or more CA certificates, in memory.
    CaPem(Vec<u8>),
    /// The project's test CI ([`TEST_CI_PEM`]).
    TestCi,
    /// The operating system's roots (rustls-platform-verifier; on Linux the system
    /// store, e.g. /etc/ssl/certs).
    SystemRoots,
}

/// How a transport connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub trust: Trust,
    /// TCP connect and TLS handshake.
    pub connect_timeout: Duration,
    /// One whole call: connect, request, response, body.
    pub call_timeout: Duration,
    /// Connect here instead of resolving the address's host (like curl's `--resolve`);
    /// the TLS name checked is still the host. Tests and set-ups without DNS.
    pub connect_to: Option<SocketAddr>,
    pub user_agent: String,
    pub admin_protocol: String,
}

impl ClientOptions {
    /// 10 s to connect, 60 s a call, SGP.22's headers.
    pub fn new(trust: Trust) -> ClientOptions {
        ClientOptions {
            trust,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            connect_to: None,
            user_agent: USER_AGENT.into(),
            admin_protocol: ADMIN_PROTOCOL.into(),
        }
    }
}

/// ES9+ to one SM-DP+ over HTTPS.
pub struct HttpsTransport {
    agent: ureq::Agent,
    /// `https://host:port`
    base: String,
    /// The address as given (for messages).
    address: String,
    admin_protocol: String,
}

impl std::fmt::Debug for HttpsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsTransport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// An SM-DP+ address split: host (an IPv6 address keeps its brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmdpAddress {
    pub host: String,
    pub port: u16,
}

impl SmdpAddress {
    /// `host`, `host:port`, `a.b.c.d[:port]` or `[v6][:port]`; no scheme, path or
    /// credentials (the activation code's SM-DP+ address, SGP.22 §4.1).
    pub fn parse(s: &str) -> Result<SmdpAddress, String> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (v6, after) = rest
                .split_once(']')
                .ok_or_else(|| "unclosed '[' in the address".to_string())?;
            v6.parse::<std::net::Ipv6Addr>()
                .map_err(|_| format!("'{v6}' is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| "expected ':port' after ']'".to_string())?,
                ),
            };
            (format!("[{v6}]"), port)
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (s.to_string(), None),
            }
        };
        let port = match port {
            None => 443,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("'{p}' is not a port (1-65535)"))?,
        };
        if !host.starts_with('[') && !valid_dns_name(&host) {
            return Err(format!(
                "'{host}' is not a host name (letters, digits, '-' and '.', as SGP.22 §4.1's FQDN)"
            ));
        }
        Ok(SmdpAddress { host, port })
    }

    fn base_url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }
}

/// An FQDN or IPv4 address: labels of 1-63 letters, digits and inner hyphens, at most
/// 253 characters (RFC 1035 §2.3.1, RFC 1123 §2.1).
fn valid_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Resolves every host to one address (`ClientOptions::connect_to`).
#[derive(Debug)]
struct ConnectTo(SocketAddr);

impl Resolver for ConnectTo {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut addrs = self.empty();
        addrs.push(self.0);
        Ok(addrs)
    }
}

fn root_certs(trust: &Trust) -> Result<RootCerts, String> {
    let (pem, source) = match trust {
        Trust::SystemRoots => return Ok(RootCerts::PlatformVerifier),
        Trust::TestCi => (TEST_CI_PEM.to_vec(), "the test CI".to_string()),
        Trust::CaPem(p) => (p.clone(), "the CA certificates".to_string()),
        Trust::CaFile(path) => (
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            path.display().to_string(),
        ),
    };
    let ders = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{source}: not a PEM certificate file ({e})"))?;
    if ders.is_empty() {
        return Err(format!("{source}: no CERTIFICATE block"));
    }
    // ureq drops roots rustls cannot use without a word; check them here so a bad CA
    // file is named instead of every server being "not trusted".
    let mut store = rustls::RootCertStore::empty();
    for (i, der) in ders.iter().enumerate() {
        store
            .add(der.clone())
            .map_err(|e| format!("{source}: certificate {} unusable as a CA ({e})", i + 1))?;
    }
    Ok(RootCerts::new_with_certs(
        &ders
            .iter()
            .map(|d| Certificate::from_der(d.as_ref()).to_owned())
            .collect::<Vec<_>>(),
    ))
}

impl HttpsTransport {
    /// A transport to `smdp_address` (the activation code's `host[:port]`) with the
    /// default options.
    pub fn new(smdp_address: &str, trust: Trust) -> Result<HttpsTransport, TransportError> {
        HttpsTransport::with_options(smdp_address, ClientOptions::new(trust))
    }

    pub fn with_options(
        smdp_address: &str,
        options: ClientOptions,
    ) -> Result<HttpsTransport, TransportError> {
        let unusable = |reason: String| TransportError::Unreachable {
            address: smdp_address.to_string(),
            reason,
        };
        let addr = SmdpAddress::parse(smdp_address).map_err(unusable)?;
        let roots = root_certs(&options.trust).map_err(unusable)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(provider)
            .root_certs(roots)
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .https_only(true)
            // ES9+ answers are never redirects (SGP.22 §6.1); a 3xx is an error.
            .max_redirects(0)
            .http_status_as_error(false)
            // Straight to the SM-DP+: an HTTPS_PROXY of the environment does not apply.
            .proxy(None)
            .user_agent(options.user_agent.as_str())
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.call_timeout))
            .build();
        let agent = match options.connect_to {
            Some(to) => ureq::Agent::with_parts(config, DefaultConnector::default(), ConnectTo(to)),
            None => ureq::Agent::new_with_config(config),
        };
        Ok(HttpsTransport {
            agent,
            base: addr.base_url(),
            address: smdp_address.to_string(),
            admin_protocol: options.admin_protocol,
        })
    }

    /// The SM-DP+ address as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn unreachable(&self, e: &ureq::Error) -> TransportError {
        TransportError::Unreachable {
            address: self.address.clone(),
            reason: reason(e),
        }
    }
}

/// The reason of a failed connection or exchange, in words.
fn reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return tls_reason(tls);
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                std::io::ErrorKind::TimedOut => "timed out".into(),
                std::io::ErrorKind::ConnectionReset => "connection reset by the server".into(),
                std::io::ErrorKind::UnexpectedEof => "the server closed the connection".into(),
                _ => format!("I/O error: {io}"),
            }
        }
        ureq::Error::Rustls(tls) => tls_reason(tls),
        ureq::Error::Tls(s) => format!("TLS: {s}"),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        other => other.to_string(),
    }
}

fn tls_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => format!("TLS certificate refused: {c:?}"),
        other => format!("TLS: {other}"),
    }
}

impl HttpsTransport {
    /// POSTs `body` to `<prefix><function>` (ES9+'s [`PATH_PREFIX`], or the remote SM's
    /// `/veuicc/sm/v1/`) and returns the status with the body (empty for 204), whatever
    /// the status; `Err` only when no answer came or it could not be read.
    pub fn post(
        &self,
        prefix: &str,
        function: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), TransportError> {
        self.post_with(prefix, function, body, None)
    }

    /// [`HttpsTransport::post`] with an `Authorization` header (the remote SM's admin
    /// endpoints: `Bearer <operator token>`; never logged).
    pub fn post_with(
        &self,
        prefix: &str,
        function: &str,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        if function.is_empty() || !function.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TransportError::BadAnswer {
                function: function.to_string(),
                reason: "not a function name".into(),
            });
        }
        let url = format!("{}{prefix}{function}", self.base);
        let mut request = self
            .agent
            .post(&url)
            .header("X-Admin-Protocol", self.admin_protocol.as_str())
            .header("Content-Type", "application/json");
        if let Some(a) = authorization {
            request = request.header("Authorization", a);
        }
        let response = request.send(body).map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        if status == 204 {
            return Ok((status, Vec::new()));
        }
        let body = response
            .into_body()
            .into_with_config()
            .limit(MAX_RESPONSE_BODY as u64)
            .read_to_vec()
            .map_err(|e| TransportError::BadAnswer {
                function: function.to_string(),
                reason: match e {
                    ureq::Error::BodyExceedsLimit(_) => {
                        format!("larger than {MAX_RESPONSE_BODY} bytes")
                    }
                    other => reason(&other),
                },
            })?;
        Ok((status, body))
    }
}

impl Es9Transport for HttpsTransport {
    fn call(&mut self, function: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self.post(PATH_PREFIX, function, body)? {
            (200 | 204, body) => Ok(body),
            (status, _) => Err(TransportError::Http {
                function: function.to_string(),
                status,
            }),
        }
    }
}
