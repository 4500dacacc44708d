//! Building the HTTP client: credentials, extra headers and TLS.
//!
//! Secrets are held in [`Secret`] (its `Debug` prints no value), sent as
//! sensitive header values, and read from files only here. No message this
//! module makes quotes a secret, a header value or a file's content.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Certificate, Identity};

use super::fault::NameNotResolved;
use crate::errors::error_chain;

/// A credential. Never printed: `Debug` says `Secret(REDACTED)`, and there
/// is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

/// Where a secret comes from: given (flag or env), or a file read when the
/// client is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Value(Secret),
    File(PathBuf),
}

/// How to authenticate to the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    None,
    Basic {
        user: String,
        password: SecretSource,
    },
    Bearer(SecretSource),
}

/// One `--header 'Name: value'`. The value is sent marked sensitive and is
/// never shown (it may be an API key).
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: HeaderValue,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Header({}: REDACTED)", self.name)
    }
}

impl Header {
    /// Parses `Name: value`. Errors name the problem, never the value.
    pub fn parse(text: &str) -> Result<Header, String> {
        let (name, value) = text
            .split_once(':')
            .ok_or("expected 'Name: value' (no ':' found)")?;
        let name = name.trim();
        if name.is_empty() {
            return Err("the header name is empty".into());
        }
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a valid header name"))?;
        let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
            format!("the value of header {name} has characters a header cannot carry")
        })?;
        value.set_sensitive(true);
        Ok(Header { name, value })
    }
}

/// TLS settings beyond the built-in web PKI roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra trusted CA certificates (PEM, one or more).
    pub ca_cert: Option<PathBuf>,
    /// Client certificate (PEM chain) for mutual TLS; needs `client_key`.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate. A warning is logged on every run.
    pub insecure_skip_verify: bool,
}

/// Why the client could not be set up. Paths are named; contents are not.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read {what} {}: {cause}", .path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        cause: String,
    },
    #[error("{what} {} is empty", .path.display())]
    Empty { what: &'static str, path: PathBuf },
    #[error("{what} {}: {cause}", .path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        cause: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("the {0} cannot be sent as an HTTP header (it has control characters)")]
    BadHeaderValue(&'static str),
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path).map_err(|e| TransportError::Read {
        what,
        path: path.to_owned(),
        cause: e.to_string(),
    })
}

impl SecretSource {
    /// The secret itself; a file's surrounding whitespace (the trailing
    /// newline editors add) is trimmed, as Prometheus does for its
    /// `password_file`.
    fn load(&self, what: &'static str) -> Result<Secret, TransportError> {
        match self {
            SecretSource::Value(s) => Ok(s.clone()),
            SecretSource::File(path) => {
                let bytes = read_file(what, path)?;
                let text = String::from_utf8(bytes).map_err(|_| TransportError::Pem {
                    what,
                    path: path.clone(),
                    cause: "not UTF-8 text".into(),
                })?;
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    return Err(TransportError::Empty {
                        what,
                        path: path.clone(),
                    });
                }
                Ok(Secret(trimmed.to_owned()))
            }
        }
    }
}

/// `Authorization: Basic …` for `user` and `password`, marked sensitive.
pub fn basic_auth_value(user: &str, password: &str) -> Result<HeaderValue, TransportError> {
    let encoded = STANDARD.encode(format!("{user}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .map_err(|_| TransportError::BadHeaderValue("basic auth"))?;
    value.set_sensitive(true);
    Ok(value)
}

fn bearer_value(token: &str) -> Result<HeaderValue, TransportError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| TransportError::BadHeaderValue("bearer token"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// How the client for one gateway reaches its host.
#[derive(Clone, Default)]
pub enum Connect {
    /// The system resolver, as for any URL.
    #[default]
    System,
    /// This address, whatever the host name resolves to; TLS still checks
    /// the certificate against the host name in the URL (a replica found
    /// through DNS).
    Address(std::net::SocketAddr),
    /// The host name through this resolver (`dnssrvnoa+` with
    /// `--dns-server`: the targets are names in that server's zone).
    Resolver(std::sync::Arc<dyn reqwest::dns::Resolve>),
}

impl fmt::Debug for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Connect::System => f.write_str("System"),
            Connect::Address(a) => write!(f, "Address({a})"),
            Connect::Resolver(_) => f.write_str("Resolver"),
        }
    }
}

/// How every client resolves host names: through `--dns-server`'s resolver
/// (`Connect::Resolver`) or the system's, with a failure returned as
/// [`NameNotResolved`], so that it is known by its type.
struct Through(Option<std::sync::Arc<dyn reqwest::dns::Resolve>>);

impl reqwest::dns::Resolve for Through {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let not_resolved =
            |e| Box::new(NameNotResolved(e)) as Box<dyn std::error::Error + Send + Sync>;
        match &self.0 {
            Some(resolver) => {
                let lookup = resolver.resolve(name);
                Box::pin(async move { lookup.await.map_err(not_resolved) })
            }
            // getaddrinfo on a blocking thread, as reqwest's own resolver.
            None => Box::pin(async move {
                match tokio::net::lookup_host((name.as_str(), 0)).await {
                    Ok(addrs) => {
                        let addrs: Vec<std::net::SocketAddr> = addrs.collect();
                        Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
                    }
                    Err(e) => Err(not_resolved(Box::new(e))),
                }
            }),
        }
    }
}

