//! Access rules and PINs of the enabled profile (ETSI TS 102 221 §9.2.7, §9.5,
//! §11.1.9-§11.1.13): EF.ARR refuses (`6982`) until the PIN it names is verified, a
//! wrong PIN costs an attempt that is saved before the answer (a restart gives no free
//! guess), 0 attempts blocks (`6983`), the PUK unblocks, CHANGE / DISABLE / ENABLE PIN,
//! the verification status is lost on a power cycle.

mod common;
use apdu::saip::build::USIM_AID;
use card_sim::vpcd::Card;
use common::*;

fn into_usim(c: &mut impl card_sim::vpcd::Card) {
    assert_eq!(
        tx(c, &format!("00A4040C10{}", hex::encode_upper(USIM_AID))),
        "9000"
    );
}

fn verify(c: &mut impl card_sim::vpcd::Card, key: u8, pin: &str) -> String {
    tx(c, &format!("002000{key:02X}08{}", pin_block(pin)))
}

#[test]
fn access_rule_refuses_until_the_pin_is_verified() {
    let mut s = sim_profile();
    let c = &mut s.card;
    into_usim(c);
    // EF.IMSI: READ needs PIN1 (EF.ARR record 2), UPDATE ADM1.
    assert_eq!(tx(c, "00A4000C026F07"), "9000");
    assert_eq!(tx(c, "00B0000009"), "6982");
    assert_eq!(tx(c, "0020000100"), "63C3", "empty VERIFY: 3 tries left");
    assert_eq!(tx(c, "00200001"), "63C3", "case 1 as well");
    assert_eq!(verify(c, 1, PIN1), "9000");
    assert_eq!(tx(c, "00200001"), "9000", "verified");
    assert_eq!(
        tx(c, "00B0000009"),
        "080910101032540636".to_owned() + "9000"
    );
    assert_eq!(tx(c, "00D6000001FF"), "6982", "UPDATE needs ADM1");
    assert_eq!(verify(c, 0x0A, ADM1), "9000");
    assert_eq!(tx(c, "00D6000001FF"), "9000");
    // EF.AD: READ always, without any PIN, after a power cycle.
    s.card.power_off();
    s.card.power_on();
    let c = &mut s.card;
    into_usim(c);
    assert!(tx(c, "00B0830004").ends_with("9000"));
    assert_eq!(tx(c, "00B0870009"), "6982", "PIN1 forgotten at power off");
    // EF.FDN: UPDATE needs the USIM's local PIN 81 (second PIN), not PIN1.
    verify(c, 1, PIN1);
    assert_eq!(tx(c, "00A4000C026F3B"), "9000");
    let rec = "FF".repeat(26);
    assert_eq!(tx(c, &format!("00DC01041A{rec}")), "6982");
    assert_eq!(verify(c, 0x81, PIN1), "9000");
    assert_eq!(tx(c, &format!("00DC01041A{rec}")), "9000");
    // Unknown key references.
    assert_eq!(verify(c, 0x02, PIN1), "6A88");
    assert_eq!(tx(c, "0020000908FFFFFFFFFFFFFFFF"), "6A86");
}

#[test]
fn wrong_pins_are_counted_durably_and_block() {
    let mut s = sim_profile();
    let c = &mut s.card;
    let saves = s.storage.saves();
    assert_eq!(verify(c, 1, "0000"), "63C2");
    assert_eq!(
        s.storage.saves(),
        saves + 1,
        "the decrement is saved with the answer"
    );
    // Restart (as after kill -9): the counter is what was saved.
    s.restart();
    let c = &mut s.card;
    assert_eq!(tx(c, "00200001"), "63C2");
    assert_eq!(verify(c, 1, "1111"), "63C1");
    // A right PIN restores the counter.
    assert_eq!(verify(c, 1, PIN1), "9000");
    assert_eq!(tx(c, "00200001"), "9000");
    s.restart();
    let c = &mut s.card;
    assert_eq!(tx(c, "00200001"), "63C3");
    for left in [2, 1, 0] {
        assert_eq!(verify(c, 1, "9999"), format!("63C{left}"));
    }
    assert_eq!(
        verify(c, 1, PIN1),
        "6983",
        "blocked: the right PIN no longer works"
    );
    assert_eq!(tx(c, "00200001"), "6983");
    s.restart();
    let c = &mut s.card;
    assert_eq!(verify(c, 1, PIN1), "6983", "still blocked after a restart");
    // UNBLOCK PIN with PUK1: the PUK's counter, a wrong PUK, then the right one.
    assert_eq!(tx(c, "002C0001"), "63CA");
    let unblock = |puk: &str, new: &str| format!("002C000110{}{}", pin_block(puk), pin_block(new));
    assert_eq!(tx(c, &unblock("00000000", "4321")), "63C9");
    assert_eq!(tx(c, &unblock(PUK1, "43")), "6A80", "new PIN too short");
    assert_eq!(tx(c, &unblock(PUK1, "4321")), "9000");
    assert_eq!(tx(c, "002C0001"), "63CA", "PUK counter restored");
    assert_eq!(tx(c, "00200001"), "9000", "unblocking verifies");
    s.restart();
    let c = &mut s.card;
    assert_eq!(verify(c, 1, PIN1), "63C2", "the old PIN is gone");
    assert_eq!(verify(c, 1, "4321"), "9000");
    // The local PIN 81 has no PUK in this package.
    assert_eq!(tx(c, "002C0081"), "6A88");
}

#[test]
fn change_disable_enable() {
    let mut s = sim_profile();
    let c = &mut s.card;
    let change = |old: &str, new: &str| format!("0024000110{}{}", pin_block(old), pin_block(new));
    assert_eq!(tx(c, &change("0000", "5678")), "63C2");
    assert_eq!(tx(c, &change(PIN1, "56x8")), "6A80");
    assert_eq!(tx(c, &change(PIN1, "5678")), "9000");
    assert_eq!(tx(c, "00200001"), "9000", "CHANGE PIN verifies");
    s.restart();
    let c = &mut s.card;
    assert_eq!(verify(c, 1, PIN1), "63C2");
    assert_eq!(verify(c, 1, "5678"), "9000");
    // DISABLE PIN: the access rules naming PIN1 hold without VERIFY, also after a restart.
    let dis = |pin: &str| format!("0026000108{}", pin_block(pin));
    let ena = |pin: &str| format!("0028000108{}", pin_block(pin));
    assert_eq!(tx(c, &ena("5678")), "6985", "not disabled");
    assert_eq!(tx(c, &dis("1111")), "63C2");
    assert_eq!(tx(c, &dis("5678")), "9000");
    assert_eq!(tx(c, &dis("5678")), "6985", "already disabled");
    assert_eq!(
        tx(c, &change("5678", "1234")),
        "6984",
        "CHANGE on a disabled PIN"
    );
    assert_eq!(
        tx(c, &format!("0026000A08{}", pin_block(ADM1))),
        "6985",
        "ADM"
    );
    s.restart();
    let c = &mut s.card;
    into_usim(c);
    assert!(tx(c, "00B0870009").ends_with("9000"), "PIN1 disabled");
    assert_eq!(tx(c, &ena("5678")), "9000");
    s.restart();
    let c = &mut s.card;
    into_usim(c);
    assert_eq!(tx(c, "00B0870009"), "6982", "enabled again");
}
