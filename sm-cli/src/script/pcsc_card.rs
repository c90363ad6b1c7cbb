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
//! Each file starts on the reader chosen with `-r` (or the only card), powered.

use crate::context::App;
use crate::errors::CliError;
use crate::reader::{CardLink, Pcsc, Secrecy, Session};
use crate::script::engine::ScriptCard;
use apdu_script::{ReaderRef, ResetKind};

/// The card a script talks to (module docs).
pub struct PcscCard<'a> {
    app: &'a App,
    /// The reader `-r` chose at the start (exact name).
    default_reader: String,
    /// The current reader (exact name).
    reader: String,
    /// `None` while powered off.
    session: Option<Session>,
}

impl<'a> PcscCard<'a> {
    /// Connects to the reader chosen with `-r` (or the only card), as every command does.
    pub fn open(app: &'a App) -> Result<PcscCard<'a>, CliError> {
        let session = app.connect()?;
        let reader = session.reader().to_string();
        Ok(PcscCard {
            app,
            default_reader: reader.clone(),
            reader,
            session: Some(session),
        })
    }

    /// Back to the default reader, powered (called before each file after the first).
    pub fn begin_file(&mut self) -> Result<(), CliError> {
        if self.session.is_some() && self.reader == self.default_reader {
            return Ok(());
        }
        let name = self.default_reader.clone();
        self.connect_to(&name)
    }

    /// Disconnects, leaving the card powered and as it is.
    pub fn close(mut self) -> Result<(), CliError> {
        match self.session.take() {
            Some(s) => s.close(),
            None => Ok(()),
        }
    }

    /// Connects to the reader of this exact name (the selection rules of `-r` prefer an
    /// exact name), replacing the current session.
    fn connect_to(&mut self, name: &str) -> Result<(), CliError> {
        if let Some(old) = self.session.take() {
            old.close()?;
        }
        let session = self.app.connect_to(Some(name))?;
        self.reader = session.reader().to_string();
        self.session = Some(session);
        Ok(())
    }

    fn session(&mut self) -> Result<&mut Session, CliError> {
        let reader = &self.reader;
        self.session.as_mut().ok_or_else(|| {
            CliError::Usage(format!(
                "the card in '{reader}' is powered off ('#! power off'); '#! power on' first"
            ))
        })
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
        match self.session.take() {
            Some(s) => s.power_off(),
            None => Ok(()), // already off
        }
    }

    fn power_on(&mut self) -> Result<(), CliError> {
        if self.session.is_some() {
            return Ok(()); // already on
        }
        let name = self.reader.clone();
        self.connect_to(&name)
    }

    fn use_reader(&mut self, r: &ReaderRef) -> Result<String, CliError> {
        let names: Vec<String> = Pcsc::establish()?
            .readers()?
            .into_iter()
            .map(|i| i.name)
            .collect();
        let name = find_reader(&names, r)?;
        if name != self.reader || self.session.is_none() {
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
