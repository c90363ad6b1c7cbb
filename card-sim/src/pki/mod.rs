//! The card's eUICC PKI on disk, in the SGP.26 folder layout that osmocom pySim's
//! `contrib/generate_smdpp_certs.py` writes and osmo-smdpp reads:
//!
//! - [`load_dir`] (`card-sim --pki DIR`): `CertificateIssuer/CERT_CI_ECDSA_{NIST,BRP}.der`,
//!   `EUM/CERT_EUM_ECDSA_*.der`, `eUICC/CERT_EUICC_ECDSA_*.der` and
//!   `eUICC/SK_EUICC_ECDSA_*.pem`; NIST required, BRP where all four files are present.
//! - [`write_dir`] (`card-sim pki init DIR`): a whole test PKI (CI, EUM, eUICC, DPauth,
//!   DPpb, DPtls) with the same file names; keys written 0600; existing files refused
//!   unless `force`. The CI's own key goes to `CertificateIssuerKey/SK_CI_ECDSA_*.pem`,
//!   outside `CertificateIssuer/`: osmo-smdpp (pySim 597f1e0, `load_certs_from_path`)
//!   reads every `.der`/`.pem` under `CertificateIssuer/` as a CI certificate and stops
//!   at a key file there.
//!
//! Every error names the file.

use crate::state::{CardPki, EuiccChain, EuiccKey};
use apdu::sgp22::pki::gen::{Issued, TestPki};
use apdu::sgp22::pki::{Cert, Curve, PrivateKey};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A PKI folder that cannot be used.
#[derive(Debug, Error)]
pub enum PkiDirError {
    #[error("{}: {cause}", path.display())]
    File { path: PathBuf, cause: String },
    #[error("{}: exists (use --force to overwrite)", .0.display())]
    Exists(PathBuf),
}

fn file_err(path: &Path, cause: impl std::fmt::Display) -> PkiDirError {
    PkiDirError::File {
        path: path.to_path_buf(),
        cause: cause.to_string(),
    }
}

/// Largest file read from the folder.
const MAX_FILE: u64 = 16 * 1024;

fn read(path: &Path) -> Result<Vec<u8>, PkiDirError> {
    let meta = fs::metadata(path).map_err(|e| file_err(path, e))?;
    if meta.len() > MAX_FILE {
        return Err(file_err(
            path,
            format!("{} bytes, over {MAX_FILE}", meta.len()),
        ));
    }
    fs::read(path).map_err(|e| file_err(path, e))
}

fn cert(path: &Path) -> Result<Cert, PkiDirError> {
    Cert::from_der(&read(path)?).map_err(|e| file_err(path, e))
}

/// The files of one curve: CI cert, EUM cert, eUICC cert, eUICC key.
fn files(dir: &Path, curve: Curve) -> [PathBuf; 4] {
    let s = curve.file_suffix();
    [
        dir.join(format!("CertificateIssuer/CERT_CI_ECDSA_{s}.der")),
        dir.join(format!("EUM/CERT_EUM_ECDSA_{s}.der")),
        dir.join(format!("eUICC/CERT_EUICC_ECDSA_{s}.der")),
        dir.join(format!("eUICC/SK_EUICC_ECDSA_{s}.pem")),
    ]
}

