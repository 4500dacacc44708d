//! Which gateway something belongs to from pass to pass, as a type: what
//! `--grace` keys its marks by. A gateway named by its `--url` is that
//! URL; a replica found through DNS is also the `dns+`/`dnssrv+`/
//! `dnssrvnoa+` URL it came from and the address it was found at. And the
//! server a gateway's requests reach ([`Endpoint`]), which `restore`
//! tells archive records apart by. A leaf:
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

/// A gateway as the server its requests reach: how `restore` tells whose
/// archive records are whose, and compares them with its `--url` and
/// `--from`. The scheme, the host, the port (the scheme's default when
/// none is written) and the path prefix; for a replica found through DNS
/// the address it was reached at stands for the host and port, as each
/// replica holds groups of its own. How a URL was written (credentials, a
/// trailing slash, a query, the case of its host) makes no difference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    scheme: String,
    host: url::Host<String>,
    port: u16,
    /// Without its trailing slash ("" for the root).
    path: String,
}

impl Endpoint {
    /// The gateway at `url` (`http` or `https`). `Err`: why it names none.
    pub fn of_url(url: &str) -> Result<Endpoint, String> {
        let parsed = url::Url::parse(url.trim()).map_err(|e| e.to_string())?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the scheme must be http or https".into());
        }
        let (Some(host), Some(port)) = (parsed.host(), parsed.port_or_known_default()) else {
            return Err("the URL has no host".into());
        };
        Ok(Endpoint {
            scheme: parsed.scheme().to_owned(),
            host: host.to_owned(),
            port,
            path: parsed.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The gateway an archive record names: its `gateway` URL, and the
    /// `address` it was reached at when it is a replica found through DNS.
    pub fn of_record(gateway: &str, address: Option<&str>) -> Result<Endpoint, String> {
        let mut endpoint = Endpoint::of_url(gateway)?;
        if let Some(address) = address {
            let address: SocketAddr = address
                .parse()
                .map_err(|_| format!("its address {address:?} is not IP:PORT"))?;
            endpoint.host = match address.ip() {
                std::net::IpAddr::V4(ip) => url::Host::Ipv4(ip),
                std::net::IpAddr::V6(ip) => url::Host::Ipv6(ip),
            };
            endpoint.port = address.port();
        }
        Ok(endpoint)
    }
}

/// As a URL that [`Endpoint::of_url`] reads back as the same gateway (what
/// `restore --from` takes): the port left out when it is the scheme's.
impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let default = match self.scheme.as_str() {
            "https" => 443,
            _ => 80,
        };
        write!(f, "{}://{}", self.scheme, self.host)?;
        if self.port != default {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path)
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

    #[test]
    fn an_endpoint_is_the_server_reached_not_how_its_url_is_written() {
        let of = |url: &str| Endpoint::of_url(url).unwrap();
        let plain = of("http://pgw.example:9091");
        for same in [
            "http://PGW.example:9091/",
            "http://user:secret@pgw.example:9091?x=1",
            " http://pgw.example:9091 ",
        ] {
            assert_eq!(of(same), plain, "{same}");
        }
        for other in [
            "https://pgw.example:9091",
            "http://pgw.example:9092",
            "http://pgw.example:9091/prefix",
            "http://10.0.0.5:9091",
        ] {
            assert_ne!(of(other), plain, "{other}");
        }
        assert_eq!(of("http://pgw.example:80/p/"), of("http://pgw.example/p"));
        assert_eq!(
            of("http://pgw.example:80/p/").to_string(),
            "http://pgw.example/p"
        );
        assert_eq!(plain.to_string(), "http://pgw.example:9091");
        assert!(Endpoint::of_url("dns+http://pgw:9091").is_err());

        // A replica's record names the address it was reached at.
        let replica =
            Endpoint::of_record("http://pgw.example:9091", Some("10.0.0.5:9091")).unwrap();
        assert_eq!(replica, of("http://10.0.0.5:9091"));
        assert_eq!(replica.to_string(), "http://10.0.0.5:9091");
        let v6 = Endpoint::of_record("https://pgw.example/x", Some("[::1]:9443")).unwrap();
        assert_eq!(v6.to_string(), "https://[::1]:9443/x");
        assert_eq!(
            Endpoint::of_record("http://pgw.example:9091", None).unwrap(),
            plain
        );
        assert!(Endpoint::of_record("http://pgw.example:9091", Some("pgw")).is_err());
    }

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
