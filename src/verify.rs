//! After deleting: the Pushgateway queues deletes (202 means accepted), so
//! re-scan until each accepted group is gone, or back with newer activity
//! (its producer is alive). What a sighting means is decided in `plan`.
//!
//! The first re-scan gets the whole `--timeout` (and `--retries`), like the
//! scan before it: a gateway that takes seconds to render its metrics is
//! slow, not failing. `--verify-timeout` bounds the re-scans after it. A
//! group the re-scans could not judge in time is `unconfirmed`, a warning
//! and not a failure; only one that a re-scan inside the window still shows
//! with its old push time is `still_present`.

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::gateway::{Entry, Gateway, Scan, ScanError};
use crate::group::GroupingKey;
use crate::plan::health::CountedPushes;
use crate::plan::{self, AfterDelete, Sighting, Unresolved};
use crate::warn_bounded;
use crate::warnings::Bounded;

/// A group whose DELETE the gateway accepted.
pub struct Accepted<'a> {
    /// Its place in the plan.
    pub index: usize,
    pub key: &'a GroupingKey,
    /// The last activity the plan judged it by.
    pub last_activity: Option<f64>,
}

/// What verification saw of one accepted group.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Gone,
    Repushed,
    /// A re-scan inside the window still showed it with its old push time.
    StillShown(String),
    /// No re-scan could tell in time.
    NotConfirmed(String),
}

/// Re-scans until every group is judged or the window closes; `stop` (a
/// signal) ends it at once, leaving the rest unconfirmed. A re-scan in
/// flight when either happens is stopped and awaited, its reader with it. `counted`: which
/// pushes are activity (`--activity`), as the plan counted them.
pub async fn verify(
    gateway: &Gateway,
    accepted: Vec<Accepted<'_>>,
    counted: CountedPushes,
    window: Duration,
    stop: &CancellationToken,
) -> Vec<(usize, Seen)> {
    let mut pending: HashMap<&GroupingKey, (usize, Option<f64>)> = accepted
        .into_iter()
        .map(|a| (a.key, (a.index, a.last_activity)))
        .collect();
    let mut seen = Vec::new();
    if pending.is_empty() {
        return seen;
    }
    let mut pause = Duration::from_millis(50);
    // Scans that finished, and why the last one that failed did.
    let mut completed = 0u32;
    let mut last_error: Option<String> = None;
    // Set once the first re-scan is over: the window runs from there.
    let mut deadline: Option<tokio::time::Instant> = None;
    // The groups the last re-scan could not tell from an entry it could not
    // read, with that entry's reason.
    let mut hidden: HashMap<usize, String> = HashMap::new();
    let stopped = loop {
        if stop
            .run_until_cancelled(tokio::time::sleep(pause))
            .await
            .is_none()
        {
            break true;
        }
        match rescan(gateway, stop, deadline).await {
            Ok(scan) => {
                completed += 1;
                let mut present: HashMap<GroupingKey, Option<f64>> = HashMap::new();
                let mut unreadable = Vec::new();
                for entry in scan.entries {
                    match entry {
                        Entry::Group(g) => {
                            let activity = counted.last_activity(&g);
                            present.insert(g.key, activity);
                        }
                        Entry::Skipped(s) => unreadable.push(s),
                    }
                }
                pending.retain(|key, (i, before)| {
                    let sighting = match present.get(*key) {
                        Some(activity) => Sighting::Shown(*activity),
                        None => match unreadable.iter().find(|s| s.might_hide(key, *before)) {
                            Some(s) => {
                                hidden.insert(*i, s.reason.clone());
                                Sighting::MaybeUnreadable
                            }
                            None => Sighting::Absent,
                        },
                    };
                    if sighting != Sighting::MaybeUnreadable {
                        hidden.remove(i);
                    }
                    match plan::after_delete(*before, sighting) {
                        AfterDelete::Unreadable => true,
                        AfterDelete::Gone => {
                            seen.push((*i, Seen::Gone));
                            false
                        }
                        AfterDelete::Repushed => {
                            tracing::info!(group = %key, "pushed again after its DELETE");
                            seen.push((*i, Seen::Repushed));
                            false
                        }
                        AfterDelete::Pending => true,
                    }
                });
            }
            Err(ScanError::Stopped { .. }) if stop.is_cancelled() => break true,
            // Cut at the window's end: the message says so already, and the
            // error of a scan that did finish is the better clue.
            Err(ScanError::Stopped { .. }) => {}
            Err(e) => {
                tracing::debug!("verification scan failed: {e}");
                last_error = Some(e.to_string());
            }
        }
        let now = tokio::time::Instant::now();
        let deadline = *deadline.get_or_insert(now + window);
        if pending.is_empty() || now >= deadline {
            break false;
        }
        pause = (pause * 2).min(Duration::from_millis(500));
    };
    let window = crate::duration::human_threshold(window);
    let still_present = Bounded::new("groups still present");
    let unconfirmed = Bounded::new("unconfirmed deletes");
    for (key, (i, _)) in pending {
        let outcome = match (stopped, plan::unresolved(completed)) {
            (true, _) => Seen::NotConfirmed("verification stopped by a signal".into()),
            (false, _) if hidden.contains_key(&i) => Seen::NotConfirmed(format!(
                "the DELETE was accepted, but the gateway holds a group its re-scan could not \
                 read, which might be this one ({})",
                hidden[&i]
            )),
            (false, Unresolved::StillShown) => Seen::StillShown(format!(
                "still shown with its old push time {window} after the first re-scan"
            )),
            (false, Unresolved::NotConfirmed) => Seen::NotConfirmed(format!(
                "the DELETE was accepted, but no re-scan could confirm it within --verify-timeout {window}{}",
                last_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
            )),
        };
        match &outcome {
            Seen::StillShown(why) => warn_bounded!(still_present, group = %key, "{why}"),
            Seen::NotConfirmed(why) => {
                warn_bounded!(unconfirmed, group = %key, "unconfirmed: {why}")
            }
            _ => {}
        }
        seen.push((i, outcome));
    }
    still_present.finish(gateway.display_url());
    unconfirmed.finish(gateway.display_url());
    seen
}

/// One re-scan: the first as long as any scan may take, the later ones
/// until `deadline` too, where it is stopped ([`ScanError::Stopped`]) and
/// awaited, never dropped with its reader still running.
async fn rescan(
    gateway: &Gateway,
    stop: &CancellationToken,
    deadline: Option<tokio::time::Instant>,
) -> Result<Scan, ScanError> {
    let Some(deadline) = deadline else {
        return gateway.scan_until(&Default::default(), stop).await;
    };
    let cut = stop.child_token();
    let options = Default::default();
    let scanning = gateway.scan_until(&options, &cut);
    tokio::pin!(scanning);
    tokio::select! {
        scan = &mut scanning => scan,
        () = tokio::time::sleep_until(deadline) => {
            cut.cancel();
            scanning.await
        }
    }
}
