//! The profile elements (PEDefinitions, SAIP v3.3.1 §8, AUTOMATIC TAGS): typed values
//! for what the card executes, and each element's exact bytes for what it only stores.
//! Every type decodes from and encodes to the `apdu::iso7816::tlv` tree; values the
//! ASN.1 gives a DEFAULT are kept as `Option` (absent stays absent), so a package
//! re-encodes to the same bytes.

pub use super::codes::Code;
use super::error::{bad, missing, SaipError};
pub use super::fields::PeHeader;
use super::fields::{c, ctx_cons, ctx_index, octets, p, pe_header, uint_max};
pub use super::header::{ProfileHeader, SERVICES};
use crate::iso7816::tlv::{self, cons, prim, Tlv};

/// An FCP as the package gives it (SAIP §8.3.1 `Fcp`: `82` descriptor, `83` FID, `84`
/// DF name, `8A` LCSI, `8B` security attributes, `80` size, `C6` PIN status, `88` SFI,
/// `A5` proprietary (`C0`, `C1` fill, `C2` repeat, `86` max size), `C7` link path).
/// Kept as its TLVs in order, with typed accessors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fcp(pub Vec<Tlv>);

impl Fcp {
    pub fn get(&self, tag: u32) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|t| tlv::tag_num(t) == tag)
            .and_then(tlv::bytes)
    }
    pub fn proprietary(&self, tag: u32) -> Option<&[u8]> {
        let a5 = self.0.iter().find(|t| tlv::tag_num(t) == 0xA5)?;
        tlv::child_bytes(a5, tag)
    }
    pub fn fid(&self) -> Option<u16> {
        self.get(0x83)
            .and_then(|v| <[u8; 2]>::try_from(v).ok())
            .map(u16::from_be_bytes)
    }
    /// `efFileSize`, a big-endian number of at most 3 bytes.
    pub fn size(&self) -> Option<usize> {
        let v = self.get(0x80)?;
        (v.len() <= 3).then(|| v.iter().fold(0usize, |a, &b| (a << 8) | b as usize))
    }
}

/// One item of `File ::= SEQUENCE OF CHOICE { doNotCreate [0] NULL, fileDescriptor [1]
/// Fcp, fillFileOffset [2] UInt16, fillFileContent [3] OCTET STRING }`, and of the
/// GenericFileManagement commands (`filePath 80`, `createFCP 62`, `fillFileOffset 02`,
/// `fillFileContent 81`).
#[derive(Debug, Clone, PartialEq)]
pub enum FileItem {
    DoNotCreate,
    /// GFM only: the directory the next files are created in (FIDs from the MF).
    Path(Vec<u8>),
    Fcp(Fcp),
    Offset(u16),
    Content(Vec<u8>),
}

/// Tags of the items in a template's File (`true`) or in a GFM command list (`false`).
const fn item_tags(in_file: bool) -> [u32; 5] {
    // DoNotCreate, Path, Fcp, Offset, Content
    if in_file {
        [0x80, 0, 0xA1, 0x82, 0x83]
    } else {
        [0, 0x80, 0x62, 0x02, 0x81]
    }
}

pub(crate) fn decode_items(t: &Tlv, in_file: bool) -> Result<Vec<FileItem>, SaipError> {
    let [dnc, path, fcp, off, content] = item_tags(in_file);
    let mut out = Vec::new();
    for ch in tlv::children(t) {
        let n = tlv::tag_num(ch);
        out.push(match n {
            _ if n == dnc => FileItem::DoNotCreate,
            _ if n == path => {
                let v = octets(ch, "filePath")?;
                if v.len() > 8 || v.len() % 2 != 0 {
                    return Err(bad("filePath size"));
                }
                FileItem::Path(v.to_vec())
            }
            _ if n == fcp => FileItem::Fcp(Fcp(tlv::children(ch).to_vec())),
            _ if n == off => FileItem::Offset(uint_max(ch, 0xFFFF, "fillFileOffset")? as u16),
            _ if n == content => FileItem::Content(octets(ch, "fillFileContent")?.to_vec()),
            _ => return Err(bad("unknown file item")),
        });
    }
    Ok(out)
}

