//! Where a store is created and where it is not: an explicit path's directory must
//! exist, and a command that only reads never creates a store (a typo in `--sm-db` is
//! an error naming the path, not "No subscriptions.").

use super::*;

#[test]
fn a_given_path_in_a_missing_directory_is_refused_and_nothing_is_created() {
    let dir = TempDir::new("open-nodir");
    let typo = dir.path().join("no-such-dir").join("sm.sqlite3");
    let e = Store::open(&typo).unwrap_err();
    assert!(matches!(&e, StoreError::NoDirectory(d) if d == &dir.path().join("no-such-dir")));
    assert!(e.to_string().contains("no-such-dir"), "{e}");
    assert!(!dir.path().join("no-such-dir").exists());
}

#[test]
fn open_existing_refuses_a_missing_store_and_opens_a_made_one() {
    let dir = TempDir::new("open-existing");
    let path = dir.path().join("sm.sqlite3");
    let e = Store::open_existing(&path).unwrap_err();
    assert!(matches!(&e, StoreError::Missing(p) if p == &path));
    assert!(e.to_string().contains("sm.sqlite3"), "{e}");
    assert!(!path.exists(), "open_existing created the store");
    drop(Store::open(&path).unwrap());
    assert!(path.exists());
    Store::open_existing(&path).unwrap();
}

#[test]
fn the_default_location_gets_its_directory() {
    let dir = TempDir::new("open-default");
    let path = dir.path().join("veuicc").join("sm.sqlite3");
    Store::open_with(&path, IfMissing::CreateWithDirectory).unwrap();
    assert!(path.exists());
}

/// PostgreSQL runs (SM_TEST_POSTGRES): the connection is TLS exactly when the address
/// says `sslmode=require`, and then a server whose certificate does not chain to the
/// roots given is refused, naming the certificate. (On SQLite runs there is no server.)
#[test]
fn postgres_speaks_tls_exactly_when_asked_and_checks_the_server() {
    let db = TestDb::new("tls");
    let TestDb::Postgres { admin, .. } = &db else {
        return;
    };
    let store = db.open();
    let ssl = store
        .read(|tx| {
            tx.query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
                |r| r.get::<bool>(0),
            )
        })
        .unwrap();
    let asked = admin.contains("sslmode=require");
    assert_eq!(ssl, asked, "TLS in use: {ssl}, asked for: {asked}");
    if asked {
        let config = db::pg_connect::config(admin).unwrap();
        let other_ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../card-sim/test-pki/CertificateIssuer/CERT_CI_ECDSA_NIST.pem");
        for roots in [Some(other_ca.as_path()), None] {
            let e = db::pg_connect::connect_trusting(&config, "test", roots)
                .err()
                .unwrap_or_else(|| panic!("connected trusting {roots:?}"));
            assert!(e.to_string().contains("certificate"), "{roots:?}: {e}");
        }
    }
}
