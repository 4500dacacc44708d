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
    Mock::given(method("GET"))
        .and(path("/api/v1/metrics"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(server)
        .await;
}
