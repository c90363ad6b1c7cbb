//! The LPA's ES9+ calls (SGP.22 v2.x §5.6, JSON binding §6.5): each function's request
//! built with the types of `apdu::sgp22::es9p`, sent through any
//! [`Es9Transport`] (HTTPS, or an SM-DP+ in process), its answer's `header` read first.
//!
//! Failures become [`CliError`]s, one exit code each (`exit.rs`): no answer at all
//! ([`CliError::SmdpUnreachable`]), a `Failed`/`Expired` status with its SGP.22 subject
//! and reason codes explained in a sentence ([`CliError::SmdpRefused`], the table is
//! `apdu::sgp22::es9p::StatusCode`), and an answer that is not the function's
//! ([`CliError::SmdpProtocol`]: an HTTP error status, JSON that does not parse, a
//! transactionId other than the session's).

use crate::errors::CliError;
use crate::es9p::{Es9Transport, TransportError};
use apdu::sgp22::es9p::{
    encode_request, parse_response, AuthenticateClientOk, AuthenticateClientRequest,
    CancelSessionOk, CancelSessionRequest, ExecutionStatus, FunctionExecutionStatus,
    GetBoundProfilePackageOk, GetBoundProfilePackageRequest, HandleNotificationRequest,
    InitiateAuthenticationOk, InitiateAuthenticationRequest, Response, TransactionId,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The error for an ES9+ answer that is not what `function` answers.
pub fn protocol(function: &str, detail: impl std::fmt::Display) -> CliError {
    CliError::SmdpProtocol {
        function: function.to_string(),
        detail: detail.to_string(),
    }
}

/// The error for a function the SM-DP+ did not execute.
pub fn refused(function: &str, status: &FunctionExecutionStatus) -> CliError {
    let what = match status.status {
        ExecutionStatus::Expired => "the function expired",
        _ => "failed",
    };
    match &status.status_code_data {
        Some(d) => CliError::SmdpRefused {
            function: function.to_string(),
            subject_code: Some(d.subject_code.clone()),
            reason_code: Some(d.reason_code.clone()),
            explanation: d.explain(),
        },
        None => CliError::SmdpRefused {
            function: function.to_string(),
            subject_code: None,
            reason_code: None,
            explanation: format!("{what}, without a status code"),
        },
    }
}

/// The error for an ES9+ call that brought no answer.
pub fn transport_error(address: &str, e: TransportError) -> CliError {
    match e {
        TransportError::Unreachable { address: a, reason } => CliError::SmdpUnreachable {
            address: if a.is_empty() { address.to_string() } else { a },
            detail: reason,
        },
        TransportError::Http { function, status } => {
            protocol(&function, format!("HTTP status {status}"))
        }
        TransportError::BadAnswer { function, reason } => protocol(&function, reason),
    }
}

/// ES9+ towards one SM-DP+ address.
pub struct Es9Client<'t> {
    transport: &'t mut dyn Es9Transport,
    address: String,
}

impl<'t> Es9Client<'t> {
    /// The client of the SM-DP+ at `address` (FQDN[:port], as the activation code or the
    /// notification names it) over `transport`.
    pub fn new(transport: &'t mut dyn Es9Transport, address: &str) -> Es9Client<'t> {
        Es9Client {
            transport,
            address: address.to_string(),
        }
    }

    /// The SM-DP+ address this client talks to.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn send<Q: Serialize>(&mut self, function: &str, req: &Q) -> Result<Vec<u8>, CliError> {
        self.transport
            .call(function, &encode_request(req))
            .map_err(|e| transport_error(&self.address, e))
    }

    fn call<Q: Serialize, A: DeserializeOwned>(
        &mut self,
        function: &str,
        req: &Q,
    ) -> Result<A, CliError> {
        let body = self.send(function, req)?;
        match parse_response::<A>(&body).map_err(|e| protocol(function, e))? {
            Response::Executed { body, .. } => Ok(body),
            Response::NotExecuted(status) => Err(refused(function, &status)),
        }
    }

    /// initiateAuthentication (§5.6.1).
    pub fn initiate_authentication(
        &mut self,
        euicc_challenge: [u8; 16],
        euicc_info1: &[u8],
    ) -> Result<InitiateAuthenticationOk, CliError> {
        let req = InitiateAuthenticationRequest {
            header: None,
            euicc_challenge,
            euicc_info1: euicc_info1.to_vec(),
            smdp_address: self.address.clone(),
        };
        self.call("initiateAuthentication", &req)
    }

    /// authenticateClient (§5.6.3) with the card's AuthenticateServer answer.
    pub fn authenticate_client(
        &mut self,
        transaction_id: &TransactionId,
        authenticate_server_response: &[u8],
    ) -> Result<AuthenticateClientOk, CliError> {
        const F: &str = "authenticateClient";
        let req = AuthenticateClientRequest {
            header: None,
            transaction_id: transaction_id.clone(),
            authenticate_server_response: authenticate_server_response.to_vec(),
        };
        let ok: AuthenticateClientOk = self.call(F, &req)?;
        same_transaction(F, transaction_id, &ok.transaction_id)?;
        Ok(ok)
    }

    /// getBoundProfilePackage (§5.6.2) with the card's PrepareDownload answer.
    pub fn get_bound_profile_package(
        &mut self,
        transaction_id: &TransactionId,
        prepare_download_response: &[u8],
    ) -> Result<GetBoundProfilePackageOk, CliError> {
        const F: &str = "getBoundProfilePackage";
        let req = GetBoundProfilePackageRequest {
            header: None,
            transaction_id: transaction_id.clone(),
            prepare_download_response: prepare_download_response.to_vec(),
        };
        let ok: GetBoundProfilePackageOk = self.call(F, &req)?;
        same_transaction(F, transaction_id, &ok.transaction_id)?;
        Ok(ok)
    }

    /// handleNotification (§5.6.4): the SM-DP+ answers 204 without a body (§6.5.2.9);
    /// a body, if one comes, is read for a refusal.
    pub fn handle_notification(&mut self, pending_notification: &[u8]) -> Result<(), CliError> {
        const F: &str = "handleNotification";
        let req = HandleNotificationRequest {
            header: None,
            pending_notification: pending_notification.to_vec(),
        };
        let body = self.send(F, &req)?;
        if body.is_empty() {
            return Ok(());
        }
        match parse_response::<serde::de::IgnoredAny>(&body).map_err(|e| protocol(F, e))? {
            Response::Executed { .. } => Ok(()),
            Response::NotExecuted(status) => Err(refused(F, &status)),
        }
    }

    /// cancelSession (§5.6.5) with the card's signed CancelSession answer.
    pub fn cancel_session(
        &mut self,
        transaction_id: &TransactionId,
        cancel_session_response: &[u8],
    ) -> Result<(), CliError> {
        let req = CancelSessionRequest {
            header: None,
            transaction_id: transaction_id.clone(),
            cancel_session_response: cancel_session_response.to_vec(),
        };
        let _: CancelSessionOk = self.call("cancelSession", &req)?;
        Ok(())
    }
}

fn same_transaction(
    function: &str,
    ours: &TransactionId,
    theirs: &TransactionId,
) -> Result<(), CliError> {
    if ours == theirs {
        Ok(())
    } else {
        Err(protocol(
            function,
            format!("it names transactionId {theirs}, the session's is {ours}"),
        ))
    }
}
