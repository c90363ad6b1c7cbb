//! Access rules (ETSI TS 102 221 §9.2.7 referenced format, ISO/IEC 7816-4 §9.3 expanded
//! format): a file's `8B` names an EF.ARR by FID and one of its records. EF.ARR is looked
//! for in the directory holding the file, then in its parents up to the MF (in an ADF:
//! the ADF's own EF.ARR first). The record is a list of rules: an AM_DO `80` (access mode
//! byte, ISO/IEC 7816-4 Table 17 for EFs: b1 READ / SEARCH, b2 UPDATE / ERASE, ...)
//! followed by its SC_DOs; any SC_DO satisfied grants the operations of its AM_DO.
//! SC_DOs: `90` always, `97` never, `A4 { 83 key reference, 95 usage }` a PIN verified
//! (or disabled), `A0` any of the SC_DOs inside, `AF` all of them. What no rule grants,
//! or a file whose EF.ARR or record is missing, is refused (`6982`).

use apdu::saip::fs::{FileKind, FileSystem, NodeId};

/// The operations checked, as access mode bits of an EF (ISO/IEC 7816-4 Table 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// READ BINARY / READ RECORD / SEARCH RECORD.
    Read = 0x01,
    /// UPDATE BINARY / UPDATE RECORD.
    Update = 0x02,
}

/// Nesting of `A0` / `AF` followed at most.
const MAX_DEPTH: usize = 4;

/// The EF.ARR record that `id`'s security attributes name.
pub fn rule_record(fs: &FileSystem, id: NodeId) -> Option<&[u8]> {
    let node = fs.node(id)?;
    let [hi, lo, rec, ..] = node.security[..] else {
        return None;
    };
    let fid = u16::from_be_bytes([hi, lo]);
    let mut dir = if node.kind.is_dir() {
        Some(id)
    } else {
        node.parent
    };
    while let Some(d) = dir {
        let arr = fs.child_by_fid(d, fid).filter(|&a| {
            fs.node(a)
                .is_some_and(|n| matches!(n.kind, FileKind::LinearFixed { .. }))
        });
        if let Some(a) = arr {
            return fs.record(a, usize::from(rec));
        }
        dir = fs.node(d)?.parent;
    }
    None
}

/// Whether `op` on `id` is allowed; `pin_ok(key reference)` says whether a PIN condition
/// holds.
pub fn allowed(fs: &FileSystem, id: NodeId, op: Op, pin_ok: &dyn Fn(u8) -> bool) -> bool {
    rule_record(fs, id).is_some_and(|r| grants(r, op as u8, pin_ok))
}

/// The TLVs of `b` (one-byte tags; lengths of one byte or `81 xx`), up to padding `FF`
/// or `00` or the first malformed one.
fn tlvs(b: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&tag) = b.get(i) {
        if tag == 0xFF || tag == 0x00 {
            break;
        }
        let (len, start) = match b.get(i + 1) {
            Some(0x81) => match b.get(i + 2) {
                Some(&l) => (usize::from(l), i + 3),
                None => break,
            },
            Some(&l) if l < 0x80 => (usize::from(l), i + 2),
            _ => break,
        };
        let Some(v) = b.get(start..start + len) else {
            break;
        };
        out.push((tag, v));
        i = start + len;
    }
    out
}

/// Whether the rules of one EF.ARR record grant access mode bit `bit`.
pub fn grants(record: &[u8], bit: u8, pin_ok: &dyn Fn(u8) -> bool) -> bool {
    let mut covers = false;
    for (tag, v) in tlvs(record) {
        match tag {
            // AM_DO with an access mode byte; command-header AM_DOs (81-8F) cover
            // nothing this card checks.
            0x80 => covers = v.first().is_some_and(|m| m & 0x80 == 0 && m & bit != 0),
            0x81..=0x8F => covers = false,
            _ if covers && condition(tag, v, pin_ok, 0) => return true,
            _ => {}
        }
    }
    false
}

/// One SC_DO.
fn condition(tag: u8, v: &[u8], pin_ok: &dyn Fn(u8) -> bool, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match tag {
        0x90 => true,
        0x97 => false,
        0xA4 => tlvs(v)
            .iter()
            .find(|(t, _)| *t == 0x83)
            .and_then(|(_, k)| k.first())
            .is_some_and(|&k| pin_ok(k)),
        0xA0 => tlvs(v)
            .iter()
            .any(|(t, x)| condition(*t, x, pin_ok, depth + 1)),
        0xAF => {
            let all = tlvs(v);
            !all.is_empty() && all.iter().all(|(t, x)| condition(*t, x, pin_ok, depth + 1))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(h: &str) -> Vec<u8> {
        hex::decode(h).unwrap()
    }

    #[test]
    fn saip_rules() {
        // Record 1 of the SAIP §9.9 rules: READ always, UPDATE PIN1, the rest ADM1.
        let r = rec("8001019000800102A406830101950108800158A40683010A950108FFFF");
        let none = |_: u8| false;
        let pin1 = |k: u8| k == 0x01;
        let adm = |k: u8| k == 0x0A;
        assert!(grants(&r, 0x01, &none));
        assert!(!grants(&r, 0x02, &none));
        assert!(grants(&r, 0x02, &pin1));
        assert!(!grants(&r, 0x02, &adm));
        assert!(grants(&r, 0x08, &adm) && !grants(&r, 0x08, &pin1));
        // Never.
        let never = rec("8001019700");
        assert!(!grants(&never, 0x01, &|_| true));
        // OR and AND templates.
        let or = rec("800101A010A406830101950108A40683010A950108");
        assert!(grants(&or, 1, &adm) && grants(&or, 1, &pin1) && !grants(&or, 1, &none));
        let and = rec("800101AF10A406830101950108A40683010A950108");
        assert!(!grants(&and, 1, &adm) && grants(&and, 1, &|k| k == 1 || k == 0x0A));
        // Garbage grants nothing and never panics.
        for g in ["", "80", "8001", "800101A4", "8081", "80810101", "A0FF"] {
            assert!(!grants(&rec(g), 1, &|_| true), "{g}");
        }
    }
}
