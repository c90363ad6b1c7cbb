//! Connects to vpcd and serves one connection at a time, reconnecting with capped
//! exponential backoff when vpcd is absent, pcscd restarts or the link drops (vpcd does
//! not retry by itself, interop.md). A fresh link that pcscd only polls and never powers
//! is dropped once and made again at once ([`super::stale`]). Every state change is said
//! once on stderr.
//!
//! "Connected" is said at the link's first message, not at the TCP connect: vpcd serves
//! one client per port, and a connection to a port another client holds succeeds through
//! vpcd's listen queue and then gets nothing (issue 10). A link vpcd has not polled within
//! [`LinkConfig::silence`] (pcscd polls every 400 ms; the first poll came 21-405 ms after
//! the connect in 31 measured connects, pcsc-lite 1.9.9) is reported with the client that
//! holds the port, when `/proc` tells ([`super::clients`]), and kept: vpcd takes it once
//! that client leaves. A connect that times out is explained the same way (the queue is
//! full: a second client already waits in it).
//!
//! Long because the link's state machine (connect, polls, the stale-link rule) and its
//! unit tests against a fake vpcd socket belong together; about 300 lines are code.

use super::clients::{self, Client};
use super::frame::{self, Decoder, Message};
use super::socket;
use super::stale::{Event, StaleRule, Verdict};
use super::Card;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The status word answered to a frame too large to hold a command (`6700`).
const WRONG_LENGTH: [u8; 2] = [0x67, 0x00];

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// `HOST:PORT` of vpcd.
    pub addr: String,
    /// First wait after a failed connection attempt.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// How often a blocked read wakes up to look at the stop flag.
    pub poll: Duration,
    /// How long a new link may wait for vpcd's first message before card-sim says that
    /// vpcd does not serve it (another client holds the slot, or pcscd is stalled).
    pub silence: Duration,
}

impl LinkConfig {
    /// The defaults for `addr`: 50 ms doubling up to 2 s; silence after 2 s (5 of
    /// pcscd's poll intervals).
    pub fn new(addr: impl Into<String>) -> Self {
        LinkConfig {
            addr: addr.into(),
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            poll: Duration::from_millis(250),
            silence: Duration::from_secs(2),
        }
    }
}

/// Runs the link until `stop` is set: connect, serve, reconnect.
pub fn run(cfg: &LinkConfig, card: &mut dyn Card, stop: &AtomicBool) {
    let mut backoff = cfg.initial_backoff;
    // The kind of connect failure last said (each new kind is said once).
    let mut told_waiting: Option<ErrorKind> = None;
    let mut rule = StaleRule::new();
    while !stop.load(Ordering::SeqCst) {
        match connect(&cfg.addr) {
            Ok(stream) => {
                backoff = cfg.initial_backoff;
                told_waiting = None;
                rule.link_up();
                let result = serve(stream, card, stop, cfg, &mut rule);
                // A dropped link is a removed card: volatile state goes.
                card.power_off();
                match result {
                    _ if stop.load(Ordering::SeqCst) => break,
                    Ok(End::Closed) => eprintln!("card-sim: vpcd closed the link; reconnecting"),
                    Ok(End::Stale { polls, span }) => eprintln!(
                        "card-sim: pcscd polled the card {polls} times in {} ms and never \
                         powered it (its reader shows no card: pcscd missed the card's \
                         restart); dropped the stale link once so that pcscd sees the card \
                         leave and come back; reconnecting",
                        span.as_millis()
                    ),
                    Err(e) => eprintln!("card-sim: link to vpcd lost ({e}); reconnecting"),
                }
            }
            Err(e) => {
                if told_waiting != Some(e.kind()) {
                    eprintln!("{}", unreachable_message(cfg, &e));
                    told_waiting = Some(e.kind());
                }
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(cfg.max_backoff);
            }
        }
    }
}

/// What card-sim says when it cannot connect: a timeout with clients on the port means
/// vpcd's queue is full, not that pcscd is missing.
fn unreachable_message(cfg: &LinkConfig, e: &io::Error) -> String {
    let retry = format!("retrying every {} ms at most", cfg.max_backoff.as_millis());
    let holders = match (e.kind(), first_addr(&cfg.addr)) {
        (ErrorKind::TimedOut, Some(vpcd)) => clients::vpcd_holders(vpcd, None),
        _ => Vec::new(),
    };
    match holders.first() {
        Some(c) => format!(
            "card-sim: vpcd at {} did not take the connection ({e}): the slot is held by \
             another vpcd client, {}, and vpcd's queue is full; {retry}",
            cfg.addr,
            describe(c, holders.len())
        ),
        None => format!(
            "card-sim: vpcd at {} not reachable ({e}); {retry} \
             (is pcscd running with the vpcd driver?)",
            cfg.addr
        ),
    }
}

