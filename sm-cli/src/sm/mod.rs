//! The subscription manager: its store ([`store`]) and its policy ([`service`]).

pub mod credential;
pub mod service;
pub mod store;
