//! The Pushgateway's HTTP API: reading every group (`GET /api/v1/metrics`)
//! and deleting one group by its full grouping key.
//!
//! This module fetches and sends; it decides nothing.

pub mod document;
pub mod fault;
pub mod retry;
pub mod transport;

use std::io::BufReader;
use std::time::{Duration, SystemTime};

use futures_util::{Stream, StreamExt as _, TryStreamExt as _};
use reqwest::header::{ACCEPT, CONTENT_TYPE, DATE};
use reqwest::{Method, StatusCode, Url};
use tokio_util::io::{StreamReader, SyncIoBridge};
use tokio_util::sync::CancellationToken;

use crate::errors::error_chain;
pub use crate::group::{Entry, SkippedGroup};
use crate::group::{GroupingKey, LabelNaming};
use crate::warnings::Bounded;
pub use document::DocumentError;
use fault::Stage;
pub use fault::{Fault, RequestFault};
pub use retry::RetryPolicy;
use retry::{retrying, retrying_until, Attempted, FailedAttempt};
pub use transport::{
    Connect, Credentials, Header, Secret, SecretSource, TlsOptions, TransportError,
};

/// How to reach gateways.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Bounds each HTTP request, body included.
    pub timeout: Duration,
    /// Basic auth or a bearer token (credentials in the URL are taken from
    /// the URL itself).
    pub credentials: Credentials,
    /// Extra headers sent with every request.
    pub headers: Vec<Header>,
    pub tls: TlsOptions,
    /// Retries of the scan and of each DELETE.
    pub retry: RetryPolicy,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            timeout: Duration::from_secs(30),
            credentials: Credentials::None,
            headers: Vec::new(),
            tls: TlsOptions::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// A scan's result: every group, and the gateway's own idea of the time.
#[derive(Debug)]
pub struct Scan {
    pub entries: Vec<Entry>,
    /// The response's `Date` header, when present and valid.
    pub server_date: Option<SystemTime>,
    /// With [`ScanOptions::keep_json_in`]: each entry's JSON as it was read.
    pub raw: Option<document::RawGroups>,
}

/// What a scan reads and keeps.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// What is read of each group beyond its key and times.
    pub read: document::ReadOptions,
    /// `--archive`: keep each group's JSON as it was read, in a temporary
    /// file in this directory. A file that cannot be made or written does
    /// not fail the scan: it keeps nothing, and says why when a group is
    /// asked for.
    pub keep_json_in: Option<std::path::PathBuf>,
}

/// Why a gateway could not be scanned. Messages name the redacted URL only.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    #[error("{url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: TransportError,
    },
    /// A failure below HTTP (connecting, a reset, a truncated body, a
    /// timeout, TLS), in our words; the library's own at `-v`.
    #[error("{0}")]
    Failed(RequestFault),
    /// Not the network's: the task that reads the body failed.
    #[error("GET {url}: {cause}")]
    Request { url: String, cause: String },
    #[error("GET {url}: HTTP {status}{}", excerpt(.body))]
    Status {
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("GET {url}: expected JSON, got Content-Type {content_type:?}{}", excerpt(.body))]
    NotJson {
        url: String,
        content_type: String,
        body: String,
    },
    #[error("GET {url}: {}", error_chain(.source))]
    Document {
        url: String,
        #[source]
        source: DocumentError,
    },
    /// A common failure said in plain words, with what to do about it.
    #[error("{0}")]
    Explained(String),
    /// The caller's token was cancelled (a signal, the end of
    /// `--verify-timeout`) before the scan finished. Its reader had
    /// stopped when this was returned.
    #[error("GET {url}: stopped before the scan finished")]
    Stopped { url: String },
}