/// What card-sim says when vpcd has sent nothing `waited` after the connect to `addr`.
pub fn silence_message(addr: &str, waited: Duration, holders: &[Client]) -> String {
    let head = format!(
        "card-sim: no answer from vpcd at {addr} within {} ms of connecting (pcscd polls \
         every 400 ms)",
        waited.as_millis()
    );
    match holders.first() {
        Some(c) => format!(
            "{head}: the slot is held by another vpcd client, {}; waiting in vpcd's queue \
             until it leaves",
            describe(c, holders.len())
        ),
        None => format!(
            "{head}: the slot is probably held by another vpcd client (none visible to this \
             user), or pcscd is stalled; waiting"
        ),
    }
}

/// A holder of the slot, for a message; `of` holders in all.
fn describe(c: &Client, of: usize) -> String {
    let who = match (c.pid, &c.cmdline, c.uid) {
        (Some(pid), Some(cmd), _) => format!("PID {pid} (`{cmd}`)"),
        (Some(pid), None, _) => format!("PID {pid}"),
        (None, _, Some(uid)) => format!(
            "a process of user {uid} at {} (its PID is not visible to this user)",
            c.endpoint
        ),
        (None, _, None) => format!("a client at {}", c.endpoint),
    };
    if of > 1 {
        format!("{who} (and {} more)", of - 1)
    } else {
        who
    }
}

fn first_addr(addr: &str) -> Option<SocketAddr> {
    addr.to_socket_addrs().ok()?.next()
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(20);
    let mut left = d;
    while !left.is_zero() && !stop.load(Ordering::SeqCst) {
        let s = left.min(step);
        thread::sleep(s);
        left -= s;
    }
}

fn connect(addr: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(ErrorKind::NotFound, "address resolves to nothing");
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// How a served connection ended (other than by an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// vpcd closed it, or `stop` was set.
    Closed,
    /// [`StaleRule`] dropped it: `polls` presence polls in `span`, no power-on.
    Stale { polls: u32, span: Duration },
}

/// What a message means to the stale-link rule.
fn event(msg: &Message) -> Event {
    match msg {
        Message::Control(frame::GET_ATR) => Event::Presence,
        Message::Control(frame::POWER_ON | frame::RESET) | Message::Apdu(_) => Event::Used,
        Message::Control(_) | Message::Oversized(_) => Event::Other,
    }
}

/// Serves one connection until vpcd closes it or `stop` is set (`Ok(End::Closed)`),
/// `rule` drops it (`Ok(End::Stale)`) or it fails (`Err`).
///
/// The presence poll that makes `rule` drop the link goes unanswered: vpcd's
/// `vicc_present` then reads end-of-file, closes its side and reports "absent" for that
/// very poll, and accepts the new connection at the next one (vsmartcard `vpcd.c`), so
/// pcscd sees the card leave and come back one poll interval (400 ms) after the drop.
///
/// The first message makes card-sim say "connected"; none within `cfg.silence` makes it
/// say who holds the slot instead ([`silence_message`]).
pub fn serve(
    mut stream: TcpStream,
    card: &mut dyn Card,
    stop: &AtomicBool,
    cfg: &LinkConfig,
    rule: &mut StaleRule,
) -> io::Result<End> {
    socket::set_nodelay(&stream)?;
    stream.set_read_timeout(Some(cfg.poll))?;
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 4096];
    let connected = Instant::now();
    let mut heard = false;
    let mut told_silent = false;
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(End::Closed);
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(End::Closed),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !heard && !told_silent && connected.elapsed() >= cfg.silence {
                    let holders = match stream.peer_addr() {
                        Ok(vpcd) => clients::vpcd_holders(vpcd, stream.local_addr().ok()),
                        Err(_) => Vec::new(),
                    };
                    eprintln!(
                        "{}",
                        silence_message(&cfg.addr, connected.elapsed(), &holders)
                    );
                    told_silent = true;
                }
                continue;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if !heard {
            heard = true;
            if told_silent {
                eprintln!(
                    "card-sim: connected to vpcd at {} (vpcd took the link {} ms after the \
                     connect: the slot's other client left)",
                    cfg.addr,
                    connected.elapsed().as_millis()
                );
            } else {
                eprintln!("card-sim: connected to vpcd at {}", cfg.addr);
            }
        }
        // Best effort: a failure here costs latency, not correctness.
        let _ = socket::quickack(&stream);
        decoder.push(&buf[..n]);
        while let Some(msg) = decoder.next_message() {
            if let Verdict::Drop { polls, span } = rule.observe(event(&msg), Instant::now()) {
                return Ok(End::Stale { polls, span });
            }
            if let Some(reply) = answer(card, msg) {
                stream.write_all(&frame::encode(&reply))?;
            }
        }
    }
}

