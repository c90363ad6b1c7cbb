//! READ / UPDATE BINARY and READ / UPDATE RECORD on the enabled profile's EFs (ETSI TS
//! 102 221 §11.1.3-§11.1.6): offsets, Le, the record pointer on linear fixed and cyclic
//! EFs, the status words of each refusal, and updates that are saved once, in the
//! profile's persistent state, and are still there after a restart.

mod common;
use apdu::iso7816::tlv::prim;
use apdu::saip::build::{build, USIM_AID};
use apdu::saip::{Element, Fcp, FileItem, GenericFileManagement, PeHeader};
use card_sim::state::{MemoryStorage, Storage};
use common::*;
use std::sync::Arc;

fn into_usim(c: &mut impl card_sim::vpcd::Card) {
    let r = tx(c, &format!("00A4040C10{}", hex::encode_upper(USIM_AID)));
    assert_eq!(r, "9000");
}

fn verify_pin1(c: &mut impl card_sim::vpcd::Card) {
    assert_eq!(tx(c, &format!("0020000108{}", pin_block(PIN1))), "9000");
}

fn saves(s: &Sim) -> usize {
    s.storage.saves()
}

#[test]
fn binary_reads_and_their_refusals() {
    let mut s = sim_profile();
    let c = &mut s.card;
    into_usim(c);
    assert_eq!(tx(c, "00B0000001"), "6986", "no current EF");
    assert_eq!(tx(c, "00A4000C026FAD"), "9000");
    let whole = tx(c, "00B0000000");
    assert_eq!(whole.len(), 4 * 2 + 4, "{whole}");
    assert_eq!(tx(c, "00B0000002"), format!("{}9000", &whole[..4]));
    assert_eq!(
        tx(c, "00B0000104"),
        format!("{}6282", &whole[2..8]),
        "end of file"
    );
    assert_eq!(tx(c, "00B0000400"), "6B00");
    assert_eq!(tx(c, "00B2010400"), "6981", "not a record EF");
    assert_eq!(tx(c, "00A4000C026FB7"), "9000");
    assert_eq!(tx(c, "00B0000000"), "6981", "EF.ECC has records");
    assert_eq!(tx(c, "00B2010404"), tx(c, "00B2010400"));
    assert_eq!(tx(c, "00B2010405"), "6C04");
    assert_eq!(tx(c, "00B2020404"), "6A83");
}

#[test]
fn updates_are_saved_once_and_survive_a_restart() {
    let mut s = sim_profile();
    into_usim(&mut s.card);
    verify_pin1(&mut s.card);
    let loci = "112233445566778899AABB";
    let sms: String = (0..176u32).map(|i| format!("{:02X}", i as u8)).collect();
    let before = saves(&s);
    let c = &mut s.card;
    assert_eq!(tx(c, "00A4000C026F7E"), "9000");
    assert_eq!(tx(c, &format!("00D600000B{loci}")), "9000");
    assert_eq!(saves(&s) - before, 1, "one save for one UPDATE BINARY");
    let c = &mut s.card;
    // The same bytes again: nothing changes, nothing is written.
    assert_eq!(tx(c, &format!("00D600000B{loci}")), "9000");
    assert_eq!(saves(&s) - before, 1);
    let c = &mut s.card;
    assert_eq!(tx(c, "00D6000C0101"), "6B00", "offset past the end");
    assert_eq!(tx(c, "00D6000A02AAAA"), "6700", "data past the end");
    assert_eq!(tx(c, "00D6000201CC"), "9000");
    // Record 2 of EF.SMS (176 bytes), by SFI-less absolute addressing.
    assert_eq!(tx(c, "00A4000C026F3C"), "9000");
    assert_eq!(tx(c, &format!("00DC0204B0{sms}")), "9000");
    assert_eq!(tx(c, "00DC020401AA"), "6700", "not a whole record");
    assert_eq!(tx(c, &format!("00DC0B04B0{sms}")), "6A83");
    assert_eq!(saves(&s) - before, 3);
    // What the state holds: the changed files by node.
    let stored = s.storage.stored().unwrap();
    let p = stored.enabled().unwrap();
    assert_eq!(p.sim.files.len(), 2, "{:?}", p.sim.files.keys());
    let json = String::from_utf8(stored.to_json().unwrap()).unwrap();
    assert!(json.contains(&format!("\"schema\": {}", card_sim::state::SCHEMA_VERSION)));
    assert!(
        json.contains("1122CC445566778899AABB"),
        "LOCI stored as hex"
    );

    // A restart (nothing volatile survives): the PIN is needed again, the data is there.
    s.restart();
    let c = &mut s.card;
    into_usim(c);
    assert_eq!(tx(c, "00A4000C026F7E"), "9000");
    assert_eq!(tx(c, "00B000000B"), "6982", "verification is volatile");
    verify_pin1(c);
    assert_eq!(tx(c, "00B000000B"), "1122CC445566778899AABB9000");
    assert_eq!(tx(c, "00A4000C026F3C"), "9000");
    assert_eq!(tx(c, "00B20204B0"), format!("{sms}9000"));
    let (r1, _) = split(&tx(c, "00B20104B0"));
    assert!(
        r1.iter().all(|&b| b == 0xFF) || r1[0] == 0x00,
        "record 1 untouched"
    );
}

#[test]
fn a_failed_save_leaves_the_file_as_it_was() {
    let mut s = sim_profile();
    into_usim(&mut s.card);
    verify_pin1(&mut s.card);
    let c = &mut s.card;
    assert_eq!(tx(c, "00A4000C026F7E"), "9000");
    let old = tx(c, "00B000000B");
    s.storage.set_failing(true);
    assert_eq!(tx(&mut s.card, "00D6000001AB"), "6581");
    s.storage.set_failing(false);
    assert_eq!(
        tx(&mut s.card, "00B000000B"),
        old,
        "the card serves what is saved"
    );
}

