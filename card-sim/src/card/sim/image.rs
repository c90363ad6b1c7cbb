//! The enabled profile's installed image, kept in memory (volatile): decoding a package
//! (`Package::decode` + `apdu::saip::fs::install`) costs far more than a command, so it is
//! done when the enabled profile or its package changes (and at the first command after
//! a load), and the profile's persistent file changes (`Profile::sim.files`) are laid over
//! it. Each command first compares the cache with the state ([`Served::is_for`],
//! [`Served::sync_files`]), so what is served is always what the state holds, also after
//! a save that failed and put the state back.

use crate::state::profile::HexContent;
use crate::state::Secret;
use apdu::aka::{SqnState, Usim};
use apdu::saip::fs::{FileSystem, NodeId};
use apdu::saip::{Code, Package, PinSet};
use std::collections::BTreeMap;

/// FID of EF.UST in ADF.USIM (TS 31.102 §4.2.8).
const FID_EF_UST: u16 = 0x6F38;

/// One USIM ADF's authentication: from its PE-AKAParameter.
pub struct UsimAdf {
    pub adf: NodeId,
    pub usim: Usim,
    /// The SQN state before any authentication (`sqnInit`).
    pub initial: SqnState,
}

/// The enabled profile as the card serves it.
pub struct Served {
    /// The package this was installed from.
    package: Secret,
    /// The file system as installed.
    base: FileSystem,
    /// `base` with the persistent changes laid over it: what commands see.
    pub fs: FileSystem,
    /// The persistent changes laid over `base` now.
    applied: BTreeMap<usize, HexContent>,
    pub pins: Vec<(NodeId, PinSet)>,
    pub puks: Vec<(NodeId, Vec<Code>)>,
    pub usims: Vec<UsimAdf>,
}

/// The cache: nothing, a package that did not install (not retried until it changes), or
/// the served image.
#[derive(Default)]
pub enum Cache {
    #[default]
    Empty,
    Failed(Secret),
    Ready(Box<Served>),
}

impl Served {
    /// Installs `package` and lays `files` over it. Errors: the package does not decode
    /// or install (it did at download, so only a damaged state file gets here).
    pub fn build(package: &Secret, files: &BTreeMap<usize, HexContent>) -> Result<Served, String> {
        let pkg = Package::decode(package.expose()).map_err(|e| e.to_string())?;
        let image = apdu::saip::fs::install(&pkg).map_err(|e| e.to_string())?;
        let mut usims = Vec::new();
        for (adf, aka) in &image.aka {
            let ust = image
                .fs
                .child_by_fid(*adf, FID_EF_UST)
                .and_then(|u| image.fs.content(u));
            match apdu::saip::usim::usim(aka, ust) {
                Ok((usim, initial)) => usims.push(UsimAdf {
                    adf: *adf,
                    usim,
                    initial,
                }),
                // Served without AUTHENTICATE (6985), and said once.
                Err(e) => eprintln!("card-sim: the USIM of node {adf} cannot authenticate: {e}"),
            }
        }
        let mut s = Served {
            package: package.clone(),
            fs: image.fs.clone(),
            base: image.fs,
            applied: BTreeMap::new(),
            pins: image.pins,
            puks: image.puks,
            usims,
        };
        s.sync_files(files);
        Ok(s)
    }

    /// Whether this image was installed from `package`.
    pub fn is_for(&self, package: &Secret) -> bool {
        self.package == *package
    }

    /// Lays `files` (the profile's persistent changes) over the installed content, where
    /// it differs from what is laid now; a change no longer in `files` is undone. A
    /// content for a node that is not an EF of this image is ignored.
    pub fn sync_files(&mut self, files: &BTreeMap<usize, HexContent>) {
        if self.applied == *files {
            return;
        }
        let undone: Vec<usize> = self
            .applied
            .keys()
            .filter(|k| !files.contains_key(k))
            .copied()
            .collect();
        for id in undone {
            let orig = self.base.content(id).map(<[u8]>::to_vec);
            if let (Some(orig), Some(c)) = (orig, self.fs.content_mut(id)) {
                *c = orig;
            }
        }
        for (id, content) in files {
            if self.applied.get(id) == Some(content) {
                continue;
            }
            let is_ef = self.fs.node(*id).is_some_and(|n| !n.kind.is_dir());
            if let (true, Some(c)) = (is_ef, self.fs.content_mut(*id)) {
                *c = content.0.clone();
            }
        }
        self.applied = files.clone();
    }

    /// The USIM of ADF `adf`, if it authenticates.
    pub fn usim(&self, adf: NodeId) -> Option<&UsimAdf> {
        self.usims.iter().find(|u| u.adf == adf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apdu::saip::build::{build, Subscription};
    use apdu::saip::Algorithm;

    #[test]
    fn persistent_changes_are_laid_over_and_undone() {
        let s = Subscription {
            iccid: apdu::sgp22::es10::Iccid::from_digits("89490000000000000042").unwrap(),
            imsi: "001010000000042".into(),
            msisdn: None,
            ki: apdu::saip::Secret::new(vec![1; 16]),
            opc: apdu::saip::Secret::new(vec![2; 16]),
            algorithm: Algorithm::Milenage,
            spn: "t".into(),
            profile_type: "test".into(),
            pin1: "1234".into(),
            puk1: "12345678".into(),
            adm1: "88888888".into(),
        };
        let pkg = Secret::new(build(&s).unwrap().encode());
        let mut served = Served::build(&pkg, &BTreeMap::new()).unwrap();
        assert!(served.is_for(&pkg) && !served.is_for(&Secret::new(vec![0])));
        assert_eq!(served.usims.len(), 1);
        let iccid = served.fs.child_by_fid(FileSystem::MF, 0x2FE2).unwrap();
        let orig = served.fs.content(iccid).unwrap().to_vec();
        let mut files = BTreeMap::new();
        files.insert(iccid, HexContent(vec![0xAB; 10]));
        // Not an EF: ignored.
        files.insert(FileSystem::MF, HexContent(vec![1]));
        served.sync_files(&files);
        assert_eq!(served.fs.content(iccid).unwrap(), &[0xAB; 10]);
        assert_eq!(served.fs.content(FileSystem::MF).unwrap(), &[] as &[u8]);
        files.remove(&iccid);
        served.sync_files(&files);
        assert_eq!(served.fs.content(iccid).unwrap(), &orig[..], "undone");
        assert!(Served::build(&Secret::new(vec![0x30, 0x00]), &files).is_err());
    }
}
