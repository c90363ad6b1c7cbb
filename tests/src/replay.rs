//! Recorded card sessions (`card-sim --record`, tests/data/recordings/*.apdu) replayed
//! through pcscd, command by command, with every answer checked against the recording
//! (docs/script-format.md, parsed by `apdu-script`; the same meaning `sm-cli script run`
//! gives it with `auto-get-response off`): the byte-exact replay and the SIGKILL tests of
//! issue 9.
//!
//! - [`Recorded`]: a parsed recording, its header facts (EID, seed), and where in it the
//!   profile was installed ([`Recorded::install_command`]: the command answered with the
//!   ProfileInstallationResult `BF37`, SGP.22 §5.7.6).
//! - [`Replay`]: a PC/SC connection (T=0, as lpac connects) that plays a recording's items
//!   in order: commands sent as written and checked, `#! power off` / `#! power on` as
//!   disconnect-unpowering / connect, `reset` as `SCardReconnect(SCARD_RESET_CARD)`,
//!   `#! reset cold` with `SCARD_UNPOWER_CARD`. [`Replay::send_next_unchecked`] sends the
//!   next command without checking (the command a kill interrupts).
//! - [`profiles_raw`]: ES10c GetProfilesInfo (`BF2D`) through pcscd, each ProfileInfo's
//!   fields by tag (SGP.22 §5.7.15), decoded with the generic BER-TLV reader only.

use crate::flows::{
    exchange_lpac, CLOSE_CHANNEL_1, OPEN_CHANNEL, PROFILES_INFO_CH1, SELECT_ISDR_CH1,
};
use crate::hexutil::{hex, up};
use crate::pcsc_io::Conn;
use anyhow::{anyhow, bail, ensure, Context as _, Result};
use apdu_script::{Element, Expectation, ItemKind, ResetKind, Script, Vars};
use pcsc::{Context, Disposition, Protocols, Scope, ShareMode};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// A parsed recording.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: PathBuf,
    pub script: Script,
    /// The `# Key: value` header lines (before the first command).
    pub header: BTreeMap<String, String>,
}

impl Recorded {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Recorded> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let script = apdu_script::parser::parse(&path.display().to_string(), &text)
            .map_err(|e| anyhow!("{e}"))?;
        let mut header = BTreeMap::new();
        for item in &script.items {
            match &item.kind {
                ItemKind::Comment(c) => {
                    if let Some((k, v)) = c.trim().split_once(": ") {
                        header.entry(k.to_string()).or_insert_with(|| v.to_string());
                    }
                }
                ItemKind::Command { .. } => break,
                _ => {}
            }
        }
        Ok(Recorded {
            path: path.to_path_buf(),
            script,
            header,
        })
    }

    /// The recording's commands with their expectations, in order.
    pub fn commands(&self) -> Vec<(usize, &[u8], Option<&Expectation>)> {
        self.script
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Command {
                    template, expect, ..
                } => Some((i.line, template.as_literal()?, expect.as_ref())),
                _ => None,
            })
            .collect()
    }

    /// The first word of a header value (`Seed: 1 (...)` -> `1`).
    pub fn header_word(&self, key: &str) -> Option<&str> {
        self.header.get(key)?.split_whitespace().next()
    }

    /// The expected answer data of command `i` when it is given as plain bytes.
    pub fn expected_data(&self, i: usize) -> Option<Vec<u8>> {
        let (_, _, e) = *self.commands().get(i)?;
        let p = e?.alternatives.first()?;
        let mut out = Vec::new();
        for el in &p.data {
            match el {
                Element::Bytes(run) if run.iter().all(|m| m.mask() == 0xFF) => {
                    out.extend(run.iter().map(|m| m.value()))
                }
                _ => return None,
            }
        }
        Some(out)
    }

    /// Index (among the commands) of the command whose processing installed the profile:
    /// the last block of the last `86` segment, answered with the ProfileInstallationResult
    /// (`BF37`) directly or announced with `61xx` and fetched by GET RESPONSE after it.
    pub fn install_command(&self) -> Option<usize> {
        let cmds = self.commands();
        let hit = (0..cmds.len()).find(|&i| {
            self.expected_data(i)
                .is_some_and(|d| d.starts_with(&[0xBF, 0x37]))
        })?;
        // Walk back over GET RESPONSE rounds to the command that produced the answer.
        (0..=hit).rev().find(|&i| cmds[i].1.get(1) != Some(&0xC0))
    }

    /// Indexes of the commands that start a BPP segment message (STORE DATA, P2 = 00,
    /// data after the `BF36` message), for kills inside the load.
    pub fn bpp_range(&self) -> Option<(usize, usize)> {
        let cmds = self.commands();
        let first = cmds.iter().position(|(_, c, _)| {
            c.get(1) == Some(&0xE2) && c.get(3) == Some(&0) && c.get(5..7) == Some(&[0xBF, 0x36])
        })?;
        Some((first, self.install_command()?))
    }
}

/// The next command of a recording: its line, bytes and expectation.
type Next<'a> = (usize, Vec<u8>, Option<&'a Expectation>);

