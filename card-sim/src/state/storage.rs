//! Where the persistent state lives, injected into the card: [`Storage`], with the
//! in-memory [`MemoryStorage`] (tests, `--ephemeral`). The file implementation is in
//! [`super::file`]; the errors in [`super::error`].

use super::error::StorageError;
use super::persistent::PersistentState;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Loads and saves the persistent state. `save` returns only once the state is durable.
pub trait Storage {
    /// The stored state, or `None` for a new card.
    fn load(&self) -> Result<Option<PersistentState>, StorageError>;
    /// Stores `state` durably.
    fn save(&self, state: &PersistentState) -> Result<(), StorageError>;
}

impl<T: Storage + ?Sized> Storage for Arc<T> {
    fn load(&self) -> Result<Option<PersistentState>, StorageError> {
        (**self).load()
    }
    fn save(&self, state: &PersistentState) -> Result<(), StorageError> {
        (**self).save(state)
    }
}

impl<T: Storage + ?Sized> Storage for Box<T> {
    fn load(&self) -> Result<Option<PersistentState>, StorageError> {
        (**self).load()
    }
    fn save(&self, state: &PersistentState) -> Result<(), StorageError> {
        (**self).save(state)
    }
}

/// Keeps the state in memory. Can be told to fail, to test the card's error path.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    state: Mutex<Option<PersistentState>>,
    fail: AtomicBool,
    saves: AtomicUsize,
}

impl MemoryStorage {
    /// An empty storage (a new card).
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following `save` fail (or succeed again).
    pub fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    /// How many saves succeeded.
    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    /// The last saved state.
    pub fn stored(&self) -> Option<PersistentState> {
        self.state.lock().ok().and_then(|g| g.clone())
    }
}

impl Storage for MemoryStorage {
    fn load(&self) -> Result<Option<PersistentState>, StorageError> {
        Ok(self.stored())
    }

    fn save(&self, state: &PersistentState) -> Result<(), StorageError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StorageError::Simulated);
        }
        match self.state.lock() {
            Ok(mut g) => *g = Some(state.clone()),
            Err(_) => return Err(StorageError::Poisoned),
        }
        self.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