/// What to send back for one message (control codes other than get-ATR get no reply).
pub fn answer(card: &mut dyn Card, msg: Message) -> Option<Vec<u8>> {
    match msg {
        Message::Control(frame::POWER_OFF) => card.power_off(),
        Message::Control(frame::POWER_ON) => card.power_on(),
        Message::Control(frame::RESET) => card.reset(),
        Message::Control(frame::GET_ATR) => return Some(card.atr()),
        Message::Control(other) => {
            eprintln!("card-sim: ignoring unknown vpcd control code {other:02X}");
        }
        Message::Apdu(apdu) => return Some(card.transmit(&apdu)),
        Message::Oversized(len) => {
            eprintln!("card-sim: skipped an oversized frame of {len} bytes");
            return Some(WRONG_LENGTH.to_vec());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    //! The stale-link recovery against a fake vpcd on loopback.
    use super::*;
    use std::net::TcpListener;
    use std::sync::Arc;

    /// Answers 90 00 to everything; its ATR is `3B 00`.
    struct Echo;
    impl Card for Echo {
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn reset(&mut self) {}
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x00]
        }
        fn transmit(&mut self, _apdu: &[u8]) -> Vec<u8> {
            vec![0x90, 0x00]
        }
    }

    fn send(s: &mut TcpStream, payload: &[u8]) {
        s.write_all(&frame::encode(payload)).unwrap();
    }

    /// The next reply, or `None` at end-of-file.
    fn recv(s: &mut TcpStream) -> Option<Vec<u8>> {
        let mut len = [0u8; 2];
        match s.read_exact(&mut len) {
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return None,
            Err(e) => panic!("read: {e}"),
            Ok(()) => {}
        }
        let mut p = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut p).unwrap();
        Some(p)
    }

    fn accept(l: &TcpListener) -> TcpStream {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// Three presence polls 300 ms apart; returns the answers (`None`: the link closed).
    fn three_polls(s: &mut TcpStream) -> Vec<Option<Vec<u8>>> {
        (0..3)
            .map(|i| {
                if i > 0 {
                    thread::sleep(Duration::from_millis(300));
                }
                send(s, &[frame::GET_ATR]);
                recv(s)
            })
            .collect()
    }

    #[test]
    fn a_silent_link_names_the_holder_when_proc_tells() {
        let addr = "127.0.0.1:35963";
        let waited = Duration::from_millis(2100);
        let endpoint: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let seen = Client {
            endpoint,
            uid: Some(1000),
            pid: Some(4321),
            cmdline: Some("floor-card --slot 0".into()),
        };
        let m = silence_message(addr, waited, std::slice::from_ref(&seen));
        assert!(m.starts_with("card-sim: no answer from vpcd at 127.0.0.1:35963 within 2100 ms"));
        assert!(
            m.contains("held by another vpcd client, PID 4321 (`floor-card --slot 0`); waiting")
        );
        // Another user's process: its user and endpoint, no PID.
        let hidden = Client {
            pid: None,
            cmdline: None,
            ..seen.clone()
        };
        let m = silence_message(addr, waited, &[hidden, seen]);
        assert!(
            m.contains("a process of user 1000 at 127.0.0.1:40000 (its PID is not visible to this user) (and 1 more)"),
            "{m}"
        );
        // Nothing visible: no claim about who.
        let m = silence_message(addr, waited, &[]);
        assert!(
            m.contains("probably held by another vpcd client (none visible"),
            "{m}"
        );
    }

    #[test]
    fn a_link_pcscd_only_polls_is_dropped_once_and_made_again_at_once() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut cfg = LinkConfig::new(l.local_addr().unwrap().to_string());
        cfg.poll = Duration::from_millis(20);
        let stop = Arc::new(AtomicBool::new(false));
        let link = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || run(&cfg, &mut Echo, &stop))
        };
        let atr = Some(vec![0x3B, 0x00]);

        // A used link is kept, however long pcscd then only polls.
        let mut s = accept(&l);
        send(&mut s, &[frame::GET_ATR]);
        assert_eq!(recv(&mut s), atr);
        send(&mut s, &[frame::POWER_ON]);
        assert_eq!(three_polls(&mut s), vec![atr.clone(); 3]);
        drop(s);

        // A fresh link that only gets polls: the third, 600 ms after the first, is not
        // answered, the link closes and card-sim connects again at once.
        let mut s = accept(&l);
        assert_eq!(three_polls(&mut s), vec![atr.clone(), atr.clone(), None]);
        let dropped = Instant::now();
        let mut s2 = accept(&l);
        assert!(dropped.elapsed() < Duration::from_millis(300));
        drop(s);
        // Once only: the new link is kept, though it only gets polls too.
        assert_eq!(three_polls(&mut s2), vec![atr.clone(); 3]);
        // Until a link is used: then the rule is armed again for the next fresh link.
        send(&mut s2, &[0x00, 0xA4, 0x00, 0x0C]);
        assert_eq!(recv(&mut s2), Some(vec![0x90, 0x00]));
        drop(s2);
        let mut s3 = accept(&l);
        assert_eq!(three_polls(&mut s3), vec![atr.clone(), atr, None]);

        // card-sim reconnects at once after the drop; stop it only once it has, or it may
        // see `stop` before reconnecting and this accept would wait for good.
        let _s4 = accept(&l);
        stop.store(true, Ordering::SeqCst);
        link.join().unwrap();
    }
}