/// A PC/SC connection replaying one recording (module docs).
pub struct Replay {
    ctx: Context,
    reader: CString,
    card: Option<pcsc::Card>,
    vars: Vars,
    /// Next item of the script to play.
    pos: usize,
    /// Commands sent so far.
    sent: usize,
}

impl Replay {
    /// Connects to the card in `reader` (shared, T=0).
    pub fn connect(reader: &str) -> Result<Replay> {
        let mut r = Replay {
            ctx: Context::establish(Scope::User)?,
            reader: CString::new(reader)?,
            card: None,
            vars: Vars::new(),
            pos: 0,
            sent: 0,
        };
        r.power_on()?;
        Ok(r)
    }

    fn power_on(&mut self) -> Result<()> {
        if self.card.is_none() {
            let card = self
                .ctx
                .connect(&self.reader, ShareMode::Shared, Protocols::T0)
                .with_context(|| format!("SCardConnect to {:?}", self.reader))?;
            self.card = Some(card);
        }
        Ok(())
    }

    fn power_off(&mut self) -> Result<()> {
        if let Some(c) = self.card.take() {
            c.disconnect(Disposition::UnpowerCard)
                .map_err(|(_, e)| anyhow!("SCardDisconnect: {e}"))?;
        }
        Ok(())
    }

    fn reset(&mut self, how: Disposition) -> Result<()> {
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| anyhow!("reset while powered off"))?;
        card.reconnect(ShareMode::Shared, Protocols::T0, how)
            .with_context(|| "SCardReconnect")
    }

    /// Commands sent so far.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// Plays directives up to the next command; returns it.
    fn next_command<'a>(&mut self, rec: &'a Recorded) -> Result<Option<Next<'a>>> {
        while let Some(item) = rec.script.items.get(self.pos) {
            self.pos += 1;
            match &item.kind {
                ItemKind::Command {
                    template,
                    expect,
                    secret,
                } => {
                    let bytes = match template.render(&self.vars) {
                        Ok(b) => b,
                        Err(e) if *secret => {
                            eprintln!("line {}: secret command skipped ({e})", item.line);
                            continue;
                        }
                        Err(e) => bail!("{}:{}: {e}", rec.path.display(), item.line),
                    };
                    return Ok(Some((item.line, bytes, expect.as_ref())));
                }
                ItemKind::PowerOff => self.power_off()?,
                ItemKind::PowerOn => self.power_on()?,
                ItemKind::Reset(ResetKind::Warm) => self.reset(Disposition::ResetCard)?,
                ItemKind::Reset(ResetKind::Cold) => self.reset(Disposition::UnpowerCard)?,
                ItemKind::Comment(_) | ItemKind::Pause(_) => {}
                ItemKind::AutoGetResponse(false) | ItemKind::Channel(0) => {}
                other => bail!(
                    "{}:{}: {other:?} is not replayed here",
                    rec.path.display(),
                    item.line
                ),
            }
        }
        Ok(None)
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let card = self
            .card
            .as_ref()
            .ok_or_else(|| anyhow!("a command while powered off"))?;
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let r = card
            .transmit(apdu, &mut buf)
            .with_context(|| format!("SCardTransmit {}", up(apdu)))?;
        Ok(r.to_vec())
    }

    /// Plays the recording until `n` more commands have been sent, each answer checked
    /// byte for byte; fails at the first difference, naming the line.
    pub fn run(&mut self, rec: &Recorded, n: usize) -> Result<()> {
        for _ in 0..n {
            let Some((line, apdu, expect)) = self.next_command(rec)? else {
                bail!("{}: ended after {} commands", rec.path.display(), self.sent);
            };
            let answer = self.transmit(&apdu)?;
            self.sent += 1;
            ensure!(answer.len() >= 2, "line {line}: answer without SW");
            let (data, sw) = answer.split_at(answer.len() - 2);
            if let Some(e) = expect {
                e.check(data, u16::from_be_bytes([sw[0], sw[1]]), &mut self.vars)
                    .map_err(|m| {
                        anyhow!(
                            "{}:{line} (command {}): sent {}, got {}: {m}",
                            rec.path.display(),
                            self.sent - 1,
                            up(&apdu),
                            up(&answer)
                        )
                    })?;
            }
        }
        Ok(())
    }

    /// Plays the whole recording (what is left of it).
    pub fn run_all(&mut self, rec: &Recorded) -> Result<()> {
        let left = rec.commands().len() - self.sent;
        self.run(rec, left)
    }

    /// Sends the next command without checking its answer (a kill may cut it off).
    pub fn send_next_unchecked(&mut self, rec: &Recorded) -> Result<Vec<u8>> {
        let Some((_, apdu, _)) = self.next_command(rec)? else {
            bail!("no command left");
        };
        self.sent += 1;
        self.transmit(&apdu)
    }

    /// Disconnects unpowering the card (as lpac does).
    pub fn close(mut self) -> Result<()> {
        self.power_off()
    }

    /// Lets go of a card that died under it: disconnects leaving the card as it is (a
    /// reset or unpower would go to a reader whose card is gone; pcscd then did not see
    /// the restarted card in tests), errors ignored.
    pub fn abandon(mut self) {
        if let Some(c) = self.card.take() {
            let _ = c.disconnect(Disposition::LeaveCard);
        }
    }
}