pub(crate) fn encode_items(items: &[FileItem], in_file: bool) -> Vec<Tlv> {
    let [dnc, path, fcp, off, content] = item_tags(in_file);
    items
        .iter()
        .map(|i| match i {
            FileItem::DoNotCreate => p(dnc, vec![]),
            FileItem::Path(v) => p(path, v.clone()),
            FileItem::Fcp(f) => c(fcp, f.0.clone()),
            FileItem::Offset(o) => p(off, tlv::int_bytes(*o as u64)),
            FileItem::Content(v) => p(content, v.clone()),
        })
        .collect()
}

/// A PE built from a file structure template (PE-MF, PE-USIM, PE-OPT-USIM, PE-ISIM,
/// PE-CSIM, PE-TELECOM, ... SAIP §8.3.2): header, template OID, and the files present,
/// each by its field position (field `n` of the SEQUENCE has tag `[n]`, files from 2).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePe {
    /// The CHOICE position of this PE in `ProfileElement` (16 = mf, 19 = usim...).
    pub choice: usize,
    pub header: PeHeader,
    /// Content bytes of the `templateID` OBJECT IDENTIFIER.
    pub template: Vec<u8>,
    pub files: Vec<(usize, Vec<FileItem>)>,
}

impl TemplatePe {
    fn decode(choice: usize, t: &Tlv) -> Result<TemplatePe, SaipError> {
        let header = pe_header(t)?;
        let mut template = None;
        let mut files = Vec::new();
        for ch in tlv::children(t).iter().skip(1) {
            match (tlv::tag_num(ch), ctx_index(tlv::tag_num(ch))) {
                (0x81, _) => template = Some(octets(ch, "templateID")?.to_vec()),
                (_, Some(n)) if n >= 2 => {
                    if files.last().is_some_and(|(last, _)| *last >= n) {
                        return Err(bad("template fields out of order"));
                    }
                    files.push((n, decode_items(ch, true)?));
                }
                _ => return Err(bad("unknown template PE field")),
            }
        }
        Ok(TemplatePe {
            choice,
            header,
            template: template.ok_or(missing("templateID"))?,
            files,
        })
    }

    fn encode(&self) -> Tlv {
        let mut ch = vec![self.header.encode(), prim::<0x81>(self.template.clone())];
        for (n, items) in &self.files {
            ch.push(c(ctx_cons(*n), encode_items(items, true)));
        }
        c(ctx_cons(self.choice), ch)
    }

    /// The items of field `n` (2 = first file), if present.
    pub fn field(&self, n: usize) -> Option<&[FileItem]> {
        self.files
            .iter()
            .find(|(i, _)| *i == n)
            .map(|(_, f)| &f[..])
    }
}

/// PE-GenericFileManagement (SAIP §8.3.5): command lists of filePath / createFCP /
/// fillFileOffset / fillFileContent.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericFileManagement {
    pub header: PeHeader,
    pub commands: Vec<Vec<FileItem>>,
}

/// PE-PINCodes: PINs of the current DF/ADF, or the path of the DF whose PINs it shares.
#[derive(Debug, Clone, PartialEq)]
pub enum PinSet {
    Configs(Vec<Code>),
    SharedWith(Vec<u8>),
}

/// One profile element.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    Header(ProfileHeader),
    Template(TemplatePe),
    Files(GenericFileManagement),
    PinCodes {
        header: PeHeader,
        pins: PinSet,
    },
    PukCodes {
        header: PeHeader,
        puks: Vec<Code>,
    },
    Aka(super::aka::AkaParameter),
    End(PeHeader),
    /// Security domains, applications, RFM, CDMA, non-standard and unknown PEs: stored
    /// as their exact bytes (the card keeps them, does not execute them).
    Stored(Stored),
}

/// An element kept as bytes: its CHOICE tag, header (when it has one) and encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub tag: u32,
    pub header: Option<PeHeader>,
    pub bytes: Vec<u8>,
}

/// CHOICE tags of `ProfileElement` (automatic tags `[0]`..).
pub mod tags {
    pub const HEADER: u32 = 0xA0;
    pub const GFM: u32 = 0xA1;
    pub const PIN: u32 = 0xA2;
    pub const PUK: u32 = 0xA3;
    pub const AKA: u32 = 0xA4;
    pub const CDMA: u32 = 0xA5;
    pub const SECURITY_DOMAIN: u32 = 0xA6;
    pub const RFM: u32 = 0xA7;
    pub const APPLICATION: u32 = 0xA8;
    pub const END: u32 = 0xAA;
    /// `mf [16]`: template PEs are `[16]` (B0) to `[33]` (BF21).
    pub const FIRST_TEMPLATE: usize = 16;
    pub const LAST_TEMPLATE: usize = 33;
}

