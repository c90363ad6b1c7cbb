//! The files sm-cli writes besides stdout (a recorded script, a JUnit report): checked
//! before the command touches the card, and written atomically with `atomic-write-file`
//! (temporary file in the same directory, fsync, rename, fsync of the directory), so a
//! reader sees the old file or the whole new one, never half of it (the durability
//! rule of the developers' guide).

use crate::errors::CliError;
use atomic_write_file::AtomicWriteFile;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A usage error unless the directory that will hold `path` exists; `option` names the
/// option that gave it (`--record`, `--junit`).
pub fn check_writable(option: &str, path: &Path) -> Result<(), CliError> {
    let dir = parent_dir(path);
    if dir.is_dir() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "{option} {}: directory {} does not exist",
        path.display(),
        dir.display()
    )))
}

/// Writes `bytes` to `path` atomically (module docs); `what` names the file in the
/// error (`the recording`, `the JUnit report`).
pub fn write(what: &str, path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let written = AtomicWriteFile::options().open(path).and_then(|mut f| {
        f.write_all(bytes)?;
        f.commit()
    });
    written.map_err(|e| {
        CliError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot write {what} {}: {e}", path.display()),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("sm-cli-output-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.apdu");
        write("x", &p, b"first\n").unwrap();
        write("x", &p, b"second\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second\n");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let e = write("the report", &dir.join("missing/x"), b"x").unwrap_err();
        assert!(e.to_string().starts_with("cannot write the report "), "{e}");
        assert_eq!(e.exit_code(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bare_names_live_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("x.apdu")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("/tmp/x")), PathBuf::from("/tmp"));
        let e = check_writable("--junit", Path::new("/nonexistent/r.xml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--junit /nonexistent/r.xml: directory /nonexistent does not exist"
        );
    }
}