impl ScanError {
    /// A 404 or an HTML page: the URL most likely does not lead to a
    /// Pushgateway's API.
    fn explained(self) -> ScanError {
        let not_a_pushgateway = "is this a Pushgateway? check the URL and its path prefix";
        let hint = match &self {
            // `--url http://h:9091/metrics`, the push and scrape path,
            // read as a path prefix.
            ScanError::Status { status, url, .. }
                if *status == StatusCode::NOT_FOUND
                    && url.ends_with(&format!("/metrics{SCAN_PATH}")) =>
            {
                format!(
                    "drop /metrics from the URL: the janitor adds {SCAN_PATH} to the gateway's base URL"
                )
            }
            ScanError::Status { status, .. } if *status == StatusCode::NOT_FOUND => {
                not_a_pushgateway.to_owned()
            }
            // Go's HTTPS server answers a plain-HTTP request with this
            // status and sentence (net/http, server.go) before any handler
            // runs: the port speaks TLS.
            ScanError::Status { status, url, body }
                if *status == StatusCode::BAD_REQUEST
                    && url.starts_with("http://")
                    && body.starts_with("Client sent an HTTP request to an HTTPS server") =>
            {
                "this port speaks TLS: try https:// instead of http://".to_owned()
            }
            ScanError::NotJson { .. } => not_a_pushgateway.to_owned(),
            _ => return self,
        };
        ScanError::Explained(format!("{self}: {hint}"))
    }
}

impl Attempted for ScanError {
    fn after(mut self, attempts: u32) -> Self {
        if let ScanError::Failed(fault) = &mut self {
            fault.attempts = Some(attempts);
        }
        self
    }
}

/// Why a write (a DELETE of a group, the POST of `--push-metrics`) failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No path spells this grouping key for the gateway: nothing was sent.
    #[error("not sent: {why}")]
    Unaddressable { why: String },
    #[error("{method} {path}: {fault}")]
    Failed {
        method: Method,
        path: String,
        fault: RequestFault,
    },
    #[error("{method} {path}: HTTP {status} (expected {expected}){}", excerpt(.body))]
    Status {
        method: Method,
        path: String,
        status: StatusCode,
        expected: &'static str,
        body: String,
    },
}

impl WriteError {
    /// What kind of failure below HTTP it was; `None` when the gateway
    /// answered.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            WriteError::Failed { fault, .. } => Some(fault.fault),
            WriteError::Status { .. } | WriteError::Unaddressable { .. } => None,
        }
    }
}

impl Attempted for WriteError {
    fn after(mut self, attempts: u32) -> Self {
        if let WriteError::Failed { fault, .. } = &mut self {
            fault.attempts = Some(attempts);
        }
        self
    }
}

/// Why one DELETE failed.
pub type DeleteError = WriteError;
/// Why pushing the janitor's own metrics failed.
pub type PushError = WriteError;
/// Why pushing an archived group back failed.
pub type PutError = WriteError;

/// The push format `restore` sends: length-delimited `MetricFamily`
/// messages, which every gateway version reads and which carry every
/// metric type.
pub const PROTOBUF_DELIMITED: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let mut short: String = body.chars().take(160).collect();
    if short.len() < body.len() {
        short.push('…');
    }
    format!(": {}", short.replace(['\n', '\r'], " "))
}

/// One Pushgateway, addressed by its base URL (path prefix kept).
#[derive(Debug, Clone)]
pub struct Gateway {
    client: reqwest::Client,
    base: Url,
    /// The base path without its trailing slash ("" for the root).
    prefix: String,
    /// The base URL as it may be shown: credentials and query removed.
    display: String,
    /// The URL's host, for messages.
    host: String,
    /// The proxy the environment names for this URL, as messages show it.
    proxy: Option<String>,
    retry: RetryPolicy,
    /// `--timeout`, for the messages.
    timeout: Duration,
}

impl Gateway {
    pub fn new(url: &str, options: &TransportOptions) -> Result<Gateway, ScanError> {
        Gateway::connecting(url, options, &Connect::System)
    }

