//! `--record FILE` (a global option): every APDU exchange of the command, whatever the
//! command, is written as a replayable script (docs/script-format.md).
//!
//! When `--record` is given, [`Recorder::start`] makes the recorder and the run context
//! installs it on every reader session it opens (`reader::Tap`); that is the lowest
//! layer every command goes through, so GET RESPONSE rounds and `6Cxx` resends are
//! recorded as they went over the wire and replay with `auto-get-response off` (the
//! default) byte for byte, under scriptor too.
//!
//! - Header comments ([`header`]): sm-cli version, UTC date, the command, reader and
//!   ATR; for a card that looks like card-sim (its default ATR, an SGP.26 test EID) a
//!   hint to replay against a fresh `card-sim --seed N`, since random values
//!   (challenges) only repeat with the same seed.
//! - Each command line in hex with `#<` and the actual answer ([`recording`]).
//! - Secrets, as the sender marked them with `Secrecy` (`reader::trace`), found with the
//!   `apdu` decoders ([`apdu_script::mask`], the rule card-sim's recorder shares): the
//!   command is written after `#! secret` with its data field replaced by
//!   `${SECRET_n:len}`, so the replay skips it unless `--var SECRET_n=HEX` is given; a
//!   secret answer is written with every data byte masked (`xx`), so only its length and
//!   SW are checked. The device-change requests carrying the salt, the KDF parameters or
//!   the sealed profile are secret, and so are BF6A's answers (the derived public key and
//!   its signatures): with them a recording would be enough to guess the parameter
//!   offline (issue 10, finding 4). A secret TERMINAL RESPONSE (the typed
//!   key-generation parameter, ETSI TS 102 223 §6.8) is written in a fixed form,
//!   `80140000${SECRET_n}`: Lc and the text's TLV length would give the parameter's
//!   length away. Secret bytes are never written, and never kept.
//! - The file is written atomically when the command ends ([`Recorder::finish`]), also
//!   when it failed (a closing comment names the error), so failed sessions can be
//!   replayed; with mode 0600 whatever the umask, also over an existing file (the
//!   temporary file is created 0600 and renamed over it).

pub mod header;
pub mod recording;

pub use header::{card_sim_hint, CARD_SIM_ATR};
pub use recording::Recording;

use crate::errors::CliError;
use crate::reader::{Secrecy, Tap};
use crate::script::output_file;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Where the recording goes and what it holds until [`Recorder::finish`] takes it.
struct Active {
    path: PathBuf,
    rec: Recording,
}

/// One command's recording, shared by the sessions it opens and the `--timeout`
/// handler (which writes it before exiting). Cloning shares it.
#[derive(Clone)]
pub struct Recorder {
    active: Arc<Mutex<Option<Active>>>,
}

impl Recorder {
    /// Starts recording `command` (its subcommand words, without arguments, which may
    /// hold secrets) into `path`. Fails before anything is sent when the file cannot be
    /// written there (no such directory, or `path` is a directory).
    pub fn start(path: &Path, command: &str) -> Result<Recorder, CliError> {
        output_file::check_writable("--record", path)?;
        if path.is_dir() {
            return Err(CliError::Usage(format!(
                "--record {}: is a directory, give a file name",
                path.display()
            )));
        }
        Ok(Recorder {
            active: Arc::new(Mutex::new(Some(Active {
                path: path.to_path_buf(),
                rec: Recording::new(command),
            }))),
        })
    }

    /// This recorder as a session observer.
    pub fn tap(&self) -> Arc<dyn Tap> {
        Arc::new(self.clone())
    }

    fn feed(&self, f: impl FnOnce(&mut Recording)) {
        let mut a = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = a.as_mut() {
            f(&mut a.rec);
        }
    }

    /// Ends the recording and writes the file atomically; `error` is the command's
    /// error, noted in a closing comment. The first call writes; later calls (the
    /// command's end after the `--timeout` handler, or the other way round) do nothing.
    pub fn finish(&self, error: Option<&CliError>) -> Result<(), CliError> {
        let taken = self
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut a) = taken else {
            return Ok(());
        };
        if let Some(e) = error {
            a.rec.set_outcome(format!(
                "sm-cli ended with an error (status {}): {e}",
                e.exit_code()
            ));
        }
        let text = a.rec.to_text()?;
        write_private(&a.path, text.as_bytes())
    }
}

/// Writes the recording atomically (as `output_file::write` does) with mode 0600: the
/// temporary file is created 0600 and the mode of a file it replaces is not kept.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use atomic_write_file::unix::OpenOptionsExt as _;
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let written = atomic_write_file::OpenOptions::new()
        .mode(0o600)
        .preserve_mode(false)
        .open(path)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.commit()
        });
    written.map_err(|e| {
        CliError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot write the recording {}: {e}", path.display()),
        ))
    })
}

impl Tap for Recorder {
    fn connected(&self, reader: &str, atr: Option<&[u8]>) {
        self.feed(|r| r.connected(reader, atr));
    }

    fn exchanged(&self, apdu: &[u8], answer: &[u8], secrecy: Secrecy) {
        self.feed(|r| r.exchange(apdu, answer, secrecy));
    }

    fn failed(&self, apdu: &[u8], secrecy: Secrecy, error: &CliError) {
        self.feed(|r| r.failed(apdu, secrecy, &error.to_string()));
    }

    fn reset(&self, cold: bool) {
        self.feed(|r| r.reset(cold));
    }

    fn powered_off(&self) {
        self.feed(Recording::power_off);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn recordings_are_0600_also_over_an_existing_file() {
        let dir = std::env::temp_dir().join(format!("sm-cli-rec-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.apdu");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        Recorder::start(&p, "info").unwrap().finish(None).unwrap();
        assert_eq!(mode(&p), 0o600);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        Recorder::start(&p, "info").unwrap().finish(None).unwrap();
        assert_eq!(
            mode(&p),
            0o600,
            "an existing 0644 file is replaced by a 0600 one"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
