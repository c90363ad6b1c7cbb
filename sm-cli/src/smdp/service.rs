//! The SM-DP+ itself: its configuration ([`SmdpConfig`]), credentials, store and
//! session lifetime ([`Smdp`]); the ES9+ functions are in `auth`, `bind` and `notify`.

use super::credentials::SmdpCredentials;
use super::order::{self, create_order, CreatedOrder, OrderRequest, OrderSpec};
use crate::errors::CliError;
use crate::sm::service::SmError;
use crate::sm::store::Store;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long an ES9+ session may take from initiateAuthentication to its last call.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(10 * 60);

/// The SGP.26 test SM-DP+ host, the name in the test DPtls certificate.
pub const TEST_HOST: &str = "testsmdpplus1.example.com";

/// How to run an SM-DP+.
#[derive(Debug, Clone)]
pub struct SmdpConfig {
    /// SGP.26 folder with DPauth, DPpb, DPtls and CertificateIssuer; `None`: the test PKI.
    pub pki: Option<PathBuf>,
    /// The SM-DP+ address as it appears in activation codes and in smdpAddress
    /// (`host[:port]`): initiateAuthentication refuses any other (8.8.1 / 3.8), and it
    /// is the serverAddress the eUICC signs.
    pub address: String,
    /// The SM store (`--sm-db`); `None`: the default path.
    pub sm_db: Option<PathBuf>,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Protect the profile elements with fresh profile protection keys
    /// (ReplaceSessionKeys, SGP.22 §2.5.4); osmo-smdpp does.
    pub replace_session_keys: bool,
}

impl SmdpConfig {
    /// The defaults for `address`: test PKI, default store, 10 minutes, PPKs on.
    pub fn new(address: impl Into<String>) -> Self {
        SmdpConfig {
            pki: None,
            address: address.into(),
            sm_db: None,
            session_ttl: DEFAULT_SESSION_TTL,
            replace_session_keys: true,
        }
    }
}

/// The SM-DP+. `Send + Sync`: the store's one connection is behind a mutex (held only
/// for store calls, never across signing or BPP building).
pub struct Smdp {
    pub(crate) creds: SmdpCredentials,
    pub(crate) address: String,
    store: Mutex<Store>,
    pub(crate) ttl: Duration,
    pub(crate) ppk: bool,
}

impl std::fmt::Debug for Smdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smdp")
            .field("address", &self.address)
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

impl Smdp {
    /// Loads the credentials and opens (creating if needed) the store.
    pub fn open(config: &SmdpConfig) -> Result<Smdp, CliError> {
        let store = match &config.sm_db {
            Some(p) => Store::open(p),
            None => Store::open_default(),
        }
        .map_err(|e| CliError::Sm(SmError::from(e)))?;
        Smdp::with_store(config, store)
    }

    /// The SM-DP+ of `config` on an already open store (tests: in memory).
    pub fn with_store(config: &SmdpConfig, store: Store) -> Result<Smdp, CliError> {
        order::check_address(&config.address)?;
        let creds = match &config.pki {
            Some(dir) => SmdpCredentials::load(dir),
            None => SmdpCredentials::test(),
        }
        .map_err(|e| CliError::Usage(format!("SM-DP+ credentials: {e}")))?;
        Ok(Smdp {
            creds,
            address: config.address.clone(),
            store: Mutex::new(store),
            ttl: config.session_ttl,
            ppk: config.replace_session_keys,
        })
    }

    /// The SM-DP+ address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The credentials (the HTTPS layer reads `tls_files`).
    pub fn credentials(&self) -> &SmdpCredentials {
        &self.creds
    }

    /// The store, for a call (orders from the same process, tests).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A poisoned lock means a store call panicked; the connection itself is fine
        // (every call is its own transaction), so go on with it.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Places an order on this SM-DP+'s store, addressed to this SM-DP+.
    pub fn create_order(
        &self,
        spec: OrderSpec,
        eid: Option<String>,
        confirmation_code: Option<zeroize::Zeroizing<String>>,
    ) -> Result<CreatedOrder, CliError> {
        let req = OrderRequest {
            spec,
            eid,
            confirmation_code,
            address: self.address.clone(),
        };
        create_order(&self.store(), &req)
    }
}
