//! One file of the package into a [`Node`]: the package's FCP over the Annex A template
//! defaults (SAIP v3.3.1 §8.3.1 `Fcp`, §9), its initial content (fill / repeat pattern,
//! template default, else `FF`) and fillFileOffset / fillFileContent (§8.3.3).

use super::element::{Fcp, FileItem};
use super::error::SaipError;
use super::error::{fs_err, SIZE_REC, SIZE_TR};
use super::fs::{FileKind, Node};
use super::template::{self, FileTemplate, Fill, Kind};

/// A node from the package's FCP over the template's defaults.
pub(crate) fn make_node(
    fcp: &Fcp,
    t: Option<&FileTemplate>,
    at_mf: bool,
    name: Option<&str>,
) -> Result<Node, SaipError> {
    let desc = fcp.get(0x82);
    let (descriptor, kind) = match (desc, t.map(|t| t.kind)) {
        (Some(d), _) if !d.is_empty() => (d[0], kind_of(d)?),
        (_, Some(k)) => match k {
            Kind::MF => (0x78, FileKind::Mf),
            Kind::DF => (0x78, FileKind::Df),
            Kind::ADF => (0x78, FileKind::Adf),
            Kind::TR => (0x41, FileKind::Transparent),
            Kind::LF => (
                0x42,
                rec(
                    FileKind::LinearFixed {
                        record_len: 0,
                        records: 0,
                    },
                    t,
                ),
            ),
            Kind::CY => (
                0x46,
                rec(
                    FileKind::Cyclic {
                        record_len: 0,
                        records: 0,
                    },
                    t,
                ),
            ),
            Kind::BT => (0x79, FileKind::BerTlv),
        },
        // No descriptor, no template: a directory has its pinStatusTemplateDO (SAIP
        // §8.3.1: mandatory for DF/ADF, not allowed for EFs).
        _ if fcp.get(0xC6).is_some() => (0x78, FileKind::Df),
        _ => return Err(fs_err("file without descriptor or template")),
    };
    let aid = fcp.get(0x84).map(<[u8]>::to_vec);
    let kind = if kind == FileKind::Df && aid.is_some() {
        FileKind::Adf
    } else {
        kind
    };
    let fid = fcp
        .fid()
        .or(t.map(|t| t.fid).filter(|&f| f != 0))
        .ok_or(fs_err("file without FID"))?;
    let arr_fid: u16 = if at_mf || kind.is_dir() {
        0x2F06
    } else {
        0x6F06
    };
    let security = match fcp.get(0x8B) {
        Some([r]) => vec![(arr_fid >> 8) as u8, arr_fid as u8, *r],
        Some(v) if v.len() == 3 => v.to_vec(),
        Some(_) => return Err(fs_err("securityAttributesReferenced size")),
        None => match t {
            Some(t) => vec![(arr_fid >> 8) as u8, arr_fid as u8, t.arr],
            None => return Err(fs_err("file without security attributes")),
        },
    };
    let sfi = match fcp.get(0x88) {
        Some([]) => None,
        Some([s]) => Some(s >> 3),
        Some(_) => return Err(fs_err("shortEFID size")),
        None => t.map(|t| t.sfi).filter(|&s| s != 0),
    };
    // An EF link file has no size of its own (SAIP §8.3.1 `efFileSize`): its target's.
    let is_link = fcp.get(0xC7).is_some_and(|p| !p.is_empty());
    let size = fcp
        .size()
        .or(t.and_then(|t| match t.kind {
            Kind::TR | Kind::BT if t.size > 0 => Some(t.size as usize),
            Kind::LF | Kind::CY if t.size > 0 && t.records > 0 => {
                Some(t.size as usize * t.records as usize)
            }
            _ => None,
        }))
        .or(name.and_then(template::size_by_name))
        .or(is_link.then_some(0));
    let kind = match kind {
        FileKind::LinearFixed { record_len, .. } | FileKind::Cyclic { record_len, .. } => {
            let total = size.ok_or(fs_err(SIZE_REC))?;
            if !(is_link && total == 0)
                && (record_len == 0 || total % record_len != 0 || total / record_len > 254)
            {
                return Err(fs_err("file size is not a number of records"));
            }
            let records = total.checked_div(record_len).unwrap_or(0);
            if matches!(kind, FileKind::Cyclic { .. }) {
                FileKind::Cyclic {
                    record_len,
                    records,
                }
            } else {
                FileKind::LinearFixed {
                    record_len,
                    records,
                }
            }
        }
        k => k,
    };
    let max_size = fcp
        .proprietary(0x86)
        .map(|v| v.iter().fold(0usize, |a, &b| (a << 8) | b as usize));
    let content = initial_content(
        fcp,
        t,
        kind,
        if kind == FileKind::Transparent {
            size.ok_or(fs_err(SIZE_TR))?
        } else {
            size.unwrap_or(0)
        },
    );
    Ok(Node {
        fid,
        aid,
        kind,
        descriptor,
        sfi: if kind.is_dir() { None } else { sfi },
        lcsi: fcp
            .get(0x8A)
            .and_then(|v| v.first().copied())
            .unwrap_or(0x05),
        security,
        pin_status: fcp.get(0xC6).map(<[u8]>::to_vec),
        max_size,
        name: t.map(|t| t.name),
        parent: None,
        children: Vec::new(),
        link: None,
        link_path: fcp.get(0xC7).filter(|p| !p.is_empty()).map(<[u8]>::to_vec),
        content,
    })
}

