//! One pass over every gateway: scan -> plan -> delete -> verify -> report.

mod rhythms;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::archive::{self, Kept};
use crate::config::Config;
use crate::discover::{self, Expanded};
use crate::gateway::{redact_url_text, Fault, Gateway, ScanError};
use crate::group::{GroupingKey, LabelNaming};
use crate::identity::GatewayId;
use crate::pending::{self, Judged, Seen, State};
use crate::plan::{self, Decision, Outcome, Subject, Verdict};
use crate::report::{
    Action, GatewayHealth, GatewayReport, GroupHealth, GroupReport, LabelSet, Report, Summary,
    Time, UnmatchedSelector,
};
use crate::verify;
use crate::warn_bounded;
use crate::warnings::Bounded;

/// Where local time comes from; the binary passes the system clock, tests
/// may pass a fixed one.
pub type Clock = dyn Fn() -> SystemTime + Sync;

pub fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// One pass: its report, and what it leaves for `--grace` (made from the
/// same decisions).
#[derive(Debug, Clone)]
pub struct Pass {
    pub report: Report,
    pub seen: Seen,
    /// Whether a second signal gave up a batch of DELETEs in flight: what
    /// came of them is unknown, so such a pass is not recorded. A pass
    /// that a signal reached after its DELETEs ended is whole.
    pub batch: Batch,
}

/// How a gateway's batch of DELETEs ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Batch {
    /// Every DELETE due was sent and answered, or none was due.
    #[default]
    Finished,
    /// A second signal gave up the DELETEs in flight ([`Interrupts::now`]).
    GivenUp,
}

/// What ends a pass early: the signals of loop mode. A single run is never
/// interrupted ([`Interrupts::default`]). Whatever a token cuts short is
/// stopped and awaited, never dropped with a task of its own still running:
/// the pass ends with nothing of it left behind.
#[derive(Debug, Clone, Default)]
pub struct Interrupts {
    /// The first signal: what sends nothing stops (a DNS lookup, a scan,
    /// verification); the DELETEs already started finish.
    pub stop: CancellationToken,
    /// The second signal: the DELETEs in flight are given up too (the
    /// pass is then not reported).
    pub now: CancellationToken,
}

/// Runs one pass. Never fails as a whole: each gateway's failure is in its
/// part of the report. Gateways are processed concurrently and
/// independently; the report keeps the order of `config.urls`.
///
/// `interrupts.stop` (a signal, in loop mode) cuts short what sends
/// nothing: a scan in flight (that gateway is reported as not scanned) and
/// verification (the accepted deletes are `unconfirmed`). A batch of
/// DELETEs, once started, is finished unless `interrupts.now` is cancelled.
pub async fn run(config: &Config, clock: &Clock, interrupts: &Interrupts) -> Pass {
    run_with(config, clock, interrupts, &load_state(config)).await
}

/// What `--grace` and the rhythms remember from earlier runs: the
/// `--state-file`, or nothing. One that cannot be read is warned about and
/// starts empty: every stale group is then pending again, so nothing goes
/// before its time, and every rhythm is learned again.
pub fn load_state(config: &Config) -> State {
    match &config.state_file {
        Some(path) => pending::load(path).unwrap_or_else(|why| {
            tracing::warn!(
                "--state-file {}: {why}; starting with an empty memory: grace periods start again and rhythms are learned again",
                path.display()
            );
            State::default()
        }),
        None => State::default(),
    }
}

