//! The JSON messages of the remote SM (`/veuicc/sm/v1/<function>`, docs/device-change-protocol.md
//! "Remote SM"): what the terminal sends ([`StartFlow`], [`StepFlow`]), what the SM answers
//! ([`Reply`]), and the order as JSON ([`WireOrder`]). Bytes (the card messages, BER-TLV
//! `apdu::devchange` requests and answers) travel as padded standard base64.
//!
//! Nothing here carries the key-generation parameter: the card asks for it on the
//! terminal and only its proofs reach the SM. The messages do carry salts, KDF
//! parameters and sealed profiles, so no side logs a body.

use crate::sm::service::{FlowReport, Order, ProfileSpec, SmError};
use apdu::crypto::KdfParams;
use serde::{Deserialize, Serialize};

/// The path the SM's functions are under.
pub const PATH_PREFIX: &str = "/veuicc/sm/v1/";

/// The path the operator's admin functions are under (`super::admin`).
pub const ADMIN_PATH_PREFIX: &str = "/veuicc/sm/v1/admin/";

/// The admin functions as the HTTP layer names them (after [`PATH_PREFIX`]).
pub const ADMIN_FUNCTIONS: [&str; 4] = ["admin/list", "admin/show", "admin/audit", "admin/unlock"];

/// The `kind` of the admin endpoints' 401 refusal.
pub const TOKEN_REFUSED: &str = "operator_token_refused";

/// The SM's functions, by the last segment of their path.
pub const FUNCTIONS: [&str; 2] = ["startFlow", "stepFlow"];

/// The largest decoded card message in a request or answer (bytes).
pub const MAX_MESSAGE: usize = 48 * 1024;

/// The `kind` of a refusal for a session the SM does not know (never started, expired,
/// over) or a `seq` that is not the next one nor the last one answered.
pub const SESSION_UNKNOWN: &str = "session_unknown";

/// The `kind` of a request that is not the function's JSON (or whose bytes are not
/// base64 of a card message).
pub const BAD_REQUEST: &str = "bad_request";

/// The `kind` of a refusal because the SM holds as many flows as it may.
pub const SM_BUSY: &str = "sm_busy";

/// The profile an order of flow A creates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WireProfile {
    pub spn: String,
    pub name: Option<String>,
}

/// An [`Order`] as JSON: `{"flow":"provision","op_id":..,"kdf":{..},"profile":{..}}`,
/// `{"flow":"device-change"}`, `{"flow":"rekey","kdf":null}`, `{"flow":"sync"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "kebab-case", deny_unknown_fields)]
pub enum WireOrder {
    Provision {
        op_id: String,
        kdf: KdfParams,
        profile: WireProfile,
    },
    DeviceChange,
    Rekey {
        kdf: Option<KdfParams>,
    },
    Sync,
}

impl From<&Order> for WireOrder {
    fn from(o: &Order) -> WireOrder {
        match o {
            Order::Provision {
                op_id,
                kdf,
                profile,
            } => WireOrder::Provision {
                op_id: op_id.clone(),
                kdf: *kdf,
                profile: WireProfile {
                    spn: profile.spn.clone(),
                    name: profile.name.clone(),
                },
            },
            Order::DeviceChange => WireOrder::DeviceChange,
            Order::Rekey { kdf } => WireOrder::Rekey { kdf: *kdf },
            Order::Sync => WireOrder::Sync,
        }
    }
}

impl From<WireOrder> for Order {
    fn from(o: WireOrder) -> Order {
        match o {
            WireOrder::Provision {
                op_id,
                kdf,
                profile,
            } => Order::Provision {
                op_id,
                kdf,
                profile: ProfileSpec {
                    spn: profile.spn,
                    name: profile.name,
                },
            },
            WireOrder::DeviceChange => Order::DeviceChange,
            WireOrder::Rekey { kdf } => Order::Rekey { kdf },
            WireOrder::Sync => Order::Sync,
        }
    }
}

/// `startFlow`: the order and the EID the terminal read from the card (GetEID).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartFlow {
    pub order: WireOrder,
    pub eid: String,
}

/// `stepFlow`: the card's answer to the request of `seq - 1` (the start's is 0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFlow {
    pub session: String,
    pub seq: u64,
    /// Base64 of the `DcResponse` TLV.
    pub answer: String,
}

/// A refusal: the SM's (an [`SmError`]: its kind, exit code and sentence) or the
/// remote layer's ([`SESSION_UNKNOWN`], [`BAD_REQUEST`], [`SM_BUSY`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WireError {
    pub kind: String,
    pub exit_code: u8,
    pub message: String,
}

impl From<&SmError> for WireError {
    fn from(e: &SmError) -> WireError {
        WireError {
            kind: e.kind().to_string(),
            exit_code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

/// What the SM answers: the next request for the card (with the session after a
/// start), the finished flow's report, or a refusal. Untagged: told apart by their
/// fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Error {
        error: WireError,
    },
    Request {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        seq: u64,
        /// Base64 of the `DcRequest` TLV.
        request: String,
    },
    Report {
        seq: u64,
        report: Box<FlowReport>,
    },
}

impl Reply {
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, numbers and the report's plain fields: serialising cannot fail; an
        // empty body (a protocol error at the client) rather than a panic if it did.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The `kind`s of refusals a remote SM may send, as static names for `CliError::kind`
/// (the `--json` error object); any other is reported as `sm_refused`.
pub const KINDS: [&str; 18] = [
    "invalid_request",
    "unknown_op_id",
    "wrong_parameter",
    "locked",
    "already_provisioned",
    "already_on_card",
    "bad_proof",
    "invalid_imei",
    "challenge_refused",
    "protocol",
    "sm_store",
    "sm_crypto",
    "card_result",
    SESSION_UNKNOWN,
    BAD_REQUEST,
    SM_BUSY,
    // The operator endpoints (`super::admin`): a local command's usage error (a
    // subscription that is not locked, ...) and the 401.
    "usage",
    TOKEN_REFUSED,
];

/// `kind` as one of [`KINDS`], else `sm_refused`.
pub fn static_kind(kind: &str) -> &'static str {
    KINDS
        .iter()
        .copied()
        .find(|k| *k == kind)
        .unwrap_or("sm_refused")
}
