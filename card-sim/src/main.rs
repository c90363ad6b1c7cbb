//! `card-sim`: a virtual eUICC for pcscd's vpcd driver. Parses the command line, loads or
//! creates the card's state, and runs the vpcd link until killed. State is saved before
//! every answer that changed it, so killing the process at any time is safe.

use anyhow::{bail, Context, Result};
use apdu::Eid;
use card_sim::card::{atr, Euicc};
use card_sim::log::LoggedCard;
use card_sim::method::KdfFloor;
use card_sim::state::new_card::{self, MAX_TEST_PROFILES};
use card_sim::state::CardPki;
use card_sim::state::{FileStorage, MemoryStorage, PersistentState, Storage};
use card_sim::transport::record::{Header, Recorder};
use card_sim::transport::Transport;
use card_sim::vpcd::slot_lock::{self, LockError, SlotLock};
use card_sim::vpcd::{self, Card, LinkConfig};
use clap::{ArgGroup, Parser, Subcommand};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::Digest;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// vpcd's first port (reader `Virtual PCD 00 00`); slot N listens on this + N.
const VPCD_BASE_PORT: u16 = 35963;

/// A virtual eUICC (SGP.22 ISD-R) that plugs into pcscd through vsmartcard's vpcd.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
#[command(group(ArgGroup::new("storage").required(true).args(["state", "ephemeral"])))]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// The card's eUICC PKI, a folder in the SGP.26 layout (CertificateIssuer/, EUM/,
    /// eUICC/ with CERT_*_ECDSA_NIST.der and eUICC/SK_EUICC_ECDSA_NIST.pem; _BRP where
    /// present). The EID is the eUICC certificate's. Default: a certificate under the
    /// shipped test EUM (card-sim/test-pki, test material).
    #[arg(long, value_name = "DIR")]
    pki: Option<PathBuf>,

    /// vpcd slot: connects to 127.0.0.1:(35963 + SLOT). One card-sim per slot: a second
    /// one says which process holds the slot and exits (status 1).
    #[arg(long, default_value_t = 0)]
    slot: u16,

    /// vpcd address, overriding --slot's port.
    #[arg(long, value_name = "HOST:PORT")]
    vpcd: Option<String>,

    /// State file (created on first use; written atomically before each answer).
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,

    /// Keep the state in memory only (lost when card-sim exits).
    #[arg(long)]
    ephemeral: bool,

    /// EID of a new card (32 digits with valid check digits). Default: an SGP.26 test
    /// EID derived from --seed and --slot, or a random one without --seed.
    #[arg(long, value_name = "DIGITS")]
    eid: Option<Eid>,

    /// Seed for the card's random numbers (deterministic replay) and its derived EID.
    /// Without it, randomness comes from the operating system.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Test-class profiles (disabled) that a new card holds besides PP#0.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=MAX_TEST_PROFILES as i64))]
    test_profiles: u8,

    /// Answer to reset in hex; must offer T=0 [default: 3B 80 80 1F 07 18, T=0; 3B 80 80 01 01 offers T=0 and T=1].
    #[arg(long, value_name = "HEX", value_parser = parse_atr)]
    atr: Option<AtrBytes>,

    /// Log control events and APDUs on stderr (secrets redacted).
    #[arg(short, long)]
    verbose: bool,

    /// Record every command the card receives and every answer it gives, as they cross
    /// the vpcd link, into FILE (mode 0600) as a replayable APDU script
    /// (docs/script-format.md; secrets masked), written after each exchange.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,

    /// The cheapest KDF parameters the card derives a device-change key with: production
    /// (Argon2id 64 MiB, t=3) or test (1 MiB, t=1; for cards made for tests and CI only).
    /// Read at each start, not kept with the card. Requests beyond 2x production's work
    /// are refused too (result 9).
    #[arg(long, value_enum, value_name = "PROFILE", default_value_t = KdfFloorArg::Production)]
    kdf_floor: KdfFloorArg,
}

/// `--kdf-floor`'s values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KdfFloorArg {
    Production,
    Test,
}