/// [`run`], with what `--grace` remembers (`state`): in loop mode, what the
/// pass before left.
pub async fn run_with(
    config: &Config,
    clock: &Clock,
    interrupts: &Interrupts,
    state: &State,
) -> Pass {
    let started = unix_seconds(clock());
    let (targets, resolved) = discover_all(config, &interrupts.stop).await;
    let mut seen = Seen::default();
    let mut batch = Batch::Finished;
    for (discovered_from, unresolved_targets) in resolved {
        seen.resolved(&discovered_from, unresolved_targets);
    }
    let visits = futures_util::future::join_all(targets.iter().map(|t| async move {
        match t {
            Target::Found(Expanded::Instance(instance)) => {
                let id = instance.id();
                let (report, judged, batch) =
                    run_gateway(instance, &id, config, clock, interrupts, state).await;
                (report, Some((id, judged)), batch)
            }
            Target::Found(Expanded::Failed {
                shown,
                error,
                discovered_from,
                ..
            }) => {
                let report = GatewayReport {
                    discovered_from: Some(discovered_from.clone()),
                    ..unscanned(shown.clone(), error.clone(), clock)
                };
                (report, None, Batch::Finished)
            }
            Target::Interrupted { shown } => {
                (interrupted(shown.clone(), clock), None, Batch::Finished)
            }
        }
    }))
    .await;
    let mut gateways = Vec::with_capacity(visits.len());
    for (report, visited, sent) in visits {
        if sent == Batch::GivenUp {
            batch = Batch::GivenUp;
        }
        match visited {
            Some((id, Some((judged, rhythms)))) => {
                seen.scanned(&id, judged);
                if let Some(rhythms) = rhythms {
                    seen.rhythms(&id, rhythms);
                }
            }
            Some((id, None)) => seen.found(&id),
            None => {}
        }
        gateways.push(report);
    }
    let unmatched_selectors = unmatched_selectors(config, &gateways);
    let report = Report {
        unmatched_selectors,
        discovered: seen.discovered().clone(),
        ..Report::new(
            config.dry_run,
            started,
            unix_seconds(clock()),
            config.policy.threshold.seconds(),
            gateways,
        )
    };
    Pass {
        report,
        seen,
        batch,
    }
}

/// The selectors that matched no group on any gateway of this pass, each
/// warned about once; none unless every gateway was scanned (a gateway that
/// could not be, or whose scan a signal stopped, might hold the match).
fn unmatched_selectors(config: &Config, gateways: &[GatewayReport]) -> Vec<UnmatchedSelector> {
    if gateways.is_empty() || !gateways.iter().all(GatewayReport::scanned) {
        return Vec::new();
    }
    let keys: Vec<GroupingKey> = gateways
        .iter()
        .flat_map(|g| &g.groups)
        .filter_map(|g| GroupingKey::new(g.labels.0.iter().cloned()).ok())
        .collect();
    plan::unmatched(&config.policy, &keys)
        .into_iter()
        .map(|u| {
            tracing::warn!(
                "{} '{}' matched no group on any gateway; check it for a typo",
                u.flag,
                u.written
            );
            UnmatchedSelector {
                flag: u.flag,
                selector: u.selector.as_str().to_owned(),
            }
        })
        .collect()
}

/// One gateway of this pass, or why a `--url` stands for none.
enum Target {
    Found(Expanded),
    /// A signal stopped the DNS lookup of this `--url`.
    Interrupted {
        shown: String,
    },
}

/// The `dns*+` `--url`s whose names a pass resolved, each with the
/// `dnssrv+` targets whose addresses it could not look up.
type Resolved = Vec<(String, BTreeSet<String>)>;

