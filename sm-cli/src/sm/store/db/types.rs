//! The values the store binds and the columns it reads, the same for both databases:
//! [`Value`] (what a placeholder receives, by reference), [`Bind`] (the Rust types that
//! bind), [`args!`], [`Cell`] (a column as read) and [`Column`] (the Rust types a
//! column reads into); and [`IfMissing`], what opening does when there is no store yet.

/// What [`Store::open_with`](super::super::Store::open_with) does when the store is not
/// there yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Create the file (mode 0600); its directory must exist. PostgreSQL: create the
    /// tables in the (existing) database.
    Create,
    /// Create the file and its directory (mode 0700): the default location.
    CreateWithDirectory,
    /// Refuse with [`StoreError::Missing`](super::super::StoreError::Missing).
    Refuse,
}

/// A value bound to a placeholder. Borrowed, so binding copies nothing (secrets stay
/// in their zeroizing buffers).
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl std::fmt::Debug for Value<'_> {
    /// Never the contents: a bound value may be a Ki or a salt.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Int(_) => f.write_str("Int(..)"),
            Value::Text(t) => write!(f, "Text({} bytes)", t.len()),
            Value::Blob(b) => write!(f, "Blob({} bytes)", b.len()),
        }
    }
}

/// A Rust value that binds to a placeholder (by reference: nothing is copied).
pub(crate) trait Bind {
    fn value(&self) -> Value<'_>;
}

impl Bind for i64 {
    fn value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl Bind for u32 {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Bind for bool {
    /// Flags are stored as integers 0 and 1 in both databases.
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl Bind for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Bind for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl Bind for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl Bind for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<const N: usize> Bind for [u8; N] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl<T: Bind> Bind for Option<T> {
    fn value(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, Bind::value)
    }
}

impl<T: Bind + ?Sized> Bind for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

/// The values of a statement's placeholders, in order: `args![op_id, now.text]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::sm::store::db::Bind::value(&$v)),*]
    };
}
pub(crate) use args;

/// One column's value as read, before it becomes a Rust type.
#[derive(Clone)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "NULL",
            Cell::Int(_) => "an integer",
            Cell::Text(_) => "text",
            Cell::Blob(_) => "a blob",
        }
    }
}

/// A Rust type a column reads into.
pub(crate) trait Column: Sized {
    /// What the type is, for the error when a column holds something else.
    const WHAT: &'static str;
    fn from_cell(cell: Cell) -> Option<Self>;
}

impl Column for i64 {
    const WHAT: &'static str = "an integer";
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Int(v) => Some(v),
            _ => None,
        }
    }
}

impl Column for bool {
    const WHAT: &'static str = "a 0/1 flag";
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Int(0) => Some(false),
            Cell::Int(1) => Some(true),
            _ => None,
        }
    }
}

impl Column for String {
    const WHAT: &'static str = "text";
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl Column for Vec<u8> {
    const WHAT: &'static str = "a blob";
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Blob(v) => Some(v),
            _ => None,
        }
    }
}

impl<T: Column> Column for Option<T> {
    const WHAT: &'static str = T::WHAT;
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_never_show_their_contents() {
        let ki = [0x46u8; 16];
        let shown = format!("{:?} {:?}", ki.value(), "secret".value());
        assert_eq!(shown, "Blob(16 bytes) Text(6 bytes)");
    }

    #[test]
    fn columns_refuse_other_types() {
        assert_eq!(i64::from_cell(Cell::Int(7)), Some(7));
        assert_eq!(i64::from_cell(Cell::Text("7".into())), None);
        assert_eq!(bool::from_cell(Cell::Int(2)), None);
        assert_eq!(Option::<String>::from_cell(Cell::Null), Some(None));
        assert_eq!(String::from_cell(Cell::Null), None);
    }
}
