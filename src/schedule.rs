//! Loop mode (`--every DURATION`): one pass per period until SIGTERM or
//! SIGINT.
//!
//! A signal never cuts a batch of DELETEs short: the first SIGTERM or SIGINT
//! stops what sends nothing at once (a scan in flight, verification), lets
//! the DELETEs already started finish, writes the pass's report and
//! textfile (a gateway whose scan was stopped is marked `interrupted`
//! there, not failed), and only then stops the loop, with exit 0. A second signal
//! stops at once (exit 1), for an operator who will not wait. A pass that
//! fails is logged and counted, and the loop goes on, except when the
//! `--state-file` has become something else than a state file: it is not
//! overwritten, and the loop stops (exit 1), as a run would not start.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;
use crate::exit::ExitStatus;
use crate::run::{load_state, run_with, Clock, Pass};
use tokio_util::sync::CancellationToken;

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM or SIGINT, after the pass in flight finished.
    Signal(&'static str),
    /// A second signal while the pass was still finishing.
    Forced(&'static str),
    /// The `--state-file` is no longer a state (replaced by another file
    /// since the loop started): as at start, it is not overwritten, and
    /// the loop stops (the pass's error line said why).
    StateFileReplaced,
}

/// Runs a pass every `every` (measured start to start; a pass longer than
/// the period is followed by the next at once, never overlapped), handing
/// each pass to `on_pass`, which returns the pass's exit status.
pub async fn run_every(
    config: &Config,
    every: Duration,
    clock: &Clock,
    mut on_pass: impl FnMut(&Pass) -> ExitStatus,
) -> std::io::Result<Stop> {
    // Registering replaces the default action (terminate), so a signal that
    // arrives mid-pass is only remembered; `recv` returns it afterwards.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut passes: u64 = 0;
    let mut failed: u64 = 0;
    // --grace's memory: read from the --state-file once, then carried from
    // pass to pass (the file, when given, is written after each).
    let mut state = load_state(config);
    loop {
        let started = Instant::now();
        let stop = CancellationToken::new();
        let mut signalled: Option<&'static str> = None;
        // The pass reads a copy; the memory takes its report afterwards.
        let remembered = state.clone();
        let pass = run_with(config, clock, &stop, &remembered);
        tokio::pin!(pass);
        let pass = loop {
            let signal = tokio::select! {
                pass = &mut pass => break pass,
                _ = sigterm.recv() => "SIGTERM",
                _ = sigint.recv() => "SIGINT",
            };
            if signalled.is_some() {
                return Ok(Stop::Forced(signal));
            }
            // At the default level: why the loop stops belongs in the log.
            tracing::warn!(
                "{signal}: finishing the pass in flight, then stopping (a second signal stops at once)"
            );
            signalled = Some(signal);
            stop.cancel();
        };
        // Recorded like any pass, interrupted or not: what the finished
        // gateways did (deletes sent and accepted) must not be forgotten.
        let status = on_pass(&pass);
        if config.policy.grace.is_some() {
            state.update(&pass.seen);
        }
        passes += 1;
        if state_file_replaced(config) {
            let noun = if passes == 1 { "pass" } else { "passes" };
            tracing::warn!(
                passes,
                "stopping after {passes} {noun}: the --state-file is no longer a state file"
            );
            return Ok(Stop::StateFileReplaced);
        }
        let report = &pass.report;
        if report.interrupted() {
            // Stopped mid-scan by an ordinary stop (systemctl stop, a pod
            // shutdown): not a failed run; the report marks the gateways.
            tracing::warn!(
                passes,
                "{}: the pass in flight was interrupted before every scan finished; \
                 recorded what the other gateways did",
                signalled.unwrap_or("a signal")
            );
        }
        if status == ExitStatus::Ok {
            tracing::info!(pass = passes, failed_passes = failed, "pass finished");
        } else {
            failed += 1;
            tracing::error!(
                pass = passes,
                exit_code = status.code(),
                failed_passes = failed,
                "pass failed; trying again in {}",
                humantime::format_duration(every)
            );
        }
        if let Some(signal) = signalled {
            return Ok(stopping(signal, passes));
        }
        tokio::select! {
            biased;
            _ = sigterm.recv() => return Ok(stopping("SIGTERM", passes)),
            _ = sigint.recv() => return Ok(stopping("SIGINT", passes)),
            _ = tokio::time::sleep_until(started + every) => {}
        }
    }
}

/// Whether the `--state-file` this loop writes has become something else
/// than a state: the pass just written left it as it was, and so would
/// every pass after it.
fn state_file_replaced(config: &Config) -> bool {
    let Some(path) = config
        .state_file
        .as_ref()
        .filter(|_| config.policy.grace.is_some() && !config.dry_run)
    else {
        return false;
    };
    matches!(
        crate::pending::load(path),
        Err(crate::pending::LoadError::NotAState(_))
    )
}

fn stopping(signal: &'static str, passes: u64) -> Stop {
    let noun = if passes == 1 { "pass" } else { "passes" };
    tracing::warn!(passes, "{signal}: stopping after {passes} {noun}");
    Stop::Signal(signal)
}
