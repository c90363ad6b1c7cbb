//! Building the [`FileSystem`] of a package (SAIP v3.3.1 §8.3): template PEs create
//! their files from the Annex A templates overridden by the package's FCPs (§8.3.2),
//! GenericFileManagement creates files at paths (§8.3.5), fillFileContent /
//! fillFileOffset write over the default or fill-pattern content (§8.3.3), and the
//! PIN, PUK and AKA PEs attach to the current NAA (the last ADF created).

use super::element::{Code, Element, Fcp, FileItem, PinSet};
use super::error::{fs_err, SaipError, SaipErrorKind, SIZE_REC, SIZE_TR};
use super::fs::{FileKind, FileSystem, NodeId};
use super::node::{make_node, write};
use super::template::{self, FileTemplate, Kind};
use super::{AkaParameter, Package};

/// What a package installs.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub fs: FileSystem,
    /// PIN sets by the directory they belong to (MF: global PINs).
    pub pins: Vec<(NodeId, PinSet)>,
    pub puks: Vec<(NodeId, Vec<Code>)>,
    /// AKA parameters by ADF.
    pub aka: Vec<(NodeId, AkaParameter)>,
    /// Template files skipped: optional, absent from the PE, and without a size in the
    /// template (so nothing to create): (PE index, field name).
    pub skipped: Vec<(usize, &'static str)>,
}

/// Installs `pkg` into a new file system.
pub fn install(pkg: &Package) -> Result<Image, SaipError> {
    let mut st = State {
        fs: FileSystem::default(),
        naa: None,
        last_adf: Vec::new(),
        image_pins: Vec::new(),
        image_puks: Vec::new(),
        image_aka: Vec::new(),
        skipped: Vec::new(),
    };
    for (i, e) in pkg.elements.iter().enumerate() {
        let id = e.pe_header().map(|h| h.identification);
        st.element(i, e).map_err(|err| err.at(i, id))?;
    }
    if st.fs.is_empty() {
        return Err(fs_err("no PE-MF"));
    }
    resolve_links(&mut st.fs)?;
    Ok(Image {
        fs: st.fs,
        pins: st.image_pins,
        puks: st.image_puks,
        aka: st.image_aka,
        skipped: st.skipped,
    })
}

struct State {
    fs: FileSystem,
    /// The current NAA's ADF.
    naa: Option<NodeId>,
    /// (template CHOICE, ADF) of each ADF created by a template PE.
    last_adf: Vec<(usize, NodeId)>,
    image_pins: Vec<(NodeId, PinSet)>,
    image_puks: Vec<(NodeId, Vec<Code>)>,
    image_aka: Vec<(NodeId, AkaParameter)>,
    skipped: Vec<(usize, &'static str)>,
}

impl State {
    fn context(&self) -> NodeId {
        self.naa.unwrap_or(FileSystem::MF)
    }

    fn element(&mut self, index: usize, e: &Element) -> Result<(), SaipError> {
        match e {
            Element::Template(pe) => self.template(index, pe),
            Element::Files(g) => {
                self.need_mf()?;
                let mut dir = FileSystem::MF;
                // The file being filled and its offset/content items (positions run
                // on from one item to the next, SAIP §8.3.3).
                let mut file: Option<(NodeId, Vec<FileItem>)> = None;
                for item in g.commands.iter().flatten() {
                    match item {
                        FileItem::Path(p) => {
                            self.flush(file.take())?;
                            let fids: Vec<u16> = p
                                .chunks(2)
                                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                                .collect();
                            dir = self
                                .fs
                                .find_by_path(&fids)
                                .ok_or(fs_err("filePath not found"))?;
                        }
                        FileItem::Fcp(fcp) => {
                            self.flush(file.take())?;
                            file = Some((self.create(dir, fcp, None, None)?, Vec::new()));
                        }
                        FileItem::Offset(_) | FileItem::Content(_) => match &mut file {
                            Some((_, items)) => items.push(item.clone()),
                            None => return Err(fs_err("content before createFCP")),
                        },
                        FileItem::DoNotCreate => return Err(fs_err("doNotCreate in GFM")),
                    }
                }
                self.flush(file)
            }
            Element::PinCodes { pins, .. } => {
                self.image_pins.push((self.context(), pins.clone()));
                Ok(())
            }
            Element::PukCodes { puks, .. } => {
                self.image_puks.push((self.context(), puks.clone()));
                Ok(())
            }
            Element::Aka(a) => {
                let adf = self.naa.ok_or(fs_err("PE-AKAParameter before any NAA"))?;
                self.image_aka.push((adf, a.clone()));
                Ok(())
            }
            Element::Header(_) | Element::End(_) | Element::Stored(_) => Ok(()),
        }
    }

    fn flush(&mut self, file: Option<(NodeId, Vec<FileItem>)>) -> Result<(), SaipError> {
        match file {
            Some((id, items)) => write(&mut self.fs.nodes[id], &items),
            None => Ok(()),
        }
    }

    fn need_mf(&self) -> Result<(), SaipError> {
        if self.fs.is_empty() {
            return Err(fs_err("file PE before PE-MF"));
        }
        Ok(())
    }

