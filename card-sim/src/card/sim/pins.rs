//! PINs and PUKs of the enabled profile (ETSI TS 102 221 §9.5, §11.1.9-§11.1.13): their
//! values and counters come from the package's PE-PINCodes / PE-PUKCodes (SAIP v3.3.1
//! §8.5: key reference, 8-byte value, `maxNumOfAttemps-retryNumLeft` as two nibbles) and,
//! once a command changed them, from the profile's persistent `sim.pins` / `sim.puks`.
//!
//! - Key references (TS 102 221 Table 9.3): `01`-`08` PIN Appl 1-8, `0A`-`0E` ADM1-5 and
//!   `11` the universal PIN are looked for in the MF's PINs first; `81`-`88` and `8A`-`8E`
//!   (local) in the current application's (a PE-PINCodes that shares another DF's PINs
//!   is followed). A PUK is the PIN's `unblockingPINReference` among the PUKs of the
//!   PIN's directory, else the MF's.
//! - A wrong value decrements the counter, saved before the answer (`63Cx`, x left), so
//!   a card killed right after a wrong guess cannot give a free one; at 0 the code is
//!   blocked (`6983`). A right value restores the counter.
//! - The verification status is volatile (`CardVolatile::verified`, lost on reset).
//! - VERIFY and UNBLOCK PIN without data answer the retry counter (`63Cx`; `9000` for a
//!   verified PIN). CHANGE PIN on a disabled PIN is `6984`; DISABLE PIN of a disabled
//!   PIN, ENABLE PIN of an enabled one and DISABLE of an ADM key `6985`; an unknown key
//!   reference `6A88`; a new PIN that is not 4 to 8 digits padded with `FF` `6A80`
//!   (ADM values are not checked).
//!
//! Values are compared in constant time and never logged (`log.rs` redacts these
//! commands).

use super::super::command::CardCommand;
use super::super::Euicc;
use super::image::Served;
use crate::state::profile::{CodeState, SimState};
use crate::state::Secret;
use apdu::saip::fs::{FileSystem, NodeId};
use apdu::saip::{Code, PinSet};
use apdu::{Response, StatusWord};
use std::collections::BTreeMap;

/// A PIN or PUK of the image: where it is defined and its package values.
#[derive(Debug, Clone, Copy)]
pub struct CodeRef<'a> {
    pub dir: NodeId,
    pub code: &'a Code,
}

impl CodeRef<'_> {
    /// The key of its persistent state.
    pub fn key(&self) -> String {
        code_key(self.dir, self.code.key_reference)
    }
}

/// The key of a PIN's or PUK's persistent state (`Profile::sim.pins` / `puks`): the
/// directory that defines it and its key reference.
pub fn code_key(dir: NodeId, key_reference: u8) -> String {
    format!("{dir}:{key_reference:02X}")
}

/// A code as it stands now.
struct Current {
    max: u8,
    left: u8,
    value: Secret,
    disabled: bool,
}

fn current(c: &CodeRef<'_>, puk: bool, map: Option<&BTreeMap<String, CodeState>>) -> Current {
    let attempts = c.code.attempts_or_default(puk);
    let max = (attempts >> 4).max(1);
    let saved = map.and_then(|m| m.get(&c.key()));
    Current {
        max,
        left: saved.map_or((attempts & 0x0F).min(max), |s| s.left.min(max)),
        value: saved
            .and_then(|s| s.value.clone())
            .unwrap_or_else(|| Secret::new(c.code.value.expose().to_vec())),
        disabled: saved.is_some_and(|s| s.disabled),
    }
}

fn is_local(key: u8) -> bool {
    key & 0x80 != 0
}

fn is_adm(key: u8) -> bool {
    matches!(key & 0x7F, 0x0A..=0x0E)
}

/// Constant-time equality of two values.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new PIN value (TS 102 221 §9.5.1): 4 to 8 ASCII digits, then `FF`.
fn valid_pin(v: &[u8]) -> bool {
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    v.len() == 8 && digits >= 4 && v[digits..].iter().all(|&b| b == 0xFF)
}

