//! The card's eUICC PKI in the persistent state (SGP.22 §2.6, §4.5.2): per curve an eUICC
//! key pair with its certificate and the EUM certificate above it (the chain the card
//! sends in AuthenticateClient), and the CI certificates the card trusts (public; their
//! SubjectKeyIdentifiers are what EUICCInfo1/2 list, SGP.22 §4.3).
//!
//! Without `--pki` a card's chain is issued here under the test EUM and test CI this
//! project ships in `card-sim/test-pki/` (TEST MATERIAL ONLY: their private keys are
//! public on purpose). The private key is zeroized in memory ([`PrivateKey`] holds a
//! RustCrypto `SecretKey`), redacted in Debug, stored as hex in the 0600 state file.

use super::secret::Secret;
use apdu::sgp22::pki::gen::{self, Issued, Kind};
use apdu::sgp22::pki::{Cert, Curve, PkiError, PrivateKey};
use apdu::Eid;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The shipped test CI (self-signed, NIST P-256) and the test EUM it signed.
pub const TEST_CI_CERT: &[u8] =
    include_bytes!("../../test-pki/CertificateIssuer/CERT_CI_ECDSA_NIST.der");
pub const TEST_EUM_CERT: &[u8] = include_bytes!("../../test-pki/EUM/CERT_EUM_ECDSA_NIST.der");
/// The test EUM's private key (SEC1 PEM): public on purpose, it signs test eUICCs only.
pub const TEST_EUM_KEY: &str = include_str!("../../test-pki/EUM/SK_EUM_ECDSA_NIST.pem");

/// The eUICC's private key: serialized as `{ "curve": "NIST"|"BRP", "scalar": hex }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EuiccKey(pub PrivateKey);

impl EuiccKey {
    /// ECDSA-SHA256 (RFC 6979) as SGP.22's `r || s` (euiccSignature1, euiccSignature2...).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDoc {
    curve: String,
    scalar: Secret,
}

impl Serialize for EuiccKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        KeyDoc {
            curve: self.0.curve().file_suffix().into(),
            scalar: Secret::new(self.0.to_scalar().to_vec()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for EuiccKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = KeyDoc::deserialize(d)?;
        let curve = match doc.curve.as_str() {
            "NIST" => Curve::NistP256,
            "BRP" => Curve::BrainpoolP256r1,
            other => return Err(serde::de::Error::custom(format!("unknown curve {other}"))),
        };
        PrivateKey::from_scalar(curve, doc.scalar.expose())
            .map(EuiccKey)
            .map_err(serde::de::Error::custom)
    }
}

/// One eUICC certificate chain (SGP.22 §4.5.2.2: CERT.EUICC.ECDSA <- CERT.EUM.ECDSA <- CI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EuiccChain {
    pub euicc_key: EuiccKey,
    #[serde(with = "hex_bytes")]
    pub euicc_cert_der: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub eum_cert_der: Vec<u8>,
    /// The SubjectKeyIdentifier of the CI this chain ends at.
    #[serde(with = "hex_bytes")]
    pub ci_ski: Vec<u8>,
}

/// The card's PKI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardPki {
    /// The eUICC's chains, NIST first when present.
    pub chains: Vec<EuiccChain>,
    /// Trusted CI certificates (DER), for verifying SM-DP+ certificates.
    #[serde(with = "hex_list")]
    pub trusted_ci: Vec<Vec<u8>>,
}

impl CardPki {
    /// The CI key identifiers the card trusts (euiccCiPKIdListForVerification).
    pub fn trusted_ci_skis(&self) -> Vec<Vec<u8>> {
        self.trusted_ci_certs()
            .iter()
            .filter_map(|c| c.subject_key_id().ok())
            .collect()
    }

    /// The CI key identifiers the card has a signing chain under (…ForSigning).
    pub fn signing_ci_skis(&self) -> Vec<Vec<u8>> {
        self.chains.iter().map(|c| c.ci_ski.clone()).collect()
    }

