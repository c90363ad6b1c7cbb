//! The vpcd link against a fake vpcd on loopback: framing, control codes, get-ATR polls
//! that change nothing, garbage frames that do not kill the link, and reconnection after
//! vpcd goes away (as when pcscd restarts).

mod common;
use card_sim::vpcd::{self, LinkConfig};
use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn send(s: &mut TcpStream, payload: &[u8]) {
    let mut f = (payload.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    // Length and payload in two writes, as vpcd does.
    s.write_all(&f[..2]).unwrap();
    s.write_all(&f[2..]).unwrap();
}

fn recv(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut p = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut p).unwrap();
    p
}

fn xfer(s: &mut TcpStream, h: &str) -> String {
    send(s, &hex::decode(h).unwrap());
    hex::encode_upper(recv(s))
}

#[test]
fn serves_reconnects_and_survives_garbage() {
    // Reserve a port, then close it: vpcd is "absent" at first.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let stop = Arc::new(AtomicBool::new(false));
    let link = {
        let stop = stop.clone();
        let addr = addr.clone();
        thread::spawn(move || {
            let mut s = sim(0);
            let mut cfg = LinkConfig::new(addr);
            cfg.poll = Duration::from_millis(20);
            cfg.max_backoff = Duration::from_millis(100);
            vpcd::run(&cfg, &mut s.card, &stop);
        })
    };
    thread::sleep(Duration::from_millis(150));
    let listener = TcpListener::bind(&addr).unwrap();

    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    send(&mut s, &[0x04]);
    assert_eq!(recv(&mut s), card_sim::card::atr::DEFAULT_ATR.to_vec());
    send(&mut s, &[0x01]); // power on: no reply
    assert_eq!(xfer(&mut s, "0070000001"), "019000");
    send(&mut s, &[0x04]); // get-ATR poll: the channel stays open
    assert_eq!(recv(&mut s).len(), card_sim::card::atr::DEFAULT_ATR.len());
    let eid = eid().digits();
    assert_eq!(
        xfer(&mut s, &format!("01A4040010{ISDR}")).get(..2),
        Some("6F")
    );
    assert_eq!(
        xfer(&mut s, "81E2910006BF3E035C015A"),
        format!("BF3E125A10{eid}9000")
    );
    // Garbage: empty frame, short APDUs, an unknown control code (no reply).
    assert_eq!(xfer(&mut s, ""), "6700");
    assert_eq!(xfer(&mut s, "00A4"), "6700");
    send(&mut s, &[0x07]);
    assert_eq!(
        xfer(&mut s, "81E2910006BF3E035C015A"),
        format!("BF3E125A10{eid}9000")
    );
    // Reset clears channels.
    send(&mut s, &[0x02]);
    assert_eq!(xfer(&mut s, "81E2910006BF3E035C015A"), "6881");
    // An oversized frame is skipped and answered 6700; the stream stays in sync.
    let big = vec![0u8; card_sim::vpcd::frame::MAX_FRAME + 1];
    send(&mut s, &big);
    assert_eq!(recv(&mut s), vec![0x67, 0x00]);
    assert_eq!(xfer(&mut s, "0070000001"), "019000");

    // vpcd goes away (pcscd restart): the card comes back on a new connection,
    // powered off (channels closed).
    drop(s);
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    send(&mut s, &[0x04]);
    assert_eq!(recv(&mut s).len(), card_sim::card::atr::DEFAULT_ATR.len());
    assert_eq!(xfer(&mut s, "81E2910006BF3E035C015A"), "6881");
    assert_eq!(xfer(&mut s, "0070000001"), "019000");

    stop.store(true, Ordering::SeqCst);
    link.join().unwrap();
}
