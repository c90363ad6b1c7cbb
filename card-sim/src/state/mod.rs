//! The card's state, persistent and volatile kept apart.
//!
//! - [`persistent`]: [`PersistentState`] (EID, profiles, addresses, notifications, sequence
//!   counter, schema version, eUICC PKI), with [`profile`], [`notification`], [`secret`]
//!   and [`pki`] (the eUICC key, its certificate chain, the trusted CIs).
//! - [`storage`]: the injected [`Storage`] trait and [`MemoryStorage`]; [`file`]: the
//!   atomic state file; [`error`]: [`StateError`] and [`StorageError`].
//! - [`new_card`]: the contents of a new card.
//! - [`volatile`]: channels, selections, pending responses, reassemblers.

pub mod error;
pub mod file;
pub mod new_card;
pub mod notification;
pub mod persistent;
pub mod pki;
pub mod profile;
pub mod secret;
pub mod serde_fields;
pub mod storage;
pub mod volatile;

pub use error::{StateError, StorageError};
pub use file::FileStorage;
pub use persistent::{PersistentState, SCHEMA_VERSION};
pub use pki::{CardPki, EuiccChain, EuiccKey};
pub use profile::Profile;
pub use secret::Secret;
pub use storage::{MemoryStorage, Storage};
