//! The parse error of scripts: where (file, line, column, all 1-based) and what was
//! expected, printed as `scripts/x.apdu:12:7: expected a hex digit, found 'G'`.

use thiserror::Error;

/// Why a script did not parse. Line and column are 1-based; column counts characters.
/// Whole-file errors (size, encoding) use line 0 or the line of the problem.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// An error inside one line, before the parser adds file and line: column and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct At {
    pub col: usize,
    pub msg: String,
}

impl At {
    pub fn new(col: usize, msg: impl Into<String>) -> Self {
        At {
            col,
            msg: msg.into(),
        }
    }
}

/// Describes a character for messages: `'G'`, `'\t'`, or "end of line".
pub(crate) fn describe(c: Option<char>) -> String {
    match c {
        Some(c) => format!("{c:?}"),
        None => "end of line".to_string(),
    }
}