impl From<KdfFloorArg> for KdfFloor {
    fn from(a: KdfFloorArg) -> KdfFloor {
        match a {
            KdfFloorArg::Production => KdfFloor::Production,
            KdfFloorArg::Test => KdfFloor::Test,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Test PKI tools.
    #[command(subcommand)]
    Pki(PkiCommand),
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Writes a complete test PKI (CI, EUM, eUICC, DPauth, DPpb, DPtls; NIST and BRP) in
    /// the SGP.26 layout, as osmo-smdpp reads it. TEST MATERIAL: keys are 0600 but unprotected.
    Init {
        dir: PathBuf,
        /// The eUICC's EID (32 digits with valid check digits).
        #[arg(long)]
        eid: Eid,
        /// The SM-DP+ host name of the DPtls certificate.
        #[arg(long, value_name = "NAME")]
        smdp_host: String,
        /// Seed for the keys (same seed, same files). Default: the operating system's.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Pki(PkiCommand::Init {
            dir,
            eid,
            smdp_host,
            seed,
            force,
        })) => pki_init(dir, *eid, smdp_host, *seed, *force),
        None => run(cli),
    };
    if let Err(e) = result {
        eprintln!("card-sim: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let addr = match &cli.vpcd {
        Some(a) => a.clone(),
        None => {
            let port = VPCD_BASE_PORT
                .checked_add(cli.slot)
                .with_context(|| format!("slot {} gives a port over 65535", cli.slot))?;
            format!("127.0.0.1:{port}")
        }
    };
    // Before any state is touched: a second card-sim on the slot would never be served.
    let _slot_lock = lock_slot(&cli, &addr)?;
    let storage: Box<dyn Storage + Send> = match &cli.state {
        Some(path) => Box::new(FileStorage::open(path)?),
        None => Box::new(MemoryStorage::new()),
    };
    let state = load_or_create(&cli, storage.as_ref())?;
    let rng = match cli.seed {
        Some(s) => ChaCha20Rng::seed_from_u64(s),
        None => ChaCha20Rng::from_seed(os_seed()?),
    };
    let where_ = match &cli.state {
        Some(p) => format!("state {}", p.display()),
        None => "ephemeral state".into(),
    };
    eprintln!(
        "card-sim: EID {}, {} profile(s), {where_}; connecting to vpcd at {addr}",
        state.eid,
        state.profiles.len()
    );
    let atr = cli
        .atr
        .clone()
        .map(|a| a.0)
        .unwrap_or_else(|| atr::DEFAULT_ATR.to_vec());
    let header = Header {
        eid: state.eid.digits(),
        seed: cli.seed,
        pki: cli.pki.clone(),
        atr: atr.clone(),
        state: cli.state.clone(),
        profiles: state.profiles.len(),
        test_profiles: cli.test_profiles,
        kdf_floor_test: matches!(cli.kdf_floor, KdfFloorArg::Test),
    };
    let euicc = Euicc::new(state, storage, rng, atr).with_kdf_floor(cli.kdf_floor.into());
    let card = Transport::new(euicc);
    let card: Box<dyn Card> = if cli.verbose {
        Box::new(LoggedCard::new(card))
    } else {
        Box::new(card)
    };
    let mut card: Box<dyn Card> = match &cli.record {
        Some(path) => Box::new(
            Recorder::create(path, &header, card)
                .with_context(|| format!("--record {}", path.display()))?,
        ),
        None => card,
    };
    let stop = AtomicBool::new(false);
    vpcd::run(&LinkConfig::new(addr), card.as_mut(), &stop);
    Ok(())
}

/// Takes the slot's lock ([`slot_lock`]); a taken slot is an error naming its holder.
fn lock_slot(cli: &Cli, addr: &str) -> Result<Option<SlotLock>> {
    let Some(name) = slot_lock::lock_name(addr) else {
        return Ok(None);
    };
    match SlotLock::acquire(&name) {
        Ok(lock) => Ok(Some(lock)),
        Err(LockError::Taken(holder)) => match &cli.vpcd {
            Some(a) => bail!("vpcd {a} is taken by {holder}; stop it, or use another --vpcd"),
            None => bail!(
                "slot {} (vpcd {addr}) is taken by {holder}; stop it, or use another --slot",
                cli.slot
            ),
        },
        Err(e) => Err(e).context("slot lock"),
    }
}