impl Served {
    /// The PINs defined for directory `dir`, following a shared set.
    fn pins_of(&self, dir: NodeId) -> Option<(NodeId, &[Code])> {
        let (_, set) = self.pins.iter().find(|(d, _)| *d == dir)?;
        match set {
            PinSet::Configs(c) => Some((dir, c)),
            PinSet::SharedWith(path) => {
                let fids: Vec<u16> = path
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                let d = self.fs.find_by_path(&fids)?;
                match &self.pins.iter().find(|(x, _)| *x == d)?.1 {
                    PinSet::Configs(c) => Some((d, c)),
                    PinSet::SharedWith(_) => None,
                }
            }
        }
    }

    /// The PIN with key reference `key`, seen from application `adf`.
    pub fn pin(&self, adf: Option<NodeId>, key: u8) -> Option<CodeRef<'_>> {
        let find = |dir: NodeId| {
            let (d, codes) = self.pins_of(dir)?;
            let code = codes.iter().find(|c| c.key_reference == key)?;
            Some(CodeRef { dir: d, code })
        };
        if is_local(key) {
            return find(adf.unwrap_or(FileSystem::MF));
        }
        find(FileSystem::MF).or_else(|| self.pins.iter().find_map(|(d, _)| find(*d)))
    }

    /// The PUK that unblocks `pin`.
    fn puk(&self, pin: &CodeRef<'_>) -> Option<CodeRef<'_>> {
        let key = pin.code.unblocking_reference?;
        let find = |dir: NodeId| {
            let (d, codes) = self.puks.iter().find(|(d, _)| *d == dir)?;
            let code = codes.iter().find(|c| c.key_reference == key)?;
            Some(CodeRef { dir: *d, code })
        };
        find(pin.dir)
            .or_else(|| find(FileSystem::MF))
            .or_else(|| self.puks.iter().find_map(|(d, _)| find(*d)))
    }
}

/// Whether the PIN `key` (seen from `adf`) satisfies an access condition: verified since
/// power on, or disabled.
pub fn pin_ok(
    served: &Served,
    state: Option<&SimState>,
    verified: &std::collections::HashSet<(NodeId, u8)>,
    adf: Option<NodeId>,
    key: u8,
) -> bool {
    let Some(c) = served.pin(adf, key) else {
        return false;
    };
    verified.contains(&(c.dir, key)) || current(&c, false, state.map(|s| &s.pins)).disabled
}

/// What a PIN command does to a code whose value was presented.
enum Checked {
    Right,
    Wrong(u8),
}

impl Euicc {
    /// Presents `value` for the code (`puk`: a PUK): a wrong value saves the decremented
    /// counter, a right one the full counter (when it was not full).
    fn present(&mut self, key: &str, code: Current, puk: bool, value: &[u8]) -> Checked {
        let right = same(value, code.value.expose());
        let left = if right {
            code.max
        } else {
            code.left.saturating_sub(1)
        };
        if left != code.left {
            let key = key.to_string();
            let init = CodeState {
                left,
                value: None,
                disabled: code.disabled,
            };
            self.change_sim(|s| {
                let map = if puk { &mut s.puks } else { &mut s.pins };
                map.entry(key).or_insert(init).left = left;
            });
        }
        if right {
            Checked::Right
        } else {
            Checked::Wrong(left)
        }
    }

