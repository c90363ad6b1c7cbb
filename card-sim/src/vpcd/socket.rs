//! Socket options for the vpcd link. vpcd writes the length and the payload separately
//! and does not set TCP_NODELAY, so a card that does not acknowledge at once waits on
//! delayed ACKs (~44 ms per APDU instead of ~0.13 ms, interop.md). We set TCP_NODELAY on
//! connect and re-arm Linux's TCP_QUICKACK after every read (the kernel clears it).

use std::io;
use std::net::TcpStream;

/// Sets TCP_NODELAY.
pub fn set_nodelay(s: &TcpStream) -> io::Result<()> {
    s.set_nodelay(true)
}

/// Re-arms TCP_QUICKACK (Linux only; a no-op elsewhere).
#[cfg(target_os = "linux")]
pub fn quickack(s: &TcpStream) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Re-arms TCP_QUICKACK (Linux only; a no-op elsewhere).
#[cfg(not(target_os = "linux"))]
pub fn quickack(_s: &TcpStream) -> io::Result<()> {
    Ok(())
}
