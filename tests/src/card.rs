//! A card-sim process owned by one test: started on a leased vpcd slot with its own state
//! file, waited for until the reader shows it and it answers, killed by PID on drop.
//!
//! Its PID is also recorded in `<run dir>/harness/slot-N.pid` ("PID STARTTIME", the
//! format of scripts/lib.sh), so scripts/stack-down.sh can clean up after a test process
//! that died before its drop ran; and the child gets SIGKILL if the thread that started
//! it dies (PR_SET_PDEATHSIG).

use crate::locks::Lease;
use crate::pcsc_io::{self, Presence};
use crate::process;
use crate::stack::Stack;
use anyhow::{bail, Context as _, Result};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a card may take to appear in (or leave) its reader.
pub const CARD_TIMEOUT: Duration = Duration::from_secs(20);

/// card-sim options a test may set (card-sim's flags: --state/--ephemeral, --seed,
/// --test-profiles, --eid, --kdf-floor).
#[derive(Debug, Clone)]
pub struct CardOptions {
    pub test_profiles: Option<u32>,
    pub seed: Option<u64>,
    pub eid: Option<String>,
    /// No state file (`--ephemeral`).
    pub ephemeral: bool,
    /// `--kdf-floor`: `Some("test")` by default, since the tests' SM derives with
    /// `--kdf test`; `None` starts card-sim without the flag (the production floor).
    pub kdf_floor: Option<&'static str>,
    /// More flags, passed as given.
    pub extra: Vec<String>,
}

impl Default for CardOptions {
    fn default() -> CardOptions {
        CardOptions {
            test_profiles: None,
            seed: None,
            eid: None,
            ephemeral: false,
            kdf_floor: Some("test"),
            extra: Vec::new(),
        }
    }
}

/// A running card-sim.
pub struct CardSim {
    pub slot: u32,
    pub reader: String,
    /// The state file (meaningless with `ephemeral`).
    pub state: PathBuf,
    pub log: PathBuf,
    pub dir: PathBuf,
    bin: PathBuf,
    args: Vec<OsString>,
    pidfile: PathBuf,
    child: Option<Child>,
}

impl CardSim {
    /// Starts card-sim on the lease's first slot; state in a fresh scratch directory.
    pub fn start(stack: &Stack, lease: &Lease, test: &str, opts: &CardOptions) -> Result<CardSim> {
        CardSim::start_on(stack, lease.slot(), lease.reader(), test, opts)
    }

    /// Starts card-sim on `slot` (which the caller holds a lease on).
    pub fn start_on(
        stack: &Stack,
        slot: u32,
        reader: &str,
        test: &str,
        opts: &CardOptions,
    ) -> Result<CardSim> {
        let dir = stack.scratch_dir(test);
        let state = dir.join(format!("card-{slot}.state.json"));
        std::fs::create_dir_all(&dir)?;
        let mut args: Vec<OsString> = vec!["--slot".into(), slot.to_string().into()];
        if opts.ephemeral {
            args.push("--ephemeral".into());
        } else {
            args.push("--state".into());
            args.push(state.clone().into());
        }
        if let Some(k) = opts.test_profiles {
            args.extend(["--test-profiles".into(), k.to_string().into()]);
        }
        if let Some(s) = opts.seed {
            args.extend(["--seed".into(), s.to_string().into()]);
        }
        if let Some(e) = &opts.eid {
            args.extend(["--eid".into(), e.into()]);
        }
        if let Some(f) = opts.kdf_floor {
            args.extend(["--kdf-floor".into(), f.into()]);
        }
        args.extend(opts.extra.iter().map(OsString::from));
        CardSim::start_program(stack, slot, reader, dir, &stack.card_sim, args)
    }

    /// Starts any vpcd card program (`bin args...`, e.g. the benchmark's floor-card) on
    /// `slot`, with the same bookkeeping as card-sim; `dir` holds its log.
    pub fn start_program(
        stack: &Stack,
        slot: u32,
        reader: &str,
        dir: PathBuf,
        bin: &Path,
        args: Vec<OsString>,
    ) -> Result<CardSim> {
        let name = bin
            .file_name()
            .map_or("card".into(), |n| n.to_string_lossy().into_owned());
        let mut card = CardSim {
            slot,
            reader: reader.to_string(),
            state: dir.join(format!("card-{slot}.state.json")),
            log: dir.join(format!("{name}-{slot}.log")),
            pidfile: stack.dir.join("harness").join(format!("slot-{slot}.pid")),
            dir,
            bin: bin.to_path_buf(),
            args,
            child: None,
        };
        card.launch()?;
        Ok(card)
    }

