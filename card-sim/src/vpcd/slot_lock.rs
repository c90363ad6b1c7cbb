//! One card-sim per vpcd slot (issue 10, "Rough edges a new user hit"): the lock a
//! card-sim takes on its slot before it touches any state, and who holds it when it is
//! taken.
//!
//! Why: vpcd serves one client per reader port and listens with a backlog of 0
//! (vsmartcard `vpcd.c`), so a second card-sim's TCP connect still succeeds, through the
//! listen queue, and then never gets a poll; it used to say "connected" and wait for
//! good. With the lock it says at once which process holds the slot and exits.
//!
//! The lock is a listening Unix socket in Linux's abstract namespace (unix(7)), named after
//! the slot's port ([`lock_name`]). Compared with a lock file under a runtime directory it
//! has the same release rule (the kernel frees it when the holder dies, SIGKILL included,
//! so a card restarted at once finds it free) and no file to own, and it fits the port it
//! stands for: both are per network namespace and shared by all users, so card-sims of two
//! users, or with two different `$XDG_RUNTIME_DIR`s, still see each other. The taker
//! learns the holder's PID and user from the kernel (`SO_PEERCRED` on a connection to
//! the lock), not from anything the holder wrote. The holder accepts and drops those
//! connections on a thread of its own, so probes never fill its queue.
//!
//! Off Linux the lock is a no-op: [`SlotLock::acquire`] always succeeds.

use std::fmt;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};

/// The lock's name for the vpcd address `addr` (`HOST:PORT`), or `None` when `addr` does
/// not resolve (then there is nothing to lock; connecting fails too). Loopback and
/// unspecified hosts name the local vpcd, whatever their spelling, so they share a lock
/// per port; any other host locks its own address.
pub fn lock_name(addr: &str) -> Option<String> {
    let a = addr.to_socket_addrs().ok()?.next()?;
    let ip = a.ip().to_canonical();
    Some(if ip.is_loopback() || ip.is_unspecified() {
        format!("veuicc/card-sim/vpcd/{}", a.port())
    } else {
        match ip {
            IpAddr::V4(v4) => format!("veuicc/card-sim/vpcd/{v4}/{}", a.port()),
            IpAddr::V6(v6) => format!("veuicc/card-sim/vpcd/[{v6}]/{}", a.port()),
        }
    })
}

/// The process that holds a slot's lock, as far as the kernel tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `None` when it is not visible (another PID namespace, or it was leaving).
    pub pid: Option<u32>,
    /// Its user, when it is not ours.
    pub other_uid: Option<u32>,
    /// Its command line, shortened.
    pub cmdline: Option<String>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "card-sim PID {pid}")?,
            None => write!(f, "another card-sim (its PID is not visible here)")?,
        }
        if let Some(uid) = self.other_uid {
            write!(f, " of user {uid}")?;
        }
        if let Some(c) = &self.cmdline {
            write!(f, " (`{c}`)")?;
        }
        Ok(())
    }
}

/// Why [`SlotLock::acquire`] failed.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds the slot.
    Taken(Holder),
    /// The lock could not be made or probed.
    Io(io::Error),
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Taken(h) => write!(f, "taken by {h}"),
            LockError::Io(e) => write!(f, "cannot take the slot lock: {e}"),
        }
    }
}

impl std::error::Error for LockError {}

/// The held lock; released when dropped or when the process ends.
#[derive(Debug)]
pub struct SlotLock {
    #[cfg(target_os = "linux")]
    inner: linux::Held,
}

impl SlotLock {
    /// Takes the lock `name` (from [`lock_name`]), or says who holds it.
    pub fn acquire(name: &str) -> Result<SlotLock, LockError> {
        #[cfg(target_os = "linux")]
        {
            linux::acquire(name).map(|inner| SlotLock { inner })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            Ok(SlotLock {})
        }
    }

    /// The lock's name.
    #[cfg(target_os = "linux")]
    pub fn name(&self) -> &str {
        &self.inner.name
    }
}

