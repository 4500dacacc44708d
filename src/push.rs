//! `--push-metrics`: the run's own metrics, pushed to a Pushgateway after
//! each run, the way batch jobs report in the Prometheus world.

use crate::config::PushMetrics;
use crate::exit::ExitStatus;
use crate::gateway::{Gateway, TransportOptions};
use crate::metrics::render_pushed;
use crate::report::Report;

/// POSTs the gauges of `report`, which ended with `status` so far, to the
/// group of `target`, with the same credentials, TLS settings and retries
/// as the scans. The error is one line that names the request.
pub async fn push(
    target: &PushMetrics,
    transport: &TransportOptions,
    report: &Report,
    status: ExitStatus,
) -> Result<(), String> {
    let gateway =
        Gateway::new(&target.url, transport).map_err(|e| format!("--push-metrics: {e}"))?;
    gateway
        .push(&target.group(), render_pushed(report, status))
        .await
        .map_err(|e| format!("--push-metrics: {e}"))?;
    tracing::info!(gateway = %gateway.display_url(), group = %target.group(), "pushed the run's metrics");
    Ok(())
}
