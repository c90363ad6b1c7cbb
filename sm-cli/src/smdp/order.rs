//! Download orders (issue 11; SGP.22 §3.1.3 "the Operator orders a profile download"
//! and §4.1 the activation code): a random matchingId, an optional EID, an optional
//! confirmation code (stored as its SHA-256 only), the package source, and the activation
//! code `LPA:1$<SM-DP+ address>$<matchingId>` (SGP.22 §4.1) the end user types or scans.
//! The package of a subscription order is built from the record by [`package_for`] (the
//! same values card-sim's device-change profiles get: Milenage with the record's Ki /
//! OPc, PIN1 `0000` disabled), so the downloaded profile authenticates like the record.

use crate::errors::CliError;
use crate::sm::service::SmError;
use crate::sm::store::{Actor, NewOrder, Order, OrderSource, Store, StoreError};
use apdu::crypto::{random_array, SysRng};
use apdu::saip::build::{build, Subscription};
use apdu::saip::{Algorithm, Secret};
use apdu::sgp22::es10::{events, Iccid, ProfileClass};
use apdu::sgp22::es10b::{NotificationConfig, StoreMetadata};
use apdu::sgp22::es9p::confirmation_code_hash;
use zeroize::Zeroizing;

/// PIN1, PUK1 and ADM1 of a package built from a record (card-sim's operator profiles).
const PIN1: &str = "0000";
const PUK1: &str = "12345678";
const ADM1: &str = "88888888";

/// The SPN and profile name of a package order's metadata (the package carries none).
const PACKAGE_SPN: &str = "vEUICC SM-DP+";

/// What to download.
#[derive(Clone)]
pub enum OrderSpec {
    /// The subscription record of this OP ID.
    OpId(String),
    /// A SAIP profile package (DER), e.g. a TS.48 test profile.
    Package(Zeroizing<Vec<u8>>),
}

/// A new order as `sm-cli smdp order` asks for it.
pub struct OrderRequest {
    pub spec: OrderSpec,
    pub eid: Option<String>,
    pub confirmation_code: Option<Zeroizing<String>>,
    /// The SM-DP+ address of the activation code (`host[:port]`).
    pub address: String,
}

/// The stored order and its activation code.
#[derive(Debug, Clone)]
pub struct CreatedOrder {
    pub order: Order,
    pub activation_code: String,
}

/// `LPA:1$<address>$<matchingId>` (SGP.22 §4.1: format 1, SM-DP+ address, AC token).
pub fn activation_code(address: &str, matching_id: &str) -> String {
    format!("LPA:1${address}${matching_id}")
}

/// A random matchingId: 20 characters of `0-9A-Z` in groups of five (about 103 bits;
/// SGP.22 §4.1 allows `0-9`, `A-Z` and `-` in the AC token).
pub fn new_matching_id() -> Result<String, CliError> {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = String::with_capacity(23);
    let mut n = 0;
    while n < 20 {
        let bytes: [u8; 32] = random_array(&mut SysRng).map_err(rng_err)?;
        // Rejection sampling: 252 = 7 * 36, no bias.
        for b in bytes.into_iter().filter(|&b| b < 252) {
            if n == 20 {
                break;
            }
            if n > 0 && n % 5 == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[usize::from(b % 36)]));
            n += 1;
        }
    }
    Ok(out)
}

pub(crate) fn rng_err(e: impl std::fmt::Display) -> CliError {
    CliError::Io(std::io::Error::other(format!("the system RNG failed: {e}")))
}

fn store_err(e: StoreError) -> CliError {
    CliError::Sm(SmError::from(e))
}

/// Checks `address` as it goes into activation codes and smdpAddress: an FQDN or IP
/// with an optional port, no `$`, no spaces.
pub fn check_address(address: &str) -> Result<(), CliError> {
    let ok = !address.is_empty()
        && address.len() <= 255
        && address
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "SM-DP+ address {address:?}: a host name or IP address with an optional :port"
        )))
    }
}

