//! Which gateway something belongs to from pass to pass, as a type: what
//! `--grace` keys its marks by. A gateway named by its `--url` is that
//! URL; a replica found through DNS is also the `dns+`/`dnssrv+`/
//! `dnssrvnoa+` URL it came from and the address it was found at. A leaf:
//! the names people read (`GatewayReport::name`) are made elsewhere, and
//! nothing is recognised by its display string.

use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GatewayId {
    /// The URL the janitor sends to, credentials and query removed (the
    /// report's `url`).
    pub url: String,
    /// Set for a replica found through DNS.
    pub replica: Option<Replica>,
}

/// Where a replica was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Replica {
    /// The `--url` it came from, prefix included, credentials removed
    /// (the report's `discovered_from`).
    pub discovered_from: String,
    /// The address found (`dns+`, `dnssrv+`); none for a `dnssrvnoa+`
    /// target, which is connected to by its name.
    pub address: Option<SocketAddr>,
}

impl GatewayId {
    /// A gateway named by its `--url`.
    pub fn url(url: impl Into<String>) -> GatewayId {
        GatewayId {
            url: url.into(),
            replica: None,
        }
    }
}
