//! The file system a package describes (TS 102 221 §8: MF, DFs, ADFs, EFs), as the
//! card's SELECT / READ / UPDATE of the enabled profile reads it. Nodes live in one
//! vector; [`NodeId`] 0 is the MF. [`install`] builds it (see `install.rs`).

pub use super::install::{install, Image};

/// Index of a node in [`FileSystem`].
pub type NodeId = usize;

/// What a node is, with the structure of EFs (TS 102 221 §11.1.1.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Mf,
    Df,
    Adf,
    Transparent,
    LinearFixed { record_len: usize, records: usize },
    Cyclic { record_len: usize, records: usize },
    BerTlv,
}

impl FileKind {
    pub fn is_dir(self) -> bool {
        matches!(self, FileKind::Mf | FileKind::Df | FileKind::Adf)
    }
}

/// One file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// FID; for an ADF the package's temporary FID (used only in package paths).
    pub fid: u16,
    /// DF name (AID) of an ADF.
    pub aid: Option<Vec<u8>>,
    pub kind: FileKind,
    /// First byte of the file descriptor (`82`): type and shareable bit.
    pub descriptor: u8,
    pub sfi: Option<u8>,
    /// Life cycle status (`8A`), `05` activated by default.
    pub lcsi: u8,
    /// Security attributes referenced (`8B`): EF.ARR FID and record.
    pub security: Vec<u8>,
    /// SAIP pinStatusTemplateDO: the content of FCP tag `C6` (PS_DO `90`, key
    /// reference DOs `83`); [`Node::pin_key_refs`] reads the references.
    pub pin_status: Option<Vec<u8>>,
    /// Max size of a BER-TLV file (SAIP `maximumFileSize`).
    pub max_size: Option<usize>,
    /// The template's name ("EF.IMSI"), when it came from a template.
    pub name: Option<&'static str>,
    pub parent: Option<NodeId>,
    pub children: Vec<NodeId>,
    /// A linked file's target (SAIP `linkPath`): the content is the target's.
    pub link: Option<NodeId>,
    pub(crate) link_path: Option<Vec<u8>>,
    pub(crate) content: Vec<u8>,
}

impl Node {
    /// The key references of the directory's PINs, from its PIN status template DO
    /// (TS 102 221 §9.5.2: `90` PS_DO, optional `95` usage qualifiers, `83` key
    /// references), in order. A template that does not parse names none.
    pub fn pin_key_refs(&self) -> Vec<u8> {
        let Some(ps) = &self.pin_status else {
            return Vec::new();
        };
        let mut refs = Vec::new();
        let mut rest = &ps[..];
        while let [tag, len, tail @ ..] = rest {
            let len = usize::from(*len);
            let Some(value) = tail.get(..len) else {
                break;
            };
            if *tag == 0x83 {
                if let Some(&k) = value.first() {
                    refs.push(k);
                }
            }
            rest = &tail[len..];
        }
        refs
    }
}

/// The file system of one profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileSystem {
    pub(crate) nodes: Vec<Node>,
}

