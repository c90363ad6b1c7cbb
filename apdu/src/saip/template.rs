//! The SAIP Annex A file templates (SAIP v3.3.1 §9): for a file of a template PE,
//! its FID, type, size, default access rule (EF.ARR record, §9.9), SFI and default
//! content; and the TS 102 222 fill rules (§6.3.2: a fill pattern's last byte repeats to
//! the end, a repeat pattern repeats whole; record files are filled record by record).

pub use super::template_data::lookup;

/// File types of the templates (SAIP §9.1: MF, DF, ADF, TR transparent, LF linear
/// fixed, CY cyclic, BT BER-TLV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MF,
    DF,
    ADF,
    TR,
    LF,
    CY,
    BT,
}

/// A template's default content: exact bytes, `prefix ... suffix` (the prefix's last
/// byte repeated between them), or a pattern repeated whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Exact(&'static [u8]),
    Pad(&'static [u8], &'static [u8]),
    Repeat(&'static [u8]),
}

impl Fill {
    /// The content of `len` bytes (one record or a transparent file).
    pub fn expand(&self, len: usize) -> Vec<u8> {
        let mut v = match *self {
            Fill::Exact(b) => b.to_vec(),
            Fill::Repeat(b) => b.iter().copied().cycle().take(len).collect(),
            Fill::Pad(head, tail) => {
                let mut v = head.to_vec();
                let pad = head.last().copied().unwrap_or(0xFF);
                v.resize(len.saturating_sub(tail.len()).max(head.len()), pad);
                v.extend_from_slice(tail);
                v
            }
        };
        v.resize(len, 0xFF);
        v
    }
}

/// TS 102 222 §6.3.2.1 fill pattern (`C1`): the pattern, then its last byte repeated.
pub fn fill_pattern(p: &[u8], len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = p.iter().copied().take(len).collect();
    v.resize(len, p.last().copied().unwrap_or(0xFF));
    v
}

/// TS 102 222 §6.3.2.1 repeat pattern (`C2`): the pattern repeated whole.
pub fn repeat_pattern(p: &[u8], len: usize) -> Vec<u8> {
    if p.is_empty() {
        return vec![0xFF; len];
    }
    p.iter().copied().cycle().take(len).collect()
}

/// One file of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileTemplate {
    pub name: &'static str,
    /// 0 for ADFs (the package gives a temporary FID).
    pub fid: u16,
    pub kind: Kind,
    /// Number of records (record files), 0 when the package must give it.
    pub records: u16,
    /// Size (transparent) or record length (record files), 0 when the package gives it.
    pub size: u16,
    /// Record of EF.ARR holding the default access rule.
    pub arr: u8,
    /// Short file identifier, 0 for none.
    pub sfi: u8,
    pub default: Option<Fill>,
}

/// Template PEs whose files are "created by default" (SAIP §9: MF, ADF.USIM, ADF.ISIM,
/// ADF.CSIM): their files absent from the PE are still created, with the defaults.
pub fn created_by_default(choice: usize) -> bool {
    matches!(choice, 16 | 19 | 21 | 25)
}

/// Where a template PE's base directory goes (SAIP §9): `None` for the MF itself,
/// `Some(true)` under the current ADF.USIM, `Some(false)` under the MF.
pub fn base_under_usim(choice: usize) -> Option<bool> {
    match choice {
        16 => None,
        23 | 24 | 28..=31 => Some(true),
        _ => Some(false),
    }
}

/// Optional templates that add files to the ADF of their mandatory template
/// (PE-OPT-USIM to ADF.USIM, PE-OPT-ISIM to ADF.ISIM, PE-OPT-CSIM to ADF.CSIM,
/// PE-OPT-IoT to ADF.USIM): the CHOICE position of that mandatory template.
pub fn extends(choice: usize) -> Option<usize> {
    match choice {
        20 => Some(19),
        22 => Some(21),
        26 => Some(25),
        33 => Some(32),
        _ => None,
    }
}

/// Fixed sizes of transparent files of templates this eUICC has no table for, by PE
/// field name (SAIP v3.3.1 §9.4 DF.TELECOM and DF.PHONEBOOK, §9.8 DF.EAP).
pub fn size_by_name(name: &str) -> Option<usize> {
    Some(match name {
        "ef-sume" => 22,
        "ef-psc" => 4,
        "ef-cc" | "ef-puid" => 2,
        "ef-mmssmode" | "ef-eapstatus" => 1,
        _ => return None,
    })
}