    /// A gateway whose host is reached as `connect` says (a replica found
    /// through DNS); the URL keeps the host name for TLS and `Host`.
    pub fn connecting(
        url: &str,
        options: &TransportOptions,
        connect: &Connect,
    ) -> Result<Gateway, ScanError> {
        let invalid = |reason: &str| ScanError::InvalidUrl {
            url: redact_url_text(url),
            reason: reason.to_owned(),
        };
        let mut base = Url::parse(url.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host"));
        }
        base.set_query(None);
        base.set_fragment(None);
        let prefix = base.path().trim_end_matches('/').to_owned();
        let display = redact(&base);
        let url_credentials = transport::take_url_credentials(&mut base);
        if options.tls.insecure_skip_verify {
            let shown = display.as_str();
            tracing::warn!(
                gateway = shown,
                "--insecure-skip-verify: the server's TLS certificate is not checked; \
                 anyone on the path can read the credentials and answer in its place"
            );
        }
        let client = transport::build_client(transport::ClientSettings {
            timeout: options.timeout,
            credentials: &options.credentials,
            url_credentials,
            headers: &options.headers,
            tls: &options.tls,
            host: base.host_str().unwrap_or_default(),
            connect,
        })
        .map_err(|source| ScanError::Transport {
            url: display.clone(),
            source,
        })?;
        Ok(Gateway {
            client,
            proxy: transport::proxy_for(&base),
            host: base.host_str().unwrap_or_default().to_owned(),
            base,
            prefix,
            display,
            retry: options.retry,
            timeout: options.timeout,
        })
    }

    /// The base URL with credentials redacted, as reports and logs show it.
    pub fn display_url(&self) -> &str {
        &self.display
    }

    fn url_for(&self, suffix: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{}", self.prefix, suffix));
        url
    }

    fn shown(&self, suffix: &str) -> String {
        format!("{}{}", self.display, suffix)
    }

    /// A GET of `suffix` that asks for JSON.
    async fn get(&self, suffix: &str) -> Result<reqwest::Response, reqwest::Error> {
        self.client
            .get(self.url_for(suffix))
            .header(ACCEPT, "application/json")
            .send()
            .await
    }

