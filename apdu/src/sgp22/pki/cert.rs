//! X.509 certificates of the SGP.22 PKI (SGP.22 §4.5.2) and chain verification.
//!
//! [`verify_chain`] checks, for each link up to a trusted CI: the issuer's signature over
//! the TBS (ECDSA-SHA256, DER signature), the name linkage (issuer = subject above) and
//! the key-id linkage (AuthorityKeyIdentifier = the issuer's SubjectKeyIdentifier), that
//! each issuer is a CA (basicConstraints cA, SGP.22 §4.5.2.1), and that the leaf carries
//! the expected SGP.22 role policy (§4.5.2.1.0.x, `id-rspRole-*`). Validity times are
//! checked only when a time is given: SGP.22 §4.5.2.2 leaves the eUICC without a trusted
//! clock, and eUICCs do not check certificate expiry; the SM-DP+ side passes its time.

use super::error::PkiError;
use super::key::{Curve, PublicKey};
pub use super::role::Role;
use der::{Decode, Encode};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, SubjectKeyIdentifier,
};

/// Largest certificate accepted (SGP.22 certificates are under 1 KiB).
pub const MAX_CERT_LEN: usize = 4096;
/// Most intermediate certificates in a chain (SGP.22 has at most one: the EUM or a SubCA).
pub const MAX_INTERMEDIATES: usize = 4;

const ID_EC_PUBLIC_KEY: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const BRAINPOOL_P256R1: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7");
const ECDSA_WITH_SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// X.520 serialNumber (RFC 4519 §2.31), where SGP.22 §4.5.2.1.0.2 puts the EID.
const SERIAL_NUMBER: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.4.5");

/// id-ce-subjectAltName (RFC 5280 §4.2.1.6).
const SUBJECT_ALT_NAME: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17");

/// The first `[8]` registeredID of a `GeneralNames` SEQUENCE (the SAN extension value).
pub fn registered_id_in_san(value: &[u8]) -> Option<Vec<u8>> {
    let names = crate::iso7816::tlv::parse_expect(value, 0x30).ok()?;
    crate::iso7816::tlv::child_bytes(&names, 0x88)
        .filter(|oid| !oid.is_empty() && oid.len() <= 64)
        .map(<[u8]>::to_vec)
}

/// A parsed certificate with its DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    der: Vec<u8>,
    cert: x509_cert::Certificate,
}

impl Cert {
    /// Parses a DER certificate (size capped before parsing).
    pub fn from_der(der: &[u8]) -> Result<Cert, PkiError> {
        if der.len() > MAX_CERT_LEN {
            return Err(PkiError::Cert(format!(
                "{} bytes, over {MAX_CERT_LEN}",
                der.len()
            )));
        }
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| PkiError::Cert(format!("not a DER X.509 certificate: {e}")))?;
        Ok(Cert {
            der: der.to_vec(),
            cert,
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as PEM (RFC 7468 `CERTIFICATE`).
    pub fn to_pem(&self) -> Result<String, PkiError> {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.der)
            .map_err(|e| PkiError::Cert(format!("cannot encode PEM: {e}")))
    }

    pub fn inner(&self) -> &x509_cert::Certificate {
        &self.cert
    }

    fn ext<'a, T: der::Decode<'a> + der::oid::AssociatedOid>(
        &'a self,
    ) -> Result<Option<T>, PkiError> {
        self.cert
            .tbs_certificate()
            .get_extension::<T>()
            .map(|o| o.map(|(_, v)| v))
            .map_err(|_| PkiError::Cert(format!("extension {} does not decode", T::OID)))
    }

    /// SubjectKeyIdentifier (RFC 5280 §4.2.1.2); SGP.22 requires it in every certificate.
    pub fn subject_key_id(&self) -> Result<Vec<u8>, PkiError> {
        self.ext::<SubjectKeyIdentifier>()?
            .map(|s| s.0.as_bytes().to_vec())
            .ok_or_else(|| PkiError::Cert("no SubjectKeyIdentifier".into()))
    }

    /// AuthorityKeyIdentifier's keyIdentifier (RFC 5280 §4.2.1.1), if present.
    pub fn authority_key_id(&self) -> Result<Option<Vec<u8>>, PkiError> {
        Ok(self
            .ext::<AuthorityKeyIdentifier>()?
            .and_then(|a| a.key_identifier.map(|k| k.as_bytes().to_vec())))
    }

    /// The SGP.22 roles among the certificate policies.
    pub fn roles(&self) -> Result<Vec<Role>, PkiError> {
        let all = [
            Role::Ci,
            Role::Euicc,
            Role::Eum,
            Role::DpTls,
            Role::DpAuth,
            Role::DpPb,
        ];
        let policies = self
            .ext::<CertificatePolicies>()?
            .map(|p| p.0)
            .unwrap_or_default();
        Ok(all
            .into_iter()
            .filter(|r| policies.iter().any(|p| p.policy_identifier == r.oid()))
            .collect())
    }

    /// The first registeredID of subjectAltName (RFC 5280 §4.2.1.6, `[8] OBJECT
    /// IDENTIFIER`, tag `88`) as OID content octets: the SM-DP+ OID of CERT.DPauth and
    /// CERT.DPpb (SGP.22 §4.5.2.1.0.3), which CancelSession and ProfileInstallationResult
    /// carry. Read from the extension's DER with the crate's TLV reader, because the
    /// SGP.26 test OIDs (`2.999.n`) are arcs the `const-oid` type refuses. `None`: no
    /// SAN, no registeredID, or a SAN that does not decode.
    pub fn first_subject_alt_registered_id(&self) -> Option<Vec<u8>> {
        let san = self
            .cert
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| e.extn_id == SUBJECT_ALT_NAME)?;
        registered_id_in_san(san.extn_value.as_bytes())
    }