/// Loads and checks the card's PKI from `dir`; returns it with the EID its certificate names.
pub fn load_dir(dir: &Path) -> Result<(CardPki, apdu::Eid), PkiDirError> {
    let mut pki = CardPki {
        chains: Vec::new(),
        trusted_ci: Vec::new(),
    };
    let mut eid = None;
    for curve in [Curve::NistP256, Curve::BrainpoolP256r1] {
        let [ci_p, eum_p, euicc_p, key_p] = files(dir, curve);
        if curve == Curve::BrainpoolP256r1
            && ![&ci_p, &eum_p, &euicc_p, &key_p].iter().all(|p| p.exists())
        {
            continue;
        }
        let ci = cert(&ci_p)?;
        let eum = cert(&eum_p)?;
        let euicc = cert(&euicc_p)?;
        let pem = String::from_utf8(read(&key_p)?).map_err(|_| file_err(&key_p, "not text"))?;
        let key = PrivateKey::from_pem(&pem).map_err(|e| file_err(&key_p, e))?;
        let euicc_pk = euicc.public_key().map_err(|e| file_err(&euicc_p, e))?;
        if key.public_key() != euicc_pk {
            return Err(file_err(
                &key_p,
                format!("the key does not match {}", euicc_p.display()),
            ));
        }
        apdu::sgp22::pki::verify_chain(
            &euicc,
            std::slice::from_ref(&eum),
            std::slice::from_ref(&ci),
            apdu::sgp22::pki::Role::Euicc,
            None,
        )
        .map_err(|e| {
            file_err(
                &euicc_p,
                format!(
                    "does not chain through {} to {}: {e}",
                    eum_p.display(),
                    ci_p.display()
                ),
            )
        })?;
        let this_eid = euicc.eid().map_err(|e| file_err(&euicc_p, e))?;
        if let Some(e) = eid {
            if e != this_eid {
                return Err(file_err(
                    &euicc_p,
                    format!("names EID {this_eid}, the NIST certificate {e}"),
                ));
            }
        }
        eid = Some(this_eid);
        let ci_ski = ci.subject_key_id().map_err(|e| file_err(&ci_p, e))?;
        pki.chains.push(EuiccChain {
            euicc_key: EuiccKey(key),
            euicc_cert_der: euicc.der().to_vec(),
            eum_cert_der: eum.der().to_vec(),
            ci_ski,
        });
        pki.trusted_ci.push(ci.der().to_vec());
    }
    let eid = eid.ok_or_else(|| file_err(dir, "no eUICC chain"))?;
    Ok((pki, eid))
}

/// Where `write_dir` puts the CI's private key (module docs: not in `CertificateIssuer/`).
pub const CI_KEY_DIR: &str = "CertificateIssuerKey";

