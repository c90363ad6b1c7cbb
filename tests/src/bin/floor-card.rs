//! floor-card: the floor of the round-trip benchmark (issue 5, "a card that answers 9000
//! to everything over the same pcscd/vpcd"). It speaks vpcd's protocol (interop.md, "vpcd
//! <-> virtual card": 2-byte big-endian length + payload; 1-byte control codes) and does
//! nothing else, with the same socket settings a fast card needs (TCP_NODELAY, and
//! TCP_QUICKACK after every read).
//!
//!     floor-card --slot N | --vpcd HOST:PORT
//!
//! It exits when vpcd closes the connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::process::ExitCode;

/// T=0 and T=1 (interop.md: lpac connects with T=0 only).
const ATR: [u8; 6] = [0x3B, 0x80, 0x80, 0x1F, 0x07, 0x18];

fn quickack(s: &TcpStream) {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on our own socket with a pointer to a live c_int of the right size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn read_msg(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut len = [0u8; 2];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    quickack(s);
    buf.resize(usize::from(u16::from_be_bytes(len)), 0);
    s.read_exact(buf)?;
    quickack(s);
    Ok(true)
}

fn send(s: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let mut msg = Vec::with_capacity(payload.len() + 2);
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(payload);
    s.write_all(&msg)
}

fn serve(addr: &str) -> std::io::Result<()> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    eprintln!("floor-card: connected to vpcd at {addr}");
    let mut buf = Vec::new();
    while read_msg(&mut s, &mut buf)? {
        match buf.as_slice() {
            [0x04] => send(&mut s, &ATR)?,
            [_] => {} // power off / on / reset: no reply
            _ => send(&mut s, &[0x90, 0x00])?,
        }
    }
    eprintln!("floor-card: vpcd closed the connection");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = match args.as_slice() {
        [flag, n] if flag == "--slot" => match n.parse::<u16>() {
            Ok(n) if n < 16 => format!("127.0.0.1:{}", 35963 + n),
            _ => {
                eprintln!("floor-card: --slot wants 0..15, got {n:?}");
                return ExitCode::from(2);
            }
        },
        [flag, a] if flag == "--vpcd" => a.clone(),
        _ => {
            eprintln!("usage: floor-card --slot N | --vpcd HOST:PORT");
            return ExitCode::from(2);
        }
    };
    match serve(&addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor-card: {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}
