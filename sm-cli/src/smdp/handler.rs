//! The ES9+ dispatch: [`Smdp`] as the HTTP layer's [`Es9Handler`], each outcome as its
//! [`Es9Reply`] (SGP.22 §6.5: 200 with the JSON body, 204 for handleNotification, 400
//! for a body that is not the function's request, 404 unknown function, 413 oversized).

use super::common::{Outcome, Refusal};
use super::service::Smdp;
use super::{auth, bind, notify};
use crate::es9p::{Es9Handler, Es9Reply, MAX_REQUEST_BODY};
use apdu::sgp22::es9p as json;

fn reply(function: &str, outcome: Outcome) -> Es9Reply {
    match outcome {
        Ok(body) if body.is_empty() => Es9Reply {
            http_status: 204,
            body,
        },
        Ok(body) => Es9Reply {
            http_status: 200,
            body,
        },
        Err(Refusal::Status(code, msg)) => Es9Reply {
            http_status: 200,
            body: json::encode_failed(code, Some(msg)),
        },
        Err(Refusal::BadRequest(msg)) => Es9Reply {
            http_status: 400,
            body: format!("{function}: {msg}").into_bytes(),
        },
        Err(Refusal::Internal(msg)) => Es9Reply {
            http_status: 500,
            body: format!("{function}: {msg}").into_bytes(),
        },
    }
}

impl Es9Handler for Smdp {
    fn handle(&self, function: &str, body: &[u8]) -> Es9Reply {
        if body.len() > MAX_REQUEST_BODY {
            return Es9Reply {
                http_status: 413,
                body: Vec::new(),
            };
        }
        let outcome = match function {
            "initiateAuthentication" => auth::initiate_authentication(self, body),
            "authenticateClient" => auth::authenticate_client(self, body),
            "getBoundProfilePackage" => bind::get_bound_profile_package(self, body),
            "handleNotification" => notify::handle_notification(self, body),
            "cancelSession" => notify::cancel_session(self, body),
            _ => {
                return Es9Reply {
                    http_status: 404,
                    body: Vec::new(),
                }
            }
        };
        reply(function, outcome)
    }
}