/// The one check for two sources of `Authorization`: credentials (flags
/// or variables, already resolved: a flag wins over a variable), user and
/// password in the URL, and a `--header 'Authorization: ...'`. `cli` asks
/// it before anything is sent (a usage error); the client builder asks it
/// again. The message names what was given, never a value.
pub fn authorization_conflict(
    credentials: &Credentials,
    url_has_credentials: bool,
    headers: &[Header],
) -> Option<String> {
    let given = match credentials {
        Credentials::None => None,
        Credentials::Basic { .. } => Some("--basic-auth-user"),
        Credentials::Bearer(_) => {
            Some("a bearer token (--bearer-token, --bearer-token-file or PUSHGATEWAY_TOKEN)")
        }
    };
    let header = headers.iter().any(|h| h.name == AUTHORIZATION);
    match (given, url_has_credentials, header) {
        (Some(given), true, _) => Some(format!(
            "the URL has a user and password and {given} is given too: give credentials one way"
        )),
        (Some(given), false, true) => Some(format!(
            "--header 'Authorization: ...' cannot be used with {given}: give credentials one way"
        )),
        (None, true, true) => Some(
            "the URL has a user and password and --header sets Authorization too: give credentials one way"
                .into(),
        ),
        _ => None,
    }
}

/// Everything a client for one gateway needs.
pub struct ClientSettings<'a> {
    pub timeout: Duration,
    pub credentials: &'a Credentials,
    /// `user:password` taken out of the URL, if it had them.
    pub url_credentials: Option<(String, Secret)>,
    pub headers: &'a [Header],
    pub tls: &'a TlsOptions,
    /// The URL's host, and how to reach it.
    pub host: &'a str,
    pub connect: &'a Connect,
}

