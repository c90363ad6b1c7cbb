//! Harness of the system-test tier: tests that drive the real binaries (`card-sim`,
//! `sm-cli`) and third-party witnesses (`opensc-tool`, `scriptor`) through the real pcscd +
//! vpcd stack, each card-sim a process of its own (issue 2, "scripts, tests and CI").
//!
//! The stack comes from `scripts/stack-up.sh` (run by `scripts/test.sh`), found through the
//! `VEUICC_*` variables or `<repo>/.stack/stack.env` ([`stack`]). Without a stack a test
//! skips with a message, unless `CI` is set: then it fails, because a system test that
//! cannot fail is a defect.
//!
//! Tests take a free vpcd slot under a file lock ([`locks`]), so tests of one binary may
//! run in parallel and never share a slot; a test that restarts pcscd locks all of them.
//!
//! This library is the one helper layer of every test in `tests/tests/` and of the
//! benchmarks in `src/bin/`: card-sim processes ([`card`]), programs run with a timeout
//! ([`cli`], on [`process`]), sm-cli with an SM store ([`sm`]), the card's state file
//! ([`state_file`]), raw PC/SC ([`pcsc_io`]), shared byte strings and flows ([`flows`],
//! [`hexutil`]), the witnesses ([`witnesses`]), a seeded generator ([`rng`]) and
//! card-side recordings replayed through pcscd ([`replay`]).

pub mod attacker;
pub mod bench_args;
pub mod card;
pub mod cli;
pub mod download;
pub mod flows;
pub mod hexutil;
pub mod locks;
pub mod pcsc_io;
pub mod pg_schema;
pub mod process;
pub mod relay;
pub mod replay;
pub mod rng;
pub mod sm;
pub mod smdp;
pub mod stack;
pub mod state_file;
pub mod witnesses;

pub use card::{CardOptions, CardSim};
pub use cli::{sm_cli, Run};
pub use locks::Lease;
pub use sm::Sm;
pub use stack::{require_stack, Stack};
