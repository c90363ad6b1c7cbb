//! The state file (`--state PATH`): JSON of [`PersistentState`], written atomically
//! (temp file in the same directory, fsync, rename, fsync of the directory) so that a
//! crash leaves either the old or the new state, never a torn one. A lock file keeps a
//! second card-sim off the same state. A file that does not parse is a startup error.

use super::persistent::PersistentState;
use super::storage::Storage;
use anyhow::{bail, Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// A state file.
#[derive(Debug)]
pub struct FileStorage {
    path: PathBuf,
    tmp: PathBuf,
    /// Held for the life of the storage: `flock` is released when it closes.
    _lock: File,
}

impl FileStorage {
    /// Opens (without reading) the state at `path`, taking an exclusive lock on
    /// `PATH.lock`. Fails if another process holds it.
    pub fn open(path: &Path) -> Result<FileStorage> {
        let name = path
            .file_name()
            .context("the state path names no file")?
            .to_string_lossy()
            .into_owned();
        let sibling = |suffix: &str| path.with_file_name(format!("{name}{suffix}"));
        let lock_path = sibling(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
        // SAFETY: flock on a file descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            bail!(
                "state file {} is in use by another card-sim (lock {} is held)",
                path.display(),
                lock_path.display()
            );
        }
        Ok(FileStorage {
            path: path.to_path_buf(),
            tmp: sibling(".tmp"),
            _lock: lock,
        })
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Storage for FileStorage {
    fn load(&self) -> Result<Option<PersistentState>> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()))
            }
        };
        PersistentState::from_json(&bytes)
            .map(Some)
            .with_context(|| {
                format!(
                    "state file {} is corrupt or of another version; it was left untouched \
                 (repair it, or move it away to start a new card)",
                    self.path.display()
                )
            })
    }

    fn save(&self, state: &PersistentState) -> Result<()> {
        let json = state.to_json();
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&self.tmp)
            .with_context(|| format!("cannot create {}", self.tmp.display()))?;
        f.write_all(&json)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", self.tmp.display()))?;
        drop(f);
        fs::rename(&self.tmp, &self.path).with_context(|| {
            format!(
                "cannot rename {} to {}",
                self.tmp.display(),
                self.path.display()
            )
        })?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync directory {}", dir.display()))?;
        Ok(())
    }
}