/// One ProfileInfo (`E3`) of GetProfilesInfo: every primitive field by tag, hex values.
pub type ProfileFields = BTreeMap<u32, Vec<u8>>;

/// ES10c GetProfilesInfo through pcscd as lpac sends it (channel 1, SELECT ISD-R,
/// `BF2D` with GET RESPONSE rounds, close): the fields of each ProfileInfo.
pub fn profiles_raw(reader: &str) -> Result<Vec<ProfileFields>> {
    let conn = Conn::connect_with(reader, Protocols::T0)?;
    let ch = conn.transmit(&hex(OPEN_CHANNEL))?;
    ensure!(
        ch == [0x01, 0x90, 0x00],
        "MANAGE CHANNEL answered {}",
        up(&ch)
    );
    let (_, sw) = exchange_lpac(&conn, SELECT_ISDR_CH1)?;
    ensure!(sw == 0x9000, "SELECT ISD-R answered {sw:04X}");
    let (data, sw) = exchange_lpac(&conn, PROFILES_INFO_CH1)?;
    ensure!(sw == 0x9000, "GetProfilesInfo answered {sw:04X}");
    conn.transmit(&hex(CLOSE_CHANNEL_1))?;
    conn.close_with(Disposition::UnpowerCard)?;
    let top = apdu::iso7816::tlv::parse(&data).map_err(|e| anyhow!("BF2D: {e}: {}", up(&data)))?;
    ensure!(
        apdu::iso7816::tlv::tag_num(&top) == 0xBF2D,
        "not a BF2D: {}",
        up(&data)
    );
    // BF2D { A0 { E3 {...}* } } (profileInfoListOk).
    let list = apdu::iso7816::tlv::child(&top, 0xA0)
        .ok_or_else(|| anyhow!("BF2D without A0 (an error answer?): {}", up(&data)))?;
    let mut out = Vec::new();
    for e3 in apdu::iso7816::tlv::children(list) {
        let mut fields = ProfileFields::new();
        for f in apdu::iso7816::tlv::children(e3) {
            let tag = apdu::iso7816::tlv::tag_num(f);
            let value = apdu::iso7816::tlv::bytes(f)
                .map(<[u8]>::to_vec)
                .unwrap_or_else(|| apdu::iso7816::tlv::encode(f));
            fields.insert(tag, value);
        }
        out.push(fields);
    }
    Ok(out)
}

/// The ICCID digits of a ProfileInfo's `5A` (BCD, nibbles swapped, `F` padding).
pub fn iccid_of(p: &ProfileFields) -> Option<String> {
    let b = p.get(&0x5A)?;
    let mut s = String::new();
    for x in b {
        for n in [x & 0x0F, x >> 4] {
            if n < 10 {
                s.push(char::from(b'0' + n));
            }
        }
    }
    Some(s)
}

/// The committed recordings (tests/data/recordings/README.md): how their card was made.
pub mod recordings {
    use crate::stack::Stack;
    use std::path::PathBuf;

    /// The EID of the recordings' eUICC certificate (an SGP.26 test EID).
    pub const EID: &str = "89049032123451234512345678909286";
    /// The SM-DP+ host of the DPtls certificate (osmo-smdpp's name).
    pub const HOST: &str = "testsmdpplus1.example.com";
    /// `card-sim pki init --seed` of the recordings.
    pub const PKI_SEED: u64 = 9;

    /// One recording: file, card seed (`card-sim --seed`), the ICCID and profile name
    /// it installs.
    pub struct Case {
        pub file: &'static str,
        pub seed: u64,
        pub iccid: &'static str,
        pub name: &'static str,
    }

    pub const CASES: [Case; 2] = [
        Case {
            file: "lpac-download-ts48v2-saip2-1-bertlv.apdu",
            seed: 1,
            iccid: "8949449999999990049",
            name: "TS48V2-SAIP2-1-BERTLV-UNIQUE",
        },
        Case {
            file: "lpac-download-ts48v2-saip2-3-nobertlv.apdu",
            seed: 2,
            iccid: "8949449999999990015",
            name: "TS48V2-SAIP2-3-NOBERTLV-UNIQUE",
        },
    ];

    /// The recording's path in the repository.
    pub fn path(stack: &Stack, case: &Case) -> PathBuf {
        stack.root.join("tests/data/recordings").join(case.file)
    }

    /// `card-sim pki init` into a fresh scratch folder with the recordings' arguments
    /// (deterministic: the same certificates and keys as by hand).
    pub fn pki_init(stack: &Stack, test: &str) -> anyhow::Result<PathBuf> {
        let dir = stack.scratch_dir(test).join("pki");
        let out = std::process::Command::new(&stack.card_sim)
            .args(["pki", "init"])
            .arg(&dir)
            .args(["--eid", EID, "--smdp-host", HOST, "--seed"])
            .arg(PKI_SEED.to_string())
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "card-sim pki init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(dir)
    }
}
