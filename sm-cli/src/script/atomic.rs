//! Writing an output file (a recorded script, a JUnit report) atomically: the bytes go
//! to a temporary file next to the target, which is fsynced and renamed over it, then
//! the directory is fsynced. A reader sees the old file or the whole new one, never
//! half of it (the durability rule of the developers' guide).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary name in the same directory (same file system, so rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    parent_dir(path).join(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` atomically (module docs). The temporary file is removed
/// when anything fails.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(parent_dir(path))?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("sm-cli-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.apdu");
        write(&p, b"first\n").unwrap();
        write(&p, b"second\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second\n");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(write(&dir.join("missing/x"), b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bare_names_live_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("x.apdu")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("/tmp/x")), PathBuf::from("/tmp"));
    }
}