    /// VERIFY, CHANGE, DISABLE, ENABLE and UNBLOCK PIN.
    pub(in crate::card) fn pin_command(
        &mut self,
        ch: usize,
        cmd: CardCommand,
    ) -> Result<Response, StatusWord> {
        let adf = self.vol.channels[ch].sim.adf;
        let served = self.served()?;
        let key = match &cmd {
            CardCommand::Verify { key, .. }
            | CardCommand::ChangePin { key, .. }
            | CardCommand::DisablePin { key, .. }
            | CardCommand::EnablePin { key, .. }
            | CardCommand::UnblockPin { key, .. } => *key,
            _ => return Err(StatusWord::InsNotSupported),
        };
        let pin = served
            .pin(adf, key)
            .ok_or(StatusWord::ReferencedDataNotFound)?;
        let state = self.sim_state();
        let now = current(&pin, false, state.map(|s| &s.pins));
        let pin_key = pin.key();
        let slot = (pin.dir, key);
        let puk = served
            .puk(&pin)
            .map(|p| (p.key(), current(&p, true, state.map(|s| &s.puks))));
        let wrong = |left: u8| Err(StatusWord::VerificationFailed(left));
        let init = CodeState {
            left: now.left,
            value: None,
            disabled: now.disabled,
        };
        let disable = matches!(cmd, CardCommand::DisablePin { .. });
        match cmd {
            CardCommand::Verify { pin: None, .. } => {
                if self.vol.verified.contains(&slot) {
                    Ok(Response::sw(StatusWord::Success))
                } else if now.left == 0 {
                    Err(StatusWord::AuthenticationBlocked)
                } else {
                    wrong(now.left)
                }
            }
            CardCommand::Verify { pin: Some(v), .. } => {
                if now.left == 0 {
                    return Err(StatusWord::AuthenticationBlocked);
                }
                match self.present(&pin_key, now, false, v.expose()) {
                    Checked::Right => {
                        self.vol.verified.insert(slot);
                        Ok(Response::sw(StatusWord::Success))
                    }
                    Checked::Wrong(left) => {
                        self.vol.verified.remove(&slot);
                        wrong(left)
                    }
                }
            }
            CardCommand::ChangePin { old, new, .. } => {
                if now.disabled {
                    return Err(StatusWord::ReferenceDataInvalidated);
                }
                if now.left == 0 {
                    return Err(StatusWord::AuthenticationBlocked);
                }
                if !is_adm(key) && !valid_pin(new.expose()) {
                    return Err(StatusWord::IncorrectData);
                }
                match self.present(&pin_key, now, false, old.expose()) {
                    Checked::Right => {
                        self.set_code(&pin_key, init, |c| c.value = Some(new));
                        self.vol.verified.insert(slot);
                        Ok(Response::sw(StatusWord::Success))
                    }
                    Checked::Wrong(left) => wrong(left),
                }
            }
            CardCommand::DisablePin { pin: v, .. } | CardCommand::EnablePin { pin: v, .. } => {
                if (disable && (now.disabled || is_adm(key))) || (!disable && !now.disabled) {
                    return Err(StatusWord::ConditionsNotSatisfied);
                }
                if now.left == 0 {
                    return Err(StatusWord::AuthenticationBlocked);
                }
                match self.present(&pin_key, now, false, v.expose()) {
                    Checked::Right => {
                        self.set_code(&pin_key, init, |c| c.disabled = disable);
                        self.vol.verified.insert(slot);
                        Ok(Response::sw(StatusWord::Success))
                    }
                    Checked::Wrong(left) => wrong(left),
                }
            }
            CardCommand::UnblockPin { codes, .. } => {
                let (puk_key, puk_now) = puk.ok_or(StatusWord::ReferencedDataNotFound)?;
                if puk_now.left == 0 {
                    return Err(StatusWord::AuthenticationBlocked);
                }
                let Some((puk_value, new)) = codes else {
                    return wrong(puk_now.left);
                };
                if !valid_pin(new.expose()) {
                    return Err(StatusWord::IncorrectData);
                }
                let max = now.max;
                match self.present(&puk_key, puk_now, true, puk_value.expose()) {
                    Checked::Right => {
                        self.set_code(&pin_key, init, |c| {
                            c.value = Some(new);
                            c.left = max;
                        });
                        self.vol.verified.insert(slot);
                        Ok(Response::sw(StatusWord::Success))
                    }
                    Checked::Wrong(left) => wrong(left),
                }
            }
            _ => Err(StatusWord::InsNotSupported),
        }
    }

    /// Changes the persistent state of PIN `key`; `init` is its state before any change
    /// (the package's counter), for a PIN the state does not hold yet.
    fn set_code(&mut self, key: &str, init: CodeState, f: impl FnOnce(&mut CodeState)) {
        let key = key.to_string();
        self.change_sim(|s| f(s.pins.entry(key).or_insert(init)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_format() {
        assert!(valid_pin(b"1234\xFF\xFF\xFF\xFF"));
        assert!(valid_pin(b"12345678"));
        assert!(!valid_pin(b"123\xFF\xFF\xFF\xFF\xFF"));
        assert!(!valid_pin(b"1234\xFF\xFF\xFF1"));
        assert!(!valid_pin(b"1234"));
        assert!(same(b"ab", b"ab") && !same(b"ab", b"ac") && !same(b"a", b"ab"));
        assert!(is_adm(0x0A) && is_adm(0x8E) && !is_adm(0x01) && !is_adm(0x11));
    }
}
