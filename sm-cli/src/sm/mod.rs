//! The subscription manager: its store ([`store`]), its policy ([`service`]), and the
//! policy behind the network ([`remote`]).

pub mod credential;
pub mod remote;
pub mod service;
pub mod store;
