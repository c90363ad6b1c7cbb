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
//! Requests are [`DcRequest`]; answers are [`DcResponse`], with a [`DcResult`] code.
//! [`Function`] names the functions for logs and errors. Both sides use these types,
//! so the bytes and the names are defined once.

pub mod authorisation;
mod function;
mod profile;
mod request;
mod response;
mod result;

pub use authorisation::{AuthMessage, SmAuth, CARD_CHALLENGE_LEN};
pub use function::Function;
pub use profile::OperatorProfile;
pub use request::{DcRequest, KeySource, MAX_OP_ID};
pub use response::{DcResponse, InstallResult};
pub use result::DcResult;

/// Top-level tags of the functions ([`Function`] names them).
pub mod tags {
    pub const BEGIN: u32 = 0xBF66;
    pub const GENERATE_KEY: u32 = 0xBF67;
    pub const AUTHENTICATE: u32 = 0xBF68;
    pub const INSTALL_PROFILE: u32 = 0xBF69;
    pub const FETCH_RESULT: u32 = 0xBF6A;
    pub const REMOVE_PROFILE: u32 = 0xBF6B;
    pub const IDENTITY: u32 = 0xBF6C;
    pub const CARD_CHALLENGE: u32 = 0xBF6D;
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

/// `op_id` and `imei` of the identity proof answered to BF6C, which has no session
/// (docs/device-change-protocol.md §Signed messages): both sides sign and verify with these.
pub const SYNC_OP_ID: &str = "sync";
pub const SYNC_IMEI: &str = "-";

#[cfg(test)]
mod tests;
