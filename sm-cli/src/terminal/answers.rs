//! Where the terminal's answers to the card's questions come from (issue 3, "terminal
//! (in sm-cli)"): the key-generation parameter from `--param-stdin` (one line),
//! `--param-file PATH` (its first line) or a hidden prompt; a new parameter (flows A and
//! C) likewise, prompted twice (entry and confirmation); the OP ID from `--op-id` or a
//! visible prompt; the IMEI from `--imei` / `SM_CLI_IMEI`, checked (15 digits, Luhn).
//!
//! Parameters are read before the card is touched, so a missing file or a parameter of
//! the wrong length is a usage error, not a failed authentication. They live in
//! zeroizing buffers and are never printed.

use super::prompt::Prompter;
use crate::errors::CliError;
use apdu::cat::imei_is_valid;
use apdu::crypto::kdf::{MAX_PARAMETER_LEN, MIN_PARAMETER_LEN};
use apdu::crypto::Parameter;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Largest parameter file read (its first line is the parameter).
const MAX_FILE: u64 = 4096;

/// Where a parameter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSource {
    Stdin,
    File(PathBuf),
}

impl ParamSource {
    /// From the `--X-stdin` / `--X-file` pair of options.
    pub fn from_options(stdin: bool, file: Option<PathBuf>) -> Option<ParamSource> {
        match (stdin, file) {
            (true, _) => Some(ParamSource::Stdin),
            (false, Some(p)) => Some(ParamSource::File(p)),
            (false, None) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            ParamSource::Stdin => "stdin".into(),
            ParamSource::File(p) => format!("file {}", p.display()),
        }
    }
}

/// A parameter given ahead of time, checked and zeroized on drop.
pub struct GivenParameter {
    text: Zeroizing<String>,
    source: String,
}

impl std::fmt::Debug for GivenParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GivenParameter(<redacted>, from {})", self.source)
    }
}

impl GivenParameter {
    /// Checks the text as the card will (length, no control characters).
    pub fn new(text: Zeroizing<String>, source: &str) -> Result<GivenParameter, CliError> {
        Parameter::new(Zeroizing::new(text.as_str().to_owned())).map_err(|e| {
            CliError::Usage(format!(
                "the key-generation parameter from {source} is not usable ({e}): it must have \
                 {MIN_PARAMETER_LEN} to {MAX_PARAMETER_LEN} characters and no control characters"
            ))
        })?;
        Ok(GivenParameter {
            text,
            source: source.to_string(),
        })
    }

    pub fn expose(&self) -> &str {
        &self.text
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Strips one line ending.
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or("");
    line.strip_suffix('\r').unwrap_or(line)
}

/// Reads one line of `r` into a zeroizing buffer.
fn read_line(r: &mut impl BufRead, what: &str) -> Result<Zeroizing<String>, CliError> {
    let mut buf = Zeroizing::new(String::with_capacity(256));
    let n = r
        .read_line(&mut buf)
        .map_err(|e| CliError::Usage(format!("cannot read the {what} from stdin: {e}")))?;
    if n == 0 {
        return Err(CliError::Usage(format!(
            "stdin ended before the {what} (give one line per parameter)"
        )));
    }
    Ok(Zeroizing::new(first_line(&buf).to_owned()))
}

fn read_file(path: &Path, what: &str) -> Result<Zeroizing<String>, CliError> {
    let bad = |why: String| {
        CliError::Usage(format!(
            "cannot read the {what} file {}: {why}",
            path.display()
        ))
    };
    let f = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_FILE as usize + 1));
    f.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(bad(format!("larger than {MAX_FILE} bytes")));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    Ok(Zeroizing::new(first_line(text).to_owned()))
}

/// Reads one secret line (`what`, e.g. "confirmation code") from `src`: the first line of
/// stdin or of a file, so that it never shows on a command line (`ps`).
pub fn read_given(
    src: &ParamSource,
    what: &str,
    stdin: &mut impl BufRead,
) -> Result<Zeroizing<String>, CliError> {
    match src {
        ParamSource::Stdin => read_line(stdin, what),
        ParamSource::File(p) => read_file(p, what),
    }
}

