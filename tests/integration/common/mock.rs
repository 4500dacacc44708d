//! Helpers for the mock-server tests: documents shaped like
//! `/api/v1/metrics`, and running the janitor off the async runtime so the
//! mock keeps answering.

use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A group as `/api/v1/metrics` shows it; times are Go float strings.
pub fn group(labels: serde_json::Value, push: f64) -> serde_json::Value {
    let family = |value: f64| {
        json!({
            "time_stamp": "2026-11-24T00:47:46.298571418Z",
            "type": "GAUGE",
            "metrics": [{"labels": labels, "value": format!("{value:e}")}]
        })
    };
    json!({
        "labels": labels,
        "last_push_successful": true,
        "push_time_seconds": family(push),
        "push_failure_time_seconds": family(0.0),
    })
}

pub fn document(groups: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"status": "success", "data": groups})
}

/// A document of groups with these keys, each last pushed in 1970: stale
/// under any threshold.
pub fn stale_document(keys: &[&[(&str, &str)]]) -> serde_json::Value {
    document(
        keys.iter()
            .map(|key| {
                let labels: serde_json::Map<String, serde_json::Value> =
                    key.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                group(serde_json::Value::Object(labels), 1000.0)
            })
            .collect(),
    )
}

/// Runs the built janitor on a blocking thread, so the mock keeps
/// answering.
pub async fn run<S: AsRef<str>>(args: &[S]) -> Output {
    run_with_env(args, &[]).await
}

/// [`run`] with these environment variables set.
pub async fn run_with_env<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.as_ref().to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = super::janitor_cmd(&args);
        cmd.envs(env);
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

/// A DELETE must never reach the server; `MockServer` checks on drop.
pub async fn forbid_deletes(server: &MockServer) {
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .named("DELETE")
        .mount(server)
        .await;
}

/// Serves `doc` at `GET /api/v1/metrics`, as often as asked.
pub async fn serve_document(server: &MockServer, doc: serde_json::Value) {
    answer_scans(
        server,
        ResponseTemplate::new(200).set_body_json(doc),
        Times::Any,
    )
    .await;
}

/// How many scans a mock answers, checked when the server is dropped.
#[derive(Clone, Copy, Debug)]
pub enum Times {
    /// Only the first, and exactly one: a later mount answers the rest.
    Once,
    /// Every scan, and exactly this many.
    Exactly(u64),
    /// Every scan, however many.
    Any,
}

/// Mounts `GET /api/v1/metrics` answered with `response` (any status, body,
/// delay or header), as often as `times` says.
pub async fn answer_scans(server: &MockServer, response: ResponseTemplate, times: Times) {
    let mock = Mock::given(method("GET"))
        .and(path("/api/v1/metrics"))
        .respond_with(response);
    let mock = match times {
        Times::Once => mock.up_to_n_times(1).expect(1),
        Times::Exactly(n) => mock.expect(n),
        Times::Any => mock,
    };
    mock.mount(server).await;
}

/// Reads one request head (up to the blank line) from `socket`; `None`
/// when the client went away first.
pub async fn read_head(socket: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(k) => head.extend_from_slice(&buf[..k]),
        }
    }
    Some(head)
}

/// What a [`raw_gateway`] does with one request.
#[derive(Clone, Debug)]
pub enum Act {
    /// Writes these bytes as they are, then closes.
    Send(String),
    /// Closes with a TCP reset (SO_LINGER 0).
    Reset,
    /// Writes the head, then one space every `every` for up to 10 s: a
    /// body trickled past any `--timeout` a test sets.
    Trickle(String, std::time::Duration),
}

/// A bare HTTP/1.1 server on loopback for faults no real gateway and no
/// wiremock produce (resets, bodies cut or trickled at the byte level).
/// `act` gets each request's first line (`DELETE /metrics/... HTTP/1.1`);
/// `GET /api/v1/status` is answered 404 and not counted. Returns the URL
/// and how many requests were counted.
pub async fn raw_gateway(
    act: impl Fn(&str) -> Act + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let act = Arc::new(act);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (act, counter) = (act.clone(), counter.clone());
            tokio::spawn(async move {
                let Some(head) = read_head(&mut socket).await else {
                    return;
                };
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap_or_default().to_owned();
                if line.starts_with("GET /api/v1/status") {
                    let _ = socket
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    return;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                match act(&line) {
                    Act::Send(bytes) => {
                        let _ = socket.write_all(bytes.as_bytes()).await;
                        let _ = socket.shutdown().await;
                    }
                    Act::Reset => {
                        let _ = socket.set_zero_linger();
                        drop(socket);
                    }
                    Act::Trickle(head, every) => {
                        if socket.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
                        while std::time::Instant::now() < until {
                            tokio::time::sleep(every).await;
                            if socket.write_all(b" ").await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (url, count)
}
