//! The malformed-APDU battery: every bad command gets its ISO 7816 SW, and the card
//! still answers a GetEID afterwards. Then random bytes: no panic, always a SW.

mod common;
use card_sim::vpcd::Card;
use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

fn still_answers(c: &mut impl Card) {
    let eid = eid().digits();
    let ch = open_isdr(c);
    let get_eid = format!("8{ch}E2910006BF3E035C015A");
    assert_eq!(tx(c, &get_eid), format!("BF3E125A10{eid}9000"));
    assert_eq!(tx(c, &format!("007080{ch:02X}00")), "9000");
}

#[test]
fn battery() {
    let mut s = sim(2);
    let c = &mut s.card;
    let cases: &[(&str, &str, &str)] = &[
        // Lengths.
        ("", "6700", "empty"),
        ("00", "6700", "1 byte"),
        ("00A4", "6700", "2 bytes"),
        ("00A404", "6700", "3 bytes"),
        ("00A4040010A000", "6700", "Lc longer than data"),
        ("00A40400020102AABB", "6700", "data longer than Lc + Le"),
        ("00A4000403AABBCC", "6700", "FID of 3 bytes"),
        (
            "00A404041100112233445566778899AABBCCDDEEFF00",
            "6700",
            "AID of 17 bytes",
        ),
        ("00B0000001AA", "6700", "READ BINARY with data"),
        ("80AA0000", "6700", "TERMINAL CAPABILITY without data"),
        ("0070000001AA", "6700", "MANAGE CHANNEL with data"),
        // P1/P2.
        ("00A4050400", "6A86", "SELECT P1 05"),
        ("00A40020023F00", "6A86", "SELECT P2 20"),
        ("00B2000400", "6A86", "READ RECORD record 0"),
        ("00B2010700", "6A86", "READ RECORD mode 7"),
        ("80AA01000181", "6A86", "TERMINAL CAPABILITY P1"),
        ("0070400000", "6A86", "MANAGE CHANNEL P1 40"),
        ("00700020", "6A86", "MANAGE CHANNEL channel 32"),
        ("0070800000", "6A86", "close the basic channel"),
        ("80F2000300", "6A86", "STATUS P2 03"),
        // Instructions and classes.
        ("00DE000000", "6D00", "unknown INS"),
        ("80CA9F7F00", "6D00", "GET DATA not supported"),
        ("0060000000", "6D00", "invalid INS 6x"),
        ("A0A40000023F00", "6E00", "GSM class"),
        ("FF000000", "6E00", "PPS class"),
        ("80A4000C023F00", "6E00", "proprietary SELECT"),
        ("00E2910003BF2D00", "6E00", "interindustry STORE DATA"),
        ("0CA4000C023F00", "6882", "secure messaging"),
        // Channels.
        ("81E2910003BF2D00", "6881", "channel 1 not open"),
        ("C3E2910003BF2D00", "6881", "channel 7 not open"),
        ("0070800500", "6881", "close a channel that is not open"),
        // Conditions.
        (
            "80E2910003BF2D00",
            "6985",
            "STORE DATA with the MF selected",
        ),
        ("00C0000000", "6985", "GET RESPONSE with nothing pending"),
        ("00B000000A", "6986", "READ BINARY with no current EF"),
    ];
    for (apdu, sw, what) in cases {
        assert_eq!(tx(c, apdu), *sw, "{what}: {apdu}");
    }
    still_answers(c);

    // Inside the ISD-R: STORE DATA sequence and content errors.
    let ch = open_isdr(c);
    let cla = format!("8{ch}");
    let isdr_cases: &[(String, &str, &str)] = &[
        (
            format!("{cla}E2110103BF2D00"),
            "6A86",
            "first block numbered 1",
        ),
        (format!("{cla}E2010003BF2D00"), "6A86", "bad P1"),
        (format!("{cla}E29100"), "6A80", "empty message"),
        (format!("{cla}E2910002BF2D"), "6A80", "truncated TLV"),
        (format!("{cla}E2910003BF5600"), "6A88", "SGP.32 GetCerts"),
        (format!("{cla}E2910003BF7700"), "6A88", "unused tag"),
        (format!("{cla}E29100035A0100"), "6A88", "not a function tag"),
        (
            format!("{cla}E2910005BF3103800101"),
            "6A80",
            "EnableProfile without target",
        ),
        (
            format!("{cla}E2910006BF30038001FF"),
            "6A80",
            "negative sequence number",
        ),
    ];
    for (apdu, sw, what) in isdr_cases {
        assert_eq!(tx(c, apdu), *sw, "{what}: {apdu}");
    }
    // ES10 answers are never 91xx, and a proper one still works.
    let r = tx(c, &format!("{cla}E2910003BF2D00"));
    assert!(r.ends_with("9000"), "{r}");
    assert_eq!(tx(c, &format!("007080{ch:02X}00")), "9000");
    still_answers(c);
}

#[test]
fn random_bytes_never_panic_and_always_answer() {
    let mut s = sim(3);
    let c = &mut s.card;
    let mut rng = ChaCha20Rng::seed_from_u64(0xC0FFEE);
    // Bias the first bytes towards classes and instructions the card knows, so the
    // loop reaches deep into the handlers, not only the class check.
    let clas = [0x00, 0x80, 0x81, 0x01, 0x40, 0xC3, 0x90, 0xA0];
    let inss = [0xA4, 0xB0, 0xB2, 0xE2, 0xC0, 0x70, 0xAA, 0xF2, 0x00];
    for i in 0..20_000u32 {
        let len = (rng.next_u32() % 300) as usize;
        let mut apdu = vec![0u8; len];
        rng.fill_bytes(&mut apdu);
        if len >= 2 && i % 2 == 0 {
            apdu[0] = clas[(rng.next_u32() as usize) % clas.len()];
            apdu[1] = inss[(rng.next_u32() as usize) % inss.len()];
        }
        if len >= 5 && i % 4 == 0 {
            // A consistent Lc.
            apdu[4] = (len - 5).min(255) as u8;
            apdu.truncate(5 + apdu[4] as usize);
        }
        let r = c.transmit(&apdu);
        assert!(r.len() >= 2, "{}", hex::encode_upper(&apdu));
        assert!(r.len() <= 258, "{}", hex::encode_upper(&apdu));
        assert_ne!(r[r.len() - 2], 0x91, "never 91xx");
        if i % 1000 == 0 {
            c.reset();
        }
    }
    c.power_off();
    c.power_on();
    still_answers(c);
}
