//! Gateways found through DNS, named as Thanos, Cortex and Mimir name them:
//! `dns+http://NAME:PORT` (every A and AAAA record of NAME),
//! `dnssrv+http://_svc._tcp.NAME` (every SRV target's A and AAAA records,
//! on the target's port) and `dnssrvnoa+http://_svc._tcp.NAME` (every SRV
//! target host and port, resolved when connecting).
//!
//! Replicas share nothing, so each address found is a gateway of its own.
//! This module resolves; it sends nothing to a gateway. The DNS client is
//! hickory-resolver; there is no DNS code here beyond calling it.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_resolver::config::{LookupIpStrategy, NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::{ResolveError, TokioResolver};

pub use crate::gateway::Connect;
use crate::identity::{GatewayId, Replica};

/// Which lookup a `--url` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// `dns+`: A and AAAA records of the URL's host, on the URL's port.
    Ip,
    /// `dnssrv+`: SRV records, then each target's A and AAAA records.
    Srv,
    /// `dnssrvnoa+`: SRV records; each target host is connected to by name.
    SrvNoA,
}

impl Lookup {
    pub fn prefix(self) -> &'static str {
        match self {
            Lookup::Ip => "dns+",
            Lookup::Srv => "dnssrv+",
            Lookup::SrvNoA => "dnssrvnoa+",
        }
    }
}

/// Splits a `--url` into its lookup prefix (if any) and the URL after it.
pub fn split_prefix(text: &str) -> (Option<Lookup>, &str) {
    let text = text.trim();
    // Longest first: "dnssrvnoa+" also starts with "dnssrv".
    for lookup in [Lookup::SrvNoA, Lookup::Srv, Lookup::Ip] {
        if let Some(rest) = text.strip_prefix(lookup.prefix()) {
            return (Some(lookup), rest);
        }
    }
    (None, text)
}

/// One gateway of this pass.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The URL to send to: the host name stays (Host header, TLS name).
    pub url: String,
    pub connect: Connect,
    /// The `--url` as given, when the instance was found through DNS.
    pub discovered_from: Option<String>,
}

impl Instance {
    /// The address connected to, when discovery chose it.
    pub fn address(&self) -> Option<SocketAddr> {
        match self.connect {
            Connect::Address(a) => Some(a),
            _ => None,
        }
    }

    /// Which gateway this is, from pass to pass.
    pub fn id(&self) -> GatewayId {
        GatewayId {
            url: crate::gateway::redact_url_text(&self.url),
            replica: self.discovered_from.as_ref().map(|from| Replica {
                discovered_from: from.clone(),
                address: self.address(),
            }),
        }
    }
}

/// A `--url` as a replica's [`Replica::discovered_from`] names it: prefix
/// kept, credentials removed.
pub fn discovered_from(text: &str) -> String {
    crate::gateway::redact_url_text(text.trim())
}

/// What one `--url` stands for this pass: gateways, or why there are none.
#[derive(Debug)]
pub enum Expanded {
    Instance(Instance),
    /// A lookup failed or found nothing: `shown` is what the failure is
    /// reported under.
    Failed {
        shown: String,
        error: String,
        unresolved: Unresolved,
        /// The `--url` whose lookup failed, as its replicas name it
        /// ([`discovered_from`]).
        discovered_from: String,
    },
}

/// What a failed lookup left unknown: the replicas this pass could not
/// have found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The `--url`'s own name (or no lookup could be made): any of its
    /// replicas.
    Name,
    /// A `dnssrv+` target's addresses: the replicas at this target URL
    /// (credentials removed, as [`Instance::id`] has it).
    Target(String),
}

/// A DNS client: the system's configuration, or one server
/// (`--dns-server`). Built once per pass, so that every pass sees the
/// records as they are now.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<TokioResolver>,
    /// `--dns-server`, named in messages.
    server: Option<SocketAddr>,
}