#[test]
fn record_pointer_on_a_linear_fixed_ef() {
    let mut s = sim_profile();
    let c = &mut s.card;
    into_usim(c);
    verify_pin1(c);
    assert_eq!(tx(c, "00A4000C026F3C"), "9000");
    let rec = |n: u8| format!("{:02X}", n).repeat(176);
    for n in [1u8, 2, 3, 10] {
        assert_eq!(tx(c, &format!("00DC{n:02X}04B0{}", rec(n))), "9000");
    }
    let read = |c: &mut Transport, p1: u8, p2: u8| tx(c, &format!("00B2{p1:02X}{p2:02X}00"));
    type Transport = card_sim::transport::Transport<card_sim::card::Euicc>;
    assert_eq!(read(c, 0, 0x04), "6A83", "no current record yet");
    assert_eq!(
        read(c, 0, 0x02),
        format!("{}9000", rec(1)),
        "next from none: first"
    );
    assert_eq!(read(c, 0, 0x02), format!("{}9000", rec(2)));
    assert_eq!(read(c, 0, 0x04), format!("{}9000", rec(2)), "current");
    assert_eq!(read(c, 10, 0x04), format!("{}9000", rec(10)), "absolute");
    assert_eq!(
        read(c, 0, 0x03),
        format!("{}9000", rec(1)),
        "absolute kept the pointer"
    );
    assert_eq!(read(c, 0, 0x03), "6A83", "no record before the first");
    assert_eq!(read(c, 11, 0x04), "6A83");
    assert_eq!(tx(c, "00B20104B1"), "6CB0");
    // UPDATE RECORD next moves the pointer too.
    assert_eq!(tx(c, &format!("00DC0002B0{}", rec(0x22))), "9000");
    assert_eq!(read(c, 0, 0x04), format!("{}9000", rec(0x22)));
    assert_eq!(read(c, 2, 0x04), format!("{}9000", rec(0x22)));
    // Previous from none is the last record; past the last, 6A83.
    assert_eq!(tx(c, "00A4000C026F3C"), "9000");
    assert_eq!(read(c, 0, 0x03), format!("{}9000", rec(10)));
    assert_eq!(read(c, 0, 0x02), "6A83");
    // SFI 1F and a P1 with next mode are refused.
    assert_eq!(tx(c, "00B200FA00"), "6A86");
    assert_eq!(tx(c, "00B2010200"), "6A86");
}

/// The package of [`subscription`] with a cyclic EF `4F01` under the MF (SFI 0A,
/// 3 records of 4 bytes; EF.ARR record 1: read always, update PIN1).
fn with_cyclic() -> Sim {
    let mut pkg = build(&subscription()).unwrap();
    let gfm = Element::Files(GenericFileManagement {
        header: PeHeader {
            mandated: true,
            identification: 50,
        },
        commands: vec![vec![
            FileItem::Path(vec![0x3F, 0x00]),
            FileItem::Fcp(Fcp(vec![
                prim::<0x82>(vec![0x46, 0x21, 0x00, 0x04]),
                prim::<0x83>(vec![0x4F, 0x01]),
                prim::<0x8B>(vec![0x2F, 0x06, 0x01]),
                prim::<0x80>(vec![0x0C]),
                prim::<0x88>(vec![0x0A << 3]),
            ])),
            FileItem::Content(hex::decode("111111112222222233333333").unwrap()),
        ]],
    });
    let end = pkg.elements.len() - 1;
    pkg.elements.insert(end, gfm);
    let mut state = state_with_package(&subscription());
    let p = state.profiles.last_mut().unwrap();
    p.package = Some(card_sim::state::Secret::new(pkg.encode()));
    let storage = Arc::new(MemoryStorage::new());
    storage.save(&state).unwrap();
    let card = card_with(state, Box::new(storage.clone()));
    Sim { card, storage }
}

#[test]
fn cyclic_ef_wraps_and_updates_the_oldest_record() {
    let mut s = with_cyclic();
    let c = &mut s.card;
    let r = tx(c, "00A40004024F01");
    assert!(r.contains("82054621000403"), "cyclic, 3 records of 4: {r}");
    let next = |c: &mut card_sim::transport::Transport<card_sim::card::Euicc>| tx(c, "00B2000204");
    assert_eq!(next(c), "111111119000");
    assert_eq!(next(c), "222222229000");
    assert_eq!(next(c), "333333339000");
    assert_eq!(next(c), "111111119000", "wraps to the first");
    assert_eq!(
        tx(c, "00B2000304"),
        "333333339000",
        "previous wraps to the last"
    );
    // UPDATE RECORD on a cyclic EF: PREVIOUS only, after PIN1.
    assert_eq!(tx(c, "00DC000304AAAAAAAA"), "6982");
    verify_pin1(c);
    assert_eq!(
        tx(c, "00DC010404AAAAAAAA"),
        "6A86",
        "absolute on a cyclic EF"
    );
    assert_eq!(tx(c, "00DC000304AAAAAAAA"), "9000");
    assert_eq!(
        tx(c, "00B2000404"),
        "AAAAAAAA9000",
        "the new record is current"
    );
    assert_eq!(tx(c, "00B2010404"), "AAAAAAAA9000");
    assert_eq!(tx(c, "00B2020404"), "111111119000");
    assert_eq!(tx(c, "00B2030404"), "222222229000", "the oldest went");
    // By SFI from the MF after a restart.
    s.restart();
    assert_eq!(tx(&mut s.card, "00B2015404"), "AAAAAAAA9000");
}
