//! A test-PKI generator in the shape of the SGP.26 test certificates as osmocom pySim's
//! `contrib/generate_smdpp_certs.py` reproduces them (facts only: names, policies,
//! key usages, basic constraints, SAN registered ids). Deterministic: keys come from the
//! caller's RNG and ECDSA signs per RFC 6979, so the same seed gives the same bytes.
//! TEST MATERIAL: nothing made here is fit for production.
//!
//! Left out on purpose: the SAN registeredIDs of SGP.26 (`2.999.n`, an arc const-oid
//! refuses), CRL distribution points (nothing here serves a CRL), and the EUM's
//! nameConstraints (SGP.22 §4.5.2.1.0.2 reads its serialNumber as an EID prefix, which
//! X.509 path validation such as `openssl verify` does not, so it would fail there). The
//! EUM names its permitted EIDs the SGP.22 v3 way instead (policy of variant Ov3 and the
//! non-critical permittedEins extension), which osmo-smdpp requires of an EUM.

use super::cert::Cert;
use super::error::PkiError;
use super::key::{Curve, PrivateKey};
use super::role::Role;
use der::asn1::{Ia5String, OctetString};
use der::Encode;
use sha2::Digest;
use std::str::FromStr;
use x509_cert::builder::{profile::BuilderProfile, Builder, CertificateBuilder};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage,
    KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// A certificate with its private key.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: Cert,
    pub key: PrivateKey,
}

/// What kind of certificate to make (SGP.22 §4.5.2.1).
#[derive(Debug, Clone)]
pub enum Kind {
    Ci,
    Eum,
    Euicc {
        eid: crate::Eid,
    },
    DpAuth,
    DpPb,
    DpTls {
        host: String,
    },
    /// A DPtls certificate for a TLS server reached by several names: CN `host`, and a
    /// subjectAltName with `host`, every `extra_dns` name and every IP address (RFC 5280
    /// §4.2.1.6; TLS clients match the SAN, not the CN). Otherwise as [`Kind::DpTls`].
    DpTlsServer {
        host: String,
        extra_dns: Vec<String>,
        ips: Vec<std::net::IpAddr>,
    },
}

struct Profile {
    subject: Name,
    issuer: Name,
    exts: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.exts.clone())
    }
}

fn err(e: impl std::fmt::Display) -> PkiError {
    PkiError::Cert(format!("cannot build the certificate: {e}"))
}

fn ext<T: Encode + der::oid::AssociatedOid>(critical: bool, v: &T) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(v.to_der().map_err(err)?).map_err(err)?,
    })
}

/// The certificate policy of EUM certificates of variant Ov3/A/B/C (SGP.22 v3 §4.5.2.1.0.1).
const EUM_OV3_POLICY: &str = "2.23.146.1.2.1.0.0.0";
/// id-rsp-cert-ext-permittedEins (SGP.22 v3 §4.5.2.1.0.2): `PermittedEins ::= SEQUENCE OF
/// PrintableString`, the EID prefixes (IINs) the EUM may issue eUICC certificates for.
const PERMITTED_EINS_OID: &str = "2.23.146.1.2.2.0";

/// The EUM's permittedEins extension, non-critical (X.509 path validation such as
/// `openssl verify` skips it): the SGP.26 test IIN `89049032` (`eid::TEST_PREFIX`),
/// which every card-sim EID starts with. Unlike the nameConstraints form of variant O,
/// it leaves the chain valid for X.509 (module docs).
fn permitted_eins() -> Result<Extension, PkiError> {
    let iin = crate::sgp22::eid::TEST_PREFIX.as_bytes();
    // SEQUENCE { PrintableString iin }, short lengths (an 8-byte IIN).
    let mut der = vec![0x30, (iin.len() + 2) as u8, 0x13, iin.len() as u8];
    der.extend_from_slice(iin);
    Ok(Extension {
        extn_id: der::asn1::ObjectIdentifier::new_unwrap(PERMITTED_EINS_OID),
        critical: false,
        extn_value: OctetString::new(der).map_err(err)?,
    })
}

/// The key identifier: SHA-256 of the subjectPublicKey bits, first 20 bytes (RFC 7093 §2 method 1).
pub fn key_id(key: &super::key::PublicKey) -> Vec<u8> {
    sha2::Sha256::digest(key.to_sec1())[..20].to_vec()
}

