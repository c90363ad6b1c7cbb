//! The state file (`--state PATH`): JSON of [`PersistentState`], written atomically by
//! the crate `atomic-write-file` (a temporary file in the same directory, `fsync`,
//! `rename` over the state, `fsync` of the directory), so that a crash or `kill -9`
//! leaves either the old or the new state, never a torn one. A lock file keeps a second
//! card-sim off the same state; taking it removes the temporary file a killed card-sim
//! may have left. A file that does not parse is a startup error.

use super::error::StorageError;
use super::persistent::PersistentState;
use super::storage::Storage;
use atomic_write_file::unix::OpenOptionsExt as _;
use atomic_write_file::AtomicWriteFile;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The state file's permissions: it holds the profiles' keys and the identity key.
const MODE: u32 = 0o600;

/// A state file.
#[derive(Debug)]
pub struct FileStorage {
    path: PathBuf,
    /// Held for the life of the storage: `flock` is released when it closes.
    _lock: File,
}

impl FileStorage {
    /// Opens (without reading) the state at `path`, taking an exclusive lock on
    /// `PATH.lock`. Fails if another process holds it.
    pub fn open(path: &Path) -> Result<FileStorage, StorageError> {
        let name = path
            .file_name()
            .ok_or_else(|| StorageError::NoFileName(path.to_path_buf()))?
            .to_string_lossy()
            .into_owned();
        let lock_path = path.with_file_name(format!("{name}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(MODE)
            .open(&lock_path)
            .map_err(StorageError::io("open lock file", &lock_path))?;
        // SAFETY: flock on a file descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(StorageError::InUse {
                path: path.to_path_buf(),
                lock: lock_path,
            });
        }
        remove_stale_temporaries(path, &name);
        Ok(FileStorage {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }
}

/// Removes what a card-sim killed during a save left next to the state: the temporary
/// files of `atomic-write-file` (`.NAME.` and 6 letters or digits) and `NAME.tmp` of
/// card-sim versions before it. Only under the lock: no other process writes this
/// state, so none of them is a save in progress. Best effort: a file that cannot be
/// removed is only in the way of nothing.
fn remove_stale_temporaries(path: &Path, name: &str) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{name}.");
    let legacy = format!("{name}.tmp");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        let temporary = n.strip_prefix(&prefix).is_some_and(|suffix| {
            suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if temporary || n == legacy {
            if let Err(e) = fs::remove_file(entry.path()) {
                eprintln!("card-sim: cannot remove the stale temporary file {n}: {e}");
            }
        }
    }
}

impl Storage for FileStorage {
    fn load(&self) -> Result<Option<PersistentState>, StorageError> {
        // The file holds the card's secrets: the bytes read are wiped when dropped.
        let bytes = match fs::read(&self.path) {
            Ok(b) => Zeroizing::new(b),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io("read", &self.path)(e)),
        };
        PersistentState::from_json(&bytes)
            .map(Some)
            .map_err(|cause| StorageError::Corrupt {
                path: self.path.clone(),
                cause,
            })
    }

    /// Serializes first (an error writes nothing), then writes and commits. Dropping an
    /// uncommitted [`AtomicWriteFile`] removes its temporary file.
    fn save(&self, state: &PersistentState) -> Result<(), StorageError> {
        let json = state.to_json_zeroizing()?;
        let mut f = AtomicWriteFile::options()
            .mode(MODE)
            .preserve_mode(false)
            .open(&self.path)
            .map_err(StorageError::io("create a temporary file for", &self.path))?;
        f.write_all(&json)
            .map_err(StorageError::io("write", &self.path))?;
        f.commit()
            .map_err(StorageError::io("commit (fsync and rename)", &self.path))
    }
}
