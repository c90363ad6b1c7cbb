//! Transport rules with a stub applet: channels, chaining, 61xx / GET RESPONSE, 6Cxx.

use super::*;
use crate::vpcd::Card;

/// Answers `INS 01` with P1*256+P2 bytes of a counting pattern; records what it saw.
#[derive(Default)]
struct Stub {
    seen: Vec<(u8, Command)>,
    opened: Vec<(u8, u8)>,
    closed: Vec<u8>,
    cycles: usize,
}

impl Applet for Stub {
    fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x00]
    }
    fn power_cycle(&mut self) {
        self.cycles += 1;
    }
    fn channel_opened(&mut self, channel: u8, origin: u8) {
        self.opened.push((channel, origin));
    }
    fn channel_closed(&mut self, channel: u8) {
        self.closed.push(channel);
    }
    fn process(&mut self, channel: u8, cmd: &Command) -> Response {
        self.seen.push((channel, cmd.clone()));
        let n = usize::from(cmd.p1) * 256 + usize::from(cmd.p2);
        Response::ok((0..n).map(|i| i as u8).collect::<Vec<u8>>())
    }
}

fn t() -> Transport<Stub> {
    Transport::new(Stub::default())
}

fn x(t: &mut Transport<Stub>, h: &str) -> String {
    hex::encode_upper(t.transmit(&hex::decode(h).unwrap()))
}

#[test]
fn short_answers_come_back_directly() {
    let mut c = t();
    let r = x(&mut c, "80010005");
    assert_eq!(r, "00010203049000");
    let r = c.transmit(&hex::decode("8001010000").unwrap());
    assert_eq!(
        (r.len(), &r[256..]),
        (258, &[0x90, 0x00][..]),
        "256 bytes fit"
    );
    let r = x(&mut c, "80010101");
    assert_eq!(r, "6100", "257 bytes need GET RESPONSE");
}

#[test]
fn long_answers_are_fetched_with_get_response() {
    let mut c = t();
    // 600 bytes: 61 00, then 256 + 61 00, 256 + 61 58, 88 + 90 00.
    assert_eq!(x(&mut c, "80010258"), "6100");
    let r = c.transmit(&hex::decode("80C0000000").unwrap());
    assert_eq!(r.len(), 258);
    assert_eq!(&r[256..], &[0x61, 0x00]);
    assert_eq!(r[0], 0);
    let r = c.transmit(&hex::decode("80C0000000").unwrap());
    assert_eq!(&r[256..], &[0x61, 0x58]);
    assert_eq!(r[0], 0, "byte 512 of the counting pattern wraps to 0");
    // Wrong Le: 6C with the exact length, nothing consumed.
    assert_eq!(x(&mut c, "80C0000060"), "6C58");
    let r = c.transmit(&hex::decode("80C0000058").unwrap());
    assert_eq!(r.len(), 0x58 + 2);
    assert_eq!(&r[0x58..], &[0x90, 0x00]);
    assert_eq!(x(&mut c, "80C0000000"), "6985", "nothing left");
}

#[test]
fn get_response_with_smaller_le_and_other_commands_drop_pending() {
    let mut c = t();
    assert_eq!(x(&mut c, "80010120"), "6100");
    let r = c.transmit(&hex::decode("00C0000010").unwrap());
    assert_eq!(&r[16..], &[0x61, 0x00]);
    assert_eq!(x(&mut c, "80C0010000"), "6A86");
    assert_eq!(x(&mut c, "80010001"), "009000");
    assert_eq!(x(&mut c, "80C0000000"), "6985");
}

