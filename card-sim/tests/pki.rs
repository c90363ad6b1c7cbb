//! The card's eUICC PKI: a `pki init` folder loads (in process), bad folders are refused
//! with the file named, EUICCInfo1/2 list the trusted CI's key id, schema 2 state loads.

mod common;
use apdu::sgp22::es10::{Es10Request, EuiccInfo1};
use apdu::sgp22::pki::gen::test_pki;
use apdu::sgp22::pki::{verify_chain, Cert, Curve, Role};
use card_sim::card::{atr, Euicc};
use card_sim::pki::{load_dir, write_dir};
use card_sim::state::pki::TEST_CI_CERT;
use card_sim::state::{MemoryStorage, PersistentState, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::PathBuf;
use std::sync::Arc;

const SAMPLE_V2: &str = include_str!("data/state-v2.json");

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("card-sim-pki-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn init(dir: &std::path::Path, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let pkis: Vec<_> = [Curve::NistP256, Curve::BrainpoolP256r1]
        .into_iter()
        .map(|c| test_pki(c, eid(), "testsmdpplus1.example.com", &mut rng).unwrap())
        .collect();
    write_dir(dir, &pkis, false).unwrap();
}

fn info1(card: &mut impl Card) -> EuiccInfo1 {
    tx(card, "0070000001");
    tx(card, &format!("01A4040010{ISDR}"));
    let (d, sw) = es10(card, 1, &Es10Request::GetEuiccInfo1.encode(), 120);
    assert_eq!(sw, "9000");
    EuiccInfo1::decode(&d).unwrap()
}

#[test]
fn pki_init_folder_loads_and_its_ci_is_listed() {
    let dir = tmpdir("init");
    init(&dir, 1);
    let (pki, e) = load_dir(&dir).unwrap();
    assert_eq!(e, eid());
    assert_eq!(pki.chains.len(), 2, "NIST and BRP");
    let ci = Cert::from_der(
        &std::fs::read(dir.join("CertificateIssuer/CERT_CI_ECDSA_NIST.der")).unwrap(),
    )
    .unwrap();
    let dpauth =
        Cert::from_der(&std::fs::read(dir.join("DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der")).unwrap())
            .unwrap();
    assert_eq!(
        verify_chain(&dpauth, &[], &pki.trusted_ci_certs(), Role::DpAuth, None),
        Ok(0)
    );
    assert!(
        std::fs::read_to_string(dir.join("CertificateIssuer/CERT_CI_ECDSA_NIST.pem"))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    // Keys are 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("eUICC/SK_EUICC_ECDSA_NIST.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Refuses to overwrite.
    let again = write_dir(
        &dir,
        &[test_pki(
            Curve::NistP256,
            eid(),
            "x.example",
            &mut ChaCha20Rng::seed_from_u64(2),
        )
        .unwrap()],
        false,
    );
    assert!(format!("{}", again.unwrap_err()).contains("exists"));
    // The card lists that CI's SubjectKeyIdentifier (first: NIST).
    let mut state = card_sim::state::new_card::new_card(eid(), 0);
    state.pki = pki;
    state.validate().unwrap();
    let storage = Arc::new(MemoryStorage::new());
    storage.save(&state).unwrap();
    let mut card = Transport::new(Euicc::new(
        state,
        Box::new(storage),
        ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    ));
    card.power_on();
    let i1 = info1(&mut card);
    assert_eq!(i1.verification_keys[0], ci.subject_key_id().unwrap());
    assert_eq!(i1.signing_keys[0], ci.subject_key_id().unwrap());
    assert_eq!(i1.verification_keys.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_new_card_lists_the_shipped_test_ci() {
    let mut s = sim(0);
    let ski = Cert::from_der(TEST_CI_CERT)
        .unwrap()
        .subject_key_id()
        .unwrap();
    assert_eq!(
        hex::encode_upper(&ski),
        "92CA23B4BE2E556428C71BA182745A3E8F2D151C"
    );
    let i1 = info1(&mut s.card);
    assert_eq!(i1.verification_keys, vec![ski.clone()]);
    assert_eq!(i1.signing_keys, vec![ski]);
    // Its chain verifies and names its EID.
    let chain = &s.card.applet().state().pki.chains[0];
    let euicc = Cert::from_der(&chain.euicc_cert_der).unwrap();
    assert_eq!(euicc.eid().unwrap(), eid());
    let msg = b"euiccSigned1";
    euicc
        .public_key()
        .unwrap()
        .verify(msg, &chain.euicc_key.sign(msg))
        .unwrap();
}

/// What a case does to a good folder.
type Breaker<'a> = Box<dyn Fn(&std::path::Path) + 'a>;

#[test]
fn bad_folders_name_the_file() {
    let dir = tmpdir("bad");
    init(&dir, 1);
    let other = tmpdir("other");
    init(&other, 2);
    let nist_key = "eUICC/SK_EUICC_ECDSA_NIST.pem";
    let cases: Vec<(&str, Breaker, &str)> = vec![
        (
            "missing key",
            Box::new(|d| std::fs::remove_file(d.join(nist_key)).unwrap()),
            nist_key,
        ),
        (
            "other key",
            Box::new(|d| {
                std::fs::copy(other.join(nist_key), d.join(nist_key))
                    .map(|_| ())
                    .unwrap()
            }),
            nist_key,
        ),
        (
            "garbage cert",
            Box::new(|d| std::fs::write(d.join("EUM/CERT_EUM_ECDSA_NIST.der"), b"xx").unwrap()),
            "CERT_EUM_ECDSA_NIST.der",
        ),
        (
            "other CI",
            Box::new(|d| {
                std::fs::copy(
                    other.join("CertificateIssuer/CERT_CI_ECDSA_NIST.der"),
                    d.join("CertificateIssuer/CERT_CI_ECDSA_NIST.der"),
                )
                .map(|_| ())
                .unwrap()
            }),
            "does not chain",
        ),
    ];
    for (what, break_it, named) in cases {
        let d = tmpdir(&format!("case-{}", what.replace(' ', "-")));
        for sub in ["CertificateIssuer", "EUM", "eUICC"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            for f in std::fs::read_dir(dir.join(sub)).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), d.join(sub).join(f.file_name())).unwrap();
            }
        }
        break_it(&d);
        let e = load_dir(&d).unwrap_err().to_string();
        assert!(e.contains(named), "{what}: {e}");
        let _ = std::fs::remove_dir_all(&d);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

#[test]
fn schema_2_state_still_loads_and_gets_a_pki() {
    let s = PersistentState::from_json(SAMPLE_V2.as_bytes()).unwrap();
    assert_eq!(s.schema, card_sim::state::SCHEMA_VERSION);
    assert_eq!(s.pki.chains.len(), 1);
    assert_eq!(
        s,
        PersistentState::from_json(SAMPLE_V2.as_bytes()).unwrap(),
        "deterministic"
    );
    let json = String::from_utf8(s.to_json().unwrap()).unwrap();
    let scalar = hex::encode_upper(s.pki.chains[0].euicc_key.0.to_scalar().as_slice());
    assert!(json.contains(&scalar), "the key is stored");
    assert!(!format!("{s:?}").contains(&scalar), "and redacted in Debug");
    assert_eq!(PersistentState::from_json(json.as_bytes()).unwrap(), s);
}
