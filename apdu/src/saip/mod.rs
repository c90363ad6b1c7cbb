//! The SAIP eUICC Profile Package (TCA "eUICC Profile Package: Interoperable Format
//! Technical Specification" v2.x/v3.x, ASN.1 module PEDefinitions v3.3.1): decoding a
//! package into typed profile elements, encoding it back, building one from a
//! subscription, and the file system it describes. No I/O.
//!
//! - [`Package::decode`]: a package (the concatenated `ProfileElement`s an SM-DP+ sends
//!   in the BPP's `86` segments) into [`Element`]s; elements the card does not execute
//!   (security domains, applications, RFM, ...) are kept as their exact bytes
//!   ([`Stored`]). A refused package is a [`SaipError`] that names the SGP.22
//!   `ErrorReason` and SAIP `PEStatus` the card reports.
//! - [`fs::install`]: the file system (MF, DFs, ADFs by AID, EFs with FCPs and content
//!   after the Annex A template defaults, fill patterns and offsets), the PINs, PUKs and
//!   AKA parameters per ADF.
//! - [`usim::usim`]: the USIM's AUTHENTICATE and SQN state of a PE-AKAParameter.
//! - [`build::build`]: a package for an ICCID, IMSI, Ki, OPc..., which decodes back to
//!   the same values and re-encodes to the same bytes.
//!
//! Caps: the package is walked element by element ([`MAX_PACKAGE_SIZE`],
//! [`MAX_ELEMENTS`]); each element goes through the crate's TLV checks on its own, so
//! the global caps ([`crate::iso7816::tlv::MAX_TLV_SIZE`] 64 KiB, depth 16) hold per
//! element while a whole TS.48 profile (about 12 KiB) or a larger one with applets fits.

pub mod aka;
pub mod build;
mod codes;
pub mod element;
pub mod error;
mod fields;
pub mod fs;
mod header;
mod install;
mod node;
pub mod secret;
pub mod template;
mod template_data;
pub mod usim;

pub use aka::{AkaParameter, AlgoConfiguration, AlgoParameter, Algorithm};
pub use element::{
    Code, Element, Fcp, FileItem, GenericFileManagement, PeHeader, PinSet, ProfileHeader, Stored,
    TemplatePe,
};
pub use error::{PeStatus, SaipError, SaipErrorKind};
pub use secret::Secret;

use crate::iso7816::tlv;
use crate::sgp22::es10::Iccid;

/// Largest package accepted (1 MiB: a TS.48 profile is ~12 KiB; applets make more).
pub const MAX_PACKAGE_SIZE: usize = 1024 * 1024;
/// Most profile elements in one package.
pub const MAX_ELEMENTS: usize = 1024;

/// A decoded profile package: its elements in order (header first, PE-End last).
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub elements: Vec<Element>,
}

/// Splits a package into its top-level elements without parsing them (tag and length
/// only), checking the package caps and that each element fits.
pub fn split(b: &[u8]) -> Result<Vec<&[u8]>, SaipError> {
    use SaipErrorKind::*;
    if b.len() > MAX_PACKAGE_SIZE {
        return Err(SaipError::new(PackageTooLarge {
            len: b.len(),
            max: MAX_PACKAGE_SIZE,
        }));
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        if out.len() == MAX_ELEMENTS {
            return Err(SaipError::new(TooManyElements { max: MAX_ELEMENTS }));
        }
        let at = |e: crate::Error| SaipError::from(e).at(out.len(), None);
        let (_, _, p) = tlv::read_tag(b, pos).map_err(at)?;
        let (len, p) = tlv::scan_len(b, p).map_err(at)?;
        let end = p
            .checked_add(len)
            .filter(|&e| e <= b.len())
            .ok_or_else(|| at(crate::Error::Truncated))?;
        if end - pos > tlv::MAX_TLV_SIZE {
            let e = ElementTooLarge {
                len: end - pos,
                max: tlv::MAX_TLV_SIZE,
            };
            return Err(SaipError::new(e).at(out.len(), None));
        }
        out.push(&b[pos..end]);
        pos = end;
    }
    Ok(out)
}

