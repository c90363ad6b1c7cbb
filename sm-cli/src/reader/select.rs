//! Choosing one reader from the list pcscd gives, by `-r/--reader` (or `SM_CLI_READER`).
//!
//! Rules, in order:
//! - a selector of decimal digits is an index into the list (as `sm-cli readers` shows it);
//! - otherwise a name equal to the selector wins;
//! - otherwise the selector must be a case-insensitive substring of exactly one name;
//! - without a selector: the only reader, else the only reader holding a card.
//!
//! Pure logic over names, so it is tested without pcscd.

use crate::errors::CliError;

/// A reader as pcscd lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReaderInfo {
    pub index: usize,
    pub name: String,
    pub card_present: bool,
    /// The ATR pcscd read at power-up, when a card is present.
    #[serde(serialize_with = "hex_opt")]
    pub atr: Option<Vec<u8>>,
    /// Another program holds the card exclusively.
    pub exclusive: bool,
    /// The card did not answer the reset.
    pub mute: bool,
}

fn hex_opt<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&hex::encode_upper(b)),
        None => s.serialize_none(),
    }
}

/// Picks the index of one reader in `readers` (see the module docs).
pub fn choose(readers: &[ReaderInfo], selector: Option<&str>) -> Result<usize, CliError> {
    if readers.is_empty() {
        return Err(CliError::NoReaders);
    }
    let names = || readers.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let pairs = |idx: Vec<usize>| {
        idx.into_iter()
            .map(|i| (i, readers[i].name.clone()))
            .collect::<Vec<_>>()
    };
    let Some(sel) = selector.map(str::trim).filter(|s| !s.is_empty()) else {
        if readers.len() == 1 {
            return Ok(0);
        }
        let with_card: Vec<usize> = (0..readers.len())
            .filter(|&i| readers[i].card_present)
            .collect();
        return match with_card.as_slice() {
            [one] => Ok(*one),
            [] => Err(CliError::NoCard(format!(
                "any reader ('{}')",
                names().join("', '")
            ))),
            _ => Err(CliError::ReaderAmbiguous {
                selector: None,
                matches: pairs(with_card),
            }),
        };
    };
    if sel.bytes().all(|b| b.is_ascii_digit()) {
        return match sel.parse::<usize>() {
            Ok(i) if i < readers.len() => Ok(i),
            _ => Err(CliError::ReaderNotFound {
                selector: sel.into(),
                readers: names(),
            }),
        };
    }
    if let Some(i) = readers.iter().position(|r| r.name == sel) {
        return Ok(i);
    }
    let needle = sel.to_lowercase();
    let hits: Vec<usize> = (0..readers.len())
        .filter(|&i| readers[i].name.to_lowercase().contains(&needle))
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(CliError::ReaderNotFound {
            selector: sel.into(),
            readers: names(),
        }),
        _ => Err(CliError::ReaderAmbiguous {
            selector: Some(sel.into()),
            matches: pairs(hits),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers(spec: &[(&str, bool)]) -> Vec<ReaderInfo> {
        spec.iter()
            .enumerate()
            .map(|(index, (n, c))| ReaderInfo {
                index,
                name: n.to_string(),
                card_present: *c,
                atr: None,
                exclusive: false,
                mute: false,
            })
            .collect()
    }

    #[test]
    fn by_index_name_and_substring() {
        let r = readers(&[
            ("Virtual PCD 00 00", true),
            ("Virtual PCD 00 01", false),
            ("ACS ACR39U", false),
        ]);
        assert_eq!(choose(&r, Some("1")).unwrap(), 1);
        assert_eq!(choose(&r, Some(" 2 ")).unwrap(), 2);
        assert_eq!(choose(&r, Some("acr39")).unwrap(), 2);
        assert_eq!(choose(&r, Some("00 01")).unwrap(), 1);
        assert_eq!(choose(&r, Some("Virtual PCD 00 00")).unwrap(), 0);
    }

    #[test]
    fn exact_name_beats_a_longer_match() {
        let r = readers(&[("Reader", false), ("Reader 2", false)]);
        assert_eq!(choose(&r, Some("Reader")).unwrap(), 0);
    }

    #[test]
    fn ambiguous_and_missing() {
        let r = readers(&[("Virtual PCD 00 00", true), ("Virtual PCD 00 01", true)]);
        let e = choose(&r, Some("virtual")).unwrap_err();
        assert_eq!(e.kind(), "reader_ambiguous");
        assert!(e.to_string().contains("[1] Virtual PCD 00 01"));
        let e = choose(&r, Some("gemalto")).unwrap_err();
        assert_eq!(e.kind(), "reader_not_found");
        assert!(e.to_string().contains("[0] Virtual PCD 00 00"));
        assert_eq!(
            choose(&r, Some("7")).unwrap_err().kind(),
            "reader_not_found"
        );
        assert_eq!(
            choose(&r, Some("99999999999999999999999"))
                .unwrap_err()
                .kind(),
            "reader_not_found"
        );
        assert_eq!(choose(&[], Some("0")).unwrap_err().kind(), "no_readers");
    }

    #[test]
    fn without_selector_prefers_the_only_card() {
        let r = readers(&[("A", false), ("B", true)]);
        assert_eq!(choose(&r, None).unwrap(), 1);
        assert_eq!(choose(&r, Some("  ")).unwrap(), 1);
        let r = readers(&[("A", false)]);
        assert_eq!(choose(&r, None).unwrap(), 0);
        let r = readers(&[("A", true), ("B", true)]);
        let e = choose(&r, None).unwrap_err();
        assert!(
            e.to_string().contains("-r/--reader or SM_CLI_READER"),
            "{e}"
        );
        let r = readers(&[("A", false), ("B", false)]);
        let e = choose(&r, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no card in any reader ('A', 'B'): insert a card, or start card-sim for this slot"
        );
    }
}
