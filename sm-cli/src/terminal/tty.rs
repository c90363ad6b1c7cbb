//! Hidden entry on a terminal (the key-generation parameter, GET INPUT qualifier `04`,
//! TS 102 223 §6.4.3), read without echo and without signals: the terminal is put in
//! non-canonical mode with `ECHO`, `ICANON` and `ISIG` off (POSIX termios), so Ctrl-C
//! arrives as a byte and cancels the entry instead of killing the process with echo
//! still off, and Ctrl-D on an empty entry is "nothing given". The old settings are put
//! back by a guard on every path out (return, error, panic).
//!
//! Not rpassword (used before): it leaves echo off when Ctrl-C kills the process during
//! the prompt. A SIGTERM or SIGHUP from elsewhere while the prompt waits still can.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use zeroize::Zeroizing;

/// What a person did at a prompt.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry<T> {
    /// Text ending with Enter (not empty).
    Typed(T),
    /// Enter on an empty entry, or Ctrl-D (end of input) before any text.
    Nothing,
    /// Ctrl-C.
    Cancelled,
    /// No terminal to ask on.
    NoTerminal,
}

impl<T> Entry<T> {
    /// The typed text changed by `f`; the other outcomes as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Entry<U> {
        match self {
            Entry::Typed(t) => Entry::Typed(f(t)),
            Entry::Nothing => Entry::Nothing,
            Entry::Cancelled => Entry::Cancelled,
            Entry::NoTerminal => Entry::NoTerminal,
        }
    }
}

/// Longest hidden entry kept (bytes); the rest of a longer line is read and dropped.
pub const MAX_ENTRY: usize = 1024;

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const CTRL_U: u8 = 0x15;
const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7F;

/// Puts the terminal's settings back when dropped.
struct Restore {
    fd: std::os::fd::RawFd,
    saved: libc::termios,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // SAFETY: `fd` is the open terminal of the caller's `File` (which outlives this
        // guard) and `saved` is what tcgetattr filled in for it.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}

/// Reads one hidden entry from the terminal `tty` after writing `prompt` to it.
pub fn read_hidden(tty: &mut File, prompt: &str) -> Entry<Zeroizing<String>> {
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it in or fails (not a terminal).
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Entry::NoTerminal;
    }
    let guard = Restore { fd, saved };
    let mut raw = saved;
    raw.c_lflag &= !(libc::ECHO | libc::ICANON | libc::ISIG);
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    // SAFETY: as above; `raw` is a valid termios derived from the current one.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
        return Entry::NoTerminal;
    }
    if write!(tty, "{prompt}: ")
        .and_then(|()| tty.flush())
        .is_err()
    {
        return Entry::NoTerminal;
    }
    // Reserved up front so the text is never reallocated (a moved copy would escape
    // zeroizing).
    let mut text: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(MAX_ENTRY));
    let mut b = Zeroizing::new([0u8; 1]);
    let outcome = loop {
        match tty.read(&mut *b) {
            Ok(0) | Err(_) => break Entry::Nothing,
            Ok(_) => {}
        }
        match b[0] {
            CTRL_C => break Entry::Cancelled,
            b'\r' | b'\n' => break Entry::Typed(()),
            CTRL_D if text.is_empty() => break Entry::Nothing,
            CTRL_D => break Entry::Typed(()),
            BACKSPACE | DELETE => pop_char(&mut text),
            CTRL_U => text.clear(),
            c if text.len() < MAX_ENTRY => text.push(c),
            _ => {}
        }
    };
    let _ = writeln!(tty);
    drop(guard);
    match outcome {
        Entry::Typed(()) if text.is_empty() => Entry::Nothing,
        Entry::Typed(()) => match String::from_utf8(std::mem::take(&mut *text)) {
            Ok(s) => Entry::Typed(Zeroizing::new(s)),
            Err(e) => {
                drop(Zeroizing::new(e.into_bytes()));
                Entry::Nothing
            }
        },
        Entry::Nothing => Entry::Nothing,
        Entry::Cancelled => Entry::Cancelled,
        Entry::NoTerminal => Entry::NoTerminal,
    }
}

/// Removes the last character (all bytes of a UTF-8 sequence).
fn pop_char(text: &mut Vec<u8>) {
    while let Some(b) = text.pop() {
        if b & 0xC0 != 0x80 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;

    /// A pseudo-terminal: (the user's side, the program's side).
    fn pty() -> (File, File) {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty fills in two new descriptors, which the Files then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // Close-on-exec: a process another test spawns meanwhile must not inherit them.
        for fd in [master, slave] {
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) }
    }

    fn lflag(f: &File) -> libc::tcflag_t {
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(f.as_raw_fd(), &mut t) }, 0);
        t.c_lflag
    }

    /// Reads the user's side until `want` has appeared (or the side closes).
    fn read_until(user: &mut File, want: &str) -> String {
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains(want) {
            match user.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    /// Types `keys` once the prompt shows, as a person would; returns the entry, the
    /// program side's local flags before and after, and what the user's side showed.
    fn type_keys(
        keys: &[u8],
    ) -> (
        Entry<Zeroizing<String>>,
        libc::tcflag_t,
        libc::tcflag_t,
        String,
    ) {
        let (mut user, mut program) = pty();
        let before = lflag(&program);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let e = read_hidden(&mut program, "Parameter");
            let _ = tx.send((e, lflag(&program)));
        });
        let mut shown = read_until(&mut user, "Parameter: ");
        user.write_all(keys).unwrap();
        // A prompt that never returns is a failure, not a hung test run.
        let (entry, after) = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("read_hidden did not return within 10 s");
        shown.push_str(&read_until(&mut user, "\n"));
        (entry, before, after, shown)
    }

    #[test]
    fn typed_text_is_returned_unechoed_with_the_terminal_restored() {
        let (e, before, after, shown) = type_keys(b"se\x7fcret\xc3\xa9\x7f!\r");
        assert_eq!(e, Entry::Typed(Zeroizing::new("scret!".to_string())));
        assert_ne!(before & libc::ECHO, 0, "a pty echoes by default");
        assert_eq!(after, before);
        assert!(!shown.contains("cret"), "{shown:?}");
    }

    #[test]
    fn ctrl_c_cancels_and_restores_the_terminal() {
        let (e, before, after, _) = type_keys(b"abc\x03");
        assert_eq!(e, Entry::Cancelled);
        assert_eq!(after, before);
        assert_ne!(after & libc::ISIG, 0);
    }

    #[test]
    fn ctrl_d_or_enter_on_nothing_is_nothing_given() {
        assert_eq!(type_keys(b"\x04").0, Entry::Nothing);
        assert_eq!(type_keys(b"\r").0, Entry::Nothing);
        assert_eq!(type_keys(b"ab\x15\r").0, Entry::Nothing);
        assert_eq!(
            type_keys(b"ab\x04").0,
            Entry::Typed(Zeroizing::new("ab".to_string()))
        );
    }

    #[test]
    fn not_a_terminal() {
        let mut f = File::open("/dev/null").unwrap();
        assert_eq!(read_hidden(&mut f, "P"), Entry::NoTerminal);
    }
}