impl Package {
    /// Decodes a whole package (SAIP §8.1: a ProfileHeader first, PE-End last).
    pub fn decode(b: &[u8]) -> Result<Package, SaipError> {
        let mut elements = Vec::new();
        for (i, raw) in split(b)?.into_iter().enumerate() {
            let t = tlv::parse(raw).map_err(|e| SaipError::from(e).at(i, None))?;
            let e = Element::decode(&t, raw).map_err(|e| e.at(i, id_of(&t)))?;
            if let Element::Stored(s) = &e {
                if s.header.as_ref().is_some_and(|h| h.mandated) && !stored_kind_known(s.tag) {
                    let id = s.header.as_ref().map(|h| h.identification);
                    return Err(
                        SaipError::new(SaipErrorKind::MandatedNotSupported(s.tag)).at(i, id)
                    );
                }
            }
            elements.push(e);
        }
        let pkg = Package { elements };
        pkg.check_order()?;
        Ok(pkg)
    }

    fn check_order(&self) -> Result<(), SaipError> {
        let headers = self
            .elements
            .iter()
            .filter(|e| matches!(e, Element::Header(_)));
        if !matches!(self.elements.first(), Some(Element::Header(_))) || headers.count() != 1 {
            return Err(SaipError::new(SaipErrorKind::HeaderPlacement));
        }
        let ends = self
            .elements
            .iter()
            .filter(|e| matches!(e, Element::End(_)));
        if !matches!(self.elements.last(), Some(Element::End(_))) || ends.count() != 1 {
            return Err(SaipError::new(SaipErrorKind::EndPlacement));
        }
        let h = self.header();
        if !(2..=3).contains(&h.major) {
            return Err(SaipError::new(SaipErrorKind::UnsupportedVersion(h.major)).at(0, None));
        }
        Ok(())
    }

    /// The encoding: each element's encoding, concatenated.
    pub fn encode(&self) -> Vec<u8> {
        self.elements.iter().flat_map(Element::encode).collect()
    }

    /// The ProfileHeader (a decoded package always has one, first).
    pub fn header(&self) -> &ProfileHeader {
        match self.elements.first() {
            Some(Element::Header(h)) => h,
            _ => unreachable!("Package::decode and build put the header first"),
        }
    }

    /// The header's ICCID as an [`Iccid`] (EF.ICCID coding).
    pub fn iccid(&self) -> Result<Iccid, SaipError> {
        Iccid::from_digits(&self.header().iccid_digits())
            .map_err(|_| error::bad("header ICCID is not 18-20 digits"))
    }

    /// Checks the header's ICCID against the profile metadata's (StoreMetadata, SGP.22
    /// §5.5.3): a mismatch is installFailedDueToIccidMismatch.
    pub fn check_iccid(&self, metadata: &Iccid) -> Result<(), SaipError> {
        match self.iccid() {
            Ok(i) if &i == metadata => Ok(()),
            _ => Err(SaipError::new(SaipErrorKind::IccidMismatch).at(0, None)),
        }
    }

    /// The elements kept as bytes (not executed by the card).
    pub fn stored(&self) -> impl Iterator<Item = &Stored> {
        self.elements.iter().filter_map(|e| match e {
            Element::Stored(s) => Some(s),
            _ => None,
        })
    }
}

/// PEs the card stores as data by design (security domains, RFM, applications, and the
/// CDMA parameters of a CSIM, whose CAVE it does not run): a `mandated` flag on them is
/// satisfied by storing them.
fn stored_kind_known(tag: u32) -> bool {
    use element::tags::*;
    matches!(tag, CDMA | SECURITY_DOMAIN | RFM | APPLICATION)
}

/// The PEHeader identification of a PE that failed to decode, if readable.
fn id_of(t: &tlv::Tlv) -> Option<u16> {
    let h = tlv::children(t).first()?;
    let v = tlv::child_bytes(h, 0x81)?;
    tlv::read_uint(0x81, v)
        .ok()
        .and_then(|n| u16::try_from(n).ok())
}
