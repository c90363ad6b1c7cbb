//! The variables of a replay: names bound to byte strings, filled by `${NAME}` captures
//! in expectations and by the user (`--var NAME=hex`), read by command templates.
//!
//! Values may be secrets (a key-generation parameter given on the command line), so
//! `Debug` shows names and lengths only, and values are overwritten with zeros on drop.

use crate::limits::{MAX_NAME_CHARS, MAX_VALUE_BYTES, MAX_VARIABLES};
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;
use zeroize::Zeroize;

/// Why a variable could not be set.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VarError {
    #[error("variable name {0:?} is not a letter or '_' followed by letters, digits or '_'")]
    BadName(String),
    #[error("variable name longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("variable name {0:?} contains '{1}': scriptor {2} at any line containing it")]
    ReservedWord(String, &'static str, &'static str),
    #[error("value of ${{{name}}} is {len} bytes, more than the limit of {MAX_VALUE_BYTES}")]
    ValueTooLong { name: String, len: usize },
    #[error("more than {MAX_VARIABLES} variables")]
    TooMany,
}

/// Checks a variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most [`MAX_NAME_CHARS`], and not
/// containing `exit` or `reset` in any case (scriptor ends the script, or resets the
/// card, at any line containing them).
pub fn check_name(name: &str) -> Result<(), VarError> {
    if name.len() > MAX_NAME_CHARS {
        return Err(VarError::NameTooLong);
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(VarError::BadName(name.to_string()));
    }
    let lower = name.to_ascii_lowercase();
    for (word, action) in [("exit", "stops"), ("reset", "resets the card")] {
        if lower.contains(word) {
            return Err(VarError::ReservedWord(name.to_string(), word, action));
        }
    }
    Ok(())
}

/// Variable name to value. At most [`MAX_VARIABLES`] entries of at most
/// [`MAX_VALUE_BYTES`] each.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Vars {
    map: BTreeMap<String, Vec<u8>>,
}

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }

    /// Binds `name` to `value`, replacing (and zeroing) an earlier value.
    pub fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) -> Result<(), VarError> {
        check_name(name)?;
        let mut value = value.into();
        if value.len() > MAX_VALUE_BYTES {
            let len = value.len();
            wipe(&mut value);
            return Err(VarError::ValueTooLong {
                name: name.to_string(),
                len,
            });
        }
        if !self.map.contains_key(name) && self.map.len() >= MAX_VARIABLES {
            wipe(&mut value);
            return Err(VarError::TooMany);
        }
        if let Some(mut old) = self.map.insert(name.to_string(), value) {
            wipe(&mut old);
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.map.get(name).map(Vec::as_slice)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Removes a variable, zeroing its value.
    pub fn remove(&mut self, name: &str) {
        if let Some(mut v) = self.map.remove(name) {
            wipe(&mut v);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The bound names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.map {
            m.entry(k, &format_args!("<{} bytes>", v.len()));
        }
        m.finish()
    }
}

impl Drop for Vars {
    fn drop(&mut self) {
        for v in self.map.values_mut() {
            wipe(v);
        }
    }
}

/// Overwrites a buffer with zeros (the `zeroize` crate keeps the stores).
fn wipe(v: &mut Vec<u8>) {
    v.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("EID").is_ok());
        assert!(check_name("_a1").is_ok());
        assert!(matches!(check_name("1a"), Err(VarError::BadName(_))));
        assert!(matches!(check_name(""), Err(VarError::BadName(_))));
        assert!(matches!(check_name("a-b"), Err(VarError::BadName(_))));
        assert!(matches!(
            check_name("MY_EXIT"),
            Err(VarError::ReservedWord(_, "exit", _))
        ));
        assert_eq!(
            check_name("ResetCount").unwrap_err().to_string(),
            "variable name \"ResetCount\" contains 'reset': scriptor resets the card at any line containing it"
        );
        assert_eq!(check_name(&"a".repeat(65)), Err(VarError::NameTooLong));
    }

    #[test]
    fn caps_hold() {
        let mut v = Vars::new();
        for i in 0..MAX_VARIABLES {
            v.set(&format!("V{i}"), vec![1]).unwrap();
        }
        assert_eq!(v.set("ONE_MORE", vec![1]), Err(VarError::TooMany));
        v.set("V0", vec![2; 3]).unwrap(); // replacing is fine
        assert_eq!(v.get("V0"), Some(&[2u8, 2, 2][..]));
        assert!(matches!(
            v.set("V1", vec![0; MAX_VALUE_BYTES + 1]),
            Err(VarError::ValueTooLong { .. })
        ));
    }

    #[test]
    fn debug_hides_values() {
        let mut v = Vars::new();
        v.set("KEY", vec![0xAB, 0xCD]).unwrap();
        let d = format!("{v:?}");
        assert!(
            d.contains("KEY") && d.contains("2 bytes") && !d.contains("AB") && !d.contains("171")
        );
    }
}
