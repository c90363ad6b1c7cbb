//! Connects to vpcd and serves one connection at a time, reconnecting with capped
//! exponential backoff when vpcd is absent, pcscd restarts or the link drops (vpcd does
//! not retry by itself, interop.md). Every state change is said once on stderr.

use super::frame::{self, Decoder, Message};
use super::socket;
use super::Card;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

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
}

impl LinkConfig {
    /// The defaults for `addr`: 50 ms doubling up to 2 s.
    pub fn new(addr: impl Into<String>) -> Self {
        LinkConfig {
            addr: addr.into(),
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            poll: Duration::from_millis(250),
        }
    }
}

/// Runs the link until `stop` is set: connect, serve, reconnect.
pub fn run(cfg: &LinkConfig, card: &mut dyn Card, stop: &AtomicBool) {
    let mut backoff = cfg.initial_backoff;
    let mut told_waiting = false;
    while !stop.load(Ordering::SeqCst) {
        match connect(&cfg.addr) {
            Ok(stream) => {
                eprintln!("card-sim: connected to vpcd at {}", cfg.addr);
                backoff = cfg.initial_backoff;
                told_waiting = false;
                let result = serve(stream, card, stop, cfg.poll);
                // A dropped link is a removed card: volatile state goes.
                card.power_off();
                match result {
                    Ok(()) if stop.load(Ordering::SeqCst) => break,
                    Ok(()) => eprintln!("card-sim: vpcd closed the link; reconnecting"),
                    Err(e) => eprintln!("card-sim: link to vpcd lost ({e}); reconnecting"),
                }
            }
            Err(e) => {
                if !told_waiting {
                    eprintln!(
                        "card-sim: vpcd at {} not reachable ({e}); retrying every {} ms at most \
                         (is pcscd running with the vpcd driver?)",
                        cfg.addr,
                        cfg.max_backoff.as_millis()
                    );
                    told_waiting = true;
                }
                sleep_unless_stopped(backoff, stop);
                backoff = (backoff * 2).min(cfg.max_backoff);
            }
        }
    }
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

/// Serves one connection until vpcd closes it (`Ok`), it fails (`Err`) or `stop` is set.
pub fn serve(
    mut stream: TcpStream,
    card: &mut dyn Card,
    stop: &AtomicBool,
    poll: Duration,
) -> io::Result<()> {
    socket::set_nodelay(&stream)?;
    stream.set_read_timeout(Some(poll))?;
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 4096];
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // Best effort: a failure here costs latency, not correctness.
        let _ = socket::quickack(&stream);
        decoder.push(&buf[..n]);
        while let Some(msg) = decoder.next_message() {
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
