//! The ES9+ handler and the SM on one server ([`WithSm`], behind `sm-cli smdp serve`):
//! the remote SM's functions (`startFlow`, `stepFlow`, `admin/...`) go to the
//! [`SmServer`], every other function to the SM-DP+ (the names do not overlap).

use super::server::SmServer;
use super::wire::{ADMIN_FUNCTIONS, FUNCTIONS};
use crate::es9p::{Es9Handler, Es9Reply};

pub struct WithSm<H: Es9Handler> {
    pub es9: H,
    pub sm: SmServer,
}

impl<H: Es9Handler> WithSm<H> {
    /// The handler that owns `function`.
    fn pick(&self, function: &str) -> &dyn Es9Handler {
        if FUNCTIONS.contains(&function) || ADMIN_FUNCTIONS.contains(&function) {
            &self.sm
        } else {
            &self.es9
        }
    }
}

impl<H: Es9Handler> Es9Handler for WithSm<H> {
    fn handle(&self, function: &str, body: &[u8]) -> Es9Reply {
        self.pick(function).handle(function, body)
    }

    fn handle_authorized(
        &self,
        function: &str,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Es9Reply {
        self.pick(function)
            .handle_authorized(function, authorization, body)
    }

    fn serves(&self, function: &str) -> bool {
        self.pick(function).serves(function)
    }
}
