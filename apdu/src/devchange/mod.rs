//! The device-change method's card functions (docs/device-change-protocol.md): our
//! proprietary ISD-R functions, carried in STORE DATA like ES10 but under top-level
//! tags that no GSMA specification uses (`BF66`-`BF6C`, interop.md "Top-level BF tags").
//!
//! | tag    | function              | how the card answers                          |
//! |--------|-----------------------|-----------------------------------------------|
//! | `BF66` | DcBegin               | `91xx` (CAT: OP ID, IMEI), then `BF6A`          |
//! | `BF67` | DcGenerateKey         | `91xx` (CAT: parameter twice), then `BF6A`      |
//! | `BF68` | DcAuthenticate        | `91xx` if the parameter is needed, then `BF6A`  |
//! | `BF69` | DcInstallProfile      | `BF69 { 80 result, [5A iccid] }` directly       |
//! | `BF6A` | DcFetchResult         | the finished answer of BF66/BF67/BF68           |
//! | `BF6B` | DcRemoveProfile       | `BF6B { 80 result }` directly                   |
//! | `BF6C` | DcIdentity            | `BF6C { 5A eid, 83 key, 84 signature }` directly|
//!
//! Requests are [`DcRequest`]; answers are [`DcResponse`]. Both sides use these types,
//! so the bytes are defined once.

mod profile;
mod request;
mod response;

pub use profile::OperatorProfile;
pub use request::{DcRequest, KeySource, MAX_OP_ID};
pub use response::{DcResponse, InstallResult};

/// Top-level tags of the functions.
pub mod tags {
    pub const BEGIN: u32 = 0xBF66;
    pub const GENERATE_KEY: u32 = 0xBF67;
    pub const AUTHENTICATE: u32 = 0xBF68;
    pub const INSTALL_PROFILE: u32 = 0xBF69;
    pub const FETCH_RESULT: u32 = 0xBF6A;
    pub const REMOVE_PROFILE: u32 = 0xBF6B;
    pub const IDENTITY: u32 = 0xBF6C;
    /// All of them.
    pub const ALL: [u32; 7] = [
        BEGIN,
        GENERATE_KEY,
        AUTHENTICATE,
        INSTALL_PROFILE,
        FETCH_RESULT,
        REMOVE_PROFILE,
        IDENTITY,
    ];
}

/// Which flow of the method a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Flow A: first provisioning on the old terminal.
    Provision = 1,
    /// Flow B: device change on the new terminal.
    DeviceChange = 2,
    /// Flow C: change of the stored public key.
    KeyChange = 3,
    /// The old card checking in with the SM (sync).
    Sync = 4,
}

impl Flow {
    pub fn from_u8(b: u8) -> Option<Flow> {
        match b {
            1 => Some(Flow::Provision),
            2 => Some(Flow::DeviceChange),
            3 => Some(Flow::KeyChange),
            4 => Some(Flow::Sync),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Flow::Provision => "provision",
            Flow::DeviceChange => "device-change",
            Flow::KeyChange => "key-change",
            Flow::Sync => "sync",
        }
    }
}

/// Result codes in `80` of our answers (0 and 127 as in SGP.22).
pub mod result {
    pub const OK: u8 = 0;
    /// No session, or a function out of order (e.g. BF67 without BF66 first).
    pub const NO_SESSION: u8 = 1;
    /// The user ended the proactive session or gave no answer.
    pub const USER_ABORTED: u8 = 2;
    /// The two entries of a new parameter differ.
    pub const PARAMETER_MISMATCH: u8 = 3;
    /// The parameter is too short or too long.
    pub const PARAMETER_INVALID: u8 = 4;
    /// The sealed profile could not be opened (wrong key, tampered, wrong card).
    pub const DECRYPTION_FAILED: u8 = 5;
    /// The card already holds a profile with this OP ID or ICCID.
    pub const ALREADY_INSTALLED: u8 = 6;
    /// No profile with this OP ID / ICCID.
    pub const NOT_FOUND: u8 = 7;
    /// The terminal could not give the IMEI.
    pub const NO_IMEI: u8 = 8;
    /// Bad KDF parameters or challenge from the SM.
    pub const BAD_REQUEST: u8 = 9;
    /// The terminal's input is not acceptable (e.g. an OP ID with letters).
    pub const INPUT_INVALID: u8 = 10;
    pub const UNDEFINED: u8 = 127;

    /// The meaning of a code.
    pub fn meaning(code: u8) -> &'static str {
        match code {
            OK => "ok",
            NO_SESSION => "no device-change session in progress on the card",
            USER_ABORTED => "the user ended the session",
            PARAMETER_MISMATCH => "the two entries of the new parameter differ",
            PARAMETER_INVALID => "the parameter has the wrong length",
            DECRYPTION_FAILED => "the operator profile could not be decrypted on this card",
            ALREADY_INSTALLED => "the card already holds this operator profile",
            NOT_FOUND => "no such profile on the card",
            NO_IMEI => "the terminal did not provide an IMEI",
            BAD_REQUEST => "the SM's request was rejected by the card",
            INPUT_INVALID => "the input given to the card is not acceptable",
            _ => "undefined error",
        }
    }
}

#[cfg(test)]
mod tests;