/// Every gateway of this pass, in the order of `config.urls`: the names
/// behind `dns+`/`dnssrv+`/`dnssrvnoa+` are looked up again each pass.
async fn discover_all(config: &Config, stop: &CancellationToken) -> (Vec<Target>, Resolved) {
    let needs_dns = config
        .urls
        .iter()
        .any(|u| discover::split_prefix(u).0.is_some());
    let resolver =
        needs_dns.then(|| discover::Resolver::new(config.dns_server, config.transport.timeout));
    let lookups = config.urls.iter().map(|url| {
        let resolver = resolver.as_ref();
        async move {
            // A lookup is a future of this pass, no task of ours: dropped at
            // a stop, it leaves only the resolver's exchanges, which live in
            // the resolver's own task set and are aborted with it when this
            // function returns, before the pass goes on.
            let Some(found) = stop
                .run_until_cancelled(discover::expand(url, resolver))
                .await
            else {
                return (
                    vec![Target::Interrupted {
                        shown: redact_url_text(url),
                    }],
                    None,
                );
            };
            let resolved = discover::resolved(url, &found);
            if discover::split_prefix(url).0.is_some() {
                let addresses: Vec<String> = found
                    .iter()
                    .filter_map(|e| match e {
                        // A dnssrvnoa+ target is a URL, credentials and all.
                        Expanded::Instance(i) => Some(
                            i.address()
                                .map_or_else(|| redact_url_text(&i.url), |a| a.to_string()),
                        ),
                        Expanded::Failed { .. } => None,
                    })
                    .collect();
                tracing::info!(url = %redact_url_text(url), found = ?addresses, "discovered");
            }
            (
                found.into_iter().map(Target::Found).collect::<Vec<_>>(),
                resolved,
            )
        }
    });
    let mut targets = Vec::new();
    let mut resolved = Vec::new();
    for (found, name) in futures_util::future::join_all(lookups).await {
        targets.extend(found);
        resolved.extend(name);
    }
    (targets, resolved)
}

/// The report of a gateway a signal stopped before its scan finished: not
/// an error, nothing sent.
fn interrupted(url: String, clock: &Clock) -> GatewayReport {
    tracing::debug!(gateway = %url, "interrupted by a signal before its scan finished");
    GatewayReport {
        interrupted: true,
        ..without_scan(url, None, clock)
    }
}

/// The report of a gateway that was not scanned.
fn unscanned(url: String, error: String, clock: &Clock) -> GatewayReport {
    tracing::debug!(gateway = %url, "not scanned: {error}");
    without_scan(url, Some(error), clock)
}

fn without_scan(url: String, error: Option<String>, clock: &Clock) -> GatewayReport {
    GatewayReport {
        url,
        discovered_from: None,
        address: None,
        now: Time(unix_seconds(clock())),
        clock: "local",
        clock_skew_seconds: None,
        error,
        refused: None,
        version: None,
        utf8_names: None,
        label_names: None,
        groups: Vec::new(),
        summary: Summary::default(),
        interrupted: false,
        health: GatewayHealth::default(),
        id: None,
    }
}

/// What a finished scan leaves for the state: each group's grace mark
/// ([`pending::judged`]), and what the rhythms keep of the pass.
type Scanned = (Vec<(GroupingKey, Judged)>, Option<crate::rhythm::PassSeen>);