    /// `error` of the request `what`, classified and in our words;
    /// `named`: the words name this gateway (they are the whole line).
    fn fault(
        &self,
        error: &(dyn std::error::Error + 'static),
        stage: Stage,
        what: &str,
        named: bool,
    ) -> RequestFault {
        RequestFault::new(
            error,
            stage,
            what,
            named.then_some(self.display.as_str()),
            &self.host,
            self.proxy.as_deref(),
            self.timeout,
        )
    }

    /// A request error without its URL (it could carry a secret the
    /// caller put there), as a [`RequestFault`].
    fn send_fault(&self, e: reqwest::Error, what: &str, named: bool) -> RequestFault {
        self.fault(&e.without_url(), Stage::Request, what, named)
    }

    /// Reads every group from `GET {base}/api/v1/metrics`, streaming the body
    /// through the document reader on a blocking thread, reading what
    /// `options` asks for and keeping what it says. Connection errors,
    /// timeouts (also while the body streams), a body cut short, 408, 429 and 5xx
    /// are retried.
    pub async fn scan(&self, options: &ScanOptions) -> Result<Scan, ScanError> {
        self.scan_until(options, &CancellationToken::new()).await
    }

    /// [`Gateway::scan`], stopped when `stop` is cancelled: then it returns
    /// [`ScanError::Stopped`] once the body's reader has stopped, so that
    /// nothing of the scan outlives it. The caller cancels, and awaits:
    /// dropping a scan half-way would leave its reader, a blocking task,
    /// holding the body and its timer until the runtime shuts down under it
    /// (a panic, an abort in the release build).
    pub async fn scan_until(
        &self,
        options: &ScanOptions,
        stop: &CancellationToken,
    ) -> Result<Scan, ScanError> {
        let what = format!("GET {}", self.shown(SCAN_PATH));
        retrying_until(&self.retry, &what, None, stop, || {
            self.scan_once(&what, options, stop)
        })
        .await
        .map_err(ScanError::explained)
    }

    async fn scan_once(
        &self,
        what: &str,
        options: &ScanOptions,
        stop: &CancellationToken,
    ) -> Result<Scan, FailedAttempt<ScanError>> {
        let shown = self.shown(SCAN_PATH);
        let stopped = || FailedAttempt::fatal(ScanError::Stopped { url: shown.clone() });
        let failed =
            |fault: RequestFault| FailedAttempt::for_fault(fault.fault, ScanError::Failed(fault));
        // Until the body is handed to the reader, everything in flight is a
        // future of this one: dropping it at a stop leaves nothing behind.
        let response = stop
            .run_until_cancelled(self.get(SCAN_PATH))
            .await
            .ok_or_else(stopped)?
            .map_err(|e| failed(self.send_fault(e, what, true)))?;
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = stop
                .run_until_cancelled(body_excerpt(response))
                .await
                .ok_or_else(stopped)?;
            return Err(FailedAttempt::for_status(
                status,
                &headers,
                ScanError::Status {
                    url: shown,
                    status,
                    body,
                },
            ));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if let Some(ct) = content_type.filter(|ct| !ct.to_ascii_lowercase().contains("json")) {
            let body = stop
                .run_until_cancelled(body_excerpt(response))
                .await
                .ok_or_else(stopped)?;
            return Err(FailedAttempt::fatal(ScanError::NotJson {
                url: shown,
                content_type: ct,
                body,
            }));
        }
        let server_date = response
            .headers()
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());

        // The reader's body ends at a stop, or when this attempt is dropped
        // after all (the guard): the reader then drops the body, and its
        // timer, while the runtime runs.
        let cut = stop.child_token();
        let _cut_when_dropped = cut.clone().drop_guard();
        let body = response
            .bytes_stream()
            .map_err(|e| std::io::Error::other(e.without_url()));
        let bridge = SyncIoBridge::new(StreamReader::new(Box::pin(ending_at(body, cut))));
        // Each attempt keeps its own copy: a retried scan starts afresh.
        let keep = match &options.keep_json_in {
            None => document::Keep::Facts,
            Some(dir) => document::Keep::Json(match tempfile::tempfile_in(dir) {
                Ok(file) => document::Spool::new(file),
                Err(e) => document::Spool::failed(format!(
                    "could not make a temporary file in {} to keep the groups' JSON: {e}",
                    dir.display()
                )),
            }),
        };
        let reading = options.read.clone();
        // Awaited to its end, a stop included: the body ends there, so the
        // reader returns at once.
        let read = tokio::task::spawn_blocking(move || {
            let reader = BufReader::with_capacity(document::SCAN_BUFFER_BYTES, bridge);
            document::read_document(reader, &reading, keep)
        })
        .await
        .map_err(|e| {
            FailedAttempt::fatal(ScanError::Request {
                url: shown.clone(),
                cause: format!("the reader task failed: {e}"),
            })
        })?;
        let document::DocumentRead {
            entries: parsed,
            json: raw,
        } = read;
        // A document read to its end stands, stopped or not.
        if parsed.is_err() && stop.is_cancelled() {
            return Err(stopped());
        }
        let entries = parsed.map_err(|source| match source {
            // The body broke off (a reset, a timeout, a length not met).
            DocumentError::Io(e) => failed(self.fault(&e, Stage::Body, what, true)),
            // The body ended inside the JSON. Without a Content-Length and
            // without chunks the body ends where the connection closes, so
            // this is all the client sees of a gateway (or proxy) that died
            // mid-body: indistinguishable from one, it is retried like any
            // broken-off body.
            DocumentError::Truncated(e) => failed(self.fault(&e, Stage::Document, what, true)),
            // A body that is not the API's JSON will not improve.
            source => FailedAttempt::fatal(ScanError::Document { url: shown, source }),
        })?;
        Ok(Scan {
            entries,
            server_date,
            raw,
        })
    }