    /// Starts the floor-card (tests/src/bin/floor-card.rs: answers 90 00 to everything,
    /// the benchmarks' baseline) on `slot`; `None` when its binary is not next to the
    /// running one (`cargo build -p system-tests --bins` builds it).
    pub fn start_floor(
        stack: &Stack,
        slot: u32,
        reader: &str,
        test: &str,
    ) -> Result<Option<CardSim>> {
        let bin = std::env::current_exe()?.with_file_name("floor-card");
        if !bin.is_file() {
            return Ok(None);
        }
        let args = vec![OsString::from("--slot"), slot.to_string().into()];
        CardSim::start_program(stack, slot, reader, stack.scratch_dir(test), &bin, args).map(Some)
    }

    fn launch(&mut self) -> Result<()> {
        // A card of an earlier test may still be shown for a moment: wait until it is gone.
        pcsc_io::wait_no_card(&self.reader, CARD_TIMEOUT)
            .context("the slot still shows a card before card-sim starts")?;
        self.spawn()?;
        self.wait_ready()
    }

    /// Starts the process (log, pidfile, death signal) and returns at once.
    fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; it only sets this child's death signal.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let pid = child.id();
        if let Some(d) = self.pidfile.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(
            &self.pidfile,
            format!(
                "{pid} {}\n",
                process::stat_field(pid, 22).unwrap_or_else(|| "0".into())
            ),
        )?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until the reader shows the card and it answers SELECT MF.
    pub fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + CARD_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "card-sim on slot {} exited ({status}) before its card appeared:\n{}",
                    self.slot,
                    self.log_tail()
                );
            }
            if pcsc_io::presence(&self.reader).ok() == Some(Presence::Card) {
                let left = deadline.saturating_duration_since(Instant::now());
                return pcsc_io::wait_answering(&self.reader, left.max(Duration::from_secs(1)))
                    .with_context(|| self.log_tail());
            }
            if Instant::now() >= deadline {
                bail!(
                    "card-sim on slot {} did not appear in '{}' within {CARD_TIMEOUT:?}:\n{}",
                    self.slot,
                    self.reader,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The card-sim PID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The CPU time card-sim has used so far (all its threads), while it runs.
    pub fn cpu_time(&self) -> Option<Duration> {
        process::cpu_time(self.pid()?)
    }

    /// Waits until card-sim has used `work` more CPU time than `since` (a
    /// [`CardSim::cpu_time`] reading): it is computing, e.g. deriving a key for a command
    /// it received. Fails after `timeout`, or when card-sim is not running.
    pub fn wait_busy(&self, since: Duration, work: Duration, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(now) = self.cpu_time() else {
                bail!("card-sim on slot {} is not running", self.slot);
            };
            if now >= since + work {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "card-sim on slot {} used {:?} of CPU in {timeout:?}, not {work:?}",
                    self.slot,
                    now.saturating_sub(since)
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    fn signal_and_reap(
        &mut self,
        sig: libc::c_int,
        grace: Duration,
    ) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        process::signal(&child, sig);
        let (status, _) = process::wait_until(&mut child, Instant::now() + grace);
        let _ = std::fs::remove_file(&self.pidfile);
        status
    }

    /// SIGKILL, no chance to clean up (a power cut for the card); waits until the reader
    /// no longer shows it.
    pub fn kill9(&mut self) -> Result<()> {
        self.signal_and_reap(libc::SIGKILL, Duration::from_secs(5));
        pcsc_io::wait_no_card(&self.reader, CARD_TIMEOUT)
    }

    /// SIGTERM (SIGKILL after 5 s); waits until the reader no longer shows it. Returns
    /// the exit status.
    pub fn stop(&mut self) -> Result<Option<std::process::ExitStatus>> {
        let st = self.signal_and_reap(libc::SIGTERM, Duration::from_secs(5));
        pcsc_io::wait_no_card(&self.reader, CARD_TIMEOUT)?;
        Ok(st)
    }

    /// SIGKILL and reap, and nothing more: the reader may still show the card (a crash
    /// that a restart follows at once, see [`CardSim::respawn`]).
    pub fn kill9_now(&mut self) {
        self.signal_and_reap(libc::SIGKILL, Duration::from_secs(5));
    }

    /// Starts it again with the same arguments and state file at once: waits neither for
    /// the reader to lose the old card nor for the new one to appear
    /// ([`CardSim::wait_ready`] does the latter).
    pub fn respawn(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.kill9_now();
        }
        self.spawn()
    }

    /// Starts it again with the same arguments and state file.
    pub fn restart(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.stop()?;
        }
        self.launch()
    }

    /// The end of card-sim's log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 20)
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!(
        "--- {} (last {n} lines) ---\n{}",
        path.display(),
        lines[lines.len().saturating_sub(n)..].join("\n")
    )
}

impl Drop for CardSim {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal_and_reap(libc::SIGKILL, Duration::from_secs(5));
            // Let pcscd see the card go before the slot's next user starts its own.
            let _ = pcsc_io::wait_no_card(&self.reader, CARD_TIMEOUT);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("card-sim files kept in {}", self.dir.display());
        }
    }
}