/// One gateway's part of the pass, and, when its scan finished, what its
/// groups leave for `--grace` and the rhythms.
async fn run_gateway(
    instance: &discover::Instance,
    id: &GatewayId,
    config: &Config,
    clock: &Clock,
    interrupts: &Interrupts,
    state: &State,
) -> (GatewayReport, Option<Scanned>, Batch) {
    let stop = &interrupts.stop;
    let address = instance.address().map(|a| a.to_string());
    let failed = |url: String, error: String| GatewayReport {
        discovered_from: instance.discovered_from.clone(),
        address: address.clone(),
        id: Some(id.clone()),
        ..unscanned(url, error, clock)
    };
    let gateway = match Gateway::connecting(&instance.url, &config.transport, &instance.connect) {
        Ok(g) => g,
        Err(e) => {
            let report = failed(redact_url_text(&instance.url), e.to_string());
            return (report, None, Batch::Finished);
        }
    };
    let shown = gateway.display_url().to_owned();
    tracing::debug!(gateway = %shown, "scanning");
    // With --archive each group's JSON is kept while the plan is made (in a
    // dry run too: it checks that each record would restore its group, as
    // the real run does before its DELETEs, and writes nothing).
    let keep = config.archive.as_deref();
    let scanning = crate::gateway::ScanOptions {
        read: crate::gateway::document::ReadOptions {
            ttl_metric: config.policy.ttl.metric.clone(),
            ..Default::default()
        },
        keep_json_in: keep.map(std::path::Path::to_path_buf),
    };
    // The status is read every pass, beside the scan: the flag can change
    // across a restart while the data file stays. A stop ends both, the
    // scan once its reader has stopped.
    let (scan, status) = tokio::join!(
        gateway.scan_until(&scanning, stop),
        stop.run_until_cancelled(gateway.status())
    );
    let (scan, status) = match (scan, status) {
        (Err(ScanError::Stopped { .. }), _) | (_, None) => {
            let report = GatewayReport {
                discovered_from: instance.discovered_from.clone(),
                address: address.clone(),
                id: Some(id.clone()),
                ..interrupted(shown, clock)
            };
            return (report, None, Batch::Finished);
        }
        (Err(e), _) => return (failed(shown, e.to_string()), None, Batch::Finished),
        (Ok(scan), Some(status)) => (scan, status),
    };
    let mut scan = scan;
    let local = unix_seconds(clock());
    let server = scan.server_date.map(unix_seconds);
    let skew = server.map(|s| ((s - local) * 1000.0).round() / 1000.0);
    let plan::Now {
        seconds: now,
        clock: clock_name,
        fell_back,
    } = plan::choose_clock(config.clock, server, local);
    if fell_back {
        tracing::warn!(gateway = %shown, "the scan response has no valid Date header; using the local clock");
    }
    let naming = naming_mode(
        &shown,
        config.label_names,
        &status,
        ("stale groups", "are skipped"),
    );
    let (version, utf8_names) = match status {
        Ok(s) => (s.version, s.utf8_names),
        Err(_) => (None, None),
    };
    tracing::info!(gateway = %shown, groups = scan.entries.len(), clock = clock_name, label_names = naming.name(), "scanned");
    let kept = scan.raw.take().map(|raw| Kept::new(&scan.entries, raw));
    let marks = state.marks(id);
    let cadences = rhythms::cadences(config, state.memory(id), now, &scan.entries);
    let plan = plan::decide_learned(scan.entries, &config.policy, now, naming, &marks, &cadences);
    if let Some(why) = &plan.refused_by {
        tracing::warn!(gateway = %shown, "no DELETE sent: {why}");
    }

    let mut outcomes = vec![Outcome::NotSent; plan.decisions.len()];
    let mut archived: Vec<Option<String>> = vec![None; plan.decisions.len()];
    // With --archive, only the groups whose record restores them may be
    // deleted: the archive step is the one that says which.
    let deletable = match keep {
        Some(dir) => {
            let source = archive::Source {
                gateway: shown.clone(),
                address: address.clone(),
            };
            archive_stale(
                (!config.dry_run).then_some(dir),
                source,
                kept,
                &plan.decisions,
                clock,
                &mut outcomes,
                &mut archived,
            )
            .await
        }
        None => archive::Deletable::unarchived(
            plan.decisions
                .iter()
                .enumerate()
                .filter_map(|(i, d)| stale_key(d).map(|key| (i, key.clone()))),
        ),
    };
    let mut batch = Batch::Finished;
    if !config.dry_run {
        batch = delete_stale(
            &gateway,
            naming,
            deletable,
            config.concurrency.max(1),
            &interrupts.now,
            &mut outcomes,
        )
        .await;
        if let Some(timeout) = config.verify_timeout {
            let accepted: Vec<verify::Accepted> = plan
                .decisions
                .iter()
                .enumerate()
                .filter(|(i, _)| matches!(outcomes[*i], Outcome::Accepted))
                .filter_map(|(i, d)| match &d.subject {
                    Subject::Group(g) => Some(verify::Accepted {
                        index: i,
                        key: &g.key,
                        last_activity: d.last_activity,
                    }),
                    Subject::Skipped(_) => None,
                })
                .collect();
            for (i, seen) in
                verify::verify(&gateway, accepted, config.policy.activity, timeout, stop).await
            {
                outcomes[i] = match seen {
                    verify::Seen::Gone => Outcome::Accepted,
                    verify::Seen::Repushed => Outcome::Repushed,
                    verify::Seen::StillShown(why) => Outcome::StillPresent(why),
                    verify::Seen::NotConfirmed(why) => Outcome::Unconfirmed(why),
                };
            }
        }
    }

    let skipped = Bounded::new("skipped groups");
    let ttl_ignored = Bounded::new("ignored TTLs");
    let mut groups: Vec<GroupReport> = plan
        .decisions
        .iter()
        .zip(outcomes)
        .zip(archived)
        .map(|((d, outcome), archive)| GroupReport {
            archive,
            ..group_report(d, config.dry_run, outcome, &skipped, &ttl_ignored)
        })
        .collect();
    skipped.finish(&shown);
    ttl_ignored.finish(&shown);
    let memory = state.memory(id);
    let rhythms = rhythms::learn(
        config,
        &shown,
        memory,
        &cadences,
        now,
        &plan.decisions,
        &mut groups,
    );
    let judged = plan
        .decisions
        .iter()
        .zip(&groups)
        .filter_map(|(d, g)| pending::judged(d, g.action))
        .collect();
    let summary = Summary::of(&groups);
    let bounds = config.policy.bounds.as_ref();
    let health = GatewayHealth::of(&groups, config.dry_run, bounds);
    // Said once, after the pass, from what it left: the report's
    // `over_capacity` and its metric read the same fact.
    if let Some(over) = &health.over_capacity {
        tracing::warn!(
            gateway = %shown,
            "over capacity: {}",
            crate::report::over_capacity_words(over)
        );
    }
    let report = GatewayReport {
        url: shown,
        discovered_from: instance.discovered_from.clone(),
        address,
        now: Time(now),
        clock: clock_name,
        clock_skew_seconds: skew,
        error: None,
        refused: plan.refused_by,
        version,
        utf8_names,
        label_names: Some(naming.name()),
        groups,
        summary,
        interrupted: false,
        health,
        id: Some(id.clone()),
    };
    (report, Some((judged, rhythms)), batch)
}

