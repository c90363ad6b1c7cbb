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
