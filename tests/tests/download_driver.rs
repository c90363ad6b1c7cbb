//! The download driver (`system_tests::download`, issue 9): a whole ES10b download as lpac
//! sends it, played by the test SM-DP+ from a PKI folder in the `card-sim pki init` layout.
//!
//! - In process, against card-sim's own card (`Transport<Euicc>` on memory storage, as
//!   card-sim/tests/common builds it), with the PKI folder written by `card_sim::pki`
//!   exactly as `card-sim pki init` writes it: the download succeeds, the profile is in
//!   the saved state, its notification was served and removed, the card saved twice
//!   (install, removal); a second download of the same ICCID and a card under another CI
//!   are errors of the driver (so a test built on it fails when the download fails).
//! - Through pcscd (a system test: needs the stack, see tests/src/stack.rs): the real
//!   `card-sim pki init` and `card-sim --pki`, the driver on a PC/SC connection with T=0
//!   as lpac connects, and `sm-cli profiles list` as the witness that the card holds it.

use apdu::sgp22::pki::gen::test_pki;
use apdu::sgp22::pki::Curve;
use apdu::Eid;
use card_sim::card::{atr, Euicc};
use card_sim::state::new_card::new_card;
use card_sim::state::{MemoryStorage, Storage};
use card_sim::transport::Transport;
use card_sim::vpcd::Card;
use pcsc::Protocols;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use system_tests::download::{download, pki_init, Order, Smdp, Step};
use system_tests::flows::profiles;
use system_tests::pcsc_io::Conn;
use system_tests::{require_stack, CardOptions, CardSim, Lease};

/// An SGP.26 test EID (valid check digits).
const EID: &str = "89049032123451234512345678901235";
const HOST: &str = "smdp.test.example";
const ICCID: &str = "8949449999999990049";

