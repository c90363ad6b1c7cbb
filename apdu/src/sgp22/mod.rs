//! GSMA SGP.22 (remote SIM provisioning for consumer devices) as the ISD-R speaks it:
//! the eUICC identifier (SGP.29), STORE DATA segmentation (§5.7.2) and the ES10
//! functions (§5.7); the ES9+ JSON messages (`es9p`, §6.5).

pub mod bpp;
pub mod eid;
pub mod es10;
pub mod es10b;
pub mod es9p;
pub mod pki;
pub mod store_data;
