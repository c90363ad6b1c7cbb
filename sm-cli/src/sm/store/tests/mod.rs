//! Tests of the SM store, in memory and on temporary files.

mod attempts;
mod challenges;
mod concurrency;
mod crash;
mod fixture;
mod migrations;
mod opening;
mod scaling;
mod subscriptions;

use super::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A directory removed when dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sm-store-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("sm.sqlite3")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) const KI: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
pub(super) const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];

pub(super) fn device(n: u8) -> Device {
    Device {
        imei: format!("35693803564380{n}"),
        eid: format!("8904903200000000000000000000000{n}"),
        identity_public_key: vec![0x30, 0x82, n, n],
    }
}

pub(super) fn key(n: u8) -> KeyMaterial {
    KeyMaterial {
        public_key: vec![0x30, 0x82, 0x01, n],
        kdf_salt: vec![n; 16],
        kdf_params: vec![1, 0, 1, 0, 0, 0, 0, 3, 0, 0, 0, 1],
    }
}

pub(super) fn new_sub(op_id: &str, iccid: &str) -> NewSubscription {
    NewSubscription {
        op_id: op_id.to_string(),
        profile: OperatorProfile {
            iccid: iccid.to_string(),
            imsi: "460001234567890".into(),
            msisdn: op_id.to_string(),
            ki: SecretBytes::from_slice(&KI),
            opc: SecretBytes::from_slice(&OPC),
            spn: "veUICC Mobile".into(),
            profile_name: "veUICC test profile".into(),
        },
        key: key(1),
        device: device(1),
    }
}

pub(super) const OP: &str = "+8613800000001";
pub(super) const ICCID: &str = "8986001234567890123";

/// An in-memory store with the subscription `OP` on device 1.
pub(super) fn store_with_sub() -> Store {
    let store = Store::open_in_memory().expect("open");
    store
        .create_subscription(&new_sub(OP, ICCID), &Actor::Sm)
        .expect("create");
    store
}

pub(super) fn operator() -> Actor {
    Actor::Operator("alice".into())
}

/// The actions of a record's audit log, in order.
pub(super) fn actions(store: &Store, op_id: &str) -> Vec<String> {
    store
        .audit(op_id)
        .expect("audit")
        .into_iter()
        .map(|e| e.action.as_str().to_string())
        .collect()
}
