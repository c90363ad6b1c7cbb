//! The `header` of ES9+ responses (SGP.22 v2.x §6.5.1.4: `functionExecutionStatus` with
//! `status` and, unless it succeeded, `statusCodeData`) and the one table of the SGP.22
//! subject / reason codes the ES9+ functions answer (§5.6.1-§5.6.5, each function's
//! "Specific status codes" table; the values were checked against osmocom osmo-smdpp and
//! a published compliance analysis of it against SGP.22 v2.5).
//!
//! A code pair can appear in several functions' tables with the same meaning (8.1 / 6.1,
//! 8.10.1 / 3.9, 8.8.5 / 4.10); it is one [`StatusCode`] here.

use serde::{Deserialize, Serialize};

/// `functionExecutionStatus.status` (§6.5.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionStatus {
    #[serde(rename = "Executed-Success")]
    Success,
    #[serde(rename = "Executed-WithWarning")]
    WithWarning,
    #[serde(rename = "Failed")]
    Failed,
    #[serde(rename = "Expired")]
    Expired,
}

impl ExecutionStatus {
    /// Whether the function was executed (its output data is present).
    pub fn executed(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Success | ExecutionStatus::WithWarning
        )
    }
}

/// `statusCodeData` (§6.5.1.4): why a function failed (or what it warns about).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCodeData {
    pub subject_code: String,
    pub reason_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl StatusCodeData {
    /// The code of the table, if the pair is one of it.
    pub fn code(&self) -> Option<StatusCode> {
        StatusCode::from_codes(&self.subject_code, &self.reason_code)
    }

    /// One line for a person: `8.2.6 / 3.8: <sentence> (<message>)`.
    pub fn explain(&self) -> String {
        let sentence = self
            .code()
            .map(StatusCode::sentence)
            .unwrap_or("a status code this LPA does not know (see SGP.22 §5.6).");
        match &self.message {
            Some(m) if !m.is_empty() => format!(
                "{} / {}: {sentence} (the SM-DP+ says: {m})",
                self.subject_code, self.reason_code
            ),
            _ => format!("{} / {}: {sentence}", self.subject_code, self.reason_code),
        }
    }
}

impl std::fmt::Display for StatusCodeData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.explain())
    }
}

/// `functionExecutionStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionExecutionStatus {
    pub status: ExecutionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code_data: Option<StatusCodeData>,
}

/// The response `header` (§6.5.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseHeader {
    pub function_execution_status: FunctionExecutionStatus,
}

impl ResponseHeader {
    /// `Executed-Success`, no status code data.
    pub fn success() -> Self {
        ResponseHeader {
            function_execution_status: FunctionExecutionStatus {
                status: ExecutionStatus::Success,
                status_code_data: None,
            },
        }
    }

    /// `Failed` with `code` and an optional message.
    pub fn failed(code: StatusCode, message: Option<String>) -> Self {
        ResponseHeader {
            function_execution_status: FunctionExecutionStatus {
                status: ExecutionStatus::Failed,
                status_code_data: Some(code.data(message)),
            },
        }
    }
}

/// The request `header` some clients send (§6.5.1.3; osmocom's ES9+ client does, lpac
/// does not): optional, never required by the SM-DP+.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestHeader {
    #[serde(default)]
    pub function_requester_identifier: Option<String>,
    #[serde(default)]
    pub function_call_identifier: Option<String>,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = ($s:literal, $r:literal, $sentence:literal), )*) => {
        /// The SGP.22 subject / reason codes of the ES9+ functions (§5.6.1-§5.6.5).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StatusCode { $( $(#[$doc])* $name, )* }

        impl StatusCode {
            /// Every code of the table.
            pub const ALL: &'static [StatusCode] = &[ $( StatusCode::$name, )* ];

            /// (subjectCode, reasonCode) as sent.
            pub fn codes(self) -> (&'static str, &'static str) {
                match self { $( StatusCode::$name => ($s, $r), )* }
            }

            /// A sentence saying what the code means, for the LPA to print.
            pub fn sentence(self) -> &'static str {
                match self { $( StatusCode::$name => $sentence, )* }
            }
        }
    };
}

