//! What went wrong below HTTP, read from the error's type, and said in our
//! words.
//!
//! A failed request is classified once, by walking its `source()` chain and
//! downcasting (`std::io::Error` kinds, `hyper::Error`, `reqwest::Error`,
//! `rustls::Error`): never by the text of a library's message, so that an
//! upgrade of reqwest, hyper or rustls cannot silently change which errors
//! are retried or which hint is printed. The one [`Fault`] decides both.
//! The library's own chain is logged at `-v`.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

/// What kind of failure below HTTP a request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nobody listens at the address.
    Refused,
    /// The host name did not resolve.
    NameNotResolved,
    /// No route to the host or its network.
    Unreachable,
    /// The connection could not be made, for a reason not listed here.
    Connect,
    /// The peer reset or aborted the connection.
    Reset,
    /// The connection closed before the response was complete (a gateway
    /// that died mid-body, a body that ends inside the JSON).
    Truncated,
    /// No complete answer within `--timeout` (connecting, the headers or
    /// the body).
    TimedOut,
    /// The TLS handshake failed: configuration, not something that passes.
    Tls(Tls),
    /// The server does not speak HTTP.
    Protocol,
    /// Anything else.
    Other,
}

/// Why a TLS handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// The server's certificate chain does not lead to a trusted CA.
    UnknownIssuer,
    /// The server presents a CA certificate as its own (`openssl req -x509`
    /// makes one), which WebPKI refuses whoever trusts it.
    SelfSigned,
    NotValidForName,
    /// Expired, or not valid yet.
    Expired,
    /// The server refused the handshake over the client certificate: none
    /// given, or one it does not trust.
    ClientCertificate,
    /// What came back was not TLS (a plain-HTTP port).
    NotTls,
    Other,
}

impl Fault {
    /// Classifies `error` by the types along its `source()` chain.
    pub fn of(error: &(dyn Error + 'static)) -> Fault {
        // Kept when nothing more specific is found further down.
        let mut fallback = Fault::Other;
        for e in causes(error) {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                match io.kind() {
                    io::ErrorKind::ConnectionRefused => return Fault::Refused,
                    io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe => return Fault::Reset,
                    io::ErrorKind::UnexpectedEof => return Fault::Truncated,
                    io::ErrorKind::TimedOut => return Fault::TimedOut,
                    io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::AddrNotAvailable => return Fault::Unreachable,
                    _ => {}
                }
            } else if let Some(r) = e.downcast_ref::<reqwest::Error>() {
                // reqwest's own timer error is private: its predicate is
                // the type-level answer.
                if r.is_timeout() {
                    return Fault::TimedOut;
                }
                if r.is_connect() {
                    fallback = Fault::Connect;
                }
            } else if let Some(h) = e.downcast_ref::<hyper::Error>() {
                if h.is_timeout() {
                    return Fault::TimedOut;
                }
                if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                    return Fault::Truncated;
                }
                if h.is_parse() {
                    return Fault::Protocol;
                }
            } else if let Some(t) = e.downcast_ref::<rustls::Error>() {
                return Fault::Tls(Tls::of(t));
            } else if e.is::<NameNotResolved>() {
                return Fault::NameNotResolved;
            }
        }
        fallback
    }

    /// Whether sending again could help: a TLS configuration or a server
    /// that does not speak HTTP will not change by waiting.
    pub fn retryable(self) -> bool {
        !matches!(self, Fault::Tls(_) | Fault::Protocol)
    }

    /// Whether the gateway could not be reached at all (nothing answered in
    /// HTTP): a run of these ends a batch of DELETEs early.
    pub fn unreachable(self) -> bool {
        matches!(
            self,
            Fault::Refused
                | Fault::NameNotResolved
                | Fault::Unreachable
                | Fault::Connect
                | Fault::Reset
                | Fault::Truncated
                | Fault::TimedOut
        )
    }
}

impl Tls {
    fn of(error: &rustls::Error) -> Tls {
        use rustls::{AlertDescription, CertificateError};
        match error {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => Tls::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Tls::NotValidForName,
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => Tls::Expired,
                CertificateError::Other(other)
                    if other.0.downcast_ref::<webpki::Error>()
                        == Some(&webpki::Error::CaUsedAsEndEntity) =>
                {
                    Tls::SelfSigned
                }
                _ => Tls::Other,
            },
            rustls::Error::AlertReceived(
                AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnknownCA,
            ) => Tls::ClientCertificate,
            rustls::Error::InvalidMessage(_) => Tls::NotTls,
            _ => Tls::Other,
        }
    }
}