    /// basicConstraints cA.
    pub fn is_ca(&self) -> Result<bool, PkiError> {
        Ok(self.ext::<BasicConstraints>()?.is_some_and(|b| b.ca))
    }

    /// The subject public key (id-ecPublicKey on P-256 or brainpoolP256r1).
    pub fn public_key(&self) -> Result<PublicKey, PkiError> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
            return Err(PkiError::Cert("the key is not an EC key".into()));
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
        let curve = match curve {
            Some(c) if c == SECP256R1 => Curve::NistP256,
            Some(c) if c == BRAINPOOL_P256R1 => Curve::BrainpoolP256r1,
            _ => {
                return Err(PkiError::Cert(
                    "the key is on neither P-256 nor brainpoolP256r1".into(),
                ))
            }
        };
        PublicKey::from_sec1(curve, spki.subject_public_key.raw_bytes())
    }

    /// The EID: the subject's serialNumber (SGP.22 §4.5.2.1.0.2), 32 digits.
    pub fn eid(&self) -> Result<crate::Eid, PkiError> {
        let subject = self.cert.tbs_certificate().subject();
        let value = subject
            .iter()
            .find(|a| a.oid == SERIAL_NUMBER)
            .ok_or_else(|| PkiError::Cert("the subject has no serialNumber (EID)".into()))?;
        let text = std::str::from_utf8(value.value.value())
            .map_err(|_| PkiError::Cert("the serialNumber is not text".into()))?;
        text.parse()
            .map_err(|e| PkiError::Cert(format!("the serialNumber {text:?} is not an EID: {e}")))
    }

    /// The DER of the TBSCertificate, what the issuer signed.
    fn tbs_der(&self) -> Result<Vec<u8>, PkiError> {
        self.cert
            .tbs_certificate()
            .to_der()
            .map_err(|e| PkiError::Cert(format!("TBS does not re-encode: {e}")))
    }

    /// Is `self` signed by `issuer`'s key (ecdsa-with-SHA256)?
    pub fn verify_signed_by(&self, issuer: &PublicKey) -> Result<(), PkiError> {
        if self.cert.signature_algorithm().oid != ECDSA_WITH_SHA256 {
            return Err(PkiError::Cert(
                "the signature is not ecdsa-with-SHA256".into(),
            ));
        }
        let sig = self
            .cert
            .signature()
            .as_bytes()
            .ok_or(PkiError::BadSignature)?;
        issuer.verify_der(&self.tbs_der()?, sig)
    }

    fn issued_by(&self, issuer: &Cert) -> Result<bool, PkiError> {
        if self.cert.tbs_certificate().issuer() != issuer.cert.tbs_certificate().subject() {
            return Ok(false);
        }
        Ok(match self.authority_key_id()? {
            Some(aki) => aki == issuer.subject_key_id()?,
            None => true,
        })
    }

    fn check_time(&self, at: Option<u64>) -> Result<(), PkiError> {
        let Some(now) = at else { return Ok(()) };
        let v = self.cert.tbs_certificate().validity();
        let from = v.not_before.to_unix_duration().as_secs();
        let to = v.not_after.to_unix_duration().as_secs();
        if now < from || now > to {
            return Err(PkiError::Expired);
        }
        Ok(())
    }
}

/// Verifies `leaf` up to one of `trusted` (self-signed CI certificates, taken as trust
/// anchors as they are) through `intermediates` (an EUM or SubCA), with the leaf carrying
/// `role`. `at`: seconds since 1970 to check validity against, `None` not to (the eUICC).
/// Returns the index in `trusted` of the CI the chain ends at.
pub fn verify_chain(
    leaf: &Cert,
    intermediates: &[Cert],
    trusted: &[Cert],
    role: Role,
    at: Option<u64>,
) -> Result<usize, PkiError> {
    if intermediates.len() > MAX_INTERMEDIATES {
        return Err(PkiError::Chain(format!(
            "more than {MAX_INTERMEDIATES} intermediates"
        )));
    }
    if !leaf.roles()?.contains(&role) {
        return Err(PkiError::WrongRole { expected: role });
    }
    leaf.check_time(at)?;
    let mut current = leaf;
    // Each step moves one up; a chain longer than the intermediates plus one is a loop.
    for _ in 0..=intermediates.len() {
        for (i, ci) in trusted.iter().enumerate() {
            if current.issued_by(ci)? {
                current.verify_signed_by(&ci.public_key()?)?;
                return Ok(i);
            }
        }
        let Some(up) = intermediates
            .iter()
            .find(|c| current.issued_by(c).unwrap_or(false))
        else {
            return Err(PkiError::Chain("no issuer found among the intermediates or the trusted CIs (issuer name or AuthorityKeyIdentifier does not match)".into()));
        };
        current.verify_signed_by(&up.public_key()?)?;
        if !up.is_ca()? {
            return Err(PkiError::Chain(
                "an intermediate is not a CA (basicConstraints)".into(),
            ));
        }
        up.check_time(at)?;
        current = up;
    }
    Err(PkiError::Chain(
        "the chain does not reach a trusted CI".into(),
    ))
}