codes! {
    // --- InitiateAuthentication (§5.6.1) ---
    /// 8.8.1 / 3.8 SM-DP+ Address - Refused.
    SmdpAddressRefused = ("8.8.1", "3.8",
        "the SM-DP+ address in the request is not this SM-DP+'s address."),
    /// 8.8.2 / 3.1 Security configuration - Unsupported (no common CI key).
    CiPkIdUnsupported = ("8.8.2", "3.1",
        "none of the CI public key identifiers the eUICC offered is supported by the SM-DP+."),
    /// 8.8.3 / 3.1 Specification Version Number - Unsupported.
    SvnUnsupported = ("8.8.3", "3.1",
        "the SM-DP+ does not support the eUICC's SGP.22 specification version."),
    /// 8.8.4 / 3.7 SM-DP+ Certificate - Unavailable.
    DpAuthCertUnavailable = ("8.8.4", "3.7",
        "the SM-DP+ has no CERT.DPauth chaining to a CI the eUICC trusts."),

    // --- AuthenticateClient (§5.6.3), GetBoundProfilePackage (§5.6.2), CancelSession (§5.6.5) ---
    /// 8.1.2 / 6.1 EUM Certificate - Verification failed.
    EumCertInvalid = ("8.1.2", "6.1",
        "the EUM certificate the eUICC presented is invalid or does not chain to the CI."),
    /// 8.1.2 / 6.3 EUM Certificate - Expired.
    EumCertExpired = ("8.1.2", "6.3", "the EUM certificate the eUICC presented has expired."),
    /// 8.1.3 / 6.1 eUICC Certificate - Verification failed.
    EuiccCertInvalid = ("8.1.3", "6.1",
        "the eUICC certificate is invalid or does not chain through the EUM certificate."),
    /// 8.1.3 / 6.3 eUICC Certificate - Expired.
    EuiccCertExpired = ("8.1.3", "6.3", "the eUICC certificate has expired."),
    /// 8.1 / 6.1 eUICC - Verification failed.
    EuiccVerificationFailed = ("8.1", "6.1",
        "the eUICC's signature or its echo of the server challenge or transactionId is wrong."),
    /// 8.1 / 4.8 eUICC - Insufficient Memory.
    InsufficientMemory = ("8.1", "4.8", "the eUICC has not enough memory for the profile."),
    /// 8.11.1 / 3.9 CI Public Key - Unknown.
    CiPkUnknown = ("8.11.1", "3.9",
        "the eUICC's certificate chain ends at a CI other than the one agreed for this session."),
    /// 8.2 / 1.2 Profile - Not allowed (not in 'released' state: already downloaded,
    /// failed or cancelled).
    ProfileNotReleased = ("8.2", "1.2",
        "the profile of this order is not released for download (already downloaded or cancelled)."),
    /// 8.10.1 / 3.9 TransactionId - Unknown.
    TransactionIdUnknown = ("8.10.1", "3.9",
        "the SM-DP+ knows no ongoing session with this transactionId (unknown or expired)."),
    /// 8.2.6 / 3.8 Matching ID - Refused.
    MatchingIdRefused = ("8.2.6", "3.8",
        "the matching ID (activation code token) is refused: no such order at this SM-DP+."),
    /// 8.1.1 / 3.8 EID - Refused.
    EidRefused = ("8.1.1", "3.8", "the order is for another eUICC (EID refused)."),
    /// 8.2.5 / 4.3 Profile Type - No eligible Profile.
    NoEligibleProfile = ("8.2.5", "4.3", "no profile of this order is eligible for this device."),
    /// 8.8.5 / 4.10 Download order - Time to Live Expired.
    OrderExpired = ("8.8.5", "4.10", "the download order has expired."),
    /// 8.8.5 / 6.4 Download order - Maximum number of retries exceeded.
    OrderRetriesExceeded = ("8.8.5", "6.4",
        "the download order has been retried too many times."),
    /// 8.2 / 3.7 BPP - Unavailable (for a new binding).
    BppUnavailable = ("8.2", "3.7", "the bound profile package is not available for a new binding."),
    /// 8.2.7 / 2.2 Confirmation Code - Mandatory element missing.
    ConfirmationCodeMissing = ("8.2.7", "2.2",
        "this order needs a confirmation code and none was given."),
    /// 8.2.7 / 3.8 Confirmation Code - Refused.
    ConfirmationCodeRefused = ("8.2.7", "3.8", "the confirmation code is wrong."),
    /// 8.2.7 / 6.4 Confirmation Code - Maximum number of retries exceeded.
    ConfirmationCodeRetriesExceeded = ("8.2.7", "6.4",
        "the confirmation code was wrong too many times; the order is no longer available."),
    /// 8.8 / 3.10 SM-DP+ - Invalid association (cancelSession: smdpOid is not ours).
    SmdpInvalidAssociation = ("8.8", "3.10",
        "the SM-DP+ OID the eUICC signed is not this SM-DP+'s."),
}

impl StatusCode {
    /// The code of a (subjectCode, reasonCode) pair, if it is in the table.
    pub fn from_codes(subject: &str, reason: &str) -> Option<StatusCode> {
        StatusCode::ALL
            .iter()
            .copied()
            .find(|c| c.codes() == (subject, reason))
    }

    /// `statusCodeData` for this code.
    pub fn data(self, message: Option<String>) -> StatusCodeData {
        let (s, r) = self.codes();
        StatusCodeData {
            subject_code: s.to_string(),
            reason_code: r.to_string(),
            subject_identifier: None,
            message,
        }
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, r) = self.codes();
        write!(f, "{s} / {r}: {}", self.sentence())
    }
}