    fn template(&mut self, index: usize, pe: &super::TemplatePe) -> Result<(), SaipError> {
        let (names, tpl) = template::lookup(pe.choice).ok_or(fs_err("unknown template PE"))?;
        if pe.choice != 16 {
            self.need_mf()?;
        } else if !self.fs.is_empty() {
            return Err(fs_err("second PE-MF"));
        }
        let by_default = template::created_by_default(pe.choice);
        let under = match template::base_under_usim(pe.choice) {
            None => None,
            Some(true) => Some(
                self.adf_of(19)
                    .ok_or(fs_err("no ADF.USIM for this template"))?,
            ),
            Some(false) => Some(FileSystem::MF),
        };
        // Optional templates add to their mandatory template's ADF.
        let mut base = template::extends(pe.choice).and_then(|c| self.adf_of(c));
        let mut cur_dir = base;
        for (field, name) in names.iter().enumerate() {
            let n = field + 2;
            let t = tpl.and_then(|t| t.get(field));
            let items = pe.field(n);
            if items.is_none() && !(by_default && t.is_some()) {
                continue;
            }
            let items = items.unwrap_or(&[]);
            if items.contains(&FileItem::DoNotCreate) {
                continue;
            }
            let fcp = items.iter().find_map(|i| match i {
                FileItem::Fcp(f) => Some(f.clone()),
                _ => None,
            });
            if fcp.is_none() && t.is_none_or(|t| !t.kind_is_dir() && t.size == 0) {
                self.skipped.push((index, name));
                continue;
            }
            let fcp = fcp.unwrap_or_default();
            let is_dir = name.starts_with("df-") || name.starts_with("adf-") || *name == "mf";
            let parent = if *name == "mf" {
                None
            } else if is_dir {
                Some(base.or(under).ok_or(fs_err("no parent directory"))?)
            } else {
                Some(cur_dir.ok_or(fs_err("file before its directory"))?)
            };
            let created = match parent {
                None => self.create_mf(&fcp, t),
                Some(p) => self.create(p, &fcp, t, Some(name)),
            };
            let id = match created {
                // A template whose Annex A table this eUICC lacks (CSIM, EAP, ...): a
                // file whose FCP leaves its size to the template is skipped, and listed.
                Err(e) if tpl.is_none() && is_size_error(&e) => {
                    self.skipped.push((index, name));
                    continue;
                }
                r => r?,
            };
            write(&mut self.fs.nodes[id], items)?;
            if is_dir {
                cur_dir = Some(id);
                base.get_or_insert(id);
                if self.fs.nodes[id].kind == FileKind::Adf {
                    self.last_adf.push((pe.choice, id));
                    self.naa = Some(id);
                }
            }
        }
        Ok(())
    }

    fn adf_of(&self, choice: usize) -> Option<NodeId> {
        self.last_adf
            .iter()
            .rev()
            .find(|(c, _)| *c == choice)
            .map(|(_, id)| *id)
    }

    fn create_mf(&mut self, fcp: &Fcp, t: Option<&FileTemplate>) -> Result<NodeId, SaipError> {
        let mut node = make_node(fcp, t, true, None)?;
        node.kind = FileKind::Mf;
        node.fid = 0x3F00;
        self.fs.nodes.push(node);
        Ok(FileSystem::MF)
    }

    fn create(
        &mut self,
        parent: NodeId,
        fcp: &Fcp,
        t: Option<&FileTemplate>,
        name: Option<&str>,
    ) -> Result<NodeId, SaipError> {
        let at_mf = parent == FileSystem::MF;
        let mut node = make_node(fcp, t, at_mf, name)?;
        if node.kind == FileKind::Mf {
            return Err(fs_err("a second MF"));
        }
        // Absent shortEFID on a GFM file: the FID's low 5 bits (SAIP §8.3.1 `Fcp`).
        if t.is_none() && fcp.get(0x88).is_none() && !node.kind.is_dir() {
            node.sfi = Some((node.fid & 0x1F) as u8).filter(|&s| s != 0);
        }
        let (parent, at_mf) = if node.kind == FileKind::Adf {
            (FileSystem::MF, true)
        } else {
            (parent, at_mf)
        };
        let _ = at_mf;
        let clash = self.fs.nodes[parent]
            .children
            .iter()
            .any(|&c| self.fs.nodes[c].fid == node.fid);
        if clash {
            return Err(fs_err("duplicate FID in a directory"));
        }
        node.parent = Some(parent);
        let id = self.fs.nodes.len();
        self.fs.nodes.push(node);
        self.fs.nodes[parent].children.push(id);
        Ok(id)
    }
}

fn is_size_error(e: &SaipError) -> bool {
    matches!(e.kind, SaipErrorKind::FileSystem(SIZE_TR | SIZE_REC))
}

impl FileTemplate {
    fn kind_is_dir(&self) -> bool {
        matches!(self.kind, Kind::MF | Kind::DF | Kind::ADF)
    }
}

fn resolve_links(fs: &mut FileSystem) -> Result<(), SaipError> {
    for i in 0..fs.nodes.len() {
        if let Some(p) = fs.nodes[i].link_path.clone() {
            let fids: Vec<u16> = p
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            let target = fs.find_by_path(&fids).ok_or(fs_err("linkPath not found"))?;
            if target == i {
                return Err(fs_err("file linked to itself"));
            }
            fs.nodes[i].link = Some(target);
        }
    }
    Ok(())
}