fn name(s: &str) -> Result<Name, PkiError> {
    Name::from_str(s).map_err(|e| PkiError::Cert(format!("name {s}: {e}")))
}

/// The subject name of each kind (RFC 4514 order: last RDN first), as SGP.26's.
fn subject(kind: &Kind) -> Result<Name, PkiError> {
    match kind {
        Kind::Ci => name("C=IT,O=RSPTEST,OU=TESTCERT,CN=Test CI"),
        Kind::Eum => name("CN=EUM Test,O=RSP Test EUM,C=ES"),
        Kind::Euicc { eid } => name(&format!(
            "CN=Test eUICC,serialNumber={},O=RSP Test EUM,C=ES",
            eid.digits()
        )),
        Kind::DpAuth | Kind::DpPb => name("CN=TEST SM-DP\\+,O=ACME"),
        Kind::DpTls { host } | Kind::DpTlsServer { host, .. } => name(&format!("CN={host},O=ACME")),
    }
}

/// Issues a certificate of `kind` for `key`, signed by `issuer` (`None`: self-signed CI).
pub fn issue(
    kind: &Kind,
    key: &PrivateKey,
    issuer: Option<&Issued>,
    serial: u64,
) -> Result<Cert, PkiError> {
    let pk = key.public_key();
    let subject = subject(kind)?;
    let (issuer_name, signer) = match issuer {
        Some(i) => (i.cert.inner().tbs_certificate().subject().clone(), &i.key),
        None => (subject.clone(), key),
    };
    let policy = |role: Role| {
        CertificatePolicies(vec![x509_cert::ext::pkix::certpolicy::PolicyInformation {
            policy_identifier: role.oid(),
            policy_qualifiers: None,
        }])
    };
    let ku = |u: der::flagset::FlagSet<KeyUsages>| KeyUsage(u);
    let mut exts = Vec::new();
    if let Some(i) = issuer {
        exts.push(ext(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(i.cert.subject_key_id()?).map_err(err)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?);
    }
    exts.push(ext(
        false,
        &SubjectKeyIdentifier(OctetString::new(key_id(&pk)).map_err(err)?),
    )?);
    match kind {
        Kind::Ci => {
            exts.push(ext(
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                },
            )?);
            exts.push(ext(true, &policy(Role::Ci))?);
            exts.push(ext(true, &ku(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?);
        }
        Kind::Eum => {
            exts.push(ext(true, &ku(KeyUsages::KeyCertSign.into()))?);
            // The EUM variant Ov3 policy first, then id-rspRole-eum: osmo-smdpp (pySim
            // 597f1e0, `get_eum_certificate_variant`) takes the first of the two it finds
            // and then reads the permitted EIDs from permittedEins (below).
            let mut eum_policies = policy(Role::Eum);
            eum_policies.0.insert(
                0,
                x509_cert::ext::pkix::certpolicy::PolicyInformation {
                    policy_identifier: der::asn1::ObjectIdentifier::new_unwrap(EUM_OV3_POLICY),
                    policy_qualifiers: None,
                },
            );
            exts.push(ext(true, &eum_policies)?);
            exts.push(permitted_eins()?);
            exts.push(ext(
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
            )?);
        }
        Kind::Euicc { .. } => {
            exts.push(ext(true, &ku(KeyUsages::DigitalSignature.into()))?);
            exts.push(ext(true, &policy(Role::Euicc))?);
        }
        Kind::DpAuth | Kind::DpPb => {
            let role = if matches!(kind, Kind::DpAuth) {
                Role::DpAuth
            } else {
                Role::DpPb
            };
            exts.push(ext(true, &ku(KeyUsages::DigitalSignature.into()))?);
            exts.push(ext(true, &policy(role))?);
        }
        Kind::DpTls { .. } | Kind::DpTlsServer { .. } => {
            exts.push(ext(true, &ku(KeyUsages::DigitalSignature.into()))?);
            // id-kp-serverAuth, id-kp-clientAuth (RFC 5280 §4.2.1.12).
            exts.push(ext(
                true,
                &ExtendedKeyUsage(vec![
                    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1"),
                    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2"),
                ]),
            )?);
            exts.push(ext(false, &policy(Role::DpTls))?);
            let (host, extra, ips) = match kind {
                Kind::DpTlsServer {
                    host,
                    extra_dns,
                    ips,
                } => (host, &extra_dns[..], &ips[..]),
                Kind::DpTls { host } => (host, &[][..], &[][..]),
                _ => return Err(err("not a DPtls kind")),
            };
            let mut names = Vec::new();
            for n in std::iter::once(host).chain(extra) {
                names.push(GeneralName::DnsName(Ia5String::new(n).map_err(err)?));
            }
            for ip in ips {
                let octets = match ip {
                    std::net::IpAddr::V4(a) => a.octets().to_vec(),
                    std::net::IpAddr::V6(a) => a.octets().to_vec(),
                };
                names.push(GeneralName::IpAddress(
                    OctetString::new(octets).map_err(err)?,
                ));
            }
            exts.push(ext(false, &SubjectAltName(names))?);
        }
    }
    let profile = Profile {
        subject,
        issuer: issuer_name,
        exts,
    };
    let not_before = Time::UtcTime(
        der::asn1::UtcTime::from_date_time(der::DateTime::new(2020, 4, 1, 0, 0, 0).map_err(err)?)
            .map_err(err)?,
    );
    // eUICC and CI certificates never expire (RFC 5280 §4.1.2.5: 99991231235959Z); the
    // SM-DP+ certificates get the same here, so test set-ups do not rot.
    let validity = Validity::new(not_before, Time::INFINITY);
    let spki = match &pk {
        super::key::PublicKey::NistP256(k) => spki::SubjectPublicKeyInfoOwned::from_key(k),
        super::key::PublicKey::BrainpoolP256r1(k) => spki::SubjectPublicKeyInfoOwned::from_key(k),
    }
    .map_err(err)?;
    let serial = SerialNumber::new(&serial.to_be_bytes()).map_err(err)?;
    let builder = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| PkiError::Cert(format!("builder: {e}")))?;
    let cert = match signer {
        PrivateKey::NistP256(k) => builder.build::<_, p256::ecdsa::DerSignature>(k),
        PrivateKey::BrainpoolP256r1(k) => {
            builder.build::<_, ecdsa::der::Signature<bp256::BrainpoolP256r1>>(k)
        }
    }
    .map_err(err)?;
    Cert::from_der(&cert.to_der().map_err(err)?)
}

/// Makes a key on `curve` from `rng` and issues a certificate of `kind` for it.
pub fn make<R: rand_core::CryptoRng + ?Sized>(
    kind: &Kind,
    curve: Curve,
    issuer: Option<&Issued>,
    serial: u64,
    rng: &mut R,
) -> Result<Issued, PkiError> {
    let key = PrivateKey::generate(curve, rng);
    let cert = issue(kind, &key, issuer, serial)?;
    Ok(Issued { cert, key })
}

/// A complete test PKI on one curve (SGP.26 layout's contents).
#[derive(Debug, Clone)]
pub struct TestPki {
    pub ci: Issued,
    pub eum: Issued,
    pub euicc: Issued,
    pub dp_auth: Issued,
    pub dp_pb: Issued,
    pub dp_tls: Issued,
}

/// CI, EUM, eUICC for `eid`, DPauth, DPpb, DPtls for `smdp_host`, all from `rng`.
pub fn test_pki<R: rand_core::CryptoRng + ?Sized>(
    curve: Curve,
    eid: crate::Eid,
    smdp_host: &str,
    rng: &mut R,
) -> Result<TestPki, PkiError> {
    let ci = make(&Kind::Ci, curve, None, 1, rng)?;
    let eum = make(&Kind::Eum, curve, Some(&ci), 2, rng)?;
    let euicc = make(&Kind::Euicc { eid }, curve, Some(&eum), 3, rng)?;
    let dp_auth = make(&Kind::DpAuth, curve, Some(&ci), 256, rng)?;
    let dp_pb = make(&Kind::DpPb, curve, Some(&ci), 257, rng)?;
    let dp_tls = make(
        &Kind::DpTls {
            host: smdp_host.into(),
        },
        curve,
        Some(&ci),
        9,
        rng,
    )?;
    Ok(TestPki {
        ci,
        eum,
        euicc,
        dp_auth,
        dp_pb,
        dp_tls,
    })
}