#[test]
fn channels_open_close_and_isolate_pending_responses() {
    let mut c = t();
    assert_eq!(x(&mut c, "0070000001"), "019000");
    assert_eq!(x(&mut c, "0070000001"), "029000");
    assert_eq!(x(&mut c, "0070000300"), "9000", "pySim names the channel");
    assert_eq!(x(&mut c, "00700003"), "6985", "already open");
    assert_eq!(x(&mut c, "00700013"), "9000", "channel 19");
    assert_eq!(x(&mut c, "00700014"), "6A86", "channel 20");
    assert_eq!(x(&mut c, "0070400000"), "6A86");
    assert_eq!(x(&mut c, "00700000020102"), "6700");
    // Channel 19 in the further interindustry class: CLA 4F / CF.
    assert_eq!(x(&mut c, "CF010002"), "00019000");
    // Pending answers are per channel.
    assert_eq!(x(&mut c, "81010200"), "6100");
    assert_eq!(x(&mut c, "82010001"), "009000");
    assert_eq!(c.transmit(&hex::decode("81C0000000").unwrap()).len(), 258);
    // Close by number and by CLA.
    assert_eq!(x(&mut c, "0070800100"), "9000");
    assert_eq!(x(&mut c, "81010001"), "6881");
    assert_eq!(x(&mut c, "0070800100"), "6881");
    assert_eq!(x(&mut c, "0270800000"), "9000");
    assert_eq!(x(&mut c, "82010001"), "6881");
    assert_eq!(
        x(&mut c, "0070800000"),
        "6A86",
        "the basic channel stays open"
    );
    assert_eq!(x(&mut c, "0070801500"), "6A86");
    assert_eq!(x(&mut c, "45010001"), "6881", "channel 9 never opened");
    assert_eq!(c.applet().opened, vec![(1, 0), (2, 0), (3, 0), (19, 0)]);
    assert_eq!(c.applet().closed, vec![1, 2]);
}

#[test]
fn all_channels_then_none_free() {
    let mut c = t();
    for n in 1..20u8 {
        assert_eq!(x(&mut c, "0070000001"), format!("{n:02X}9000"));
    }
    assert_eq!(x(&mut c, "0070000001"), "6A81");
}

#[test]
fn power_events_close_channels_and_clear_the_applet() {
    let mut c = t();
    assert_eq!(x(&mut c, "0070000001"), "019000");
    assert_eq!(x(&mut c, "80010200"), "6100");
    let cycles = c.applet().cycles;
    c.reset();
    assert_eq!(x(&mut c, "81010001"), "6881");
    assert_eq!(x(&mut c, "80C0000000"), "6985");
    c.power_off();
    c.power_on();
    assert_eq!(c.applet().cycles, cycles + 3);
    // Get-ATR changes nothing.
    assert_eq!(x(&mut c, "0070000001"), "019000");
    let _ = c.atr();
    assert!(c.is_open(1));
}

#[test]
fn chaining_joins_data_and_the_applet_sees_one_command() {
    let mut c = t();
    assert_eq!(x(&mut c, "9001000003AABBCC"), "9000");
    assert_eq!(x(&mut c, "9001000002DDEE"), "9000");
    assert_eq!(x(&mut c, "8001000001FF"), "9000");
    let (ch, cmd) = c.applet().seen.last().unwrap().clone();
    assert_eq!(ch, 0);
    assert_eq!(cmd.cla, Cla(0x80));
    assert_eq!(cmd.data, hex::decode("AABBCCDDEEFF").unwrap());
    assert_eq!(c.applet().seen.len(), 1);
    // A chain broken by another INS.
    assert_eq!(x(&mut c, "9001000001AA"), "9000");
    assert_eq!(x(&mut c, "8002000001AA"), "6883");
    // Chained GET RESPONSE / MANAGE CHANNEL are refused.
    assert_eq!(x(&mut c, "90C0000000"), "6884");
    assert_eq!(x(&mut c, "1070000001"), "6884");
}

#[test]
fn class_and_length_errors() {
    let mut c = t();
    assert_eq!(x(&mut c, "A0A40000023F00"), "6E00");
    assert_eq!(x(&mut c, "FF01000000"), "6E00");
    assert_eq!(x(&mut c, "20010000"), "6E00");
    assert_eq!(x(&mut c, "800100"), "6700");
    assert_eq!(x(&mut c, ""), "6700");
    assert_eq!(x(&mut c, "8001000005AA"), "6700");
    assert_eq!(x(&mut c, "0C010000"), "6882", "secure messaging");
    assert_eq!(x(&mut c, "80600000"), "6D00");
    assert_eq!(x(&mut c, "80950000"), "6D00");
    assert!(c.applet().seen.is_empty(), "the applet saw none of these");
}
