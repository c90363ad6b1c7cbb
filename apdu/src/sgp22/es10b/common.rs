//! What every ES10b message shares (SGP.22 §5.7, the RSP ASN.1 with automatic tags): the
//! function tags, the error and command enums, the size caps, the signed-data
//! concatenations, and the field codecs the message files use.

use crate::error::{Error, Result};
use crate::iso7816::tlv::{self, Tlv};

/// Top-level tags of the ES10b functions this module decodes, and their §5.7 names.
pub mod tags {
    pub const AUTHENTICATE_SERVER: u32 = 0xBF38;
    pub const PREPARE_DOWNLOAD: u32 = 0xBF21;
    pub const CANCEL_SESSION: u32 = 0xBF41;
    pub const RETRIEVE_NOTIFICATIONS: u32 = 0xBF2B;
    /// `ProfileInstallationResult` (an answer, and a pending notification).
    pub const PROFILE_INSTALLATION_RESULT: u32 = 0xBF37;
    /// `BoundProfilePackage`: the first LoadBoundProfilePackage segment starts with it.
    pub const BOUND_PROFILE_PACKAGE: u32 = 0xBF36;

    /// The ES10b requests: tag and name (SGP.22 §5.7.x headings).
    pub const FUNCTIONS: [(u32, &str); 5] = [
        (AUTHENTICATE_SERVER, "AuthenticateServer"),
        (PREPARE_DOWNLOAD, "PrepareDownload"),
        (CANCEL_SESSION, "CancelSession"),
        (RETRIEVE_NOTIFICATIONS, "RetrieveNotificationsList"),
        (BOUND_PROFILE_PACKAGE, "LoadBoundProfilePackage"),
    ];

    /// The name of the ES10b function with top-level tag `tag`, if it is one.
    pub fn name(tag: u32) -> Option<&'static str> {
        FUNCTIONS.iter().find(|(t, _)| *t == tag).map(|(_, n)| *n)
    }
}

/// Declares an INTEGER enumeration of the ASN.1 module: named values plus `Other(n)`
/// for values a later version may add (the module is EXTENSIBILITY IMPLIED).
macro_rules! int_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $v,)*
            /// A value this module does not name.
            Other(u8),
        }

        impl From<u8> for $name {
            fn from(n: u8) -> Self {
                match n {
                    $($n => $name::$v,)*
                    n => $name::Other(n),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                match v {
                    $($name::$v => $n,)*
                    $name::Other(n) => n,
                }
            }
        }
    };
}

int_enum!(
    /// `AuthenticateErrorCode` (SGP.22 §5.7.13).
    AuthenticateErrorCode {
        InvalidCertificate = 1,
        InvalidSignature = 2,
        UnsupportedCurve = 3,
        NoSessionContext = 4,
        InvalidOid = 5,
        EuiccChallengeMismatch = 6,
        CiPkUnknown = 7,
        UndefinedError = 127,
    }
);

int_enum!(
    /// `DownloadErrorCode` (SGP.22 §5.7.14).
    DownloadErrorCode {
        InvalidCertificate = 1,
        InvalidSignature = 2,
        UnsupportedCurve = 3,
        NoSessionContext = 4,
        InvalidTransactionId = 5,
        UndefinedError = 127,
    }
);

int_enum!(
    /// `CancelSessionReason` (SGP.22 §5.7.12).
    CancelSessionReason {
        EndUserRejection = 0,
        Postponed = 1,
        Timeout = 2,
        PprNotAllowed = 3,
    }
);

int_enum!(
    /// `cancelSessionResponseError` (SGP.22 §5.7.12).
    CancelSessionError {
        InvalidTransactionId = 5,
        UndefinedError = 127,
    }
);

int_enum!(
    /// `BppCommandId`: the LoadBoundProfilePackage step that failed (SGP.22 §5.7.6).
    BppCommandId {
        InitialiseSecureChannel = 0,
        ConfigureIsdp = 1,
        StoreMetadata = 2,
        StoreMetadata2 = 3,
        ReplaceSessionKeys = 4,
        LoadProfileElements = 5,
    }
);