pub fn build_client(s: ClientSettings<'_>) -> Result<reqwest::Client, TransportError> {
    let mut headers = HeaderMap::new();
    for h in s.headers {
        headers.append(h.name.clone(), h.value.clone());
    }
    if let Some(why) = authorization_conflict(s.credentials, s.url_credentials.is_some(), s.headers)
    {
        return Err(TransportError::Conflict(why));
    }
    let auth = match (s.credentials, &s.url_credentials) {
        (Credentials::None, None) => None,
        // Only without other credentials: the conflict was checked above.
        (_, Some((user, password))) => Some(basic_auth_value(user, password.expose())?),
        (Credentials::Basic { user, password }, None) => {
            let password = password.load("--basic-auth-password-file")?;
            Some(basic_auth_value(user, password.expose())?)
        }
        (Credentials::Bearer(token), None) => {
            let token = token.load("--bearer-token-file")?;
            Some(bearer_value(token.expose())?)
        }
    };
    if let Some(auth) = auth {
        headers.insert(AUTHORIZATION, auth);
    }

    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(s.timeout)
        .connect_timeout(s.timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        // Never follow a redirect: the scan and the DELETEs must reach the
        // gateway that was named (an HA pair behind a load balancer holds
        // two different sets of groups), and --header values must not go
        // to another origin. A 3xx is a failed scan or a failed delete.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("pushgateway-janitor/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers);

    if let Some(path) = &s.tls.ca_cert {
        let pem = read_file("--ca-cert", path)?;
        let certs = Certificate::from_pem_bundle(&pem).map_err(|e| TransportError::Pem {
            what: "--ca-cert",
            path: path.clone(),
            cause: error_chain(&e),
        })?;
        if certs.is_empty() {
            return Err(TransportError::Pem {
                what: "--ca-cert",
                path: path.clone(),
                cause: "no PEM certificate found".into(),
            });
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    match (&s.tls.client_cert, &s.tls.client_key) {
        (Some(cert), Some(key)) => {
            let mut pem = read_file("--client-cert", cert)?;
            pem.push(b'\n');
            pem.extend_from_slice(&read_file("--client-key", key)?);
            let identity = Identity::from_pem(&pem).map_err(|e| TransportError::Pem {
                what: "--client-cert/--client-key",
                path: cert.clone(),
                cause: error_chain(&e),
            })?;
            builder = builder.identity(identity);
        }
        (None, None) => {}
        _ => {
            return Err(TransportError::Conflict(
                "--client-cert and --client-key go together".into(),
            ))
        }
    }
    if s.tls.insecure_skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    let resolver = match s.connect {
        Connect::System => None,
        // The port comes from the URL; the address's own is ignored.
        Connect::Address(addr) => {
            builder = builder.resolve(s.host, *addr);
            None
        }
        Connect::Resolver(resolver) => Some(resolver.clone()),
    };
    builder = builder.dns_resolver(std::sync::Arc::new(Through(resolver)));
    builder
        .build()
        .map_err(|e| TransportError::Client(error_chain(&e.without_url())))
}

/// The proxy a request to `url` goes through, as messages show it (scheme,
/// host and port; the proxy's credentials are never part of it), or `None`
/// when it goes straight to the host. The same matcher, over the same
/// variables (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, in
/// either case), as the client's: [`build_client`] leaves reqwest's
/// system proxy on, which is this matcher.
pub fn proxy_for(url: &reqwest::Url) -> Option<String> {
    let uri: hyper::Uri = url.as_str().parse().ok()?;
    let intercept = hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)?;
    let proxy = intercept.uri();
    Some(format!(
        "{}://{}",
        proxy.scheme_str().unwrap_or("http"),
        proxy.authority().map(|a| a.as_str()).unwrap_or_default()
    ))
}

/// Whether `url` carries a user or a password.
pub fn has_credentials(url: &reqwest::Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Takes `user:password` out of `url`, percent-decoded, leaving it without
/// userinfo (so it is never sent or shown as part of a URL).
pub fn take_url_credentials(url: &mut reqwest::Url) -> Option<(String, Secret)> {
    if !has_credentials(url) {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let password = Secret(decode(url.password().unwrap_or("")));
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some((user, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_hides_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(REDACTED)");
        let c = Credentials::Basic {
            user: "u".into(),
            password: SecretSource::Value(s),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn headers_parse_and_hide_values() {
        let h = Header::parse("X-Api-Key:  abc123 ").unwrap();
        assert_eq!(h.name.as_str(), "x-api-key");
        assert_eq!(h.value.as_bytes(), b"abc123");
        assert!(h.value.is_sensitive());
        assert!(!format!("{h:?}").contains("abc123"));
        let h = Header::parse("X-Empty:").unwrap();
        assert_eq!(h.value.as_bytes(), b"");
        // The value may contain ':'.
        let h = Header::parse("Forwarded: for=a:b").unwrap();
        assert_eq!(h.value.as_bytes(), b"for=a:b");
    }

    #[test]
    fn bad_headers_are_rejected_without_echoing_the_value() {
        for bad in [
            "no colon s3cret",
            ": s3cret",
            "bad name: s3cret",
            "X-Ok: s3cret\u{7}",
        ] {
            let e = Header::parse(bad).unwrap_err();
            assert!(!e.contains("s3cret"), "{bad:?} -> {e}");
        }
    }

    #[test]
    fn url_credentials_are_taken_out_and_decoded() {
        let mut url = reqwest::Url::parse("https://us%40er:p%3Ass@h:9091/pgw").unwrap();
        let (user, password) = take_url_credentials(&mut url).unwrap();
        assert_eq!(user, "us@er");
        assert_eq!(password.expose(), "p:ss");
        assert_eq!(url.as_str(), "https://h:9091/pgw");
        let mut plain = reqwest::Url::parse("http://h/").unwrap();
        assert!(take_url_credentials(&mut plain).is_none());
    }

    #[test]
    fn basic_auth_header() {
        let v = basic_auth_value("admin", "s3cret").unwrap();
        assert_eq!(v.as_bytes(), b"Basic YWRtaW46czNjcmV0");
        assert!(v.is_sensitive());
    }

    #[test]
    fn password_file_is_trimmed_and_errors_do_not_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        let loaded = SecretSource::File(path.clone()).load("--x").unwrap();
        assert_eq!(loaded.expose(), "s3cret");
        std::fs::write(&path, " \n").unwrap();
        let e = SecretSource::File(path).load("--x").unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
        let e = SecretSource::File(dir.path().join("missing"))
            .load("--x")
            .unwrap_err();
        assert!(e.to_string().starts_with("cannot read --x "), "{e}");
    }

    #[test]
    fn a_bad_ca_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let tls = TlsOptions {
            ca_cert: Some(path),
            ..TlsOptions::default()
        };
        let e = build_client(ClientSettings {
            timeout: Duration::from_secs(1),
            credentials: &Credentials::None,
            url_credentials: None,
            headers: &[],
            tls: &tls,
            host: "h",
            connect: &Connect::System,
        })
        .unwrap_err();
        assert!(e.to_string().contains("--ca-cert"), "{e}");
    }

    #[test]
    fn two_ways_of_authorizing_conflict() {
        let tls = TlsOptions::default();
        let header = Header::parse("Authorization: Bearer x").unwrap();
        let creds = Credentials::Bearer(SecretSource::Value(Secret::new("t")));
        let e = build_client(ClientSettings {
            timeout: Duration::from_secs(1),
            credentials: &creds,
            url_credentials: None,
            headers: std::slice::from_ref(&header),
            tls: &tls,
            host: "h",
            connect: &Connect::System,
        })
        .unwrap_err();
        assert!(e.to_string().contains("Authorization"), "{e}");
        let e = build_client(ClientSettings {
            timeout: Duration::from_secs(1),
            credentials: &creds,
            url_credentials: Some(("u".into(), Secret::new("p"))),
            headers: &[],
            tls: &tls,
            host: "h",
            connect: &Connect::System,
        })
        .unwrap_err();
        assert!(e.to_string().contains("URL has a user and password"), "{e}");
    }
}
