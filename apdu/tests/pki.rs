//! The SGP.22 PKI: generated test chains verify with our verifier and with openssl;
//! wrong CI, wrong role, a broken signature and a key-id mismatch are refused.

use apdu::sgp22::pki::gen::{self, Issued, Kind};
use apdu::sgp22::pki::{
    der_to_raw, raw_to_der, verify_chain, Cert, Curve, PkiError, PrivateKey, Role,
};
use apdu::Eid;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn eid() -> Eid {
    "89049032123451234512345678901235".parse().unwrap()
}

fn pki(curve: Curve, seed: u64) -> gen::TestPki {
    gen::test_pki(
        curve,
        eid(),
        "testsmdpplus1.example.com",
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap()
}

#[test]
fn good_chains_verify_on_both_curves() {
    for curve in [Curve::NistP256, Curve::BrainpoolP256r1] {
        let p = pki(curve, 1);
        let cis = [p.ci.cert.clone()];
        assert_eq!(
            verify_chain(
                &p.euicc.cert,
                std::slice::from_ref(&p.eum.cert),
                &cis,
                Role::Euicc,
                None
            ),
            Ok(0)
        );
        assert_eq!(
            verify_chain(&p.dp_auth.cert, &[], &cis, Role::DpAuth, None),
            Ok(0)
        );
        assert_eq!(
            verify_chain(&p.dp_pb.cert, &[], &cis, Role::DpPb, None),
            Ok(0)
        );
        assert_eq!(
            verify_chain(&p.dp_tls.cert, &[], &cis, Role::DpTls, Some(1_800_000_000)),
            Ok(0)
        );
        assert_eq!(p.euicc.cert.eid().unwrap(), eid());
        assert_eq!(
            p.euicc.cert.authority_key_id().unwrap().unwrap(),
            p.eum.cert.subject_key_id().unwrap()
        );
        assert_eq!(p.ci.cert.roles().unwrap(), vec![Role::Ci]);
    }
}

#[test]
fn generator_is_deterministic() {
    let a = pki(Curve::NistP256, 5);
    let b = pki(Curve::NistP256, 5);
    assert_eq!(a.euicc.cert.der(), b.euicc.cert.der());
    assert_ne!(a.ci.cert.der(), pki(Curve::NistP256, 6).ci.cert.der());
}

#[test]
fn wrong_ci_wrong_role_missing_eum_are_refused() {
    let p = pki(Curve::NistP256, 1);
    let other = pki(Curve::NistP256, 2);
    let eum = [p.eum.cert.clone()];
    // Same names, other keys: the AKI does not match the other CI's SKI.
    assert!(matches!(
        verify_chain(
            &p.euicc.cert,
            &eum,
            std::slice::from_ref(&other.ci.cert),
            Role::Euicc,
            None
        ),
        Err(PkiError::Chain(_))
    ));
    assert_eq!(
        verify_chain(
            &p.dp_pb.cert,
            &[],
            std::slice::from_ref(&p.ci.cert),
            Role::DpAuth,
            None
        ),
        Err(PkiError::WrongRole {
            expected: Role::DpAuth
        })
    );
    assert!(verify_chain(
        &p.euicc.cert,
        &[],
        std::slice::from_ref(&p.ci.cert),
        Role::Euicc,
        None
    )
    .is_err());
}

/// An EUM certificate issued by an impostor CI with the same name and the real CI's SKI
/// as AKI: linkage matches, the signature does not.
#[test]
fn broken_signature_is_refused() {
    let p = pki(Curve::NistP256, 1);
    let mut der = p.euicc.cert.der().to_vec();
    let n = der.len();
    der[n - 5] ^= 0x01; // inside the signature's s
    let bad = Cert::from_der(&der);
    if let Ok(bad) = bad {
        assert!(verify_chain(
            &bad,
            std::slice::from_ref(&p.eum.cert),
            std::slice::from_ref(&p.ci.cert),
            Role::Euicc,
            None
        )
        .is_err());
    }
    // A certificate signed by the wrong key but naming the right issuer and AKI.
    let impostor = Issued {
        cert: p.eum.cert.clone(),
        key: PrivateKey::generate(Curve::NistP256, &mut ChaCha20Rng::seed_from_u64(9)),
    };
    let forged = gen::make(
        &Kind::Euicc { eid: eid() },
        Curve::NistP256,
        Some(&impostor),
        3,
        &mut ChaCha20Rng::seed_from_u64(10),
    )
    .unwrap();
    assert_eq!(
        verify_chain(
            &forged.cert,
            std::slice::from_ref(&p.eum.cert),
            std::slice::from_ref(&p.ci.cert),
            Role::Euicc,
            None
        ),
        Err(PkiError::BadSignature)
    );
    // The same at the CI link: a DPauth certificate naming the CI, signed by another key.
    let fake_ci = Issued {
        cert: p.ci.cert.clone(),
        key: PrivateKey::generate(Curve::NistP256, &mut ChaCha20Rng::seed_from_u64(11)),
    };
    let forged = gen::make(
        &Kind::DpAuth,
        Curve::NistP256,
        Some(&fake_ci),
        4,
        &mut ChaCha20Rng::seed_from_u64(12),
    )
    .unwrap();
    assert_eq!(
        verify_chain(
            &forged.cert,
            &[],
            std::slice::from_ref(&p.ci.cert),
            Role::DpAuth,
            None
        ),
        Err(PkiError::BadSignature)
    );
}

#[test]
fn aki_mismatch_is_refused() {
    let p = pki(Curve::NistP256, 1);
    let other = pki(Curve::NistP256, 3);
    // The other EUM has the same subject name but another key id.
    assert!(matches!(
        verify_chain(
            &p.euicc.cert,
            std::slice::from_ref(&other.eum.cert),
            std::slice::from_ref(&p.ci.cert),
            Role::Euicc,
            None
        ),
        Err(PkiError::Chain(_))
    ));
}

#[test]
fn validity_checked_only_when_asked() {
    let p = pki(Curve::NistP256, 1);
    let cis = [p.ci.cert.clone()];
    // 2019: before notBefore (2020-04-01).
    assert_eq!(
        verify_chain(
            &p.dp_auth.cert,
            &[],
            &cis,
            Role::DpAuth,
            Some(1_546_300_800)
        ),
        Err(PkiError::Expired)
    );
    assert_eq!(
        verify_chain(&p.dp_auth.cert, &[], &cis, Role::DpAuth, None),
        Ok(0)
    );
}

#[test]
fn signatures_raw_and_der() {
    for curve in [Curve::NistP256, Curve::BrainpoolP256r1] {
        let k = PrivateKey::generate(curve, &mut ChaCha20Rng::seed_from_u64(4));
        let s = k.sign(b"euiccSigned1");
        assert_eq!(s, k.sign(b"euiccSigned1"), "RFC 6979: deterministic");
        k.public_key().verify(b"euiccSigned1", &s).unwrap();
        assert_eq!(
            k.public_key().verify(b"euiccSigned2", &s),
            Err(PkiError::BadSignature)
        );
        let der = raw_to_der(&s).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(der_to_raw(&der).unwrap(), s);
        k.public_key().verify_der(b"euiccSigned1", &der).unwrap();
        let pem = k.to_sec1_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        assert_eq!(PrivateKey::from_pem(&pem).unwrap(), k);
        assert!(!format!("{k:?}").contains(&hex::encode(k.to_scalar().as_slice())));
        let peer = PrivateKey::generate(curve, &mut ChaCha20Rng::seed_from_u64(5));
        assert_eq!(
            *k.ecdh(&peer.public_key()).unwrap(),
            *peer.ecdh(&k.public_key()).unwrap()
        );
    }
}

/// `openssl verify` (an independent X.509 implementation) accepts the generated chain,
/// when openssl is installed; otherwise the test says so and passes.
#[test]
fn openssl_verifies_generated_chain() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("openssl not installed: skipped");
        return;
    }
    for curve in [Curve::NistP256, Curve::BrainpoolP256r1] {
        let p = pki(curve, 1);
        let dir = std::env::temp_dir().join(format!("apdu-pki-{}-{curve:?}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (n, c) in [
            ("ci", &p.ci.cert),
            ("eum", &p.eum.cert),
            ("euicc", &p.euicc.cert),
            ("auth", &p.dp_auth.cert),
        ] {
            std::fs::write(dir.join(format!("{n}.pem")), c.to_pem().unwrap()).unwrap();
        }
        let run = |leaf: &str, untrusted: Option<&str>| {
            let mut cmd = std::process::Command::new("openssl");
            cmd.current_dir(&dir)
                .args(["verify", "-policy_check", "-CAfile", "ci.pem"]);
            if let Some(u) = untrusted {
                cmd.args(["-untrusted", u]);
            }
            cmd.arg(leaf).output().unwrap()
        };
        let out = run("euicc.pem", Some("eum.pem"));
        assert!(
            out.status.success(),
            "{curve:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(run("auth.pem", None).status.success());
        assert!(
            !run("euicc.pem", None).status.success(),
            "without the EUM the chain is incomplete"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Writes the test CI and EUM that card-sim ships (`card-sim/test-pki/`), from a fixed
/// seed: `TEST_PKI_OUT=card-sim/test-pki cargo test -p apdu --test pki -- --ignored ship`.
/// Run once; the committed files are the output.
#[test]
#[ignore]
fn ship_test_ci_and_eum() {
    let Ok(out) = std::env::var("TEST_PKI_OUT") else {
        return;
    };
    let out = std::path::Path::new(&out);
    let mut rng = ChaCha20Rng::seed_from_u64(0x5347_5032_3200_0009);
    let ci = gen::make(&Kind::Ci, Curve::NistP256, None, 1, &mut rng).unwrap();
    let eum = gen::make(&Kind::Eum, Curve::NistP256, Some(&ci), 2, &mut rng).unwrap();
    // The SM's CERT.DPpb for the device-change authorisation (issue 10): drawn after
    // the EUM, so the CI and EUM stay as shipped before it.
    let dp_pb = gen::make(&Kind::DpPb, Curve::NistP256, Some(&ci), 257, &mut rng).unwrap();
    // The SM-DP+'s CERT.DPauth and its TLS certificate (issue 11, `sm-cli smdp serve`
    // without --pki): drawn after the DPpb, so everything before stays as shipped. The
    // TLS certificate names the SGP.26 test host, localhost and 127.0.0.1.
    let dp_auth = gen::make(&Kind::DpAuth, Curve::NistP256, Some(&ci), 256, &mut rng).unwrap();
    let dp_tls = gen::make(
        &Kind::DpTlsServer {
            host: "testsmdpplus1.example.com".into(),
            extra_dns: vec!["localhost".into()],
            ips: vec![std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)],
        },
        Curve::NistP256,
        Some(&ci),
        9,
        &mut rng,
    )
    .unwrap();
    for (dir, name, issued) in [
        ("CertificateIssuer", "CI_ECDSA", &ci),
        ("EUM", "EUM_ECDSA", &eum),
        ("DPpb", "S_SM_DPpb_ECDSA", &dp_pb),
        ("DPauth", "S_SM_DPauth_ECDSA", &dp_auth),
        // SGP.26 and `card-sim pki init` name the TLS files without "ECDSA".
        ("DPtls", "S_SM_DP_TLS", &dp_tls),
    ] {
        let d = out.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("CERT_{name}_NIST.der")), issued.cert.der()).unwrap();
        std::fs::write(
            d.join(format!("CERT_{name}_NIST.pem")),
            issued.cert.to_pem().unwrap(),
        )
        .unwrap();
        std::fs::write(
            d.join(format!("SK_{name}_NIST.pem")),
            issued.key.to_sec1_pem().unwrap().as_bytes(),
        )
        .unwrap();
    }
}