impl FileSystem {
    /// The MF.
    pub const MF: NodeId = 0;

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id)
    }
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes.iter().enumerate()
    }

    /// Child of `df` with FID `fid` (ADFs are not children by FID: select them by AID).
    pub fn child_by_fid(&self, df: NodeId, fid: u16) -> Option<NodeId> {
        let n = self.nodes.get(df)?;
        n.children
            .iter()
            .copied()
            .find(|&c| self.nodes[c].fid == fid && self.nodes[c].kind != FileKind::Adf)
    }

    /// EF of `df` with short file identifier `sfi`.
    pub fn child_by_sfi(&self, df: NodeId, sfi: u8) -> Option<NodeId> {
        let n = self.nodes.get(df)?;
        n.children
            .iter()
            .copied()
            .find(|&c| self.nodes[c].sfi == Some(sfi) && !self.nodes[c].kind.is_dir())
    }

    /// A path of FIDs from the MF (a leading `3F00` is optional; an ADF is named by its
    /// temporary FID, as SAIP paths name it, or `7FFF` for the current one is the
    /// caller's business).
    pub fn find_by_path(&self, path: &[u16]) -> Option<NodeId> {
        let path = path.strip_prefix(&[0x3F00]).unwrap_or(path);
        let mut cur = Self::MF;
        for &fid in path {
            cur = self
                .nodes
                .get(cur)?
                .children
                .iter()
                .copied()
                .find(|&c| self.nodes[c].fid == fid)?;
        }
        Some(cur)
    }

    /// The ADF whose AID starts with `aid` (ISO 7816-4 selection by partial DF name).
    pub fn by_aid(&self, aid: &[u8]) -> Option<NodeId> {
        self.adfs().find(|&i| {
            self.nodes[i]
                .aid
                .as_deref()
                .is_some_and(|a| !aid.is_empty() && a.starts_with(aid))
        })
    }

    /// The ADFs in creation order.
    pub fn adfs(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].kind == FileKind::Adf)
    }

    /// The node whose content `id` shows (a linked file's target).
    pub fn resolve(&self, id: NodeId) -> NodeId {
        let mut cur = id;
        for _ in 0..8 {
            match self.nodes.get(cur).and_then(|n| n.link) {
                Some(t) => cur = t,
                None => break,
            }
        }
        cur
    }

    /// The content of an EF (records concatenated), following links.
    pub fn content(&self, id: NodeId) -> Option<&[u8]> {
        self.nodes.get(self.resolve(id)).map(|n| &n.content[..])
    }

    /// The content for UPDATE, following links. Keeping the size is the caller's job
    /// for transparent and record files.
    pub fn content_mut(&mut self, id: NodeId) -> Option<&mut Vec<u8>> {
        let id = self.resolve(id);
        self.nodes.get_mut(id).map(|n| &mut n.content)
    }

    /// Record `n` (1-based) of a record EF.
    pub fn record(&self, id: NodeId, n: usize) -> Option<&[u8]> {
        let kind = self.nodes.get(self.resolve(id))?.kind;
        let (FileKind::LinearFixed {
            record_len,
            records,
        }
        | FileKind::Cyclic {
            record_len,
            records,
        }) = kind
        else {
            return None;
        };
        if n == 0 || n > records {
            return None;
        }
        self.content(id)?.get((n - 1) * record_len..n * record_len)
    }

    /// The FCP template (`62`) as SELECT answers it (TS 102 221 §11.1.1.3): `82`, `83`
    /// (not for ADFs), `84`, `8A`, `8B`, `80` (EFs), `C6` (directories), `88`.
    pub fn fcp(&self, id: NodeId) -> Option<Vec<u8>> {
        use crate::iso7816::tlv::{encode, prim, try_prim, Tlv};
        let n = self.nodes.get(id)?;
        let content_len = self.content(id).map_or(0, <[u8]>::len);
        let mut ch: Vec<Tlv> = Vec::new();
        let desc = match n.kind {
            FileKind::LinearFixed {
                record_len,
                records,
            }
            | FileKind::Cyclic {
                record_len,
                records,
            } => {
                vec![
                    n.descriptor,
                    0x21,
                    (record_len >> 8) as u8,
                    record_len as u8,
                    records as u8,
                ]
            }
            _ => vec![n.descriptor, 0x21],
        };
        ch.push(prim::<0x82>(desc));
        if n.kind != FileKind::Adf {
            ch.push(prim::<0x83>(n.fid.to_be_bytes().to_vec()));
        }
        if let Some(a) = &n.aid {
            ch.push(prim::<0x84>(a.clone()));
        }
        ch.push(prim::<0x8A>(vec![n.lcsi]));
        ch.push(prim::<0x8B>(n.security.clone()));
        if !n.kind.is_dir() {
            let size = content_len.max(n.max_size.unwrap_or(0));
            let bytes: Vec<u8> = (size as u32)
                .to_be_bytes()
                .iter()
                .copied()
                .skip_while(|&b| b == 0)
                .collect();
            ch.push(prim::<0x80>(if bytes.is_empty() { vec![0] } else { bytes }));
        }
        if let Some(ps) = &n.pin_status {
            // The package's PIN status template DO as it is (PS_DO, key references).
            if let Ok(t) = try_prim(0xC6, ps.clone()) {
                ch.push(t);
            }
        }
        if let Some(s) = n.sfi {
            ch.push(prim::<0x88>(vec![s << 3]));
        }
        Some(encode(&crate::iso7816::tlv::cons::<0x62>(ch)))
    }
}