/// Writes `pkis` (one per curve) to `dir` with pySim's generator's file names.
pub fn write_dir(dir: &Path, pkis: &[TestPki], force: bool) -> Result<Vec<PathBuf>, PkiDirError> {
    let mut plan: Vec<(PathBuf, Vec<u8>, bool)> = Vec::new();
    for p in pkis {
        let s = p.ci.key.curve().file_suffix();
        let mut add =
            |sub: &str, cert_name: &str, key_name: &str, i: &Issued| -> Result<(), PkiDirError> {
                let pem = i.key.to_sec1_pem().map_err(|e| file_err(dir, e))?;
                // The CI's key stays out of the folder osmo-smdpp reads as certificates.
                let key_sub = if sub == "CertificateIssuer" {
                    CI_KEY_DIR
                } else {
                    sub
                };
                plan.push((dir.join(sub).join(cert_name), i.cert.der().to_vec(), false));
                plan.push((
                    dir.join(key_sub).join(key_name),
                    pem.as_bytes().to_vec(),
                    true,
                ));
                Ok(())
            };
        add(
            "CertificateIssuer",
            &format!("CERT_CI_ECDSA_{s}.der"),
            &format!("SK_CI_ECDSA_{s}.pem"),
            &p.ci,
        )?;
        add(
            "EUM",
            &format!("CERT_EUM_ECDSA_{s}.der"),
            &format!("SK_EUM_ECDSA_{s}.pem"),
            &p.eum,
        )?;
        add(
            "eUICC",
            &format!("CERT_EUICC_ECDSA_{s}.der"),
            &format!("SK_EUICC_ECDSA_{s}.pem"),
            &p.euicc,
        )?;
        add(
            "DPauth",
            &format!("CERT_S_SM_DPauth_ECDSA_{s}.der"),
            &format!("SK_S_SM_DPauth_ECDSA_{s}.pem"),
            &p.dp_auth,
        )?;
        add(
            "DPpb",
            &format!("CERT_S_SM_DPpb_ECDSA_{s}.der"),
            &format!("SK_S_SM_DPpb_ECDSA_{s}.pem"),
            &p.dp_pb,
        )?;
        add(
            "DPtls",
            &format!("CERT_S_SM_DP_TLS_{s}.der"),
            &format!("SK_S_SM_DP_TLS_{s}.pem"),
            &p.dp_tls,
        )?;
        // The CI also as PEM (pySim's generator writes it: a TLS client's CA file).
        let ci_pem = p.ci.cert.to_pem().map_err(|e| file_err(dir, e))?;
        plan.push((
            dir.join(format!("CertificateIssuer/CERT_CI_ECDSA_{s}.pem")),
            ci_pem.into_bytes(),
            false,
        ));
    }
    if !force {
        if let Some((p, _, _)) = plan.iter().find(|(p, _, _)| p.exists()) {
            return Err(PkiDirError::Exists(p.clone()));
        }
    }
    for (path, bytes, secret) in &plan {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| file_err(parent, e))?;
        }
        let mode = if *secret { 0o600 } else { 0o644 };
        let _ = fs::remove_file(path);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(|e| file_err(path, e))?;
        f.write_all(bytes).map_err(|e| file_err(path, e))?;
    }
    Ok(plan.into_iter().map(|(p, _, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    /// osmo-smdpp loads every `.der`/`.pem` under `CertificateIssuer/` as a CI
    /// certificate: nothing else may be there, and the CI key is kept beside it.
    #[test]
    fn certificate_issuer_holds_only_certificates() {
        let dir = std::env::temp_dir().join(format!("card-sim-pki-ci-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let eid: apdu::Eid = "89049032123451234512345678901235".parse().unwrap();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let pki =
            apdu::sgp22::pki::gen::test_pki(Curve::NistP256, eid, "x.example", &mut rng).unwrap();
        write_dir(&dir, &[pki], false).unwrap();
        let mut names: Vec<String> = fs::read_dir(dir.join("CertificateIssuer"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["CERT_CI_ECDSA_NIST.der", "CERT_CI_ECDSA_NIST.pem"]);
        for n in &names {
            let bytes = fs::read(dir.join("CertificateIssuer").join(n)).unwrap();
            if n.ends_with(".der") {
                Cert::from_der(&bytes).unwrap();
            } else {
                assert!(bytes.starts_with(b"-----BEGIN CERTIFICATE-----"));
            }
        }
        let key = dir.join(CI_KEY_DIR).join("SK_CI_ECDSA_NIST.pem");
        assert!(fs::read_to_string(&key).unwrap().contains("PRIVATE KEY"));
        // osmo-smdpp's EID range check: the EUM's first RSP policy is variant Ov3's, and
        // permittedEins names the SGP.26 test IIN.
        let eum = cert(&dir.join("EUM/CERT_EUM_ECDSA_NIST.der")).unwrap();
        let exts = eum.inner().tbs_certificate().extensions().unwrap();
        let value = |oid: &str| {
            exts.iter()
                .find(|e| e.extn_id.to_string() == oid)
                .map(|e| e.extn_value.as_bytes().to_vec())
        };
        assert_eq!(
            value("2.23.146.1.2.2.0").as_deref(),
            Some(&b"\x30\x0a\x13\x0889049032"[..])
        );
        let policies = value("2.5.29.32").unwrap();
        let at = |oid: &[u8]| policies.windows(oid.len()).position(|w| w == oid);
        let ov3 = at(&[0x06, 0x09, 0x67, 0x81, 0x12, 1, 2, 1, 0, 0, 0]).unwrap();
        let eum_role = at(&[0x06, 0x07, 0x67, 0x81, 0x12, 1, 2, 1, 2]).unwrap();
        assert!(ov3 < eum_role, "the Ov3 policy comes first");
        let _ = fs::remove_dir_all(&dir);
    }
}
