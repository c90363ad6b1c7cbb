//! The `sm_answers` oracle: sm-cli's own code (the `sm_cli` library) on a card's
//! answers. One input is one sm-cli operation played against a card whose every answer
//! comes from the input: the ES10 session and functions (`sm_cli::lpa`, over
//! `sm_cli::reader::transport`'s 61xx / 6Cxx handling), the device-change terminal and
//! its CAT session (`sm_cli::terminal`), and whole SM flows (`sm_cli::commands::method::
//! drive` with `sm_cli::sm::service` on an in-memory store).
//!
//! Input format:
//!
//! ```text
//! input  := which answer*
//! which  := one byte: the operation (index into OPERATIONS, modulo its length)
//! answer := hi lo byte{hi*256+lo}   one response APDU (data + SW1 SW2), in the order
//!                                   sm-cli sends the commands
//! ```
//!
//! What must hold: no panic; the checks of [`link`] on every command sm-cli sends
//! (secrets marked, GET RESPONSE and 6Cxx rules, the question limit, TERMINAL RESPONSE
//! echoes); an error is reported with a non-zero exit code; and the SM's outcome checks
//! of [`sm`] (a removal is closed exactly when the flow succeeds; no answer moves a
//! subscription to a card that cannot prove its parameter).

pub mod link;
pub mod operation;
pub mod sm;

pub use operation::{
    answers, encode, selector, Operation, CHALLENGE, CURRENT_PARAMETER, IMEI, NEW_PARAMETER,
    OPERATIONS, OP_ID,
};

use apdu::crypto::KdfParams;
use apdu::devchange::{DcRequest, Flow};
use apdu::sgp22::es10::{MemoryResetOptions, ProfileRef};
use link::ReplayLink;
use sm_cli::errors::CliError;
use sm_cli::lpa::{Es10Session, DEFAULT_BLOCK_SIZE};
use sm_cli::reader::CardLink;
use sm_cli::terminal::Terminal;

/// A profile of the fuzzed card: `0` is enabled, `1` disabled.
fn profile_ref(index: u8) -> ProfileRef {
    ProfileRef::Iccid(card_sim::state::new_card::derive_iccid(
        &crate::harness::eid(),
        index,
    ))
}

/// The device-change requests of a terminal operation, run in order.
pub fn terminal_requests(op: Operation) -> Vec<DcRequest> {
    let sm = |flow| {
        (
            flow,
            OP_ID.to_string(),
            CHALLENGE.to_vec(),
            vec![0x5A; 16],
            KdfParams::TEST.to_bytes().to_vec(),
        )
    };
    match op {
        Operation::DcBegin => vec![DcRequest::Begin {
            flow: Flow::DeviceChange,
        }],
        Operation::DcGenerateKey => {
            let (flow, op_id, challenge, salt, kdf) = sm(Flow::Provision);
            vec![
                DcRequest::Begin { flow },
                DcRequest::GenerateKey {
                    flow,
                    op_id,
                    challenge,
                    salt,
                    kdf,
                },
            ]
        }
        Operation::DcAuthenticate => {
            let (flow, op_id, challenge, salt, kdf) = sm(Flow::DeviceChange);
            vec![
                DcRequest::Begin { flow },
                DcRequest::Authenticate {
                    flow,
                    op_id,
                    challenge,
                    salt,
                    kdf,
                    need_parameter: true,
                },
            ]
        }
        _ => Vec::new(),
    }
}

/// Runs `op` on the card behind `link`: what sm-cli's commands do, with sm-cli's code.
/// Also used by the corpus generator against card-sim.
pub fn run<L: CardLink>(op: Operation, link: &mut L) -> Result<(), CliError> {
    let mut s = Es10Session::open(link, usize::from(DEFAULT_BLOCK_SIZE))?;
    let result = match op {
        Operation::OpenSession => Ok(()),
        Operation::GetEid => s.get_eid().map(drop),
        Operation::GetEuiccInfo2 => s.get_euicc_info2().map(drop),
        Operation::ConfiguredAddresses => s.get_configured_addresses().map(drop),
        Operation::GetProfiles => s.get_profiles(None).map(|l| {
            for p in l {
                // `sm-cli profiles` shows these.
                let _ = (p.iccid.map(|i| i.to_string()), p.class.map(|c| c.name()));
            }
        }),
        Operation::EnableProfile => s.enable_profile(profile_ref(1), false),
        Operation::DisableProfile => s.disable_profile(profile_ref(0), false),
        Operation::DeleteProfile => s.delete_profile(profile_ref(1)),
        Operation::SetNickname => match profile_ref(0) {
            ProfileRef::Iccid(i) => s.set_nickname(i, "fuzz".into()),
            ProfileRef::Aid(_) => Ok(()),
        },
        Operation::MemoryReset => s.memory_reset(MemoryResetOptions {
            delete_operational: true,
            delete_field_loaded_test: false,
            reset_default_dp: false,
        }),
        Operation::DcBegin | Operation::DcGenerateKey | Operation::DcAuthenticate => {
            let mut terminal = Terminal::new(&mut s, answers());
            terminal_requests(op)
                .iter()
                .try_for_each(|req| terminal.run(req).map(drop))
        }
        Operation::SmSync | Operation::SmDeviceChange | Operation::SmRecordedDevice => {
            sm::flow(op, &mut s)
        }
    };
    let closed = s.close();
    result.and(closed)
}

/// Plays `input` (module docs) through sm-cli's code; `None` for an empty input.
pub fn replay(input: &[u8]) -> Option<Result<(), CliError>> {
    let (&which, rest) = input.split_first()?;
    let op = OPERATIONS[usize::from(which) % OPERATIONS.len()];
    let mut card = ReplayLink::new(rest, &[CURRENT_PARAMETER, NEW_PARAMETER]);
    if matches!(
        op,
        Operation::SmSync | Operation::SmDeviceChange | Operation::SmRecordedDevice
    ) {
        card = card.with_identity(link::Identity {
            key: crate::harness::identity_key(),
            eid: crate::harness::eid(),
        });
    }
    Some(run(op, &mut card))
}

/// The `sm_answers` target.
pub fn sm_answers(input: &[u8]) {
    if let Some(Err(e)) = replay(input) {
        assert_ne!(e.exit_code(), 0, "an error exits with a non-zero code: {e}");
        let _ = (e.to_string(), e.kind());
    }
}
