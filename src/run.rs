//! One pass over every gateway: scan -> plan -> delete -> report.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;

use crate::config::Config;
use crate::gateway::{redact_url_text, Gateway};
use crate::plan::{self, Decision, Subject, Verdict};
use crate::report::{rfc3339, Action, GatewayReport, GroupReport, LabelSet, Report, Summary};

/// Where "now" comes from; the binary passes the system clock, tests may
/// pass a fixed one.
pub type Clock = dyn Fn() -> SystemTime + Sync;

pub fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Runs one pass. Never fails as a whole: each gateway's failure is in its
/// part of the report.
pub async fn run(config: &Config, clock: &Clock) -> Report {
    let started = unix_seconds(clock());
    let mut gateways = Vec::with_capacity(config.urls.len());
    for url in &config.urls {
        gateways.push(run_gateway(url, config, clock).await);
    }
    Report::new(
        config.dry_run,
        started,
        unix_seconds(clock()),
        config.policy.threshold.as_secs_f64(),
        gateways,
    )
}

async fn run_gateway(url: &str, config: &Config, clock: &Clock) -> GatewayReport {
    let failed = |url: String, error: String| {
        tracing::debug!(gateway = %url, "not scanned: {error}");
        GatewayReport {
            url,
            now: rfc3339(unix_seconds(clock())),
            clock: "local",
            error: Some(error),
            groups: Vec::new(),
            summary: Summary::default(),
        }
    };
    let gateway = match Gateway::new(url, &config.transport) {
        Ok(g) => g,
        Err(e) => return failed(redact_url_text(url), e.to_string()),
    };
    let shown = gateway.display_url().to_owned();
    tracing::debug!(gateway = %shown, "scanning");
    let scan = match gateway.scan().await {
        Ok(scan) => scan,
        Err(e) => return failed(shown, e.to_string()),
    };
    let now = unix_seconds(clock());
    tracing::info!(gateway = %shown, groups = scan.entries.len(), "scanned");
    let plan = plan::decide(scan.entries, &config.policy, now);

    let outcomes: Vec<Option<Result<(), String>>> = if config.dry_run {
        vec![None; plan.decisions.len()]
    } else {
        delete_stale(&gateway, &plan.decisions, config.concurrency.max(1)).await
    };

    let groups: Vec<GroupReport> = plan
        .decisions
        .iter()
        .zip(outcomes)
        .map(|(d, outcome)| group_report(d, config.dry_run, outcome))
        .collect();
    let summary = Summary::of(&groups);
    GatewayReport {
        url: shown,
        now: rfc3339(now),
        clock: "local",
        error: None,
        groups,
        summary,
    }
}

/// Sends the DELETEs, at most `concurrency` at a time. The result lines up
/// with `decisions`: `None` where nothing was sent.
async fn delete_stale(
    gateway: &Gateway,
    decisions: &[Decision],
    concurrency: usize,
) -> Vec<Option<Result<(), String>>> {
    let mut outcomes = vec![None; decisions.len()];
    let stale = decisions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match &d.subject {
            Subject::Group(g) if d.verdict == Verdict::Stale => Some((i, &g.key)),
            _ => None,
        });
    let results: Vec<(usize, Result<(), String>)> = futures_util::stream::iter(stale)
        .map(|(i, key)| async move {
            let result = gateway.delete(key).await.map_err(|e| e.to_string());
            match &result {
                Ok(()) => tracing::info!(group = %key, "deleted"),
                Err(e) => tracing::warn!(group = %key, "delete failed: {e}"),
            }
            (i, result)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (i, result) in results {
        outcomes[i] = Some(result);
    }
    outcomes
}

fn group_report(d: &Decision, dry_run: bool, outcome: Option<Result<(), String>>) -> GroupReport {
    let threshold_seconds = d.threshold.as_secs_f64();
    let (action, error) = match (d.verdict, outcome) {
        (Verdict::Skip, _) => (Action::Skipped, None),
        (Verdict::Keep, _) => (Action::Kept, None),
        (Verdict::Stale, Some(Ok(()))) => (Action::Deleted, None),
        (Verdict::Stale, Some(Err(e))) => (Action::DeleteFailed, Some(e)),
        (Verdict::Stale, None) if dry_run => (Action::WouldDelete, None),
        (Verdict::Stale, None) => (Action::DeleteFailed, Some("no DELETE was sent".into())),
    };
    let age_seconds = d.age_seconds.map(|a| (a * 1000.0).round() / 1000.0);
    match &d.subject {
        Subject::Group(g) => GroupReport {
            labels: LabelSet(
                g.key
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
            ),
            last_push: g.last_push.map(rfc3339),
            last_failure: g.last_failure.map(rfc3339),
            last_activity: g.last_activity().map(rfc3339),
            age_seconds,
            threshold_seconds,
            last_push_successful: g.last_push_successful,
            action,
            reason: d.reason.clone(),
            error,
        },
        Subject::Skipped(s) => {
            tracing::warn!(labels = %LabelSet(s.labels.clone()), "skipped: {}", s.reason);
            GroupReport {
                labels: LabelSet(s.labels.clone()),
                last_push: None,
                last_failure: None,
                last_activity: None,
                age_seconds: None,
                threshold_seconds,
                last_push_successful: None,
                action,
                reason: d.reason.clone(),
                error,
            }
        }
    }
}
