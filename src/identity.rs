//! Which gateway something belongs to from pass to pass, as a type: what
//! `--grace` keys its marks by. A gateway named by its `--url` is that
//! URL; a replica found through DNS is also the `dns+`/`dnssrv+`/
//! `dnssrvnoa+` URL it came from and the address it was found at. A leaf:
//! the names people read (`GatewayReport::name`) are made elsewhere, and
//! nothing is recognised by its display string.
//!
//! Whether a replica is gone is decided here too, once, from these
//! identities and what a pass's DNS lookups resolved ([`Discovered`]): the
//! `--grace` state file and the textfile's counters both ask it.

use std::collections::{BTreeMap, BTreeSet};
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

/// What one pass learnt from DNS: the `dns+`/`dnssrv+`/`dnssrvnoa+`
/// `--url`s whose names it resolved, each with the `dnssrv+` targets
/// (URLs) whose addresses it could not look up, and every replica it
/// found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    resolved: BTreeMap<String, BTreeSet<String>>,
    found: BTreeSet<GatewayId>,
}

impl Discovered {
    /// The lookup of `discovered_from` answered; the addresses of these
    /// `dnssrv+` targets (URLs) were not found.
    pub fn resolved(&mut self, discovered_from: &str, unresolved_targets: BTreeSet<String>) {
        self.resolved
            .entry(discovered_from.to_owned())
            .or_default()
            .extend(unresolved_targets);
    }

    /// A gateway the pass found (through its `--url` or DNS, scanned or
    /// not).
    pub fn found(&mut self, id: &GatewayId) {
        if id.replica.is_some() {
            self.found.insert(id.clone());
        }
    }

    /// Whether this pass shows that gateway `id` is gone: a replica whose
    /// name the pass resolved, whose target's addresses it did not fail to
    /// look up, and that it did not find. A gateway named by its `--url`
    /// never is (a run that does not name it says nothing of it); nor is a
    /// replica whose lookup (of its name, or of its `dnssrv+` target)
    /// failed or was not made: it may well be there.
    pub fn gone(&self, id: &GatewayId) -> bool {
        let Some(Replica {
            discovered_from, ..
        }) = &id.replica
        else {
            return false;
        };
        match self.resolved.get(discovered_from) {
            Some(unresolved) => !unresolved.contains(&id.url) && !self.found.contains(id),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(url: &str, from: &str, address: &str) -> GatewayId {
        GatewayId {
            url: url.into(),
            replica: Some(Replica {
                discovered_from: from.into(),
                address: Some(address.parse().unwrap()),
            }),
        }
    }

    #[test]
    fn a_replica_is_gone_only_when_its_name_and_target_resolved_without_it() {
        let srv = "dnssrv+http://_pgw._tcp.pgw.test";
        let t1 = replica("http://t1.test:1/", srv, "127.0.0.1:1");
        let t2 = replica("http://t2.test:2/", srv, "127.0.0.2:2");
        let mut d = Discovered::default();
        // Not resolved: nothing is known gone.
        assert!(!d.gone(&t2));
        // Resolved, t1 found, t2's target lookup failed: t2 may be there.
        d.resolved(srv, BTreeSet::from(["http://t2.test:2/".to_owned()]));
        d.found(&t1);
        assert!(!d.gone(&t1) && !d.gone(&t2));
        // Resolved, and t2's target answered without it: gone.
        let mut d = Discovered::default();
        d.resolved(srv, BTreeSet::new());
        d.found(&t1);
        assert!(!d.gone(&t1) && d.gone(&t2));
        // A gateway named by its URL never is.
        assert!(!d.gone(&GatewayId::url("http://t2.test:2/")));
    }
}