impl Resolver {
    /// `timeout` bounds each query (hickory's own default is 5 s, asked
    /// twice); `--timeout` lowers it.
    pub fn new(
        server: Option<SocketAddr>,
        timeout: std::time::Duration,
    ) -> Result<Resolver, String> {
        let provider = TokioConnectionProvider::default();
        let mut builder = match server {
            Some(addr) => {
                let servers =
                    NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], servers),
                    provider,
                )
            }
            None => TokioResolver::builder(provider)
                .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
        };
        let options = builder.options_mut();
        // Every A *and* AAAA record: a dual-stack replica set is two sets
        // of addresses, and the default stops after the A records.
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        // Each pass asks again (pods come and go); no answer is kept.
        options.cache_size = 0;
        options.timeout = options.timeout.min(timeout);
        if server.is_some() {
            options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        }
        Ok(Resolver {
            inner: Arc::new(builder.build()),
            server,
        })
    }

    /// Every address of `host`, sorted, without duplicates.
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        // An IP literal is its own answer.
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(vec![ip]);
        }
        let lookup = self
            .inner
            .lookup_ip(host)
            .await
            .map_err(|e| self.lookup_error(host, "A/AAAA", &e))?;
        let mut ips: Vec<IpAddr> = lookup.iter().collect();
        ips.sort();
        ips.dedup();
        if ips.is_empty() {
            return Err(format!("DNS lookup of {host} (A/AAAA) found no records"));
        }
        Ok(ips)
    }

    /// The SRV records of `name`: (target host, port), sorted.
    async fn services(&self, name: &str) -> Result<Vec<(String, u16)>, String> {
        let lookup = self
            .inner
            .srv_lookup(name)
            .await
            .map_err(|e| self.lookup_error(name, "SRV", &e))?;
        let mut targets: Vec<(String, u16)> = lookup
            .iter()
            .map(|srv| {
                let target = srv.target().to_utf8();
                (target.trim_end_matches('.').to_owned(), srv.port())
            })
            .filter(|(target, _)| !target.is_empty())
            .collect();
        targets.sort();
        targets.dedup();
        if targets.is_empty() {
            return Err(format!("DNS lookup of {name} (SRV) found no records"));
        }
        Ok(targets)
    }

    fn lookup_error(&self, name: &str, kind: &str, e: &ResolveError) -> String {
        if e.is_no_records_found() {
            return format!("DNS lookup of {name} ({kind}) found no records");
        }
        let cause = e.to_string();
        let cause = cause.trim_start_matches("proto error: ");
        match self.server {
            Some(server) => format!("DNS lookup of {name} ({kind}) at {server} failed: {cause}"),
            None => format!("DNS lookup of {name} ({kind}) failed: {cause}"),
        }
    }
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let ips = resolver.addresses(name.as_str()).await?;
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// What `text` (one `--url`) stands for this pass. A plain URL is one
/// gateway and needs no resolver; a `dns*+` URL needs `resolver`, whose
/// own failure to start is then the error.
pub async fn expand(text: &str, resolver: Option<&Result<Resolver, String>>) -> Vec<Expanded> {
    let (lookup, rest) = split_prefix(text);
    let Some(lookup) = lookup else {
        return vec![Expanded::Instance(Instance {
            url: text.to_owned(),
            connect: Connect::System,
            discovered_from: None,
        })];
    };
    let asked = discovered_from(text);
    let failed = |shown: &str, error: String| Expanded::Failed {
        shown: shown.to_owned(),
        error: format!("{shown}: {error}"),
        unresolved: Unresolved::Name,
        discovered_from: asked.clone(),
    };
    let resolver = match resolver {
        Some(Ok(r)) => r,
        Some(Err(e)) => return vec![failed(&asked, e.clone())],
        None => return vec![failed(&asked, "no DNS resolver".into())],
    };
    let url = match reqwest::Url::parse(rest) {
        Ok(u) => u,
        Err(e) => return vec![failed(&asked, format!("not a URL: {e}"))],
    };
    let Some(host) = url.host_str().map(str::to_owned) else {
        return vec![failed(&asked, "the URL has no host".into())];
    };
    // An SRV target's URL: the asked-for one with its host and port.
    let target_url = |host: &str, port: u16| {
        let mut u = url.clone();
        // Both were valid in a URL of this scheme already.
        let _ = u.set_host(Some(host));
        let _ = u.set_port(Some(port));
        u
    };
    let instance = |host: &str, port: u16, connect: Connect| {
        Expanded::Instance(Instance {
            url: target_url(host, port).to_string(),
            connect,
            discovered_from: Some(asked.clone()),
        })
    };
    match lookup {
        Lookup::Ip => {
            let port = url.port_or_known_default().unwrap_or(80);
            match resolver.addresses(&host).await {
                Ok(ips) => ips
                    .into_iter()
                    .map(|ip| {
                        Expanded::Instance(Instance {
                            url: rest.trim().to_owned(),
                            connect: Connect::Address(SocketAddr::new(ip, port)),
                            discovered_from: Some(asked.clone()),
                        })
                    })
                    .collect(),
                Err(e) => vec![failed(&asked, e)],
            }
        }
        Lookup::Srv | Lookup::SrvNoA => {
            let targets = match resolver.services(&host).await {
                Ok(t) => t,
                Err(e) => return vec![failed(&asked, e)],
            };
            let mut out = Vec::new();
            for (target, port) in targets {
                if lookup == Lookup::SrvNoA {
                    // With --dns-server the targets are names in its zone.
                    let connect = if resolver.server.is_some() {
                        Connect::Resolver(Arc::new(resolver.clone()))
                    } else {
                        Connect::System
                    };
                    out.push(instance(&target, port, connect));
                    continue;
                }
                match resolver.addresses(&target).await {
                    Ok(ips) => out.extend(ips.into_iter().map(|ip| {
                        instance(&target, port, Connect::Address(SocketAddr::new(ip, port)))
                    })),
                    Err(e) => {
                        let shown =
                            crate::gateway::redact_url_text(target_url(&target, port).as_str());
                        out.push(Expanded::Failed {
                            error: format!("{shown}: {e}"),
                            unresolved: Unresolved::Target(shown.clone()),
                            shown,
                            discovered_from: asked.clone(),
                        });
                    }
                }
            }
            out
        }
    }
}

