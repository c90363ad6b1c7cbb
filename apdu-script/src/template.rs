//! Command templates: the bytes of a command line, where `${NAME}` stands for the value
//! of a variable at replay time. `${NAME:N}` also requires the value to be N bytes.
//! A template without variables is a plain scriptor command.

use crate::error::At;
use crate::limits::MAX_COMMAND_BYTES;
pub use crate::scan::VarRef;
use crate::scan::{hex_value, var_ref, Cursor};
use crate::vars::Vars;
use thiserror::Error;

/// A run of literal bytes or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bytes(Vec<u8>),
    Var(VarRef),
}

/// A command as written. Adjacent byte runs are merged, so equal commands compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// Why a template could not become bytes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RenderError {
    #[error(
        "variable ${{{0}}} is not set (capture it in an earlier expectation or pass it with --var)"
    )]
    Unset(String),
    #[error("variable ${{{name}}} holds {got} bytes, the template says {expected}")]
    WrongLength {
        name: String,
        expected: usize,
        got: usize,
    },
    #[error("rendered command is {0} bytes, longer than the limit of {MAX_COMMAND_BYTES}")]
    TooLong(usize),
}

impl Template {
    /// A template from pieces (merging adjacent byte runs, dropping empty ones).
    pub fn new(pieces: impl IntoIterator<Item = Piece>) -> Self {
        let mut out: Vec<Piece> = Vec::new();
        for p in pieces {
            match (out.last_mut(), p) {
                (_, Piece::Bytes(b)) if b.is_empty() => {}
                (Some(Piece::Bytes(prev)), Piece::Bytes(b)) => prev.extend_from_slice(&b),
                (_, p) => out.push(p),
            }
        }
        Template { pieces: out }
    }

    /// A template of literal bytes.
    pub fn literal(bytes: impl Into<Vec<u8>>) -> Self {
        Template::new([Piece::Bytes(bytes.into())])
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The bytes, when the template has no variables.
    pub fn as_literal(&self) -> Option<&[u8]> {
        match self.pieces.as_slice() {
            [] => Some(&[]),
            [Piece::Bytes(b)] => Some(b),
            _ => None,
        }
    }

    /// The variables used, in order.
    pub fn variables(&self) -> impl Iterator<Item = &VarRef> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(v),
            Piece::Bytes(_) => None,
        })
    }

    /// The bytes to send, with every variable replaced by its value in `vars`.
    pub fn render(&self, vars: &Vars) -> Result<Vec<u8>, RenderError> {
        let mut out = Vec::new();
        for p in &self.pieces {
            let part: &[u8] = match p {
                Piece::Bytes(b) => b,
                Piece::Var(v) => {
                    let value = vars
                        .get(&v.name)
                        .ok_or_else(|| RenderError::Unset(v.name.clone()))?;
                    if let Some(n) = v.len.filter(|&n| n != value.len()) {
                        return Err(RenderError::WrongLength {
                            name: v.name.clone(),
                            expected: n,
                            got: value.len(),
                        });
                    }
                    value
                }
            };
            if out.len() + part.len() > MAX_COMMAND_BYTES {
                return Err(RenderError::TooLong(out.len() + part.len()));
            }
            out.extend_from_slice(part);
        }
        Ok(out)
    }
}

/// Collects the pieces of a command over its continuation lines, keeping the size cap.
#[derive(Debug, Default)]
pub(crate) struct CommandBuilder {
    pieces: Vec<Piece>,
    bytes: usize,
}

impl CommandBuilder {
    /// Reads one physical line of a command. Returns true when it ends with `\`
    /// (the command continues on the next line). Scriptor facts: bytes are two hex digits,
    /// written with or without spaces; a trailing `\` joins the next line.
    pub fn line(&mut self, cur: &mut Cursor) -> Result<bool, At> {
        loop {
            cur.skip_ws();
            let col = cur.col();
            match cur.peek() {
                None => return Ok(false),
                Some('\\') => {
                    cur.bump();
                    if cur.at_end() {
                        return Ok(true);
                    }
                    return Err(At::new(
                        col,
                        "'\\' continues a command only at the end of a line",
                    ));
                }
                Some('$') => {
                    let v = var_ref(cur)?;
                    if let Some(n) = v.len {
                        self.count(col, n)?;
                    }
                    self.pieces.push(Piece::Var(v));
                }
                Some(c) if hex_value(c).is_some() => {
                    let byte = hex_pair(cur)?;
                    self.count(col, 1)?;
                    match self.pieces.last_mut() {
                        Some(Piece::Bytes(b)) => b.push(byte),
                        _ => self.pieces.push(Piece::Bytes(vec![byte])),
                    }
                }
                Some('#') => {
                    return Err(cur.expected(
                        "a hex digit (a comment must start in column 1: scriptor only skips lines whose first character is '#')",
                    ))
                }
                Some(_) => return Err(cur.expected("a hex digit")),
            }
        }
    }

    fn count(&mut self, col: usize, n: usize) -> Result<(), At> {
        self.bytes += n;
        if self.bytes > MAX_COMMAND_BYTES {
            return Err(At::new(
                col,
                format!("command longer than the limit of {MAX_COMMAND_BYTES} bytes"),
            ));
        }
        Ok(())
    }

    pub fn finish(self) -> Template {
        Template::new(self.pieces)
    }
}

/// Reads two hex digits; the cursor is on the first.
pub(crate) fn hex_pair(cur: &mut Cursor) -> Result<u8, At> {
    let hi = cur
        .peek()
        .and_then(hex_value)
        .ok_or_else(|| cur.expected("a hex digit"))?;
    cur.bump();
    let lo = cur
        .peek()
        .and_then(hex_value)
        .ok_or_else(|| cur.expected("a second hex digit (a byte is written as two digits)"))?;
    cur.bump();
    Ok(hi << 4 | lo)
}
