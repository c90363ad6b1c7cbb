//! The BPP's structure (SGP.22 v2.x §2.5.4, §5.5.2, §5.7.6, ASN.1 `BoundProfilePackage`):
//!
//! ```text
//! BF36 { BF23 InitialiseSecureChannelRequest { 82 remoteOpId, 80 transactionId,
//!          A6 { 80 keyType, 81 keyLen, 84 hostId }, 5F49 smdpOtpk, 5F37 smdpSign },
//!        A0 { 87 ConfigureISDP (C-ENC + C-MAC) ... },
//!        A1 { 88 StoreMetadata (C-MAC only) ... },
//!        A2 { 87 ReplaceSessionKeys (C-ENC + C-MAC) ... }  -- optional
//!        A3 { 86 profile element segments ... } }
//! ```
//!
//! How lpac (euicc/es10b.c `es10b_load_bound_profile_package_r`) cuts it into ES10b STORE
//! DATA messages ([`split_segments`]): the BF36 tag and length with the whole BF23; the
//! whole A0; the A1 tag and length, then each 88; the whole A2 if present; the A3 tag and
//! length, then each 86. The SM side's [`BppBuilder`] writes a BF36.

use super::keys::{ControlRefTemplate, SessionKeys, KEY_TYPE_AES};
use super::scp03t::{Scp03t, MAX_ENC_PLAINTEXT, MAX_MAC_PLAINTEXT};
use super::{BppCommandId, BppError, ErrorReason};
use crate::error::{Error, Result};
use crate::iso7816::tlv;
use zeroize::Zeroizing;

/// remoteOpId installBoundProfilePackage(1), the only value SGP.22 v2.x defines.
pub const REMOTE_OP_INSTALL_BPP: u8 = 1;

/// InitialiseSecureChannelRequest (BF23, SGP.22 §5.5.2 / §5.7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialiseSecureChannel {
    pub remote_op_id: u8,
    pub transaction_id: Vec<u8>,
    pub crt: ControlRefTemplate,
    /// otPK.DP.ECKA, SEC1 uncompressed (`04 || X || Y`).
    pub smdp_otpk: Vec<u8>,
    /// smdpSign as carried (SGP.22: TR-03111 plain r || s).
    pub smdp_sign: Vec<u8>,
}

fn isc_err(reason: ErrorReason) -> BppError {
    BppError::new(BppCommandId::InitialiseSecureChannel, reason)
}

fn raw_tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.extend_from_slice(&tag_bytes(tag));
    tlv::push_len(value.len(), &mut out);
    out.extend_from_slice(value);
    out
}