/// Stores a new order; its activation code names `req.address`.
pub fn create_order(store: &Store, req: &OrderRequest) -> Result<CreatedOrder, CliError> {
    check_address(&req.address)?;
    let eid = req
        .eid
        .as_deref()
        .map(|e| {
            e.parse::<apdu::Eid>()
                .map(|e| e.digits())
                .map_err(|x| CliError::Usage(format!("--eid {e}: {x}")))
        })
        .transpose()?;
    let cc_hash = match &req.confirmation_code {
        Some(c) if c.is_empty() || c.len() > 64 => {
            return Err(CliError::Usage(
                "the confirmation code has 1 to 64 characters".into(),
            ))
        }
        Some(c) => Some(confirmation_code_hash(c.as_bytes())),
        None => None,
    };
    let (source, iccid, eid) = match &req.spec {
        OrderSpec::OpId(op) => {
            let sub = store
                .get(op)
                .map_err(store_err)?
                .ok_or_else(|| store_err(StoreError::NotFound(op.clone())))?;
            // Build once now, so an order that cannot be served is refused here.
            package_from_record(&sub)?;
            let eid = record_order_eid(&sub, eid)?;
            (
                OrderSource::Subscription(op.clone()),
                sub.profile.iccid,
                Some(eid),
            )
        }
        OrderSpec::Package(p) => {
            let iccid = apdu::saip::Package::decode(p)
                .and_then(|pkg| pkg.iccid())
                .map_err(|e| CliError::Usage(format!("the profile package: {e}")))?;
            (OrderSource::Package(p.clone()), iccid.digits(), eid)
        }
    };
    let new = NewOrder {
        matching_id: new_matching_id()?,
        eid,
        cc_hash,
        source,
        iccid,
        smdp_address: req.address.clone(),
    };
    let order = store
        .create_order(&new, &Actor::Operator(String::new()))
        .map_err(store_err)?;
    Ok(CreatedOrder {
        activation_code: activation_code(&order.smdp_address, &order.matching_id),
        order,
    })
}

/// The EID a record's order is for: the card the record is bound to, and no other.
/// A record holds one subscription's Ki and OPc; its profile on a second card would be a
/// clone that the SM's own bindings (and `sync`'s removals) know nothing of. Moving a
/// subscription to another card is a device change (flow B), which stops the old binding.
/// A re-download onto the bound card (after its copy was deleted) is what an order is for.
pub fn record_order_eid(
    sub: &crate::sm::store::Subscription,
    asked: Option<String>,
) -> Result<String, CliError> {
    let bound = &sub.device.eid;
    match asked {
        Some(e) if e != *bound => Err(CliError::Usage(format!(
            "subscription {} is bound to the card with EID {bound}: its profile downloads \
             only there (to move it to EID {e}, run a device change on that card: \
             `sm-cli -r READER device-change`)",
            sub.op_id
        ))),
        _ => Ok(bound.clone()),
    }
}

/// The SAIP package of a subscription record.
pub fn package_from_record(
    sub: &crate::sm::store::Subscription,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let p = &sub.profile;
    let bad = |what: &str| {
        CliError::Usage(format!(
            "subscription {}: {what}: no profile package can be built",
            sub.op_id
        ))
    };
    let iccid = Iccid::from_digits(&p.iccid).map_err(|_| bad("ICCID"))?;
    let s = Subscription {
        iccid,
        imsi: p.imsi.clone(),
        msisdn: Some(p.msisdn.clone()).filter(|m| !m.is_empty()),
        ki: Secret::new(p.ki.expose().to_vec()),
        opc: Secret::new(p.opc.expose().to_vec()),
        algorithm: Algorithm::Milenage,
        spn: p.spn.clone(),
        profile_type: "operational".into(),
        pin1: PIN1.into(),
        puk1: PUK1.into(),
        adm1: ADM1.into(),
    };
    let pkg = build(&s).ok_or_else(|| bad("IMSI, MSISDN or SPN"))?;
    Ok(Zeroizing::new(pkg.encode()))
}

/// The profile package of an order and its StoreMetadata (SGP.22 §5.5.3, the same in
/// authenticateClient's profileMetadata and the BPP): ICCID, SPN, name, class
/// operational, enable/disable/delete notifications to `notify_address`.
pub fn package_for(
    store: &Store,
    order: &Order,
    notify_address: &str,
) -> Result<(Zeroizing<Vec<u8>>, StoreMetadata), CliError> {
    let (package, spn, name) = match &order.source {
        OrderSource::Subscription(op) => {
            let sub = store
                .get(op)
                .map_err(store_err)?
                .ok_or_else(|| store_err(StoreError::NotFound(op.clone())))?;
            let pkg = package_from_record(&sub)?;
            (
                pkg,
                sub.profile.spn.clone(),
                sub.profile.profile_name.clone(),
            )
        }
        OrderSource::Package(p) => (
            p.clone(),
            PACKAGE_SPN.to_string(),
            format!("Profile {}", order.iccid),
        ),
    };
    let iccid = Iccid::from_digits(&order.iccid)
        .map_err(|e| CliError::Usage(format!("order {}: ICCID: {e}", order.matching_id)))?;
    let metadata = StoreMetadata {
        iccid,
        service_provider_name: spn,
        profile_name: name,
        profile_class: ProfileClass::Operational,
        notification_configs: vec![NotificationConfig {
            events: events::ENABLE | events::DISABLE | events::DELETE,
            address: notify_address.to_string(),
        }],
        profile_owner: None,
    };
    Ok((package, metadata))
}
