//! Loop mode (`--every DURATION`): one pass per period until SIGTERM or
//! SIGINT.
//!
//! A signal never interrupts a pass: the pass in flight (its scan and every
//! DELETE of its batch) runs to the end, its report and textfile are
//! written, and only then does the loop stop. Each request is bounded by
//! `--timeout`, so the wait is bounded too. A pass that fails is logged and
//! counted, and the loop goes on.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;
use crate::exit::ExitStatus;
use crate::report::Report;
use crate::run::{run, Clock};

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM or SIGINT, after the pass in flight finished.
    Signal(&'static str),
}

/// Runs a pass every `every` (measured start to start; a pass longer than
/// the period is followed by the next at once, never overlapped), handing
/// each report to `on_pass`, which returns the pass's exit status.
pub async fn run_every(
    config: &Config,
    every: Duration,
    clock: &Clock,
    mut on_pass: impl FnMut(&Report) -> ExitStatus,
) -> std::io::Result<Stop> {
    // Registering replaces the default action (terminate), so a signal that
    // arrives mid-pass is only remembered; `recv` returns it afterwards.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut passes: u64 = 0;
    let mut failed: u64 = 0;
    loop {
        let started = Instant::now();
        let report = run(config, clock).await;
        let status = on_pass(&report);
        passes += 1;
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
        tokio::select! {
            biased;
            _ = sigterm.recv() => return Ok(stopping("SIGTERM", passes)),
            _ = sigint.recv() => return Ok(stopping("SIGINT", passes)),
            _ = tokio::time::sleep_until(started + every) => {}
        }
    }
}

fn stopping(signal: &'static str, passes: u64) -> Stop {
    tracing::info!(passes, "{signal}: stopping after the pass in flight");
    Stop::Signal(signal)
}