/// A process's command line (`/proc/PID/cmdline`), arguments joined by spaces, at most
/// `max` characters (then ending in `...`).
pub fn cmdline(pid: u32, max: usize) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let joined = text
        .split('\0')
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if joined.is_empty() {
        return None;
    }
    if joined.chars().count() <= max {
        return Some(joined);
    }
    let mut short: String = joined.chars().take(max.saturating_sub(3)).collect();
    short.push_str("...");
    Some(short)
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{cmdline, Holder, LockError};
    use std::io::{self, ErrorKind};
    use std::os::fd::AsRawFd;
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    /// How often to look again when the holder is bound but not listening yet (or
    /// leaving), and how many times.
    const RETRY: Duration = Duration::from_millis(20);
    const TRIES: u32 = 25;

    #[derive(Debug)]
    pub struct Held {
        pub name: String,
        stop: Arc<AtomicBool>,
        thread: Option<thread::JoinHandle<()>>,
    }

    pub fn acquire(name: &str) -> Result<Held, LockError> {
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(LockError::Io)?;
        for _ in 0..TRIES {
            match UnixListener::bind_addr(&addr) {
                Ok(listener) => return hold(name, listener),
                Err(e) if e.kind() == ErrorKind::AddrInUse => {}
                Err(e) => return Err(LockError::Io(e)),
            }
            match UnixStream::connect_addr(&addr) {
                Ok(s) => return Err(LockError::Taken(holder(&s))),
                // Bound but not listening yet, or just released: look again.
                Err(e)
                    if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::NotFound) =>
                {
                    thread::sleep(RETRY)
                }
                Err(e) => return Err(LockError::Io(e)),
            }
        }
        Err(LockError::Taken(Holder {
            pid: None,
            other_uid: None,
            cmdline: None,
        }))
    }

    /// Keeps the listener and drops every probe at once, so they never fill its queue.
    fn hold(name: &str, listener: UnixListener) -> Result<Held, LockError> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name("slot-lock".into())
                .spawn(move || {
                    for probe in listener.incoming() {
                        drop(probe);
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                    }
                })
                .map_err(LockError::Io)?
        };
        Ok(Held {
            name: name.to_string(),
            stop,
            thread: Some(thread),
        })
    }

    impl Drop for Held {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so that it sees `stop` and closes the listener.
            let woke = SocketAddr::from_abstract_name(self.name.as_bytes())
                .and_then(|a| UnixStream::connect_addr(&a))
                .is_ok();
            if let (true, Some(t)) = (woke, self.thread.take()) {
                let _ = t.join();
            }
        }
    }

    /// The listener's process, from the credentials the kernel recorded when it listened.
    fn holder(s: &UnixStream) -> Holder {
        let cred = peer_cred(s).ok();
        let pid = cred
            .map(|c| c.pid)
            .filter(|&p| p > 0)
            .and_then(|p| u32::try_from(p).ok());
        // SAFETY: getuid has no preconditions and cannot fail.
        let me = unsafe { libc::getuid() };
        Holder {
            pid,
            other_uid: cred.map(|c| c.uid).filter(|&u| u != me),
            cmdline: pid.and_then(|p| cmdline(p, 160)),
        }
    }

    fn peer_cred(s: &UnixStream) -> io::Result<libc::ucred> {
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: getsockopt on a socket we own, writing at most `len` bytes into a live
        // ucred; `len` is its size.
        let rc = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            Ok(cred)
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A lock name of this test process only, so real card-sims are never disturbed.
    fn test_name() -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        format!(
            "veuicc/card-sim/unit-test/{}/{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        )
    }

    #[test]
    fn every_spelling_of_the_local_vpcd_shares_a_lock_per_port() {
        let slot0 = lock_name("127.0.0.1:35963");
        assert_eq!(slot0.as_deref(), Some("veuicc/card-sim/vpcd/35963"));
        for other in [
            "localhost:35963",
            "[::1]:35963",
            "0.0.0.0:35963",
            "127.0.0.2:35963",
        ] {
            assert_eq!(lock_name(other), slot0, "{other}");
        }
        assert_ne!(lock_name("127.0.0.1:35964"), slot0);
        assert_eq!(
            lock_name("10.1.2.3:35963").as_deref(),
            Some("veuicc/card-sim/vpcd/10.1.2.3/35963")
        );
        assert_eq!(lock_name("no port"), None);
    }

    #[test]
    fn a_taken_lock_names_its_holder_and_is_free_again_once_dropped() {
        let name = test_name();
        let held = SlotLock::acquire(&name).unwrap();
        assert_eq!(held.name(), name);
        match SlotLock::acquire(&name) {
            Err(LockError::Taken(h)) => {
                assert_eq!(h.pid, Some(std::process::id()));
                assert_eq!(h.other_uid, None);
                let exe = std::env::args().next().unwrap();
                assert!(
                    h.cmdline.as_deref().is_some_and(|c| c.starts_with(&exe)),
                    "{h:?}"
                );
                assert!(h
                    .to_string()
                    .starts_with(&format!("card-sim PID {} (`", std::process::id())));
            }
            other => panic!("the second acquire got {other:?}"),
        }
        drop(held);
        let again = SlotLock::acquire(&name);
        assert!(again.is_ok(), "{again:?}");
    }

    #[test]
    fn probes_do_not_fill_the_holders_queue() {
        let name = test_name();
        let _held = SlotLock::acquire(&name).unwrap();
        // More probes than the holder's listen backlog (std asks for the most the kernel
        // allows, net.core.somaxconn): without the accept thread the probes after that
        // would block in connect, and this test would time out.
        let backlog: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096);
        let probes = backlog.min(65_536) + 100;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let taken = (0..probes)
                .filter(|_| matches!(SlotLock::acquire(&name), Err(LockError::Taken(_))))
                .count();
            let _ = tx.send(taken);
        });
        let taken = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the probes blocked: the holder's queue filled up");
        assert_eq!(taken, probes);
    }

    #[test]
    fn command_lines_are_joined_and_shortened() {
        let me = std::process::id();
        let full = cmdline(me, 10_000).unwrap();
        assert!(!full.contains('\0'));
        let short = cmdline(me, 8).unwrap();
        assert!(
            short.chars().count() <= 8 && short.ends_with("..."),
            "{short}"
        );
        assert_eq!(cmdline(u32::MAX, 100), None);
    }
}
