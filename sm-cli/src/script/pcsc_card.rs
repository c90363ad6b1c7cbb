//! The card of `sm-cli script run`: a PC/SC [`Session`] on the chosen reader, with the
//! directives of docs/script-format.md mapped onto PC/SC:
//!
//! - `reset` / `#! reset warm`: `SCardReconnect(SCARD_RESET_CARD)`; `#! reset cold`:
//!   `SCardReconnect(SCARD_UNPOWER_CARD)`;
//! - `#! power off`: `SCardDisconnect(SCARD_UNPOWER_CARD)`; `#! power on`: connect again
//!   to the same reader (pcscd powers the card up); a command while off is an error;
//! - `#! reader N` / `#! reader "text"`: reader N of pcscd's list (from 0), or the first
//!   whose name contains `text` (case-sensitive), connected like every sm-cli command.
//!
//! Each file starts on the reader chosen with `-r` (or the only card), powered; a file
//! that names its reader before it touches the card needs no `-r`.

use crate::context::App;
use crate::errors::CliError;
use crate::reader::{CardLink, Pcsc, Secrecy, Session};
use crate::script::engine::ScriptCard;
use apdu_script::{ReaderRef, ResetKind};

/// The card a script talks to (module docs).
pub struct PcscCard<'a> {
    app: &'a App,
    /// The reader `-r` chose (exact name), once a file needed it.
    default_reader: Option<String>,
    /// The current reader (exact name); `None` before the first file that needs the
    /// default reader has touched the card.
    reader: Option<String>,
    /// `None` while powered off or not yet connected.
    session: Option<Session>,
    /// Powered off by `#! power off`.
    off: bool,
}

impl<'a> PcscCard<'a> {
    /// The card for a run. With `default_needed` (the first file does not name its
    /// reader before it touches the card) it connects at once to the reader chosen with
    /// `-r` (or the only card), as every command does, so an unreachable card ends the
    /// run with the usual exit codes before anything is sent. Without it, a run whose
    /// scripts name their readers needs no `-r`.
    pub fn open(app: &'a App, default_needed: bool) -> Result<PcscCard<'a>, CliError> {
        let mut card = PcscCard {
            app,
            default_reader: None,
            reader: None,
            session: None,
            off: false,
        };
        if default_needed {
            card.connect_default()?;
        }
        Ok(card)
    }

    /// Before each file after the first: back to the default reader, powered; when the
    /// file names its own reader first (`names_reader_first`), only powered.
    pub fn begin_file(&mut self, names_reader_first: bool) -> Result<(), CliError> {
        if names_reader_first {
            self.off = false;
            return Ok(());
        }
        match &self.default_reader {
            Some(d) if self.session.is_some() && self.reader.as_ref() == Some(d) => {
                self.off = false;
                Ok(())
            }
            _ => self.connect_default(),
        }
    }

    /// Disconnects, leaving the card powered and as it is.
    pub fn close(mut self) -> Result<(), CliError> {
        match self.session.take() {
            Some(s) => s.close(),
            None => Ok(()),
        }
    }

    /// Connects to the reader `-r` names (chosen once, then by its exact name).
    fn connect_default(&mut self) -> Result<(), CliError> {
        if let Some(name) = self.default_reader.clone() {
            return self.connect_to(&name);
        }
        if let Some(old) = self.session.take() {
            old.close()?;
        }
        let session = self.app.connect()?;
        let name = session.reader().to_string();
        self.default_reader = Some(name.clone());
        self.reader = Some(name);
        self.session = Some(session);
        self.off = false;
        Ok(())
    }

    /// Connects to the reader of this exact name (the selection rules of `-r` prefer an
    /// exact name), replacing the current session.
    fn connect_to(&mut self, name: &str) -> Result<(), CliError> {
        if let Some(old) = self.session.take() {
            old.close()?;
        }
        let session = self.app.connect_to(Some(name))?;
        self.reader = Some(session.reader().to_string());
        self.session = Some(session);
        self.off = false;
        Ok(())
    }

    /// The session, connecting to the current (or default) reader first if nothing
    /// has yet; an error while powered off.
    fn session(&mut self) -> Result<&mut Session, CliError> {
        if self.off {
            let reader = self.reader.as_deref().unwrap_or("the reader");
            return Err(CliError::Usage(format!(
                "the card in '{reader}' is powered off ('#! power off'); '#! power on' first"
            )));
        }
        if self.session.is_none() {
            match self.reader.clone() {
                Some(name) => self.connect_to(&name)?,
                None => self.connect_default()?,
            }
        }
        self.session
            .as_mut()
            .ok_or_else(|| CliError::Usage("no card connected".into()))
    }
}

impl CardLink for PcscCard<'_> {
    fn transmit_raw(&mut self, apdu: &[u8], secrecy: Secrecy) -> Result<Vec<u8>, CliError> {
        self.session()?.transmit_raw(apdu, secrecy)
    }
}

/// The reader a `#! reader` directive names, from pcscd's list.
pub fn find_reader(names: &[String], r: &ReaderRef) -> Result<String, CliError> {
    let found = match r {
        ReaderRef::Index(i) => names.get(*i),
        ReaderRef::Name(part) => names.iter().find(|n| n.contains(part.as_str())),
    };
    found.cloned().ok_or_else(|| CliError::ReaderNotFound {
        selector: r.to_string(),
        readers: names.to_vec(),
    })
}

impl ScriptCard for PcscCard<'_> {
    fn reset(&mut self, kind: ResetKind) -> Result<(), CliError> {
        self.session()?.reset(kind == ResetKind::Cold)
    }

    fn power_off(&mut self) -> Result<(), CliError> {
        if self.off {
            return Ok(()); // already off
        }
        self.session()?;
        self.off = true;
        match self.session.take() {
            Some(s) => s.power_off(),
            None => Ok(()),
        }
    }

    fn power_on(&mut self) -> Result<(), CliError> {
        if !self.off && self.session.is_some() {
            return Ok(()); // already on
        }
        self.off = false;
        self.session().map(|_| ())
    }

    fn use_reader(&mut self, r: &ReaderRef) -> Result<String, CliError> {
        let names: Vec<String> = Pcsc::establish()?
            .readers()?
            .into_iter()
            .map(|i| i.name)
            .collect();
        let name = find_reader(&names, r)?;
        if self.reader.as_ref() != Some(&name) || self.session.is_none() || self.off {
            self.connect_to(&name)?;
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_directives_pick_by_index_or_first_substring() {
        let names = vec![
            "Virtual PCD 00 00".to_string(),
            "Virtual PCD 00 01".to_string(),
        ];
        assert_eq!(
            find_reader(&names, &ReaderRef::Index(1)).unwrap(),
            "Virtual PCD 00 01"
        );
        assert_eq!(
            find_reader(&names, &ReaderRef::Name("PCD 00".into())).unwrap(),
            "Virtual PCD 00 00"
        );
        // Case-sensitive, unlike -r.
        assert!(find_reader(&names, &ReaderRef::Name("pcd".into())).is_err());
        let e = find_reader(&names, &ReaderRef::Index(2)).unwrap_err();
        assert_eq!(e.kind(), "reader_not_found");
    }
}