/// Each error of the chain from `error` down. `io::Error::source()` skips
/// the error it wraps (it answers that error's own source), so a wrapped
/// error is stepped into instead.
pub fn causes<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |e: &&'a (dyn Error + 'static)| {
        let e: &'a (dyn Error + 'static) = *e;
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            let inner: &'a (dyn Error + 'static) = inner;
            return Some(inner);
        }
        e.source()
    })
}

/// A host name the resolver could not turn into addresses: the one error
/// the janitor's resolvers return, so that a DNS failure is known by type.
#[derive(Debug)]
pub struct NameNotResolved(pub Box<dyn Error + Send + Sync>);

impl fmt::Display for NameNotResolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "name not resolved: {}", self.0)
    }
}

impl Error for NameNotResolved {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0)
    }
}

/// Where in a request the fault came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Sending it and waiting for the response's head.
    Request,
    /// Reading the body.
    Body,
    /// The body ended inside the JSON document.
    Document,
}

/// A request that failed below HTTP, as the user reads it: what happened,
/// how many attempts, what to check. The same words serve the error line,
/// the report's `error` and the retry warnings (without the attempts).
#[derive(Debug, Clone)]
pub struct RequestFault {
    pub fault: Fault,
    pub stage: Stage,
    /// The gateway, when the text names it (a scan's error line); `None`
    /// when the request was named before it (`DELETE …: cannot connect`).
    pub gateway: Option<String>,
    /// The URL's host, for the DNS case.
    pub host: String,
    /// The proxy the request went through (scheme, host and port), when
    /// the environment names one for this URL: a failure to connect is
    /// then the proxy's, not the gateway's. (Boxed: a scan's error stays
    /// small.)
    pub proxy: Option<Box<str>>,
    /// `None` in a retry warning; the count once the retries are over.
    pub attempts: Option<u32>,
    /// `--timeout`.
    pub timeout: Duration,
    /// The innermost cause's own text, for the faults that have no words
    /// of ours.
    pub cause: String,
}