fn tag_bytes(tag: u32) -> Vec<u8> {
    let b = tag.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

impl InitialiseSecureChannel {
    /// remoteOpId, transactionId, controlRefTemplate and smdpOtpk as DER data objects.
    fn signed_part(&self) -> Vec<u8> {
        let mut crt = raw_tlv(0x80, &[self.crt.key_type]);
        crt.extend(raw_tlv(0x81, &[self.crt.key_len]));
        crt.extend(raw_tlv(0x84, &self.crt.host_id));
        let mut out = raw_tlv(0x82, &[self.remote_op_id]);
        out.extend(raw_tlv(0x80, &self.transaction_id));
        out.extend(raw_tlv(0xA6, &crt));
        out.extend(raw_tlv(0x5F49, &self.smdp_otpk));
        out
    }

    /// The bytes smdpSign signs (SGP.22 §5.5.2): remoteOpId, transactionId,
    /// controlRefTemplate, smdpOtpk, then euiccOtpk as `5F49 L otPK.EUICC.ECKA`.
    pub fn signed_data(&self, euicc_otpk: &[u8]) -> Vec<u8> {
        let mut out = self.signed_part();
        out.extend(raw_tlv(0x5F49, euicc_otpk));
        out
    }

    /// The BF23 TLV.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = self.signed_part();
        body.extend(raw_tlv(0x5F37, &self.smdp_sign));
        raw_tlv(0xBF23, &body)
    }

    /// Decodes exactly one BF23 TLV in DER (re-encoding must give the same bytes, so
    /// [`Self::signed_data`] is what the SM-DP+ signed). Refuses: malformed
    /// (incorrectInputValues), remoteOpId other than 1 (unsupportedRemoteOperationType),
    /// a CRT other than AES / 16 bytes (unsupportedCrtValues).
    pub fn decode(b: &[u8]) -> std::result::Result<Self, BppError> {
        let bad = isc_err(ErrorReason::IncorrectInputValues);
        let t = tlv::parse_expect(b, 0xBF23).map_err(|_| bad)?;
        let get = |tag| tlv::child_bytes(&t, tag).ok_or(bad);
        let op = get(0x82)?;
        let crt_t = tlv::child(&t, 0xA6).ok_or(bad)?;
        let crt_get = |tag| tlv::child_bytes(crt_t, tag).ok_or(bad);
        let one = |v: &[u8]| match v {
            [x] => Ok(*x),
            _ => Err(bad),
        };
        let isc = InitialiseSecureChannel {
            remote_op_id: one(op)?,
            transaction_id: get(0x80)?.to_vec(),
            crt: ControlRefTemplate {
                key_type: one(crt_get(0x80)?)?,
                key_len: one(crt_get(0x81)?)?,
                host_id: crt_get(0x84)?.to_vec(),
            },
            smdp_otpk: get(0x5F49)?.to_vec(),
            smdp_sign: get(0x5F37)?.to_vec(),
        };
        if isc.transaction_id.is_empty() || isc.transaction_id.len() > 16 {
            return Err(bad);
        }
        if isc.crt.host_id.is_empty() || isc.crt.host_id.len() > 16 {
            return Err(bad);
        }
        if isc.encode() != b {
            return Err(bad);
        }
        if isc.remote_op_id != REMOTE_OP_INSTALL_BPP {
            return Err(isc_err(ErrorReason::UnsupportedRemoteOperationType));
        }
        if isc.crt.key_type != KEY_TYPE_AES || isc.crt.key_len != 16 {
            return Err(isc_err(ErrorReason::UnsupportedCrtValues));
        }
        Ok(isc)
    }
}

/// (tag, header length, value length) of the TLV at the start of `b`.
pub(crate) fn header(b: &[u8]) -> Result<(u32, usize, usize)> {
    let (tag, _, p) = tlv::read_tag(b, 0)?;
    let (len, p) = tlv::scan_len(b, p)?;
    Ok((tag, p, len))
}

/// The TLVs that fill `b` exactly, as raw byte slices.
pub(crate) fn raw_children(mut b: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (_, h, len) = header(b)?;
        let end = h.checked_add(len).ok_or(Error::Truncated)?;
        if end > b.len() {
            return Err(Error::Truncated);
        }
        let (one, rest) = b.split_at(end);
        out.push(one);
        b = rest;
    }
    Ok(out)
}

/// Cuts a whole BF36 into the STORE DATA messages lpac sends (see the module doc).
pub fn split_segments(bpp: &[u8]) -> Result<Vec<Vec<u8>>> {
    let (tag, h, len) = header(bpp)?;
    if tag != 0xBF36 {
        return Err(Error::UnexpectedTag {
            expected: 0xBF36,
            found: tag,
        });
    }
    if h + len != bpp.len() {
        return Err(Error::Malformed("BF36 length does not match its bytes"));
    }
    let parts = raw_children(&bpp[h..])?;
    let mut out = Vec::new();
    let mut pos = 0;
    let mut next = |want: u32, optional: bool| -> Result<Option<&[u8]>> {
        match parts.get(pos) {
            Some(p) if header(p)?.0 == want => {
                pos += 1;
                Ok(Some(p))
            }
            _ if optional => Ok(None),
            _ => Err(Error::MissingTag(want)),
        }
    };
    let isc = next(0xBF23, false)?.ok_or(Error::MissingTag(0xBF23))?;
    out.push([&bpp[..h], isc].concat());
    out.push(next(0xA0, false)?.ok_or(Error::MissingTag(0xA0))?.to_vec());
    let a1 = next(0xA1, false)?.ok_or(Error::MissingTag(0xA1))?;
    let (_, a1h, _) = header(a1)?;
    out.push(a1[..a1h].to_vec());
    out.extend(raw_children(&a1[a1h..])?.into_iter().map(<[u8]>::to_vec));
    if let Some(a2) = next(0xA2, true)? {
        out.push(a2.to_vec());
    }
    let a3 = next(0xA3, false)?.ok_or(Error::MissingTag(0xA3))?;
    let (_, a3h, _) = header(a3)?;
    out.push(a3[..a3h].to_vec());
    out.extend(raw_children(&a3[a3h..])?.into_iter().map(<[u8]>::to_vec));
    if pos != parts.len() {
        return Err(Error::Malformed("unexpected element after sequenceOf86"));
    }
    Ok(out)
}