/// An ATR given on the command line. A newtype, because clap reads a bare `Vec<u8>` as a
/// list of values, one byte each.
#[derive(Debug, Clone)]
struct AtrBytes(Vec<u8>);

fn parse_atr(text: &str) -> Result<AtrBytes, String> {
    atr::parse(text).map(AtrBytes)
}

/// `card-sim pki init`.
fn pki_init(
    dir: &std::path::Path,
    eid: Eid,
    host: &str,
    seed: Option<u64>,
    force: bool,
) -> Result<()> {
    let mut rng = key_rng(seed)?;
    let mut pkis = Vec::new();
    for curve in [
        apdu::sgp22::pki::Curve::NistP256,
        apdu::sgp22::pki::Curve::BrainpoolP256r1,
    ] {
        pkis.push(apdu::sgp22::pki::gen::test_pki(curve, eid, host, &mut rng)?);
    }
    let written = card_sim::pki::write_dir(dir, &pkis, force)?;
    eprintln!(
        "card-sim: wrote {} files of a TEST PKI for EID {eid} and SM-DP+ {host} under {}",
        written.len(),
        dir.display()
    );
    Ok(())
}

/// The RNG the card's eUICC key is drawn from: under --seed a stream of its own (SHA-256
/// of a label and the seed), so the card's other random values stay as they were.
fn key_rng(seed: Option<u64>) -> Result<ChaCha20Rng> {
    Ok(match seed {
        Some(s) => {
            let mut h = sha2::Sha256::new();
            h.update(b"card-sim eUICC key\0");
            h.update(s.to_be_bytes());
            ChaCha20Rng::from_seed(h.finalize().into())
        }
        None => ChaCha20Rng::from_seed(os_seed()?),
    })
}

/// Loads the stored card, or makes and saves a new one. With --pki the card's PKI is the
/// folder's (its EID must be the card's).
fn load_or_create(cli: &Cli, storage: &dyn Storage) -> Result<PersistentState> {
    let loaded = match &cli.pki {
        Some(dir) => {
            let (pki, eid) = card_sim::pki::load_dir(dir)?;
            if let Some(given) = cli.eid {
                if given != eid {
                    bail!("--eid {given} disagrees with the EID {eid} of the eUICC certificate in {}; drop --eid", dir.display());
                }
            }
            Some((pki, eid))
        }
        None => None,
    };
    if let Some(mut state) = storage.load()? {
        if let Some((pki, eid)) = loaded {
            if eid != state.eid {
                bail!("the state holds EID {}, but the --pki folder's eUICC certificate names {eid}; use another --state", state.eid);
            }
            if state.pki != pki {
                state.pki = pki;
                storage
                    .save(&state)
                    .context("cannot save the state with the --pki chain")?;
            }
            return Ok(state);
        }
        if let Some(eid) = cli.eid {
            if eid != state.eid {
                bail!(
                    "the state holds EID {}, but --eid {eid} was given; \
                     drop --eid or use another --state",
                    state.eid
                );
            }
        }
        if cli.test_profiles > 0 {
            eprintln!("card-sim: --test-profiles applies to a new card only; the stored card is used as it is");
        }
        return Ok(state);
    }
    let (eid, pki) = match loaded {
        Some((pki, eid)) => (eid, pki),
        None => {
            // A fresh EID per new card unless --eid or --seed fixes it (issue 10).
            let mut rng = key_rng(cli.seed)?;
            let eid = match cli.eid {
                Some(eid) => eid,
                None => new_card::new_card_eid(cli.seed, cli.slot, &mut rng),
            };
            (eid, CardPki::issue_test(eid, &mut rng)?)
        }
    };
    let mut state = new_card::new_card(eid, cli.test_profiles);
    state.pki = pki;
    storage
        .save(&state)
        .context("cannot save the new card's state")?;
    Ok(state)
}

/// 32 bytes from the operating system's random source.
fn os_seed() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("cannot read /dev/urandom for the random seed")?;
    Ok(seed)
}
