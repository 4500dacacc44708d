//! `--listen-address`: in loop mode, the janitor's own metrics for a
//! Prometheus scrape, and the probes a Deployment needs.
//!
//! - `GET /metrics`: the `--textfile` metrics in the text format, counters
//!   since the process started, without the textfile's state comment (it
//!   is for the next run, and a scrape has none); empty until the first
//!   pass has finished.
//! - `GET /-/healthy`: 200 while the process runs.
//! - `GET /-/ready`: 200 once the first pass has finished, 503 before.
//! - `GET /`: a page linking the three, as Prometheus' exporters have.
//!
//! The listener is bound before the first pass, so an address in use is an
//! error at start, not a silent loop without metrics.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::exit::ExitStatus;
use crate::metrics::{render, History, STATE};
use crate::report::Report;

/// What the endpoints show: the metrics of the last pass, rendered when
/// the pass finished (a scrape does no work of its own).
#[derive(Debug, Default)]
pub struct Exposition {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    history: History,
    /// `None` until the first pass has finished.
    text: Option<Bytes>,
}

impl Exposition {
    /// Records one pass, which ended with `status`: counters go up, the
    /// text is rendered anew.
    pub fn record(&self, report: &Report, status: ExitStatus) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.history.record(report, status);
        let text = render(report, status, &state.history);
        let exposition: String = text
            .split_inclusive('\n')
            .filter(|line| !line.starts_with(STATE))
            .collect();
        state.text = Some(Bytes::from(exposition));
    }

    fn text(&self) -> Option<Bytes> {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.text.clone()
    }
}

/// Binds `addr`; the error names the address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (--listen-address): {e}"))
}

/// Serves until `stop` is cancelled, then ends every connection (a scrape
/// in flight is cut: the process is leaving) and returns once they have
/// ended: the connections are tasks of this one, in its [`JoinSet`]. A
/// connection that fails is logged and dropped; accepting goes on.
pub async fn serve(listener: TcpListener, exposition: Arc<Exposition>, stop: CancellationToken) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("serving /metrics, /-/healthy and /-/ready on http://{addr}");
    }
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            // Reaped as they end, so that the set holds the open ones only.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and the like: wait a little rather than spin.
                tracing::warn!("--listen-address: accept failed: {e}");
                let pause = tokio::time::sleep(std::time::Duration::from_millis(100));
                if stop.run_until_cancelled(pause).await.is_none() {
                    break;
                }
                continue;
            }
        };
        let exposition = Arc::clone(&exposition);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&request, &exposition);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, "--listen-address: connection ended: {e}");
            }
        });
    }
    connections.shutdown().await;
}

fn respond(request: &Request<Incoming>, exposition: &Exposition) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: &'static str| {
        let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    };
    let path = request.uri().path();
    if !matches!(path, "/" | "/metrics" | "/-/healthy" | "/-/ready") {
        return text(StatusCode::NOT_FOUND, "not found: try /metrics\n");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match (path, exposition.text()) {
        ("/", _) => {
            let mut response = Response::new(Full::new(Bytes::from(INDEX)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        ("/-/healthy", _) => text(StatusCode::OK, "OK\n"),
        ("/-/ready", Some(_)) => text(StatusCode::OK, "OK\n"),
        ("/-/ready", None) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the first pass has not finished\n",
        ),
        (_, metrics) => {
            let mut response = Response::new(Full::new(metrics.unwrap_or_default()));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
    }
}

/// `GET /`: where the endpoints are, for whoever opens the address in a
/// browser. Relative links, so a proxy's path prefix is kept.
const INDEX: &str = concat!(
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>pushgateway-janitor</title></head>\n<body>\n",
    "<h1>pushgateway-janitor</h1>\n<p>Version ",
    env!("CARGO_PKG_VERSION"),
    "</p>\n<ul>\n",
    "<li><a href=\"metrics\">/metrics</a>: the janitor's own metrics</li>\n",
    "<li><a href=\"-/healthy\">/-/healthy</a>: 200 while it runs</li>\n",
    "<li><a href=\"-/ready\">/-/ready</a>: 200 once the first pass has finished</li>\n",
    "</ul>\n</body>\n</html>\n",
);

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Issue 28 item 1: the server is a task its owner ends. Told to stop,
    /// it returns once its connections have ended, a keep-alive one that a
    /// scraper holds open included (which the client then sees closed).
    /// Before, it served until the runtime was dropped under it.
    #[tokio::test]
    async fn stops_when_told_and_ends_its_connections() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, Arc::default(), stop.clone()));
        let mut scraper = tokio::net::TcpStream::connect(addr).await.unwrap();
        scraper
            .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 512];
        let n = scraper.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
        // The connection stays open (keep-alive) while the server stops.
        stop.cancel();
        let bound = std::time::Duration::from_secs(10);
        tokio::time::timeout(bound, server)
            .await
            .expect("the server ended")
            .unwrap();
        let closed = tokio::time::timeout(bound, scraper.read(&mut answer)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "the connection was closed"
        );
    }
}