/// SM side: the parts of a BPP before protection (SGP.22 §2.5.4). `Debug` redacts the
/// profile package and the keys.
#[derive(Clone)]
pub struct BppBuilder {
    pub isc: InitialiseSecureChannel,
    /// ConfigureISDPRequest (BF24), plaintext.
    pub configure_isdp: Vec<u8>,
    /// StoreMetadataRequest (BF25), plaintext.
    pub store_metadata: Vec<u8>,
    /// Profile protection keys: present, the BPP carries ReplaceSessionKeys (A2) and the
    /// 86 segments are protected with them; absent, with the session keys.
    pub ppk: Option<SessionKeys>,
    /// The profile package (the UPP's profile elements), plaintext.
    pub upp: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for BppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BppBuilder")
            .field("isc", &self.isc)
            .field("configure_isdp", &hex::encode(&self.configure_isdp))
            .field("store_metadata", &hex::encode(&self.store_metadata))
            .field("ppk", &self.ppk)
            .field("upp", &format_args!("<{} bytes redacted>", self.upp.len()))
            .finish()
    }
}

/// ReplaceSessionKeysRequest (BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac }).
pub fn encode_replace_session_keys(k: &SessionKeys) -> Zeroizing<Vec<u8>> {
    let mut body = raw_tlv(0x80, &k.initial_mcv);
    body.extend(raw_tlv(0x81, &k.enc));
    body.extend(raw_tlv(0x82, &k.mac));
    let out = Zeroizing::new(raw_tlv(0xBF26, &body));
    zeroize::Zeroize::zeroize(&mut body);
    out
}

fn protect(s: &mut Scp03t, tag: u8, data: &[u8], encrypt: bool) -> Vec<u8> {
    let max = if encrypt {
        MAX_ENC_PLAINTEXT
    } else {
        MAX_MAC_PLAINTEXT
    };
    if data.is_empty() {
        return s.wrap(tag, data, encrypt);
    }
    data.chunks(max)
        .flat_map(|c| s.wrap(tag, c, encrypt))
        .collect()
}

impl BppBuilder {
    /// The whole BF36, protected with the session keys `keys` (and the PPKs if set).
    pub fn build(&self, keys: &SessionKeys) -> Vec<u8> {
        let mut s = Scp03t::new(keys);
        let mut body = self.isc.encode();
        body.extend(raw_tlv(
            0xA0,
            &protect(&mut s, 0x87, &self.configure_isdp, true),
        ));
        body.extend(raw_tlv(
            0xA1,
            &protect(&mut s, 0x88, &self.store_metadata, false),
        ));
        if let Some(ppk) = &self.ppk {
            let rsk = encode_replace_session_keys(ppk);
            body.extend(raw_tlv(0xA2, &protect(&mut s, 0x87, &rsk, true)));
            s = Scp03t::new(ppk);
        }
        body.extend(raw_tlv(0xA3, &protect(&mut s, 0x86, &self.upp, true)));
        raw_tlv(0xBF36, &body)
    }
}
