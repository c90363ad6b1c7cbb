//! A character cursor over one line that knows its column, and the small lexical pieces
//! shared by command lines, expectations and directives: hex digits and `${NAME[:N]}`.

use crate::error::{describe, At};
use crate::limits::{MAX_NAME_CHARS, MAX_VALUE_BYTES};
use crate::vars::check_name;

/// A variable mentioned in a template or a pattern, `${NAME}` or `${NAME:N}`; `len` is
/// the `:N` byte count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    pub name: String,
    pub len: Option<usize>,
}

/// Walks a line character by character; `col` is the 1-based column of `peek()`.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    rest: &'a str,
    col: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `s`, whose first character sits in column `col`.
    pub fn new(s: &'a str, col: usize) -> Self {
        Cursor { rest: s, col }
    }

    pub fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = &self.rest[c.len_utf8()..];
        self.col += 1;
        Some(c)
    }

    pub fn col(&self) -> usize {
        self.col
    }

    pub fn rest(&self) -> &'a str {
        self.rest
    }

    pub fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.bump();
        }
    }

    /// True when only whitespace is left.
    pub fn at_end(&self) -> bool {
        self.rest.chars().all(is_space)
    }

    /// An error at the current position: "expected X, found Y".
    pub fn expected(&self, what: &str) -> At {
        At::new(
            self.col,
            format!("expected {what}, found {}", describe(self.peek())),
        )
    }

    /// Reads a word of ASCII letters, digits, `-` and `_` (a directive keyword).
    pub fn word(&mut self) -> &'a str {
        let start = self.rest;
        let mut n = 0;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                self.bump();
                n += c.len_utf8();
            } else {
                break;
            }
        }
        &start[..n]
    }
}

/// Whitespace between tokens: space and tab.
pub(crate) fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The value of a hex digit.
pub(crate) fn hex_value(c: char) -> Option<u8> {
    c.to_digit(16).map(|d| d as u8)
}

/// Reads `${NAME}` or `${NAME:N}`; the cursor is on `$`.
pub(crate) fn var_ref(cur: &mut Cursor) -> Result<VarRef, At> {
    cur.bump(); // '$'
    if cur.peek() != Some('{') {
        return Err(cur.expected("'{' after '$' (variables are written ${NAME})"));
    }
    cur.bump();
    let name_col = cur.col();
    if !cur
        .peek()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return Err(cur.expected("a variable name (a letter or '_')"));
    }
    let mut name = String::new();
    while let Some(c) = cur.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if name.len() == MAX_NAME_CHARS {
                return Err(At::new(
                    name_col,
                    format!("variable name longer than {MAX_NAME_CHARS} characters"),
                ));
            }
            name.push(c);
            cur.bump();
        } else {
            break;
        }
    }
    check_name(&name).map_err(|e| At::new(name_col, e.to_string()))?;
    let len = match cur.peek() {
        Some('}') => None,
        Some(':') => {
            cur.bump();
            Some(count(cur)?)
        }
        _ => return Err(cur.expected("'}' or ':' after the variable name")),
    };
    if cur.peek() != Some('}') {
        return Err(cur.expected("'}' to close the variable"));
    }
    cur.bump();
    Ok(VarRef { name, len })
}

/// Reads the byte count of `${NAME:N}`: 1..=MAX_VALUE_BYTES.
fn count(cur: &mut Cursor) -> Result<usize, At> {
    let col = cur.col();
    let digits = decimal(cur).ok_or_else(|| cur.expected("a byte count (decimal) after ':'"))?;
    match digits.parse::<usize>() {
        Ok(n) if (1..=MAX_VALUE_BYTES).contains(&n) => Ok(n),
        _ => Err(At::new(
            col,
            format!("byte count must be between 1 and {MAX_VALUE_BYTES}, found {digits}"),
        )),
    }
}

/// Reads a run of ASCII decimal digits, `None` if there is none.
pub(crate) fn decimal<'a>(cur: &mut Cursor<'a>) -> Option<&'a str> {
    let start = cur.rest();
    let mut n = 0;
    while cur.peek().is_some_and(|c| c.is_ascii_digit()) {
        cur.bump();
        n += 1;
    }
    (n > 0).then(|| &start[..n])
}
