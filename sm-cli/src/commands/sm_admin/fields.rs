//! How the store's records read in the operator views (`sm list`, `sm show`), and the
//! store's errors as CLI errors (SM exit codes, `crate::exit`).

use crate::errors::CliError;
use crate::sm::service::SmError;
use crate::sm::store::{Delivery, StoreError};

/// A store failure as the SM's refusal or failure.
pub fn sm_err(e: StoreError) -> CliError {
    CliError::Sm(SmError::from(e))
}

/// `pending` or `delivered`.
pub fn delivery(d: &Delivery) -> String {
    match d {
        Delivery::Pending => "pending".into(),
        Delivery::Delivered { .. } => "delivered".into(),
    }
}