int_enum!(
    /// `ErrorReason` of a failed installation (SGP.22 §5.7.6).
    ErrorReason {
        IncorrectInputValues = 1,
        InvalidSignature = 2,
        InvalidTransactionId = 3,
        UnsupportedCrtValues = 4,
        UnsupportedRemoteOperationType = 5,
        UnsupportedProfileClass = 6,
        Scp03tStructureError = 7,
        Scp03tSecurityError = 8,
        IccidAlreadyExistsOnEuicc = 9,
        InsufficientMemoryForProfile = 10,
        InstallFailedDueToInterruption = 11,
        PeProcessingError = 12,
        IccidMismatch = 13,
        TestProfileInvalidNaaKey = 14,
        PprNotAllowed = 15,
        UnknownError = 127,
    }
);

int_enum!(
    /// `notificationsListResultError` of RetrieveNotificationsList (SGP.22 §5.7.11).
    RetrieveNotificationsError {
        NoResultAvailable = 1,
        UndefinedError = 127,
    }
);

/// Largest certificate we accept inside a message (an SGP.22 certificate is well under 1 KiB).
pub const MAX_CERTIFICATE: usize = 2048;
/// Largest signature field: a 64-byte r||s (BSI TR-03111) for 256-bit curves, with room.
pub const MAX_SIGNATURE: usize = 132;
/// Largest one-time public key (uncompressed point of a 256-bit curve is 65 bytes).
pub const MAX_OTPK: usize = 133;

/// A decoded value together with the exact DER bytes (tag, length, value) it came from
/// or was encoded to: what a signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded<T> {
    value: T,
    der: Vec<u8>,
}

/// A message part that has one DER encoding (the encoder side of [`Encoded`]).
pub trait ToDer {
    /// The whole TLV.
    fn to_der(&self) -> Vec<u8>;
}

impl<T: ToDer> Encoded<T> {
    /// `value` with its DER encoding.
    pub fn new(value: T) -> Self {
        let der = value.to_der();
        Encoded { value, der }
    }
}

impl<T> Encoded<T> {
    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The DER bytes of the whole TLV.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub(super) fn from_tlv(t: &Tlv, decode: impl FnOnce(&Tlv) -> Result<T>) -> Result<Self> {
        Ok(Encoded {
            value: decode(t)?,
            der: tlv::encode(t),
        })
    }
}

/// What each SGP.22 signature covers (the exact concatenations of §5.7.13, §5.7.14,
/// §5.7.6, §5.7.12 and §5.7.11; checked against osmo-smdpp, which computes the same).
pub mod signed_data {
    use super::tlv;

    /// `smdpSignature2` (SGP.22 §5.7.14): over `smdpSigned2 || euiccSignature1`, both as
    /// whole TLVs (the second is `5F37 40 <r||s>` from the AuthenticateServer answer).
    pub fn smdp_signature2(smdp_signed2_der: &[u8], euicc_signature1: &[u8]) -> Vec<u8> {
        let mut out = smdp_signed2_der.to_vec();
        out.extend_from_slice(&signature_tlv(euicc_signature1));
        out
    }

    /// `euiccSignature2` (SGP.22 §5.7.14): over `euiccSigned2 || smdpSignature2`, the
    /// second as the whole `5F37` TLV the SM-DP+ sent.
    pub fn euicc_signature2(euicc_signed2_der: &[u8], smdp_signature2: &[u8]) -> Vec<u8> {
        let mut out = euicc_signed2_der.to_vec();
        out.extend_from_slice(&signature_tlv(smdp_signature2));
        out
    }

    /// A signature value as its `5F37` TLV.
    pub fn signature_tlv(sig: &[u8]) -> Vec<u8> {
        tlv::encode(&tlv::prim::<0x5F37>(sig.to_vec()))
    }
}

// --- shared field codecs --------------------------------------------------------------