/// The naming mode of a pass over one gateway ([`plan::label_naming`]),
/// and a warning when it is `unknown` for a reason the operator can fix:
/// the status could not be read and no mode was given, or the status
/// contradicts the one given. `left_out`: who is left out then and how
/// ("stale groups", "are skipped"), for cleaning and `restore` alike.
pub(crate) fn naming_mode(
    shown: &str,
    configured: Option<LabelNaming>,
    status: &Result<crate::gateway::Status, String>,
    (who, what): (&str, &str),
) -> LabelNaming {
    match (status, configured) {
        (Err(e), None) => tracing::warn!(
            gateway = %shown,
            "{e}; the naming mode is unknown: {who} with label names that \
             --push.enable-utf8-names changes {what} (--label-names utf8|legacy sets the mode)"
        ),
        (Ok(s), Some(given)) if LabelNaming::from_flag(s.utf8_names) != given => tracing::warn!(
            gateway = %shown,
            "--label-names {} but the gateway reports push.enable-utf8-names={}: the naming mode \
             is unknown, {who} with label names the two modes read differently {what}",
            given.name(),
            s.utf8_names.unwrap_or(false)
        ),
        _ => {}
    }
    plan::label_naming(
        configured,
        status.as_ref().map(|s| s.utf8_names).map_err(|_| ()),
    )
}

fn stale_key(d: &Decision) -> Option<&GroupingKey> {
    match &d.subject {
        Subject::Group(g) if d.verdict.deletes() => Some(&g.key),
        _ => None,
    }
}

