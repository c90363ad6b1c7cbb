//! The store's values on PostgreSQL's wire (issue 12): placeholders renumbered, bound
//! [`Value`]s checked against the parameter types the server infers, and result columns
//! read into [`Cell`]s, integers of any width as 64-bit.

use super::super::error::StoreError;
use super::types::{Cell, Value};
use ::postgres::types::{IsNull, ToSql, Type};

pub(super) fn params<'v>(args: &'v [Value<'_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// Rewrites SQLite's numbered placeholders `?N` to PostgreSQL's `$N`, leaving quoted
/// literals and identifiers alone. A bare `?` is refused: the store numbers them all.
pub(crate) fn placeholders(sql: &str) -> Result<String, StoreError> {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                if !chars.peek().is_some_and(char::is_ascii_digit) {
                    return Err(StoreError::Corrupt(format!(
                        "unnumbered placeholder in a store query: {sql}"
                    )));
                }
                out.push('$');
            }
            (None, c) => out.push(c),
        }
    }
    Ok(out)
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                _ => Err(format!("an integer bound to a {ty} parameter").into()),
            },
            Value::Text(t) => t.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`: which types fit depends on the variant.
        true
    }

    ::postgres::types::to_sql_checked!();
}

pub(super) fn cell(row: &::postgres::Row, idx: usize) -> Result<Cell, StoreError> {
    let Some(column) = row.columns().get(idx) else {
        return Err(StoreError::Corrupt(format!("no column {idx}")));
    };
    let ty = column.type_().clone();
    let cell = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(idx)?.map(Cell::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(idx)?
            .map(|v| Cell::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(idx)?
            .map(|v| Cell::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(idx)?
            .map(|v| Cell::Int(v.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<String>>(idx)?.map(Cell::Text)
        }
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(idx)?.map(Cell::Blob),
        other => {
            return Err(StoreError::Corrupt(format!(
                "column {idx} has the unexpected type {other}"
            )))
        }
    };
    Ok(cell.unwrap_or(Cell::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_outside_quotes() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12").unwrap(),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
        assert!(placeholders("SELECT ? FROM t").is_err());
    }
}