/// `TransactionId ::= OCTET STRING (SIZE(1..16))`.
pub(crate) fn transaction_id(tag: u32, v: &[u8]) -> Result<Vec<u8>> {
    if !(1..=16).contains(&v.len()) {
        return Err(Error::InvalidValue {
            tag,
            reason: "a transactionId has 1 to 16 bytes",
        });
    }
    Ok(v.to_vec())
}

/// An OCTET STRING of at most `max` bytes.
pub(crate) fn capped(tag: u32, v: &[u8], max: usize) -> Result<Vec<u8>> {
    if v.len() > max {
        return Err(Error::InvalidValue {
            tag,
            reason: "value too long",
        });
    }
    Ok(v.to_vec())
}

/// The direct child with `tag`, which must be present.
pub(crate) fn req_child(t: &Tlv, tag: u32) -> Result<&Tlv> {
    tlv::child(t, tag).ok_or(Error::MissingTag(tag))
}

/// A constructed child that must be present and constructed.
pub(crate) fn req_cons(t: &Tlv, tag: u32) -> Result<&Tlv> {
    let c = req_child(t, tag)?;
    if !c.tag().is_constructed() {
        return Err(Error::InvalidValue {
            tag,
            reason: "must be constructed",
        });
    }
    Ok(c)
}

/// An X.509 certificate child (`30`): its whole DER, capped.
pub(crate) fn certificate(t: &Tlv) -> Result<Vec<u8>> {
    let der = tlv::encode(t);
    if der.len() > MAX_CERTIFICATE {
        return Err(Error::InvalidValue {
            tag: 0x30,
            reason: "certificate too large",
        });
    }
    Ok(der)
}

/// The `n`-th (from 0) direct child with `tag` (several `30` certificates follow each
/// other in one SEQUENCE).
pub(crate) fn nth_child(t: &Tlv, tag: u32, n: usize) -> Result<&Tlv> {
    tlv::children(t)
        .iter()
        .filter(|c| tlv::tag_num(c) == tag)
        .nth(n)
        .ok_or(Error::MissingTag(tag))
}

/// A small INTEGER child.
pub(crate) fn int_child(t: &Tlv, tag: u32) -> Result<u8> {
    crate::sgp22::es10::der::small_int(tag, tlv::require_bytes(t, tag)?)
}

/// A small INTEGER as a primitive TLV.
pub(crate) fn int_tlv(tag: crate::iso7816::tlv::PrimTag, n: u8) -> Tlv {
    tlv::prim_tagged(tag, tlv::int_bytes(u64::from(n)))
}

/// Writes `tag` (constructed), the DER length of `parts` joined, and the parts:
/// for messages that carry bytes kept as received.
pub(crate) fn wrap(tag: crate::iso7816::tlv::ConsTag, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let n = tag.num();
    let mut out: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    tlv::push_len(len, &mut out);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// A TLV as bytes.
pub(crate) fn der(t: &Tlv) -> Vec<u8> {
    tlv::encode(t)
}

/// The error form of the AuthenticateServer and PrepareDownload answers:
/// `A1 { 80 transactionId, 02 errorCode }` (SGP.22 §5.7.13 authenticateResponseError,
/// §5.7.14 downloadResponseError).
pub(crate) fn encode_error_result(transaction_id: &[u8], code: u8) -> Vec<u8> {
    der(&tlv::cons::<0xA1>(vec![
        tlv::prim::<0x80>(transaction_id.to_vec()),
        int_tlv(tlv::PrimTag::of(0x02), code),
    ]))
}

/// Reads that error form when the answer `t` holds one: (transactionId, errorCode).
pub(crate) fn decode_error_result(t: &Tlv) -> Result<Option<(Vec<u8>, u8)>> {
    let Some(e) = tlv::child(t, 0xA1) else {
        return Ok(None);
    };
    let id = transaction_id(0x80, crate::sgp22::es10::der::req(e, 0x80)?)?;
    Ok(Some((id, int_child(e, 0x02)?)))
}