impl Element {
    /// Decodes one element from its TLV (already checked against the TLV caps).
    pub fn decode(t: &Tlv, raw: &[u8]) -> Result<Element, SaipError> {
        let tag = tlv::tag_num(t);
        Ok(match tag {
            tags::HEADER => Element::Header(ProfileHeader::decode(t)?),
            tags::GFM => {
                let header = pe_header(t)?;
                let cmds = tlv::child(t, 0xA1).ok_or(missing("fileManagementCMD"))?;
                let commands = tlv::children(cmds)
                    .iter()
                    .map(|l| decode_items(l, false))
                    .collect::<Result<_, _>>()?;
                Element::Files(GenericFileManagement { header, commands })
            }
            tags::PIN => {
                let header = pe_header(t)?;
                let choice = tlv::child(t, 0xA1).ok_or(missing("pinCodes"))?;
                let inner = tlv::children(choice).first().ok_or(missing("pinCodes"))?;
                let pins = match tlv::tag_num(inner) {
                    0xA0 => PinSet::Configs(
                        tlv::children(inner)
                            .iter()
                            .map(|c| Code::decode(c, false))
                            .collect::<Result<_, _>>()?,
                    ),
                    0x81 => PinSet::SharedWith(octets(inner, "pinCodes.filePath")?.to_vec()),
                    _ => return Err(bad("pinCodes choice")),
                };
                Element::PinCodes { header, pins }
            }
            tags::PUK => {
                let header = pe_header(t)?;
                let list = tlv::child(t, 0xA1).ok_or(missing("pukCodes"))?;
                let puks = tlv::children(list)
                    .iter()
                    .map(|c| Code::decode(c, true))
                    .collect::<Result<_, _>>()?;
                Element::PukCodes { header, puks }
            }
            tags::AKA => Element::Aka(super::aka::AkaParameter::decode(t)?),
            tags::END => Element::End(pe_header(t)?),
            _ => match ctx_index(tag) {
                Some(n) if (tags::FIRST_TEMPLATE..=tags::LAST_TEMPLATE).contains(&n) => {
                    Element::Template(TemplatePe::decode(n, t)?)
                }
                _ => Element::Stored(Stored {
                    tag,
                    // PE-RFM's header is `[0]` too (PEDefinitions), so every PE has one.
                    header: pe_header(t).ok(),
                    bytes: raw.to_vec(),
                }),
            },
        })
    }

    /// The element's encoding.
    pub fn encode(&self) -> Vec<u8> {
        let t = match self {
            Element::Header(h) => h.encode(),
            Element::Template(pe) => pe.encode(),
            Element::Files(g) => {
                let lists = g
                    .commands
                    .iter()
                    .map(|l| cons::<0x30>(encode_items(l, false)));
                cons::<0xA1>(vec![g.header.encode(), cons::<0xA1>(lists.collect())])
            }
            Element::PinCodes { header, pins } => {
                let inner = match pins {
                    PinSet::Configs(cs) => {
                        cons::<0xA0>(cs.iter().map(|c| c.encode(false)).collect())
                    }
                    PinSet::SharedWith(p) => prim::<0x81>(p.clone()),
                };
                cons::<0xA2>(vec![header.encode(), cons::<0xA1>(vec![inner])])
            }
            Element::PukCodes { header, puks } => {
                let list = cons::<0xA1>(puks.iter().map(|c| c.encode(true)).collect());
                cons::<0xA3>(vec![header.encode(), list])
            }
            Element::Aka(a) => a.encode(),
            Element::End(h) => cons::<0xAA>(vec![h.encode()]),
            Element::Stored(s) => return s.bytes.clone(),
        };
        tlv::encode(&t)
    }

    /// The element's PEHeader, if it has one (every PE but the ProfileHeader).
    pub fn pe_header(&self) -> Option<&PeHeader> {
        match self {
            Element::Header(_) => None,
            Element::Template(t) => Some(&t.header),
            Element::Files(g) => Some(&g.header),
            Element::PinCodes { header, .. } | Element::PukCodes { header, .. } => Some(header),
            Element::Aka(a) => Some(&a.header),
            Element::End(h) => Some(h),
            Element::Stored(s) => s.header.as_ref(),
        }
    }
}
