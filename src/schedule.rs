//! Loop mode (`--every DURATION`): one pass per period until SIGTERM or
//! SIGINT.
//!
//! A signal never cuts a batch of DELETEs short: the first SIGTERM or SIGINT
//! stops what sends nothing at once (a scan in flight, verification), lets
//! the DELETEs already started finish, writes the pass's report and
//! textfile (a gateway whose scan was stopped is marked `interrupted`
//! there, not failed), and only then stops the loop, with exit 0. A second signal
//! stops at once (exit 1), for an operator who will not wait: also while
//! the outputs are written, where it ends every wait (the notification, the
//! push, a lock). A pass that fails is logged and counted, and the loop
//! goes on, except when the `--state-file` has become something else than
//! a state file: it is not overwritten, and the loop stops (exit 1), as a
//! run would not start.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;
use crate::exit::ExitStatus;
use crate::run::{load_state, run_with, Batch, Clock, Interrupts, Pass};
use tokio_util::sync::CancellationToken;

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM or SIGINT, after the pass in flight finished.
    Signal(&'static str),
    /// A second signal gave up the DELETEs in flight: the pass was not
    /// recorded.
    Forced(&'static str),
    /// A second signal after the pass's DELETEs ended: the pass was
    /// recorded (an output still waited for given up), and this is the
    /// status its outputs gave.
    Recorded(ExitStatus),
    /// The `--state-file` is no longer a state (replaced by another file
    /// since the loop started): as at start, it is not overwritten, and
    /// the loop stops (the pass's error line said why).
    StateFileReplaced,
}

/// What the signals asked so far, told by the task that listens for them
/// from the start of the loop to its end (also while the outputs are
/// written, which block the loop's own task).
#[derive(Debug, Default)]
struct Signals {
    /// The first: finish what is in flight, then stop.
    first: std::sync::OnceLock<&'static str>,
    /// The second: stop every wait now.
    second: std::sync::OnceLock<&'static str>,
    stop: CancellationToken,
    now: CancellationToken,
    /// A pass, or its outputs, is under way.
    busy: std::sync::atomic::AtomicBool,
}

/// Listens for SIGTERM and SIGINT until the second one.
async fn listen(
    mut sigterm: tokio::signal::unix::Signal,
    mut sigint: tokio::signal::unix::Signal,
    signals: Arc<Signals>,
) {
    loop {
        let signal = tokio::select! {
            _ = sigterm.recv() => "SIGTERM",
            _ = sigint.recv() => "SIGINT",
        };
        if signals.first.set(signal).is_ok() {
            if signals.busy.load(Ordering::SeqCst) {
                // At the default level: why the loop stops belongs in the log.
                tracing::warn!(
                    "{signal}: finishing the pass in flight, then stopping (a second signal stops at once)"
                );
            }
            signals.stop.cancel();
            continue;
        }
        let _ = signals.second.set(signal);
        // Every wait that follows ends at once: the lock waits of the file
        // writes (on threads of their own), the requests (this token).
        crate::files::give_up_waiting();
        signals.now.cancel();
        return;
    }
}

/// Runs a pass every `every` (measured start to start; a pass longer than
/// the period is followed by the next at once, never overlapped), handing
/// each pass to `on_pass`, which returns the pass's exit status. The
/// token `on_pass` gets is cancelled by a second signal: its waits (a
/// notification, a push) end there.
pub async fn run_every(
    config: &Config,
    every: Duration,
    clock: &Clock,
    mut on_pass: impl FnMut(&Pass, &CancellationToken) -> ExitStatus,
) -> std::io::Result<Stop> {
    // Registering replaces the default action (terminate), so a signal is
    // only remembered, and told by the listener.
    let sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let signals = Arc::new(Signals::default());
    // Owned here: it ends (aborted, then awaited) before the loop returns.
    let listener = tokio::spawn(listen(sigterm, sigint, Arc::clone(&signals)));
    let stopped = run_passes(config, every, clock, &signals, &mut on_pass).await;
    listener.abort();
    let _ = listener.await;
    Ok(stopped)
}

async fn run_passes(
    config: &Config,
    every: Duration,
    clock: &Clock,
    signals: &Signals,
    on_pass: &mut impl FnMut(&Pass, &CancellationToken) -> ExitStatus,
) -> Stop {
    let mut passes: u64 = 0;
    let mut failed: u64 = 0;
    let forced = || Stop::Forced(signals.second.get().copied().unwrap_or("signal"));
    // The memory (--grace's marks, the rhythms): read from the --state-file
    // once, then carried from pass to pass (the file, when given, is
    // written after each).
    let mut state = load_state(config);
    let interrupts = Interrupts {
        stop: signals.stop.clone(),
        now: signals.now.clone(),
    };
    loop {
        let started = Instant::now();
        signals.busy.store(true, Ordering::SeqCst);
        // The pass reads a copy; the memory takes its report afterwards.
        let remembered = state.clone();
        // The first signal stops what sends nothing; the second gives up
        // the DELETEs in flight too. Either way the pass is awaited to its
        // end, which comes at once, so that nothing it started outlives it.
        let pass = run_with(config, clock, &interrupts, &remembered).await;
        // Only a pass whose DELETEs were given up is not recorded: what came
        // of them is unknown. One a second signal reached after they ended
        // (while it verified them, or just after) is whole.
        if pass.batch == Batch::GivenUp {
            return forced();
        }
        // Recorded like any pass, interrupted or not: what the finished
        // gateways did (deletes sent and accepted) must not be forgotten.
        let status = on_pass(&pass, &signals.now);
        signals.busy.store(false, Ordering::SeqCst);
        if let Some(signal) = signals.second.get().copied() {
            tracing::warn!(
                "a second {signal}: stopping; the pass in flight was recorded, what its \
                 outputs had not finished was given up"
            );
            return Stop::Recorded(status);
        }
        state.update(&pass.seen);
        passes += 1;
        if state_file_replaced(config) {
            let noun = if passes == 1 { "pass" } else { "passes" };
            tracing::warn!(
                passes,
                "stopping after {passes} {noun}: the --state-file is no longer a state file"
            );
            return Stop::StateFileReplaced;
        }
        let report = &pass.report;
        let signalled = signals.first.get().copied();
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
            return stopping(signal, passes);
        }
        tokio::select! {
            biased;
            _ = signals.stop.cancelled() => {
                return stopping(signals.first.get().copied().unwrap_or("a signal"), passes)
            }
            _ = tokio::time::sleep_until(started + every) => {}
        }
    }
}

/// Whether the `--state-file` this loop writes has become something else
/// than a state: the pass just written left it as it was, and so would
/// every pass after it.
fn state_file_replaced(config: &Config) -> bool {
    let Some(path) = config.state_file.as_ref().filter(|_| !config.dry_run) else {
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