/// Writes every stale group of the plan to the archive in `dir`, flushed
/// to disk, before any DELETE: a group that could not be archived, or
/// whose record would not restore it, gets its failure as its outcome (its
/// DELETE is not sent), one that was gets the archive file's path. Returns
/// the groups that may be deleted. `dir`: `None` in a dry run, which makes
/// and checks the records and writes none.
async fn archive_stale(
    dir: Option<&std::path::Path>,
    source: archive::Source,
    kept: Option<Kept>,
    decisions: &[Decision],
    clock: &Clock,
    outcomes: &mut [Outcome],
    archived: &mut [Option<String>],
) -> archive::Deletable {
    let stale: Vec<archive::Stale> = decisions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match &d.subject {
            Subject::Group(g) if d.verdict.deletes() => Some(archive::Stale {
                at: i,
                key: g.key.clone(),
                last_activity: d.last_activity,
                age_seconds: d.age_seconds,
                threshold_seconds: d.threshold.seconds(),
                reason: crate::report::decision_reason(d),
            }),
            _ => None,
        })
        .collect();
    if stale.is_empty() {
        return archive::Deletable::default();
    }
    let dir = dir.map(std::path::Path::to_owned);
    let now = unix_seconds(clock());
    let shown = source.gateway.clone();
    let at: Vec<usize> = stale.iter().map(|s| s.at).collect();
    let done = tokio::task::spawn_blocking(move || match dir {
        None => archive::check(now, &source, kept.as_ref(), stale),
        Some(dir) => archive::archive(&dir, now, &source, kept.as_ref(), stale),
    })
    .await
    .unwrap_or_else(|e| archive::Archived {
        results: at
            .into_iter()
            .map(|i| {
                let why = format!("the archive task failed: {e}");
                (i, Err(archive::NotArchived::Failed(why)))
            })
            .collect(),
        deletable: archive::Deletable::default(),
    });
    let failures = Bounded::new("groups not archived");
    for (i, result) in done.results {
        match result {
            Ok(path) => archived[i] = path,
            Err(why) => {
                if let Subject::Group(g) = &decisions[i].subject {
                    warn_bounded!(failures, group = %g.key, "not deleted: {why}");
                }
                outcomes[i] = Outcome::Withheld(format!("not sent: {why}"));
            }
        }
    }
    failures.finish(&shown);
    done.deletable
}

/// How many DELETEs in a row may fail to reach a gateway (refused, reset,
/// timed out, ...) before the rest of its batch is not sent. Each of them
/// already used 1 + `--retries` attempts with backoff, so a gateway that
/// restarts has had its chance; five in a row, more than the default
/// `--concurrency` of 4 sends at once, means failures over more than one
/// round of retries, not one bad moment shared by the requests in flight.
/// A gateway gone for good then costs about two rounds of retries, not a
/// round per remaining group (181 groups took 55 s with the defaults).
pub const UNREACHABLE_AFTER: u32 = 5;