impl RequestFault {
    /// Classifies `error`, logging its whole chain at info (`-v`), the one
    /// place the library's words are shown.
    pub fn new(
        error: &(dyn Error + 'static),
        stage: Stage,
        what: &str,
        gateway: Option<&str>,
        host: &str,
        proxy: Option<&str>,
        timeout: Duration,
    ) -> RequestFault {
        tracing::info!("{what}: {}", crate::errors::error_chain(error));
        let cause = causes(error)
            .last()
            .map(ToString::to_string)
            .unwrap_or_default();
        RequestFault {
            fault: match stage {
                Stage::Document => Fault::Truncated,
                _ => Fault::of(error),
            },
            stage,
            gateway: gateway.map(str::to_owned),
            host: host.to_owned(),
            proxy: proxy.map(Box::from),
            attempts: None,
            timeout,
            cause,
        }
    }

    fn is_local(&self) -> bool {
        matches!(
            self.host.as_str(),
            "localhost" | "127.0.0.1" | "[::1]" | "::1"
        )
    }
}

/// What to check when the proxy could not be reached; `{}` is the question.
const PROXY_HINT: &str = "{} http_proxy, https_proxy or all_proxy in the environment name it; no_proxy lists the hosts reached without it";

/// The demo script, relative to the top of a checkout.
const DEMO: &str = "examples/demo.sh";

impl fmt::Display for RequestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // "to B", "from B", "with B" when the text names the gateway.
        let at = |preposition: &str| match &self.gateway {
            Some(g) => format!(" {preposition} {g}"),
            None => String::new(),
        };
        let timeout = crate::duration::human_threshold(self.timeout);
        let (headline, detail, hint): (String, Option<String>, String) = match self.fault {
            // Through a proxy the client connects to the proxy only: a
            // connection that could not be made is the proxy's.
            fault @ (Fault::Refused | Fault::NameNotResolved | Fault::Unreachable)
                if self.proxy.is_some() =>
            {
                let proxy = self.proxy.as_deref().unwrap_or_default();
                (
                    format!("cannot connect to the proxy {proxy}{}", at("for")),
                    Some(match fault {
                        Fault::Refused => "connection refused".into(),
                        Fault::NameNotResolved => "its host name does not resolve".into(),
                        _ => "no route to it".into(),
                    }),
                    PROXY_HINT.replace("{}", "is the proxy running?"),
                )
            }
            Fault::Connect if self.proxy.is_some() => (
                format!(
                    "cannot connect through the proxy {}{}",
                    self.proxy.as_deref().unwrap_or_default(),
                    at("to")
                ),
                None,
                PROXY_HINT.replace("{}", "-v shows the cause;"),
            ),
            Fault::Refused => {
                let demo = match self.gateway.is_some() && self.attempts.is_some() && self.is_local()
                {
                    // The demo's path is relative: name it only where it is.
                    true if std::path::Path::new(DEMO).is_file() => {
                        format!(" (to try the janitor, bash {DEMO} starts a throwaway one)")
                    }
                    true => " (to try the janitor on a throwaway one, see the quick start in its README)".to_owned(),
                    false => String::new(),
                };
                (
                    format!("cannot connect{}", at("to")),
                    Some("connection refused".into()),
                    format!("is a Pushgateway running there?{demo}"),
                )
            }
            Fault::NameNotResolved => (
                format!("cannot connect{}", at("to")),
                Some(format!("the host name {} does not resolve", self.host)),
                "check the name in the URL and the DNS".into(),
            ),
            Fault::Unreachable => (
                format!("cannot connect{}", at("to")),
                Some("no route to the host".into()),
                "check the address and the network path (firewall, routes, VPN)".into(),
            ),
            Fault::Connect => (
                format!("cannot connect{}", at("to")),
                None,
                "check the address and the network path; -v shows the cause".into(),
            ),
            Fault::Reset => (
                format!("the connection{} was reset", at("to")),
                None,
                "did the gateway, or a proxy in front of it, restart or drop it?".into(),
            ),
            Fault::Truncated => (
                format!("the response{} was truncated", at("from")),
                Some(match self.stage {
                    Stage::Document => "the JSON ended early".into(),
                    _ => "the connection closed before it was complete".into(),
                }),
                "did the gateway, or a proxy in front of it, restart or crash?".into(),
            ),
            Fault::TimedOut if self.stage == Stage::Request => (
                format!("no answer{} within --timeout {timeout}", at("from")),
                None,
                "is it overloaded? --timeout and --retries set how long to wait".into(),
            ),
            Fault::TimedOut => (
                format!(
                    "the response{} did not finish within --timeout {timeout}",
                    at("from")
                ),
                None,
                "a large or slow gateway needs a longer --timeout".into(),
            ),
            Fault::Tls(tls) => {
                let (what, hint) = match tls {
                    Tls::UnknownIssuer => (
                        "the server's certificate is not signed by a trusted CA".into(),
                        "pass its CA with --ca-cert",
                    ),
                    Tls::SelfSigned => (
                        "the server's certificate is a CA certificate (self-signed, as \
                         `openssl req -x509` makes), which TLS does not accept as a server's own"
                            .into(),
                        "use a server certificate signed by a CA and pass that CA with \
                         --ca-cert, or --insecure-skip-verify knowingly (nothing is checked then)",
                    ),
                    Tls::NotValidForName => (
                        "the server's certificate does not name this host".into(),
                        "use a name it was issued for in the URL, or reissue it",
                    ),
                    Tls::Expired => (
                        "the server's certificate has expired or is not valid yet".into(),
                        "renew it, or check this machine's clock",
                    ),
                    Tls::ClientCertificate => (
                        "the server wants a client certificate it trusts".into(),
                        "--client-cert and --client-key",
                    ),
                    Tls::NotTls => (
                        "the answer was not TLS".into(),
                        "is it a plain-HTTP port? try http:// instead of https://",
                    ),
                    Tls::Other => (self.cause.clone(), "-v shows the whole cause"),
                };
                (
                    format!("TLS handshake{} failed", at("with")),
                    None,
                    format!("{what}: {hint}"),
                )
            }
            Fault::Protocol => (
                match &self.gateway {
                    Some(g) => format!("{g} did not answer in HTTP"),
                    None => "the server did not answer in HTTP".into(),
                },
                None,
                "is this a Pushgateway's port? check the URL's scheme and port".into(),
            ),
            Fault::Other => (
                format!("the request{} failed", at("to")),
                None,
                format!("{}; -v shows the whole cause", self.cause),
            ),
        };
        let tries = self.attempts.map(|n| match n {
            1 => "1 attempt".to_owned(),
            n => format!("{n} attempts"),
        });
        let inside: Vec<String> = detail.into_iter().chain(tries).collect();
        f.write_str(&headline)?;
        if !inside.is_empty() {
            write!(f, " ({})", inside.join(", "))?;
        }
        write!(f, ": {hint}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Reads one request head from `socket` (enough for a GET).
    async fn read_head(socket: &mut tokio::net::TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// A loopback server that does `answer` with each connection.
    async fn server<F, Fut>(answer: F) -> String
    where
        F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket));
            }
        });
        format!("http://{addr}/")
    }

    fn client(timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .build()
            .unwrap()
    }

    /// The fault of a GET of `url` whose body is read to the end.
    async fn fault_of_get(url: &str, timeout: Duration) -> Fault {
        let result = async {
            let response = client(timeout).get(url).send().await?;
            response.bytes().await
        }
        .await;
        Fault::of(&result.expect_err("the request should fail"))
    }

    #[tokio::test]
    async fn connection_refused() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(
            fault_of_get(&url, Duration::from_secs(5)).await,
            Fault::Refused
        );
    }

    #[tokio::test]
    async fn a_reset_connection() {
        let url = server(|mut socket| async move {
            read_head(&mut socket).await;
            // SO_LINGER 0: close sends RST instead of FIN.
            socket.set_zero_linger().unwrap();
            drop(socket);
        })
        .await;
        assert_eq!(
            fault_of_get(&url, Duration::from_secs(5)).await,
            Fault::Reset
        );
    }

    #[tokio::test]
    async fn closed_before_the_response_and_mid_body() {
        let url = server(|mut socket| async move {
            read_head(&mut socket).await;
        })
        .await;
        assert_eq!(
            fault_of_get(&url, Duration::from_secs(5)).await,
            Fault::Truncated
        );
        // A length promised and not sent.
        let url = server(|mut socket| async move {
            read_head(&mut socket).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":")
                .await;
        })
        .await;
        assert_eq!(
            fault_of_get(&url, Duration::from_secs(5)).await,
            Fault::Truncated
        );
        // A chunked body cut inside a chunk size line.
        let url = server(|mut socket| async move {
            read_head(&mut socket).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                .await;
        })
        .await;
        assert_eq!(
            fault_of_get(&url, Duration::from_secs(5)).await,
            Fault::Truncated
        );
    }

    #[tokio::test]
    async fn no_answer_in_time_and_a_trickled_body() {
        let url = server(|mut socket| async move {
            read_head(&mut socket).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        assert_eq!(
            fault_of_get(&url, Duration::from_millis(200)).await,
            Fault::TimedOut
        );
        let url = server(|mut socket| async move {
            read_head(&mut socket).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
                .await;
            for _ in 0..50 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = socket.write_all(b" ").await;
            }
        })
        .await;
        assert_eq!(
            fault_of_get(&url, Duration::from_millis(300)).await,
            Fault::TimedOut
        );
    }

    #[tokio::test]
    async fn not_http_at_all() {
        let url = server(|mut socket| async move {
            read_head(&mut socket).await;
            let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
        })
        .await;
        let fault = fault_of_get(&url, Duration::from_secs(5)).await;
        assert_eq!(fault, Fault::Protocol);
        assert!(!fault.retryable());
    }

    #[tokio::test]
    async fn tls_spoken_to_a_plain_http_port() {
        // A ClientHello has no blank line to wait for: answer at once.
        let url = server(|mut socket| async move {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
        })
        .await;
        let url = url.replace("http://", "https://");
        let fault = fault_of_get(&url, Duration::from_secs(5)).await;
        assert_eq!(fault, Fault::Tls(Tls::NotTls));
        assert!(!fault.retryable());
    }

    /// A resolver that finds nothing, as the janitor's resolvers report it.
    struct Nothing;

    impl reqwest::dns::Resolve for Nothing {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                Err(Box::new(NameNotResolved("no records".into())) as Box<dyn Error + Send + Sync>)
            })
        }
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve() {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(Nothing))
            .build()
            .unwrap();
        let e = client
            .get("http://pgw.invalid:9091/")
            .send()
            .await
            .unwrap_err();
        assert_eq!(Fault::of(&e), Fault::NameNotResolved);
    }

    /// The chain rustls errors arrive in: an `io::Error` of kind
    /// `InvalidData` (tokio-rustls) around the `rustls::Error`, under
    /// reqwest's.
    fn tls_error(e: rustls::Error) -> Fault {
        let io = io::Error::new(io::ErrorKind::InvalidData, e);
        Fault::of(&io)
    }

    #[test]
    fn tls_failures_by_variant() {
        use rustls::{AlertDescription, CertificateError, OtherError};
        let self_signed =
            CertificateError::Other(OtherError(Arc::new(webpki::Error::CaUsedAsEndEntity)));
        for (error, want) in [
            (CertificateError::UnknownIssuer.into(), Tls::UnknownIssuer),
            (self_signed.into(), Tls::SelfSigned),
            (
                CertificateError::NotValidForName.into(),
                Tls::NotValidForName,
            ),
            (CertificateError::Expired.into(), Tls::Expired),
            (CertificateError::NotValidYet.into(), Tls::Expired),
            (CertificateError::BadSignature.into(), Tls::Other),
            (
                rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
                Tls::ClientCertificate,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::BadCertificate),
                Tls::ClientCertificate,
            ),
            (
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                Tls::NotTls,
            ),
        ] {
            let fault = tls_error(error);
            assert_eq!(fault, Fault::Tls(want));
            assert!(!fault.retryable());
            assert!(!fault.unreachable());
        }
    }

    #[test]
    fn which_faults_are_retried_and_which_mean_unreachable() {
        for f in [
            Fault::Refused,
            Fault::NameNotResolved,
            Fault::Unreachable,
            Fault::Connect,
            Fault::Reset,
            Fault::Truncated,
            Fault::TimedOut,
        ] {
            assert!(f.retryable() && f.unreachable(), "{f:?}");
        }
        assert!(Fault::Other.retryable() && !Fault::Other.unreachable());
        assert!(!Fault::Protocol.retryable() && !Fault::Protocol.unreachable());
    }

    #[test]
    fn io_kinds_inside_other_errors() {
        // An io::Error wrapped in io::Error::other, as the scan's body
        // stream hands it to the document reader.
        let inner = io::Error::from(io::ErrorKind::ConnectionReset);
        let outer = io::Error::other(inner);
        assert_eq!(Fault::of(&outer), Fault::Reset);
        assert_eq!(
            Fault::of(&io::Error::other("something")),
            Fault::Other,
            "no kind, no type: nothing known"
        );
    }

    fn said(fault: Fault, stage: Stage, gateway: Option<&str>, attempts: Option<u32>) -> String {
        RequestFault {
            fault,
            stage,
            gateway: gateway.map(str::to_owned),
            host: "pgw.example".into(),
            proxy: None,
            attempts,
            timeout: Duration::from_secs(30),
            cause: "library words".into(),
        }
        .to_string()
    }

    #[test]
    fn the_words_name_what_happened_the_attempts_and_what_to_check() {
        let g = Some("http://pgw.example:9091");
        for (fault, stage, line) in [
            (Fault::Refused, Stage::Request, "cannot connect to http://pgw.example:9091 (connection refused, 4 attempts): is a Pushgateway running there?"),
            (Fault::NameNotResolved, Stage::Request, "cannot connect to http://pgw.example:9091 (the host name pgw.example does not resolve, 4 attempts): check the name in the URL and the DNS"),
            (Fault::Reset, Stage::Request, "the connection to http://pgw.example:9091 was reset (4 attempts): did the gateway, or a proxy in front of it, restart or drop it?"),
            (Fault::Truncated, Stage::Body, "the response from http://pgw.example:9091 was truncated (the connection closed before it was complete, 4 attempts): did the gateway, or a proxy in front of it, restart or crash?"),
            (Fault::Truncated, Stage::Document, "the response from http://pgw.example:9091 was truncated (the JSON ended early, 4 attempts): did the gateway, or a proxy in front of it, restart or crash?"),
            (Fault::TimedOut, Stage::Request, "no answer from http://pgw.example:9091 within --timeout 30s (4 attempts): is it overloaded? --timeout and --retries set how long to wait"),
            (Fault::TimedOut, Stage::Body, "the response from http://pgw.example:9091 did not finish within --timeout 30s (4 attempts): a large or slow gateway needs a longer --timeout"),
            (Fault::Tls(Tls::SelfSigned), Stage::Request, "TLS handshake with http://pgw.example:9091 failed (4 attempts): the server's certificate is a CA certificate (self-signed, as `openssl req -x509` makes), which TLS does not accept as a server's own: use a server certificate signed by a CA and pass that CA with --ca-cert, or --insecure-skip-verify knowingly (nothing is checked then)"),
            (Fault::Other, Stage::Request, "the request to http://pgw.example:9091 failed (4 attempts): library words; -v shows the whole cause"),
        ] {
            assert_eq!(said(fault, stage, g, Some(4)), line);
        }
        // A write names its request before; a warning has no count yet.
        assert_eq!(
            said(Fault::Refused, Stage::Request, None, None),
            "cannot connect (connection refused): is a Pushgateway running there?"
        );
        assert_eq!(
            said(Fault::Reset, Stage::Request, None, Some(1)),
            "the connection was reset (1 attempt): did the gateway, or a proxy in front of it, restart or drop it?"
        );
    }
}