/// A fresh folder with the test PKI of `seed`, as `card-sim pki init` writes it (both
/// curves, same generator).
fn pki_dir(name: &str, seed: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("download-driver-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let eid = Eid::from_str(EID).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let pkis: Vec<_> = [Curve::NistP256, Curve::BrainpoolP256r1]
        .into_iter()
        .map(|c| test_pki(c, eid, HOST, &mut rng).unwrap())
        .collect();
    card_sim::pki::write_dir(&dir, &pkis, true).unwrap();
    dir
}

/// A powered card whose PKI is the folder's, on memory storage.
fn card(dir: &std::path::Path) -> (Transport<Euicc>, Arc<MemoryStorage>) {
    let (pki, eid) = card_sim::pki::load_dir(dir).unwrap();
    let mut state = new_card(eid, 0);
    state.pki = pki;
    let storage = Arc::new(MemoryStorage::new());
    storage.save(&state).unwrap();
    let euicc = Euicc::new(
        state,
        Box::new(storage.clone()),
        ChaCha20Rng::seed_from_u64(1),
        atr::DEFAULT_ATR.to_vec(),
    );
    let mut t = Transport::new(euicc);
    t.power_on();
    (t, storage)
}

#[test]
fn a_whole_download_in_process() {
    let dir = pki_dir("ok", 7);
    let (mut c, storage) = card(&dir);
    let mut smdp = Smdp::from_pki_dir(&dir, Curve::NistP256, 1).unwrap();
    assert_eq!(smdp.host, HOST, "serverAddress from the DPtls certificate");
    let saves = storage.saves();
    let order = Order::test(ICCID).unwrap();
    let d = download(&mut |a: &[u8]| c.transmit(a), &mut smdp, &order)
        .unwrap_or_else(|e| panic!("download failed: {e:#}"));

    // Every step is there, in lpac's order, and the BPP went as lpac cuts it.
    let mut steps: Vec<Step> = d.exchanges.iter().map(|e| e.step).collect();
    steps.dedup();
    assert_eq!(steps, Step::ALL.to_vec());
    let firsts: Vec<u8> = d.bpp_messages.iter().map(|m| m[0]).collect();
    assert_eq!(&firsts[..6], &[0xBF, 0xA0, 0xA1, 0x88, 0xA2, 0xA3]);
    assert!(firsts[6..].iter().all(|&b| b == 0x86) && firsts.len() > 6);
    // No STORE DATA block over lpac's 120 bytes.
    assert!(d.exchanges.iter().all(|e| e.command.len() <= 5 + 120));

    // The card keeps it: the profile in the saved state, the notification removed, one
    // save for the install and one for the removal.
    let stored = storage.stored().unwrap();
    assert!(stored
        .profiles
        .iter()
        .any(|p| p.iccid.digits() == ICCID && p.package.is_some()));
    assert!(stored.notifications.is_empty());
    assert_eq!(storage.saves() - saves, 2, "saves caused by the download");

    // The same ICCID again: refused at StoreMetadata, an error of the driver.
    let e = download(&mut |a: &[u8]| c.transmit(a), &mut smdp, &order)
        .err()
        .expect("a second download of the same ICCID must fail");
    let msg = format!("{e:#}");
    assert!(msg.contains("IccidAlreadyExistsOnEuicc"), "{msg}");
    // Another ICCID goes in, its order made from the package bytes alone.
    let package = Order::test("8949449999999990023").unwrap().package.to_vec();
    let other = Order::from_package(package).unwrap();
    assert_eq!(other.iccid.digits(), "8949449999999990023");
    download(&mut |a: &[u8]| c.transmit(a), &mut smdp, &other)
        .unwrap_or_else(|e| panic!("third download failed: {e:#}"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_card_under_another_ci_fails_the_driver() {
    let ours = pki_dir("ours", 7);
    let theirs = pki_dir("theirs", 8);
    let (mut c, storage) = card(&theirs);
    let mut smdp = Smdp::from_pki_dir(&ours, Curve::NistP256, 1).unwrap();
    let e = download(
        &mut |a: &[u8]| c.transmit(a),
        &mut smdp,
        &Order::test(ICCID).unwrap(),
    )
    .err()
    .expect("a card that does not trust our CI must fail the download");
    assert!(format!("{e:#}").contains("EUICCInfo1"), "{e:#}");
    assert!(storage
        .stored()
        .unwrap()
        .profiles
        .iter()
        .all(|p| p.iccid.digits() != ICCID));
    let _ = std::fs::remove_dir_all(&ours);
    let _ = std::fs::remove_dir_all(&theirs);
}

#[test]
fn a_whole_download_through_pcscd() {
    let Some(stack) = require_stack("a_whole_download_through_pcscd") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let dir = stack.scratch_dir("download-driver-pki");
    pki_init(&stack.card_sim, &dir, EID, HOST, 3).unwrap();
    let opts = CardOptions {
        extra: vec!["--pki".into(), dir.display().to_string()],
        ..CardOptions::default()
    };
    let card = CardSim::start(&stack, &lease, "download-driver", &opts).unwrap();
    let mut smdp = Smdp::from_pki_dir(&dir, Curve::NistP256, 2).unwrap();
    // lpac connects with T=0 only.
    let mut conn = Conn::connect_with(&card.reader, Protocols::T0).unwrap();
    let d = download(&mut conn, &mut smdp, &Order::test(ICCID).unwrap())
        .unwrap_or_else(|e| panic!("download through pcscd failed: {e:#}\n{}", card.log_tail()));
    conn.close().unwrap();
    assert!(d.exchanges.len() > 30, "{} APDUs", d.exchanges.len());
    // sm-cli, a client of its own, sees the new profile, disabled.
    let list = profiles(&stack, &card.reader);
    let p = list
        .iter()
        .find(|p| p.iccid == ICCID)
        .unwrap_or_else(|| panic!("{ICCID} not listed: {list:?}"));
    assert_eq!(p.state, "disabled");
    drop(card);
    let _ = std::fs::remove_dir_all(&dir);
}