    /// The trusted CI certificates, parsed (validated at load, so none is skipped).
    pub fn trusted_ci_certs(&self) -> Vec<Cert> {
        self.trusted_ci
            .iter()
            .filter_map(|d| Cert::from_der(d).ok())
            .collect()
    }

    /// The chain under the CI with key id `ski` (euiccCiPKIdToBeUsed, SGP.22 §5.7.13).
    pub fn chain_for_ci(&self, ski: &[u8]) -> Option<&EuiccChain> {
        self.chains.iter().find(|c| c.ci_ski == ski)
    }

    /// Checks what the card relies on: each chain verifies to a trusted CI with the eUICC
    /// role, its key matches its certificate, and every certificate names `eid`.
    pub fn validate(&self, eid: &Eid) -> Result<(), PkiError> {
        if self.chains.is_empty() {
            return Err(PkiError::Chain("the card has no eUICC certificate".into()));
        }
        let cis = self.trusted_ci_certs();
        if cis.len() != self.trusted_ci.len() {
            return Err(PkiError::Cert(
                "a trusted CI certificate does not parse".into(),
            ));
        }
        for c in &self.chains {
            let euicc = Cert::from_der(&c.euicc_cert_der)?;
            let eum = Cert::from_der(&c.eum_cert_der)?;
            let i = apdu::sgp22::pki::verify_chain(
                &euicc,
                std::slice::from_ref(&eum),
                &cis,
                apdu::sgp22::pki::Role::Euicc,
                None,
            )?;
            if cis[i].subject_key_id()? != c.ci_ski {
                return Err(PkiError::Chain(
                    "ci_ski is not the CI the chain ends at".into(),
                ));
            }
            if euicc.public_key()? != c.euicc_key.0.public_key() {
                return Err(PkiError::Key(
                    "the eUICC private key does not match its certificate".into(),
                ));
            }
            if euicc.eid()? != *eid {
                return Err(PkiError::Cert(format!(
                    "the eUICC certificate names EID {}, not {eid}",
                    euicc.eid()?
                )));
            }
        }
        Ok(())
    }

    /// A new card's PKI: a NIST P-256 key from `rng` and its certificate for `eid`,
    /// signed by the shipped test EUM, under the shipped test CI.
    pub fn issue_test<R: rand_core::CryptoRng + ?Sized>(
        eid: Eid,
        rng: &mut R,
    ) -> Result<CardPki, PkiError> {
        let eum = Issued {
            cert: Cert::from_der(TEST_EUM_CERT)?,
            key: PrivateKey::from_pem(TEST_EUM_KEY)?,
        };
        let ci = Cert::from_der(TEST_CI_CERT)?;
        // Serial: the EID's last 16 digits, unique under this EUM.
        let digits = eid.digits();
        let serial = digits
            .get(16..)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(1);
        let euicc = gen::make(
            &Kind::Euicc { eid },
            Curve::NistP256,
            Some(&eum),
            serial,
            rng,
        )?;
        Ok(CardPki {
            chains: vec![EuiccChain {
                euicc_key: EuiccKey(euicc.key),
                euicc_cert_der: euicc.cert.der().to_vec(),
                eum_cert_der: TEST_EUM_CERT.to_vec(),
                ci_ski: ci.subject_key_id()?,
            }],
            trusted_ci: vec![TEST_CI_CERT.to_vec()],
        })
    }

    /// The PKI of a card made without an RNG (tests, fuzzing, and schema 1/2 state files
    /// upgraded on load): the key is drawn from ChaCha20 seeded with SHA-256 of a label
    /// and the EID, so it is as predictable as the EID. Test cards only.
    pub fn issue_from_eid(eid: Eid) -> Result<CardPki, PkiError> {
        use rand_core::SeedableRng;
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"card-sim eUICC key from EID v1\0");
        h.update(eid.digits().as_bytes());
        let seed: [u8; 32] = h.finalize().into();
        CardPki::issue_test(eid, &mut rand_chacha::ChaCha20Rng::from_seed(seed))
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod hex_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(hex::encode_upper)
            .collect::<Vec<_>>()
            .serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|h| hex::decode(h).map_err(serde::de::Error::custom))
            .collect()
    }
}
