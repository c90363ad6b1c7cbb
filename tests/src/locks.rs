//! File locks (`flock(2)`) that keep system tests from sharing a vpcd slot, across the
//! threads of one test binary and across test binaries and processes.
//!
//! Two kinds, always taken in this order: the pcscd lock (shared by every test that uses
//! pcscd, exclusive for a test that restarts it), then one slot lock. Lock files live in
//! `<run dir>/locks/`; the kernel drops a lock when its holder dies.

use crate::pcsc_io::{self, Presence};
use crate::stack::Stack;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// A held lock; released on drop (closing the file).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

fn flock(file: &File, op: libc::c_int) -> std::io::Result<bool> {
    loop {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(err),
        }
    }
}

/// Blocks until the lock at `path` is held, shared or exclusive.
pub fn lock(path: &Path, exclusive: bool) -> std::io::Result<Lock> {
    let f = open(path)?;
    flock(
        &f,
        if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        },
    )?;
    Ok(Lock { _file: f })
}

/// Takes the lock at `path` exclusively if nobody holds it.
pub fn try_lock(path: &Path) -> std::io::Result<Option<Lock>> {
    let f = open(path)?;
    Ok(flock(&f, libc::LOCK_EX | libc::LOCK_NB)?.then_some(Lock { _file: f }))
}

/// The right to use some vpcd slots (and pcscd) for the life of a test.
#[derive(Debug)]
pub struct Lease {
    /// The slots, in the order they were taken.
    pub slots: Vec<u32>,
    /// Their reader names, same order.
    pub readers: Vec<String>,
    _slots: Vec<Lock>,
    _pcscd: Lock,
}

impl Lease {
    /// One free test slot with pcscd shared.
    pub fn one(stack: &Stack) -> anyhow::Result<Lease> {
        Lease::take(stack, 1, false)
    }

    /// `n` free test slots, with pcscd shared, or exclusive for tests that restart pcscd
    /// (they wait until no other test uses it). All `n` are taken at once or none, so two
    /// tests never hold half of what each needs. A slot that shows a card nobody here
    /// started is passed over. Waits up to 15 minutes.
    pub fn take(stack: &Stack, n: usize, exclusive_pcscd: bool) -> anyhow::Result<Lease> {
        let locks = stack.dir.join("locks");
        let pcscd = lock(&locks.join("pcscd.lock"), exclusive_pcscd)?;
        let free = stack.test_slots();
        anyhow::ensure!(
            free.len() >= n,
            "the test needs {n} free vpcd slots, the stack offers {} ({free:?})",
            free.len()
        );
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let mut slots = Vec::new();
            let mut held = Vec::new();
            for &slot in &free {
                if held.len() == n {
                    break;
                }
                if let Some(l) = try_lock(&locks.join(format!("slot-{slot}.lock")))? {
                    // A card we did not start (another program uses the slot): skip it.
                    if pcsc_io::presence(&stack.reader(slot)).ok() == Some(Presence::Card) {
                        continue;
                    }
                    slots.push(slot);
                    held.push(l);
                }
            }
            if held.len() == n {
                return Ok(Lease {
                    readers: slots.iter().map(|&s| stack.reader(s)).collect(),
                    slots,
                    _slots: held,
                    _pcscd: pcscd,
                });
            }
            drop(held);
            anyhow::ensure!(
                Instant::now() < deadline,
                "{n} test slots did not become free in 15 minutes"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The first slot.
    pub fn slot(&self) -> u32 {
        self.slots[0]
    }

    /// The first slot's reader.
    pub fn reader(&self) -> &str {
        &self.readers[0]
    }
}