    /// `DELETE {base}/metrics/job@base64/…` for exactly this grouping key.
    /// Only 202 Accepted counts as success; the gateway queues the deletion.
    /// Deleting one grouping key is idempotent, so failures that may pass
    /// (connection, timeout, 408, 429, 5xx) are retried.
    /// Its retries are warned about as `retries` bounds them.
    pub async fn delete(
        &self,
        key: &GroupingKey,
        naming: LabelNaming,
        retries: &Bounded,
    ) -> Result<(), DeleteError> {
        // The plan skips a group no path reaches; this is the last guard.
        let path = key
            .delete_path(naming)
            .map_err(|why| WriteError::Unaddressable { why })?;
        let suffix = format!("/metrics/{path}");
        self.write(
            Method::DELETE,
            &suffix,
            None,
            "202 Accepted",
            |s| s == StatusCode::ACCEPTED,
            Some(retries),
        )
        .await
    }

    /// One write request to `suffix`, retried like the scan (a DELETE of one
    /// grouping key and a POST of the same body are idempotent): success
    /// is what `ok` accepts; anything else is an error with the start of
    /// the body.
    async fn write(
        &self,
        method: Method,
        suffix: &str,
        body: Option<(&'static str, Vec<u8>)>,
        expected: &'static str,
        ok: impl Fn(StatusCode) -> bool,
        retries: Option<&Bounded>,
    ) -> Result<(), WriteError> {
        let path = self.shown(suffix);
        let url = self.url_for(suffix);
        let what = format!("{method} {path}");
        retrying(&self.retry, &what, retries, || async {
            let mut request = self.client.request(method.clone(), url.clone());
            if let Some((content_type, body)) = &body {
                request = request
                    .header(CONTENT_TYPE, *content_type)
                    .body(body.clone());
            }
            let response = request.send().await.map_err(|e| {
                let fault = self.send_fault(e, &what, false);
                FailedAttempt::for_fault(
                    fault.fault,
                    WriteError::Failed {
                        method: method.clone(),
                        path: path.clone(),
                        fault,
                    },
                )
            })?;
            let status = response.status();
            if ok(status) {
                return Ok(());
            }
            let headers = response.headers().clone();
            let body = body_excerpt(response).await;
            Err(FailedAttempt::for_status(
                status,
                &headers,
                WriteError::Status {
                    method: method.clone(),
                    path: path.clone(),
                    status,
                    expected,
                    body,
                },
            ))
        })
        .await
    }
}

impl Gateway {
    /// POSTs `body` (text exposition format) to the group `key`: the
    /// gateway replaces only the metric families the body holds, so a family
    /// left out keeps its previous value.
    pub async fn push(&self, key: &GroupingKey, body: String) -> Result<(), PushError> {
        // The janitor's own key: legacy names that read the same in every
        // naming mode.
        let path = key
            .delete_path(LabelNaming::Unknown)
            .map_err(|why| WriteError::Unaddressable { why })?;
        let suffix = format!("/metrics/{path}");
        self.write(
            Method::POST,
            &suffix,
            Some((TEXT_FORMAT, body.into_bytes())),
            "2xx",
            |s| s.is_success(),
            None,
        )
        .await
    }

    /// PUTs `body` (length-delimited `MetricFamily` messages) to the group
    /// `key`, spelled for a gateway reading names as `naming`: the gateway
    /// replaces the whole group (push times aside) with the families sent.
    /// A PUT of the same body is idempotent, so it is retried like a
    /// DELETE. 200 (or 202 from a gateway that skips its consistency
    /// check) is success.
    pub async fn put(
        &self,
        key: &GroupingKey,
        naming: LabelNaming,
        body: Vec<u8>,
    ) -> Result<(), PutError> {
        let path = key
            .delete_path(naming)
            .map_err(|why| WriteError::Unaddressable { why })?;
        let suffix = format!("/metrics/{path}");
        self.write(
            Method::PUT,
            &suffix,
            Some((PROTOBUF_DELIMITED, body)),
            "2xx",
            |s| s.is_success(),
            None,
        )
        .await
    }
}

/// What `GET /api/v1/status` says about the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `data.build_information.version`.
    pub version: Option<String>,
    /// `data.flags["push.enable-utf8-names"]`: `None` before 1.11, which
    /// has no such flag (and reads names literally).
    pub utf8_names: Option<bool>,
}

