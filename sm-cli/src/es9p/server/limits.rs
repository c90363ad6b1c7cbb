//! The deadlines and the connection cap of the ES9+ HTTPS server (against slow or idle
//! clients: see the parent module).

use std::time::Duration;

/// How much the server lets a client take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// From accept to the end of the TLS handshake.
    pub handshake_timeout: Duration,
    /// From the moment the server waits for a request (a new connection, or the next
    /// request on a kept-alive one) to its last header byte.
    pub header_timeout: Duration,
    /// From the end of the head to the last body byte.
    pub body_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}
