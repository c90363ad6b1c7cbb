//! The one place where failures become plain-language messages and exit codes.
//!
//! Every error the CLI can report is a [`CliError`]. PC/SC errors are mapped by
//! [`from_pcsc`], status words keep their ISO 7816-4 meaning from `apdu::StatusWord`,
//! and ES10 result codes (SGP.22 §5.7) carry the meaning of the function that answered.
//!
//! Exit codes: each error names its row of the one table, [`crate::exit::ROWS`].
//!
//! Long because it is the one place where every error becomes a message and an exit
//! code (each rule once); a third of it is the tests of those messages.

use crate::exit::Exit;
use apdu::StatusWord;
use thiserror::Error;

/// Every failure the CLI reports.
#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("pcscd is not running: start it with `sudo systemctl start pcscd` or `pcscd -f`")]
    NoService,
    #[error(
        "no smart card reader found: start card-sim (vpcd registers 'Virtual PCD 00 00') \
         or plug in a reader, then check with `sm-cli readers`"
    )]
    NoReaders,
    #[error("no reader matches '{selector}'; readers are: {}", list(readers))]
    ReaderNotFound {
        selector: String,
        readers: Vec<String>,
    },
    #[error("reader '{0}' went away: check `sm-cli readers`")]
    ReaderGone(String),
    #[error("{}", ambiguous(selector, matches))]
    ReaderAmbiguous {
        selector: Option<String>,
        matches: Vec<(usize, String)>,
    },
    /// The string says where: "reader 'X'" or "any reader ('A', 'B')".
    #[error("no card in {0}: insert a card, or start card-sim for this slot")]
    NoCard(String),
    #[error(
        "the card in '{0}' is held exclusively by another program \
         (pySim-shell without --pcsc-shared, for example): close it and retry"
    )]
    CardBusy(String),
    /// Another program holds the card in a PC/SC transaction (another sm-cli flow, for
    /// example) and did not let it go within the wait.
    #[error(
        "the card in '{reader}' is in use by another program (it holds a PC/SC \
         transaction: another sm-cli flow, for example); waited {waited_secs} s: retry when \
         it is done, or wait longer with --timeout"
    )]
    CardInUse { reader: String, waited_secs: u64 },
    #[error("the card in '{reader}' did not answer ({detail}): remove and reinsert it, or restart card-sim")]
    CardMute { reader: String, detail: String },
    #[error("{what}: the card answered {sw}")]
    Status { what: String, sw: StatusWord },
    #[error("{what}: the card's answer could not be decoded ({detail})")]
    Malformed { what: String, detail: String },
    #[error("{0}")]
    NotConfirmed(String),
    #[error("the card has no ISD-R (SELECT answered {0}): it is not an eUICC")]
    NotEuicc(StatusWord),
    #[error("{function} failed: {meaning} (result {code})")]
    Es10 {
        function: &'static str,
        code: u8,
        meaning: String,
    },
    #[error("PC/SC error during {op}: {err} (0x{:08X})", *err as u32)]
    Pcsc { op: &'static str, err: pcsc::Error },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A refusal or failure of the device-change method's SM (exit codes 30-59).
    #[error(transparent)]
    Sm(#[from] crate::sm::service::SmError),
    /// The LPA could not reach the SM-DP+ (ES9+, SGP.22 §6.1).
    #[error("cannot reach the SM-DP+ at {address}: {detail}")]
    SmdpUnreachable { address: String, detail: String },
    /// The SM-DP+ refused an ES9+ function; `explanation` is the SGP.22 status code with
    /// its sentence (`apdu::sgp22::es9p::StatusCodeData::explain`).
    #[error("the SM-DP+ refused {function}: {explanation}")]
    SmdpRefused {
        function: String,
        subject_code: Option<String>,
        reason_code: Option<String>,
        explanation: String,
    },
    /// The SM-DP+'s answer to an ES9+ function cannot be used.
    #[error("the SM-DP+'s answer to {function} cannot be used: {detail}")]
    SmdpProtocol { function: String, detail: String },
    /// The remote SM (`--sm`) refused or failed: its refusal as it sent it (the kind,
    /// exit code and sentence of its `SmError`, or of its session layer), or an answer
    /// out of protocol (`sm_protocol`, exit 16).
    #[error("{message}")]
    SmRemote {
        kind: &'static str,
        exit_code: u8,
        message: String,
    },
    /// The remote SM (`--sm`) could not be reached (exit 14, as an SM-DP+).
    #[error("cannot reach the SM at {address}: {detail} (is `sm-cli smdp serve` running there?)")]
    SmUnreachable { address: String, detail: String },
}

fn list(readers: &[String]) -> String {
    if readers.is_empty() {
        return "none".into();
    }
    readers
        .iter()
        .enumerate()
        .map(|(i, r)| format!("[{i}] {r}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ambiguous(selector: &Option<String>, matches: &[(usize, String)]) -> String {
    let names = matches
        .iter()
        .map(|(i, r)| format!("[{i}] {r}"))
        .collect::<Vec<_>>()
        .join(", ");
    match selector {
        Some(s) => format!(
            "reader '{s}' matches several readers: {names}; give more of the name or the index with -r"
        ),
        None => format!(
            "several readers could be meant: {names}; choose one with -r/--reader or SM_CLI_READER"
        ),
    }
}

impl CliError {
    /// Why the process exits (its row of [`crate::exit::ROWS`]).
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Pcsc { .. } | CliError::Io(_) => Exit::Unexpected,
            CliError::Sm(e) => e.exit(),
            CliError::Usage(_) => Exit::Usage,
            CliError::NoService => Exit::NoService,
            CliError::NoReaders => Exit::NoReaders,
            CliError::ReaderNotFound { .. } | CliError::ReaderGone(_) => Exit::NoSuchReader,
            CliError::ReaderAmbiguous { .. } => Exit::AmbiguousReader,
            CliError::NoCard(_) => Exit::NoCard,
            CliError::CardBusy(_) | CliError::CardInUse { .. } => Exit::CardBusy,
            CliError::CardMute { .. } => Exit::CardMute,
            CliError::Status { .. } => Exit::ErrorStatus,
            CliError::Malformed { .. } => Exit::Undecodable,
            CliError::NotConfirmed(_) => Exit::NotConfirmed,
            CliError::NotEuicc(_) => Exit::NotEuicc,
            CliError::Es10 { code, .. } => Exit::es10(*code),
            CliError::SmdpUnreachable { .. } => Exit::SmdpUnreachable,
            CliError::SmdpRefused { .. } => Exit::SmdpRefused,
            CliError::SmdpProtocol { .. } => Exit::SmdpProtocol,
            // A code that is no row of ours (or 0) from a remote SM: an SM failure.
            CliError::SmRemote { exit_code, .. } => Exit::from_code(*exit_code)
                .filter(|e| *e != Exit::Ok)
                .unwrap_or(Exit::SmFailure),
            CliError::SmUnreachable { .. } => Exit::SmdpUnreachable,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.exit().code()
    }

    /// A stable machine-readable name, used in the `--json` error object.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::NoService => "pcscd_not_running",
            CliError::NoReaders => "no_readers",
            CliError::ReaderNotFound { .. } => "reader_not_found",
            CliError::ReaderGone(_) => "reader_gone",
            CliError::ReaderAmbiguous { .. } => "reader_ambiguous",
            CliError::NoCard(_) => "no_card",
            CliError::CardBusy(_) | CliError::CardInUse { .. } => "card_busy",
            CliError::CardMute { .. } => "card_mute",
            CliError::Status { .. } => "status_word",
            CliError::Malformed { .. } => "malformed_answer",
            CliError::NotConfirmed(_) => "not_confirmed",
            CliError::NotEuicc(_) => "not_an_euicc",
            CliError::Es10 { .. } => "es10_result",
            CliError::Pcsc { .. } => "pcsc",
            CliError::Io(_) => "io",
            CliError::Sm(e) => e.kind(),
            CliError::SmdpUnreachable { .. } => "smdp_unreachable",
            CliError::SmdpRefused { .. } => "smdp_refused",
            CliError::SmdpProtocol { .. } => "smdp_protocol",
            CliError::SmRemote { kind, .. } => kind,
            CliError::SmUnreachable { .. } => "sm_unreachable",
        }
    }

    /// No card in the named reader.
    pub fn no_card(reader: &str) -> CliError {
        CliError::NoCard(format!("reader '{reader}'"))
    }

    /// Shorthand for an undecodable answer.
    pub fn malformed(what: impl Into<String>, detail: impl std::fmt::Display) -> CliError {
        CliError::Malformed {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// True for the errors after which a new PC/SC context may help: pcscd restarted or
/// stopped under us (the old context handle is dead).
pub fn is_service_lost(err: pcsc::Error) -> bool {
    matches!(
        err,
        pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::InvalidHandle
    )
}

/// Maps a PC/SC error to a plain-language [`CliError`]. `reader` names the reader
/// involved, if any; `op` says what we were doing (for the errors we do not explain).
pub fn from_pcsc(err: pcsc::Error, reader: Option<&str>, op: &'static str) -> CliError {
    use pcsc::Error as E;
    let reader = reader.unwrap_or("?").to_string();
    match err {
        E::NoService | E::ServiceStopped => CliError::NoService,
        E::NoReadersAvailable => CliError::NoReaders,
        E::UnknownReader | E::ReaderUnavailable => CliError::ReaderGone(reader),
        E::NoSmartcard | E::RemovedCard => CliError::no_card(&reader),
        E::SharingViolation => CliError::CardBusy(reader),
        E::UnresponsiveCard | E::UnpoweredCard | E::Timeout | E::CommError | E::CommDataLost => {
            CliError::CardMute {
                reader,
                detail: err.to_string(),
            }
        }
        // pcsc-lite's answer when the reader driver could not exchange the APDU (vpcd
        // lost card-sim, a card pulled mid-command): the card did not answer.
        E::NotTransacted => CliError::CardMute {
            reader,
            detail: "the reader could not exchange the APDU with it; it was removed or stopped \
                     answering during the command"
                .into(),
        },
        E::ResetCard => CliError::CardMute {
            reader,
            detail: "the card was reset by another program; run the command again".into(),
        },
        E::ProtoMismatch => CliError::CardMute {
            reader,
            detail: "the card offers neither T=0 nor T=1".into(),
        },
        _ => CliError::Pcsc { op, err },
    }
}

/// The meaning of an ES10 result code, per function (SGP.22 §5.7). `tag` is the
/// function's top-level tag (`0xBF31` for EnableProfile, ...); the table is
/// `apdu::sgp22::es10::ResultCode::meaning`.
pub fn es10_meaning(tag: u32, code: u8) -> &'static str {
    apdu::sgp22::es10::ResultCode::new(tag, code).meaning()
}

/// The name of an ES10 function, for messages (names: `apdu::sgp22::es10::tags`).
pub fn es10_function(tag: u32) -> &'static str {
    apdu::sgp22::es10::tags::name(tag).unwrap_or("ES10 function")
}

/// The error for a non-zero ES10 result code.
pub fn es10_error(tag: u32, code: u8) -> CliError {
    CliError::Es10 {
        function: es10_function(tag),
        code,
        meaning: es10_meaning(tag, code).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_errors_get_plain_language_and_distinct_codes() {
        let e = from_pcsc(pcsc::Error::NoService, None, "establish");
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("sudo systemctl start pcscd"));
        let e = from_pcsc(
            pcsc::Error::NoSmartcard,
            Some("Virtual PCD 00 00"),
            "connect",
        );
        assert_eq!(e.exit_code(), 7);
        assert!(e
            .to_string()
            .contains("no card in reader 'Virtual PCD 00 00'"));
        assert_eq!(
            from_pcsc(pcsc::Error::RemovedCard, None, "x").exit_code(),
            7
        );
        let e = from_pcsc(pcsc::Error::SharingViolation, Some("R"), "connect");
        assert_eq!((e.exit_code(), e.kind()), (8, "card_busy"));
        assert_eq!(
            from_pcsc(pcsc::Error::UnresponsiveCard, None, "x").exit_code(),
            9
        );
        assert_eq!(
            from_pcsc(pcsc::Error::NoReadersAvailable, None, "x").exit_code(),
            4
        );
        let e = from_pcsc(pcsc::Error::InsufficientBuffer, None, "transmit");
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("during transmit"), "{e}");
        assert!(e.to_string().contains("0x80100008"), "{e}");
    }

    #[test]
    fn every_kind_has_its_own_exit_code() {
        let errs = [
            CliError::Usage("x".into()),
            CliError::NoService,
            CliError::NoReaders,
            CliError::ReaderNotFound {
                selector: "x".into(),
                readers: vec![],
            },
            CliError::ReaderAmbiguous {
                selector: None,
                matches: vec![],
            },
            CliError::NoCard("r".into()),
            CliError::CardBusy("r".into()),
            CliError::CardMute {
                reader: "r".into(),
                detail: "d".into(),
            },
            CliError::Status {
                what: "w".into(),
                sw: StatusWord::FileNotFound,
            },
            CliError::malformed("w", "d"),
            CliError::NotConfirmed("n".into()),
            CliError::NotEuicc(StatusWord::FileNotFound),
            es10_error(0xBF31, 2),
            es10_error(0xBF31, 127),
            CliError::SmdpUnreachable {
                address: "a".into(),
                detail: "d".into(),
            },
            CliError::SmdpRefused {
                function: "f".into(),
                subject_code: None,
                reason_code: None,
                explanation: "e".into(),
            },
            CliError::SmdpProtocol {
                function: "f".into(),
                detail: "d".into(),
            },
        ];
        let mut codes: Vec<u8> = errs.iter().map(|e| e.exit_code()).collect();
        assert!(!codes.contains(&0));
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n);
        // A card held in another program's transaction is a busy card too: same code
        // and kind as one held exclusively.
        let in_use = CliError::CardInUse {
            reader: "r".into(),
            waited_secs: 30,
        };
        let busy = CliError::CardBusy("r".into());
        assert_eq!(in_use.exit_code(), busy.exit_code());
        assert_eq!(in_use.kind(), busy.kind());
    }

    #[test]
    fn es10_results_read_per_function() {
        let e = es10_error(0xBF31, 2);
        assert_eq!(
            e.to_string(),
            "EnableProfile failed: profile not in disabled state (result 2)"
        );
        assert_eq!(e.exit_code(), 22);
        assert_eq!(es10_meaning(0xBF32, 2), "profile not in enabled state");
        assert_eq!(es10_meaning(0xBF34, 1), "nothing to delete");
        assert_eq!(es10_error(0xBF29, 127).exit_code(), 29);
    }

    #[test]
    fn reader_lists_in_messages() {
        let e = CliError::ReaderAmbiguous {
            selector: Some("Virtual".into()),
            matches: vec![
                (0, "Virtual PCD 00 00".into()),
                (1, "Virtual PCD 00 01".into()),
            ],
        };
        let s = e.to_string();
        assert!(
            s.contains("[0] Virtual PCD 00 00, [1] Virtual PCD 00 01"),
            "{s}"
        );
        let e = CliError::ReaderNotFound {
            selector: "foo".into(),
            readers: vec!["A".into()],
        };
        assert_eq!(e.to_string(), "no reader matches 'foo'; readers are: [0] A");
        let e = CliError::Status {
            what: "SELECT".into(),
            sw: StatusWord::FileNotFound,
        };
        assert_eq!(
            e.to_string(),
            "SELECT: the card answered 6A82: file or application not found"
        );
    }
}