#[derive(serde::Deserialize)]
struct StatusDocument {
    status: String,
    data: StatusData,
}

#[derive(serde::Deserialize)]
struct StatusData {
    #[serde(default)]
    build_information: std::collections::HashMap<String, String>,
    flags: std::collections::HashMap<String, String>,
}

/// A status document is a few KiB; anything much larger is not one.
const STATUS_MAX_BYTES: usize = 1 << 20;

impl Gateway {
    /// `GET {base}/api/v1/status`, once (no retries: a gateway whose status
    /// cannot be read is still scanned, in naming mode `unknown`). The error
    /// is one line for the log and the skip reasons.
    pub async fn status(&self) -> Result<Status, String> {
        const PATH: &str = "/api/v1/status";
        let shown = self.shown(PATH);
        let what = format!("GET {shown}");
        // Sent once: the words say "1 attempt".
        let said = |mut fault: RequestFault| {
            fault.attempts = Some(1);
            format!("{what}: {fault}")
        };
        let response = self
            .get(PATH)
            .await
            .map_err(|e| said(self.send_fault(e, &what, false)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {shown}: HTTP {status}"));
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| said(self.fault(&e.without_url(), Stage::Body, &what, false)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > STATUS_MAX_BYTES {
                return Err(format!(
                    "GET {shown}: not the Pushgateway's status (over 1 MiB)"
                ));
            }
        }
        let document: StatusDocument = serde_json::from_slice(&body)
            .map_err(|e| format!("GET {shown}: not the Pushgateway's status document ({e})"))?;
        if document.status != "success" {
            return Err(format!("GET {shown}: status {:?}", document.status));
        }
        let utf8_names = match document
            .data
            .flags
            .get("push.enable-utf8-names")
            .map(String::as_str)
        {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(format!(
                    "GET {shown}: push.enable-utf8-names is {other:?}, neither true nor false"
                ))
            }
        };
        Ok(Status {
            version: document.data.build_information.get("version").cloned(),
            utf8_names,
        })
    }
}

const SCAN_PATH: &str = "/api/v1/metrics";

/// `body`, ending with an error once `cut` is cancelled: the body is
/// dropped there, by whoever polls it (the scan's reader), instead of
/// being waited on.
fn ending_at<S, T>(body: S, cut: CancellationToken) -> impl Stream<Item = std::io::Result<T>> + Send
where
    S: Stream<Item = std::io::Result<T>> + Send + Unpin,
    T: Send,
{
    futures_util::stream::unfold(Some((body, cut)), |state| async move {
        let (mut body, cut) = state?;
        tokio::select! {
            biased;
            () = cut.cancelled() => {
                let stopped = std::io::Error::other("the scan was stopped");
                Some((Err(stopped), None))
            }
            next = body.next() => next.map(|chunk| (chunk, Some((body, cut)))),
        }
    })
}

/// The start of an error body, for the message; never more than 4 KiB read.
async fn body_excerpt(mut response: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < 4096 {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    buf.truncate(4096);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The URL with any password replaced, user kept, query dropped. A user
/// without a password is often a token (`https://TOKEN@host`), so it is
/// replaced instead.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("REDACTED"));
    } else if !shown.username().is_empty() {
        let _ = shown.set_username("REDACTED");
    }
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string().trim_end_matches('/').to_owned()
}

/// Redacts a URL given as text, even one that does not parse (a password
/// with a raw `#` or `/` breaks parsing): userinfo up to the last `@` is
/// replaced, and any query or fragment after it dropped.
pub fn redact_url_text(url: &str) -> String {
    match Url::parse(url.trim()) {
        // Other schemes parse too, with userinfo left in the path
        // ("user:pw@host" is scheme "user"): treat them as text.
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => redact(&parsed),
        _ => {
            let url = url.trim();
            let (scheme, rest) = match url.find("://") {
                Some(s) => url.split_at(s + 3),
                None => ("", url),
            };
            let (userinfo, rest) = match rest.rfind('@') {
                Some(at) => ("REDACTED@", &rest[at + 1..]),
                None => ("", rest),
            };
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            format!("{scheme}{userinfo}{rest}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(url: &str) -> Gateway {
        Gateway::new(
            url,
            &TransportOptions {
                timeout: Duration::from_secs(1),
                ..TransportOptions::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn keeps_the_path_prefix() {
        let g = gw("http://h:9091/pgw/");
        assert_eq!(
            g.url_for("/api/v1/metrics").as_str(),
            "http://h:9091/pgw/api/v1/metrics"
        );
        let g = gw("http://h:9091");
        assert_eq!(
            g.url_for("/metrics/job@base64/eA").as_str(),
            "http://h:9091/metrics/job@base64/eA"
        );
    }

    #[test]
    fn delete_url_keeps_encoding_characters() {
        let g = gw("http://h:9091/p");
        let key = GroupingKey::new([("job", "a/b"), ("instance", "")]).unwrap();
        let url = g.url_for(&format!(
            "/metrics/{}",
            key.delete_path(LabelNaming::Legacy).unwrap()
        ));
        assert_eq!(
            url.as_str(),
            "http://h:9091/p/metrics/job@base64/YS9i/instance@base64/="
        );
    }

    #[test]
    fn redacts_passwords() {
        let g = gw("https://user:s3cret@h:9091/pgw?token=abc");
        assert_eq!(g.display_url(), "https://user:REDACTED@h:9091/pgw");
        assert!(!redact_url_text("http://u:s3cret@ho st").contains("s3cret"));
        for unparseable in [
            "http://u:pa#s3cret@h:9091/p?token=s3cret",
            "http://u:pa/s3cret@h:99999/p#s3cret",
            "u:s3cret@h:99999?s3cret",
            "http://h:99999/p?token=s3cret",
        ] {
            let shown = redact_url_text(unparseable);
            assert!(!shown.contains("s3cret"), "{unparseable} -> {shown}");
        }
        assert_eq!(
            gw("https://tok3n-s3cret@h/").display_url(),
            "https://REDACTED@h"
        );
        assert_eq!(
            redact_url_text("http://u:pa#ss@h:99999/p?q"),
            "http://REDACTED@h:99999/p"
        );
    }

    /// A body that never sends more (a stalled gateway) ends for its
    /// reader once the scan is cut: an error, then nothing, the body
    /// dropped (issue 28 item 1).
    #[tokio::test]
    async fn a_cut_body_ends_with_an_error_and_is_dropped() {
        let held = std::sync::Arc::new(());
        let witness = std::sync::Arc::clone(&held);
        let stalled =
            futures_util::stream::pending::<std::io::Result<Vec<u8>>>().map(move |chunk| {
                let _ = &witness;
                chunk
            });
        let cut = CancellationToken::new();
        let mut body = Box::pin(ending_at(stalled, cut.clone()));
        cut.cancel();
        assert!(matches!(body.next().await, Some(Err(_))));
        assert_eq!(
            std::sync::Arc::strong_count(&held),
            1,
            "the body was dropped"
        );
        assert!(body.next().await.is_none());
    }

    #[test]
    fn rejects_unusable_urls() {
        let opts = TransportOptions {
            timeout: Duration::from_secs(1),
            ..TransportOptions::default()
        };
        for bad in ["", "localhost:9091", "ftp://h/", "http://", "not a url"] {
            assert!(Gateway::new(bad, &opts).is_err(), "{bad:?} was accepted");
        }
    }
}
