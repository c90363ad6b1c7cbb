//! The device-change functions by name: one table from the top-level tag (`BF66`-`BF6D`,
//! docs/device-change-protocol.md §Functions) to the name used in logs and errors.

use super::tags;
use crate::iso7816::tlv::ConsTag;
use std::fmt;

/// A device-change function, identified by its top-level tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Function {
    Begin = tags::BEGIN,
    GenerateKey = tags::GENERATE_KEY,
    Authenticate = tags::AUTHENTICATE,
    InstallProfile = tags::INSTALL_PROFILE,
    FetchResult = tags::FETCH_RESULT,
    RemoveProfile = tags::REMOVE_PROFILE,
    Identity = tags::IDENTITY,
    CardChallenge = tags::CARD_CHALLENGE,
}

impl Function {
    /// All of them, in tag order.
    pub const ALL: [Function; 8] = [
        Function::Begin,
        Function::GenerateKey,
        Function::Authenticate,
        Function::InstallProfile,
        Function::FetchResult,
        Function::RemoveProfile,
        Function::Identity,
        Function::CardChallenge,
    ];

    /// The top-level tag (`BF66`-`BF6C`).
    pub const fn tag(self) -> u32 {
        self as u32
    }

    /// The top-level tag as a constructed BER-TLV tag, checked when the crate is built
    /// (so encoding a request or an answer cannot meet an invalid tag).
    pub const fn cons_tag(self) -> ConsTag {
        match self {
            Function::Begin => const { ConsTag::of(tags::BEGIN) },
            Function::GenerateKey => const { ConsTag::of(tags::GENERATE_KEY) },
            Function::Authenticate => const { ConsTag::of(tags::AUTHENTICATE) },
            Function::InstallProfile => const { ConsTag::of(tags::INSTALL_PROFILE) },
            Function::FetchResult => const { ConsTag::of(tags::FETCH_RESULT) },
            Function::RemoveProfile => const { ConsTag::of(tags::REMOVE_PROFILE) },
            Function::Identity => const { ConsTag::of(tags::IDENTITY) },
            Function::CardChallenge => const { ConsTag::of(tags::CARD_CHALLENGE) },
        }
    }

    /// The function with top-level tag `tag`, if it is one of ours.
    pub fn from_tag(tag: u32) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.tag() == tag)
    }

    /// The function's name in docs/device-change-protocol.md, e.g. `DcBegin`.
    pub const fn name(self) -> &'static str {
        match self {
            Function::Begin => "DcBegin",
            Function::GenerateKey => "DcGenerateKey",
            Function::Authenticate => "DcAuthenticate",
            Function::InstallProfile => "DcInstallProfile",
            Function::FetchResult => "DcFetchResult",
            Function::RemoveProfile => "DcRemoveProfile",
            Function::Identity => "DcIdentity",
            Function::CardChallenge => "DcCardChallenge",
        }
    }
}

impl fmt::Display for Function {
    /// `DcBegin (BF66)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:04X})", self.name(), self.tag())
    }
}