fn rec(k: FileKind, t: Option<&FileTemplate>) -> FileKind {
    let record_len = t.map_or(0, |t| t.size as usize);
    match k {
        FileKind::Cyclic { .. } => FileKind::Cyclic {
            record_len,
            records: 0,
        },
        _ => FileKind::LinearFixed {
            record_len,
            records: 0,
        },
    }
}

/// File descriptor byte 1 (TS 102 221 §11.1.1.4.3): structure in b3..b1, DF `x8`.
fn kind_of(d: &[u8]) -> Result<FileKind, SaipError> {
    let record_len = || {
        d.get(2..4)
            .map(|r| u16::from_be_bytes([r[0], r[1]]) as usize)
    };
    Ok(match d[0] & 0xBF {
        0x38 => FileKind::Df,
        0x39 => FileKind::BerTlv,
        0x01 => FileKind::Transparent,
        0x02 => FileKind::LinearFixed {
            record_len: record_len().ok_or(fs_err("record length"))?,
            records: 0,
        },
        0x06 => FileKind::Cyclic {
            record_len: record_len().ok_or(fs_err("record length"))?,
            records: 0,
        },
        _ => return Err(fs_err("unsupported file descriptor")),
    })
}

/// The content before fillFileContent: fill / repeat pattern of the FCP, else the
/// template default, else `FF` (per record for record files).
fn initial_content(fcp: &Fcp, t: Option<&FileTemplate>, kind: FileKind, size: usize) -> Vec<u8> {
    if kind.is_dir() || kind == FileKind::BerTlv {
        return Vec::new();
    }
    let unit = match kind {
        FileKind::LinearFixed { record_len, .. } | FileKind::Cyclic { record_len, .. } => {
            record_len
        }
        _ => size,
    };
    let one = if let Some(p) = fcp.proprietary(0xC1) {
        template::fill_pattern(p, unit)
    } else if let Some(p) = fcp.proprietary(0xC2) {
        template::repeat_pattern(p, unit)
    } else {
        t.and_then(|t| t.default)
            .unwrap_or(Fill::Exact(&[]))
            .expand(unit)
    };
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        out.extend_from_slice(&one);
    }
    out.truncate(size);
    out
}

/// Applies fillFileOffset / fillFileContent (SAIP §8.3.3: offsets move forward from
/// the current position, content writes there).
pub(crate) fn write(node: &mut Node, items: &[FileItem]) -> Result<(), SaipError> {
    let mut pos = 0usize;
    for i in items {
        match i {
            FileItem::Offset(o) => pos += *o as usize,
            FileItem::Content(c) => {
                if node.kind.is_dir() {
                    return Err(fs_err("content for a directory"));
                }
                let end = pos + c.len();
                if node.kind == FileKind::BerTlv {
                    if end > node.max_size.unwrap_or(usize::MAX) {
                        return Err(fs_err("content exceeds the file size"));
                    }
                    node.content.resize(node.content.len().max(end), 0xFF);
                } else if end > node.content.len() {
                    return Err(fs_err("content exceeds the file size"));
                }
                node.content[pos..end].copy_from_slice(c);
                pos = end;
            }
            _ => {}
        }
    }
    Ok(())
}
