//! A malformed-APDU battery through pcscd leaves the card answering (issue 2, "Done
//! when"). Every command below reaches the card-sim process through pcscd + vpcd; each
//! must get a well-formed response APDU (a status word, at most 256 data bytes), the
//! link must stay up, the process must not die, and afterwards the card must still
//! answer GetEID with the same EID and `sm-cli info` must work.
//!
//! The exact SW for each class of bad command is checked by scripts/malformed.apdu
//! (replayed by sm-cli and scriptor); here a few of them are pinned, and the rest is
//! about surviving: an INS sweep on several classes, a seeded random battery, an
//! endless STORE DATA chain and extended lengths.

use pcsc::Disposition;
use system_tests::flows::*;
use system_tests::hexutil::{hex, sw, up};
use system_tests::pcsc_io::{self, Conn, Presence};
use system_tests::{require_stack, CardOptions, CardSim, Lease};

/// xorshift64*: a fixed, dependency-free generator so the battery is the same each run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Sends one command; checks the answer is a well-formed response APDU.
fn send(conn: &Conn, apdu: &[u8]) -> Vec<u8> {
    let r = conn
        .transmit(apdu)
        .unwrap_or_else(|e| panic!("{}: the link broke: {e:#}", up(apdu)));
    assert!(
        (2..=258).contains(&r.len()),
        "{}: answer of {} bytes: {}",
        up(apdu),
        r.len(),
        up(&r)
    );
    assert!(
        matches!(r[r.len() - 2], 0x61..=0x6F | 0x90..=0x9F),
        "{}: no status word at the end: {}",
        up(apdu),
        up(&r)
    );
    r
}

#[test]
fn malformed_battery_leaves_the_card_answering() {
    let Some(stack) = require_stack("malformed_battery_leaves_the_card_answering") else {
        return;
    };
    let lease = Lease::one(&stack).unwrap();
    let mut card = CardSim::start(
        &stack,
        &lease,
        "malformed",
        &CardOptions {
            ephemeral: true,
            test_profiles: Some(1),
            ..CardOptions::default()
        },
    )
    .unwrap();
    let eid = eid_raw(&card.reader).unwrap();
    let conn = Conn::connect(&card.reader).unwrap();

    // Pinned SWs (ISO/IEC 7816-4 5.1.3 and interop.md).
    for (apdu, want) in [
        ("00A4040010A000000559", 0x6700), // Lc says 16, 5 bytes follow
        ("A0A40000023F00", 0x6E00),       // class not supported
        ("00080000", 0x6D00),             // INS not supported
        ("03A4040010A0000005591010FFFFFFFF8900000100", 0x6881), // channel 3 not open
        ("007000FF", 0x6A86),             // MANAGE CHANNEL naming channel FF
    ] {
        let r = send(&conn, &hex(apdu));
        assert_eq!(sw(&r), want, "{apdu} -> {}", up(&r));
    }

    // Shorter than a header: pcsc-lite passes 2 and 3 bytes on to the card (6700).
    // Not sent: 0 bytes (vpcd sends nothing, then waits for an answer forever, holding the
    // slot) and 1 byte (vpcd's framing makes it a control code: `04` returns the ATR,
    // `00`-`02` get no answer at all). Both are limits of vsmartcard's protocol.
    for short in ["00A4", "00A404", "80E2"] {
        let r = send(&conn, &hex(short));
        assert_eq!(sw(&r), 0x6700, "{short} -> {}", up(&r));
    }

    // INS sweep, case 1, on the basic channel, a closed channel, and bad classes.
    for cla in [0x00u8, 0x80, 0x81, 0xA0, 0xFF, 0x0C, 0x40] {
        for ins in 0..=255u8 {
            send(&conn, &[cla, ins, 0x00, 0x00]);
        }
    }

    // Seeded random commands: plausible headers, random lengths and bodies.
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let classes = [0x00, 0x80, 0x01, 0x81, 0x02, 0x03, 0x40, 0xC0, 0xA0, 0xFF];
    let inss = [
        0xA4, 0xE2, 0x70, 0xC0, 0xAA, 0xB0, 0xB2, 0xCA, 0x12, 0x14, 0xF2, 0x84,
    ];
    for i in 0..1500 {
        let mut apdu = vec![
            classes[rng.below(classes.len())],
            inss[rng.below(inss.len())],
            rng.byte(),
            rng.byte(),
        ];
        let body = rng.below(262);
        apdu.extend((0..body).map(|_| rng.byte()));
        if rng.below(3) == 0 && apdu.len() > 4 {
            // A length byte that agrees with the body, so the command gets past 6700.
            apdu[4] = (apdu.len() - 5).min(255) as u8;
        }
        send(&conn, &apdu);
        if i % 250 == 0 {
            assert_eq!(
                sw(&send(&conn, &hex(SELECT_MF))),
                0x9000,
                "SELECT MF after {i}"
            );
        }
    }

    // A reset closes whatever channels the random commands opened.
    conn.close_with(Disposition::ResetCard).unwrap();
    let conn = Conn::connect(&card.reader).unwrap();

    // An endless STORE DATA chain on channel 1: the card must stop it with an error
    // (its reassembly buffer is capped) long before 100 KB.
    let (d, s) = exchange_lpac(&conn, OPEN_CHANNEL).unwrap();
    assert_eq!(
        (up(&d).as_str(), s),
        ("01", 0x9000),
        "open channel after reset"
    );
    let ch = 1u8;
    assert_eq!(sw(&send(&conn, &hex(SELECT_ISDR_CH1))) >> 8, 0x90);
    let mut refused = None;
    for block in 0..400u32 {
        let mut apdu = vec![0x80 | ch, 0xE2, 0x11, (block & 0xFF) as u8, 0xFF];
        apdu.extend(std::iter::repeat_n(0xBF, 255));
        let r = send(&conn, &apdu);
        if sw(&r) != 0x9000 {
            refused = Some((block, sw(&r)));
            break;
        }
    }
    let (block, s) = refused.expect("a 100 KB STORE DATA chain was accepted whole");
    assert!(
        block > 0,
        "the first block of a chain must be accepted (got {s:04X})"
    );
    send(&conn, &hex(CLOSE_CHANNEL_1));

    // Extended lengths: a 300-byte body, an Le of 65536, and a broken extended header.
    let mut ext = hex("80E2910000012C");
    ext.extend(std::iter::repeat_n(0x00, 300));
    send(&conn, &ext);
    send(&conn, &hex("00B00000000000"));
    send(&conn, &hex("00B000000001"));
    // GET RESPONSE with nothing pending.
    send(&conn, &hex("00C0000010"));
    conn.close().unwrap();

    // Still there, same card, and our client works.
    assert!(card.running(), "card-sim died:\n{}", card.log_tail());
    assert_eq!(pcsc_io::presence(&card.reader).unwrap(), Presence::Card);
    assert_eq!(eid_raw(&card.reader).unwrap(), eid);
    assert_eq!(eid_cli(&stack, &card.reader), eid);
    let list = profiles(&stack, &card.reader);
    assert_eq!(list.len(), 2, "profiles changed by the battery: {list:?}");
    let log = std::fs::read_to_string(&card.log).unwrap_or_default();
    assert!(
        !log.contains("panicked"),
        "card-sim panicked:\n{}",
        card.log_tail()
    );
}