/// Reads the parameters given ahead of time: `current` (the one the user already has)
/// and `new` (flows A and C). When both come from stdin, the first line is the current
/// parameter and the second the new one.
pub fn read_parameters(
    current: Option<&ParamSource>,
    new: Option<&ParamSource>,
    stdin: &mut impl BufRead,
) -> Result<(Option<GivenParameter>, Option<GivenParameter>), CliError> {
    let mut read = |src: Option<&ParamSource>, what: &str| -> Result<_, CliError> {
        match src {
            None => Ok(None),
            Some(s) => {
                let text = match s {
                    ParamSource::Stdin => read_line(stdin, what)?,
                    ParamSource::File(p) => read_file(p, "parameter")?,
                };
                GivenParameter::new(text, &s.describe()).map(Some)
            }
        }
    };
    let c = read(current, "key-generation parameter")?;
    let n = read(new, "new key-generation parameter")?;
    Ok((c, n))
}

/// Checks an IMEI given by the user.
pub fn check_imei(imei: &str) -> Result<(), CliError> {
    if imei_is_valid(imei) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "'{imei}' is not a valid IMEI: 15 digits, the last a Luhn check digit \
             (e.g. 490154203237518)"
        )))
    }
}

/// Everything the terminal may answer with.
pub struct Answers {
    pub op_id: Option<String>,
    pub imei: Option<String>,
    pub current: Option<GivenParameter>,
    pub new: Option<GivenParameter>,
    pub prompter: Box<dyn Prompter>,
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers")
            .field("op_id", &self.op_id)
            .field("imei", &self.imei)
            .field("current", &self.current)
            .field("new", &self.new)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_gives_current_then_new() {
        let mut input = std::io::Cursor::new(b"123456\r\nabcdefgh\n".to_vec());
        let (c, n) = read_parameters(
            Some(&ParamSource::Stdin),
            Some(&ParamSource::Stdin),
            &mut input,
        )
        .unwrap();
        assert_eq!(c.unwrap().expose(), "123456");
        let n = n.unwrap();
        assert_eq!(n.expose(), "abcdefgh");
        assert!(!format!("{n:?}").contains("abcdefgh"));
    }

    #[test]
    fn short_missing_and_unreadable_parameters_are_usage_errors() {
        let mut input = std::io::Cursor::new(b"123\n".to_vec());
        let e = read_parameters(Some(&ParamSource::Stdin), None, &mut input).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("4 to 128 characters"), "{e}");
        assert!(!e.to_string().contains("123\n"));
        let mut empty = std::io::Cursor::new(Vec::new());
        let e = read_parameters(Some(&ParamSource::Stdin), None, &mut empty).unwrap_err();
        assert!(e.to_string().contains("stdin ended"), "{e}");
        let e = read_parameters(
            Some(&ParamSource::File("/nonexistent/param".into())),
            None,
            &mut empty,
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/param"), "{e}");
    }

    #[test]
    fn files_give_their_first_line() {
        let p = std::env::temp_dir().join(format!("sm-cli-param-{}", std::process::id()));
        std::fs::write(&p, "s3cret-pin\nignored\n").unwrap();
        let (c, _) = read_parameters(
            Some(&ParamSource::File(p.clone())),
            None,
            &mut std::io::empty(),
        )
        .unwrap();
        assert_eq!(c.unwrap().expose(), "s3cret-pin");
        std::fs::write(&p, vec![b'x'; 5000]).unwrap();
        assert!(read_parameters(
            Some(&ParamSource::File(p.clone())),
            None,
            &mut std::io::empty()
        )
        .is_err());
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn imeis_are_checked() {
        check_imei("490154203237518").unwrap();
        assert_eq!(check_imei("490154203237519").unwrap_err().exit_code(), 2);
        assert!(check_imei("12345").is_err());
    }
}