/// What a pass learnt of the name behind `text` (one `--url`) from what
/// [`expand`] found: `None` when it names no lookup or its name was not
/// resolved; else the `--url` as its replicas name it ([`discovered_from`])
/// and the `dnssrv+` targets (URLs) whose addresses were not found.
pub fn resolved(text: &str, found: &[Expanded]) -> Option<(String, BTreeSet<String>)> {
    split_prefix(text).0?;
    let mut unresolved_targets = BTreeSet::new();
    for e in found {
        match e {
            Expanded::Failed {
                unresolved: Unresolved::Name,
                ..
            } => return None,
            Expanded::Failed {
                unresolved: Unresolved::Target(url),
                ..
            } => {
                unresolved_targets.insert(url.clone());
            }
            Expanded::Instance(_) => {}
        }
    }
    Some((discovered_from(text), unresolved_targets))
}

/// Checks the URL after a lookup prefix, for `--url` validation: the
/// message for what the prefix itself requires, or `None`.
pub fn check_prefixed(lookup: Lookup, url: &reqwest::Url) -> Option<String> {
    match lookup {
        Lookup::Ip => None,
        Lookup::Srv | Lookup::SrvNoA if url.port().is_some() => Some(format!(
            "{}: the SRV records give the port; remove :{} from the URL",
            lookup.prefix(),
            url.port().unwrap_or_default()
        )),
        Lookup::Srv | Lookup::SrvNoA
            if url
                .host_str()
                .is_some_and(|h| h.parse::<IpAddr>().is_ok() || h.starts_with('[')) =>
        {
            Some(format!(
                "{}: an IP address has no SRV records; give the service name (_service._tcp.NAME)",
                lookup.prefix()
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_split_longest_first() {
        assert_eq!(split_prefix("http://h:9091"), (None, "http://h:9091"));
        assert_eq!(
            split_prefix(" dns+http://h:9091"),
            (Some(Lookup::Ip), "http://h:9091")
        );
        assert_eq!(
            split_prefix("dnssrv+https://_pgw._tcp.h"),
            (Some(Lookup::Srv), "https://_pgw._tcp.h")
        );
        assert_eq!(
            split_prefix("dnssrvnoa+http://_pgw._tcp.h/p"),
            (Some(Lookup::SrvNoA), "http://_pgw._tcp.h/p")
        );
    }

    #[test]
    fn srv_urls_take_no_port_and_no_ip() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_prefixed(Lookup::Srv, &url("http://_p._tcp.h:9091"))
            .unwrap()
            .contains("remove :9091"));
        assert!(check_prefixed(Lookup::SrvNoA, &url("http://10.0.0.1"))
            .unwrap()
            .contains("no SRV records"));
        assert!(check_prefixed(Lookup::Srv, &url("http://_p._tcp.h")).is_none());
        assert!(check_prefixed(Lookup::Ip, &url("http://h:9091")).is_none());
    }

    #[tokio::test]
    async fn a_name_counts_as_resolved_only_when_its_lookup_answered() {
        let url = "dns+http://127.0.0.1:9091";
        let r = Resolver::new(
            Some("127.0.0.1:9".parse().unwrap()),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let found = expand(url, Some(&Ok(r))).await;
        assert_eq!(
            resolved(url, &found),
            Some((url.to_owned(), BTreeSet::new()))
        );
        // No resolver: nothing was looked up, so nothing is known gone.
        let found = expand(url, Some(&Err("no".into()))).await;
        assert_eq!(resolved(url, &found), None);
        // A plain URL names no lookup.
        let plain = "http://127.0.0.1:9091";
        assert_eq!(resolved(plain, &expand(plain, None).await), None);
        // A dnssrv+ target whose addresses were not found.
        let target = Expanded::Failed {
            shown: "http://gw-a:1".into(),
            error: "x".into(),
            unresolved: Unresolved::Target("http://gw-a:1".into()),
            discovered_from: "dnssrv+http://_p._tcp.pgw".into(),
        };
        let srv = "dnssrv+http://_p._tcp.pgw";
        assert_eq!(
            resolved(srv, &[target]),
            Some((srv.to_owned(), BTreeSet::from(["http://gw-a:1".to_owned()])))
        );
    }

    #[tokio::test]
    async fn an_ip_literal_resolves_to_itself() {
        let r = Resolver::new(
            Some("127.0.0.1:9".parse().unwrap()),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let found = expand("dns+http://127.0.0.1:9091", Some(&Ok(r))).await;
        match &found[..] {
            [Expanded::Instance(i)] => {
                assert_eq!(i.address(), Some("127.0.0.1:9091".parse().unwrap()));
                assert_eq!(i.url, "http://127.0.0.1:9091");
                assert_eq!(
                    i.discovered_from.as_deref(),
                    Some("dns+http://127.0.0.1:9091")
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