/// Sends the DELETEs, at most `concurrency` at a time, until
/// [`UNREACHABLE_AFTER`] in a row could not reach the gateway; the rest are
/// then `delete_failed` without being sent. `now` (a second signal) gives
/// up the batch: the requests in flight are dropped (futures of this one,
/// no task of their own) and none is sent after; it says so.
async fn delete_stale(
    gateway: &Gateway,
    naming: LabelNaming,
    deletable: archive::Deletable,
    concurrency: usize,
    now: &CancellationToken,
    outcomes: &mut [Outcome],
) -> Batch {
    let shown = gateway.display_url();
    let failures = &Bounded::new("failed deletes");
    let retries = &Bounded::new("retried deletes");
    let in_a_row = &AtomicU32::new(0);
    let not_sent = &AtomicUsize::new(0);
    let sending = futures_util::stream::iter(deletable.into_groups())
        .map(|(i, key)| async move {
            let key = &key;
            if in_a_row.load(Ordering::SeqCst) >= UNREACHABLE_AFTER {
                not_sent.fetch_add(1, Ordering::SeqCst);
                return (
                    i,
                    Outcome::Withheld(format!(
                        "gateway unreachable after {UNREACHABLE_AFTER} consecutive failures; not sent"
                    )),
                );
            }
            match gateway.delete(key, naming, retries).await {
                Ok(()) => {
                    in_a_row.store(0, Ordering::SeqCst);
                    tracing::info!(group = %key, "deleted");
                    (i, Outcome::Accepted)
                }
                Err(e) => {
                    if e.fault().is_some_and(Fault::unreachable) {
                        in_a_row.fetch_add(1, Ordering::SeqCst);
                    } else {
                        // The gateway answered: it is there.
                        in_a_row.store(0, Ordering::SeqCst);
                    }
                    warn_bounded!(failures, group = %key, "delete failed: {e}");
                    (i, Outcome::Failed(e.to_string()))
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>();
    let Some(results) = now.run_until_cancelled(sending).await else {
        tracing::warn!(gateway = shown, "the DELETEs in flight were given up");
        return Batch::GivenUp;
    };
    retries.finish(shown);
    failures.finish(shown);
    let not_sent = not_sent.load(Ordering::SeqCst);
    if not_sent > 0 {
        tracing::warn!(
            gateway = shown,
            "{not_sent} DELETEs not sent: the gateway was unreachable after \
             {UNREACHABLE_AFTER} consecutive failures"
        );
    }
    for (i, outcome) in results {
        outcomes[i] = outcome;
    }
    Batch::Finished
}

fn group_report(
    d: &Decision,
    dry_run: bool,
    outcome: Outcome,
    skipped: &Bounded,
    ttl_ignored: &Bounded,
) -> GroupReport {
    // A DELETE that was due and that no one sent: withheld (a dry run's
    // archive check withholds too), or given up with its batch (still
    // `NotSent` outside a dry run).
    let unsent = match outcome {
        Outcome::Withheld(_) => true,
        Outcome::NotSent => !dry_run && d.verdict.deletes(),
        _ => false,
    };
    let (action, error) = crate::report::action(d.verdict, outcome, dry_run);
    let age_seconds = d.age_seconds.map(|a| (a * 1000.0).round() / 1000.0);
    let base = GroupReport {
        labels: LabelSet(Vec::new()),
        last_push: None,
        last_failure: None,
        last_activity: None,
        age_seconds,
        threshold_seconds: d.threshold.seconds(),
        last_push_successful: None,
        action,
        reason: d.reason.clone(),
        error,
        archive: None,
        threshold_source: d.threshold_source.clone(),
        ttl_ignored: d.ttl_ignored.clone(),
        stale_since: d.grace.map(|g| Time(g.stale_since)),
        deletable_at: d
            .grace
            .filter(|_| action == Action::Pending)
            .map(|g| Time(g.deletable_at)),
        newly_pending: action == Action::Pending && d.grace.is_some_and(|g| g.new),
        unsent,
        health: GroupHealth::default(),
        rhythm: Default::default(),
    };
    // Once per pass, here: the verification re-scans do not repeat it.
    if d.verdict == Verdict::Skip {
        let labels = match &d.subject {
            Subject::Group(g) => g.key.to_string(),
            Subject::Skipped(s) => LabelSet(s.labels.clone()).to_string(),
        };
        let why = crate::report::decision_reason(d);
        warn_bounded!(skipped, group = %labels, "skipped: {why}");
    }
    // The pusher's mistake, said once per pass: the rules decided instead.
    if let (Some(why), Subject::Group(g)) =
        (crate::report::ignored_words(&d.ttl_ignored), &d.subject)
    {
        warn_bounded!(ttl_ignored, group = %g.key, "ignored {why}; the rules decide");
    }
    match &d.subject {
        Subject::Group(g) => GroupReport {
            labels: LabelSet(
                g.key
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
            ),
            last_push: g.last_push.map(Time),
            last_failure: g.last_failure.map(Time),
            last_activity: d.last_activity.map(Time),
            last_push_successful: g.last_push_successful,
            health: GroupHealth {
                series: g.size.series,
                bytes: g.size.bytes,
                last_push_failed: g.last_push_failed(),
            },
            ..base
        },
        Subject::Skipped(s) => GroupReport {
            labels: LabelSet(s.labels.clone()),
            health: GroupHealth {
                series: s.size.series,
                bytes: s.size.bytes,
                last_push_failed: false,
            },
            ..base
        },
    }
}
