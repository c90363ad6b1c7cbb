//! Volatile state: what a power cycle or reset wipes. Kept apart from the persistent
//! state so that clearing it can never touch a profile. The transport owns
//! [`TransportVolatile`] (open channels, pending responses, command chains); the card owns
//! [`CardVolatile`] (selections, STORE DATA reassembly, verified PINs).

use apdu::sgp22::store_data::Reassembler;

/// Logical channels 0-19 (ISO/IEC 7816-4 §5.4.2: 4 first + 16 further interindustry).
pub const CHANNELS: usize = 20;

/// A command chain in progress (ISO/IEC 7816-4 §5.1.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// CLA without the chaining bit, INS, P1, P2 of the first command.
    pub header: [u8; 4],
    pub data: Vec<u8>,
}

/// What the transport keeps for one logical channel.
#[derive(Debug, Clone, Default)]
pub struct LinkChannel {
    pub open: bool,
    /// Response bytes not yet fetched with GET RESPONSE.
    pub pending: Vec<u8>,
    pub chain: Option<Chain>,
}

/// The transport's volatile state.
#[derive(Debug, Clone)]
pub struct TransportVolatile {
    pub channels: [LinkChannel; CHANNELS],
}

impl Default for TransportVolatile {
    fn default() -> Self {
        let mut channels: [LinkChannel; CHANNELS] = Default::default();
        // The basic channel is always open.
        channels[0].open = true;
        TransportVolatile { channels }
    }
}

/// What is selected on a channel (ETSI TS 102 221 §8.4). Without an enabled profile
/// package the only DF is the MF of the minimal file system (`card/files.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// The MF is the current DF and no EF is selected.
    #[default]
    Mf,
    /// An EF under the MF (its file identifier).
    Ef(u16),
    /// The ISD-R application.
    IsdR,
    /// A file of the enabled profile's file system: [`CardChannel::sim`] says which.
    Profile,
}

/// Where a channel is in the enabled profile's file system (ETSI TS 102 221 §8.4): nodes
/// of `apdu::saip::fs::FileSystem` (0 is the MF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimPosition {
    /// The current DF or ADF.
    pub df: usize,
    /// The current EF, if any.
    pub ef: Option<usize>,
    /// The current application (the ADF `7FFF` names), if any.
    pub adf: Option<usize>,
    /// The current record of the current EF (1-based), if any.
    pub record: Option<usize>,
}

/// What the card keeps for one logical channel.
#[derive(Debug, Clone, Default)]
pub struct CardChannel {
    pub selection: Selection,
    /// The position in the enabled profile's file system (meaningful while
    /// `selection` is [`Selection::Profile`], kept while the ISD-R is selected).
    pub sim: SimPosition,
    pub store_data: Reassembler,
}

/// The card's volatile state.
#[derive(Debug, Default)]
pub struct CardVolatile {
    pub channels: [CardChannel; CHANNELS],
    /// The SGP.22 download session (ES10b), lost on power off and reset.
    pub download: crate::card::es10b::session::DownloadSession,
    /// PINs verified since power on (TS 102 221 §9.5: the verification status is lost on
    /// reset): (directory node, key reference) of the enabled profile's PINs.
    pub verified: std::collections::HashSet<(usize, u8)>,
}
