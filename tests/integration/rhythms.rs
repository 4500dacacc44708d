//! Issue 30: each group's rhythm learned over simulated days, against a
//! real Pushgateway. Time passes as in `grace_state.rs`: every group the
//! gateway holds is made older (`Pushgateway::age`) and every time the
//! state file remembers is moved back by as much ([`shift_memory`]), so the
//! janitor's next pass is that much later for both; nothing sleeps.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::{janitor, report, stderr, Pushgateway, Report};

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// Every time the state file at `path` remembers (push times, deletes,
/// grace marks), moved `by` back: the memory is that much older.
fn shift_memory(path: &Path, by: Duration) {
    let remembered = ["stale_since", "last_activity", "deleted_at", "pushes"];
    common::shift_state_times(path, by, &remembered);
}

/// `by` passes for the gateway (when it holds anything) and the memory.
fn later(pg: &mut Pushgateway, state: &Path, by: u64) {
    let by = Duration::from_secs(by);
    if !pg.groups().is_empty() {
        pg.age(by);
    }
    if state.exists() {
        shift_memory(state, by);
    }
}

fn pass(pg: &Pushgateway, state: &Path, extra: &[&str]) -> (Report, String) {
    let state = state.to_str().unwrap();
    let mut args = vec!["--url", &pg.url, "--state-file", state, "--output", "json"];
    args.extend_from_slice(extra);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (report(&out), stderr(&out))
}

/// A learned cadence, to the minute: the real seconds each simulated step
/// takes (restarting the gateway) are in the gaps too.
fn minutes(cadence: Option<f64>) -> Option<u64> {
    cadence.map(|c| (c / 60.0).round() as u64)
}

fn job(name: &str) -> [(&str, &str); 1] {
    [("job", name)]
}

/// Producers every minute, hourly, and one that stops, seen by a pass
/// every 30 minutes for hours; a nightly one seen for days. The minutely
/// one is known as "at most 30m" (it is new at every pass), the hourly one
/// exactly; the one that stops becomes late after two cadences and is not
/// deleted for it.
#[test]
fn cadences_are_learned_and_a_producer_that_stops_is_late() {
    let mut pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let flags = ["--threshold", "30d"];
    let mut last = None;
    for step in 0..=11 {
        if step > 0 {
            later(&mut pg, &state, 30 * MINUTE);
        }
        pg.push_ok(&job("every-minute"), "m");
        if step % 2 == 0 {
            pg.push_ok(&job("hourly"), "m");
            if step <= 6 {
                pg.push_ok(&job("stops"), "m");
            }
        }
        let (r, _) = pass(&pg, &state, &flags);
        let stops = r.group(&job("stops")).unwrap();
        match step {
            0 => assert_eq!(stops.pushes_needed, Some(3)),
            4 => assert_eq!(stops.pushes_needed, Some(1)),
            6..=9 => assert_eq!(
                (minutes(stops.cadence_seconds), stops.late),
                (Some(60), false),
                "step {step}"
            ),
            _ => {}
        }
        last = Some(r);
    }
    let r = last.unwrap();
    let minute = r.group(&job("every-minute")).unwrap();
    assert_eq!(
        (
            minutes(minute.cadence_seconds),
            minute.cadence_upper_bound,
            minute.late
        ),
        (Some(30), true, false)
    );
    let hourly = r.group(&job("hourly")).unwrap();
    assert_eq!(
        (
            minutes(hourly.cadence_seconds),
            hourly.cadence_upper_bound,
            hourly.late
        ),
        (Some(60), false, false)
    );
    // Silent 2h30m, cadence 1h: late, and active (threshold 30d).
    let stops = r.group(&job("stops")).unwrap();
    assert!(stops.late, "{stops:?}");
    assert_eq!(stops.action, "active");
    assert_eq!(r.gateways[0].groups_late, 1);
    // The human line at -v says so.
    let out = janitor(&[
        "--url",
        &pg.url,
        "--state-file",
        state.to_str().unwrap(),
        "--threshold",
        "30d",
        "--dry-run",
        "-v",
    ]);
    let text = common::stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains(r#"{job="stops"}"#))
        .unwrap();
    assert!(line.ends_with(", late (cadence ~1h)"), "{line}");
}

/// A nightly job that pushes at its start and at its end, two hours
/// later: gaps of 2h, 22h, 2h. Their median (2h) is no cadence: under
/// `--missed-pushes 3` it would be deleted six hours after its last push
/// although it is on time. The gaps disagree, so it is irregular and keeps
/// `--threshold`. Before: deleted 7h after its push, "3 missed pushes of
/// at most ~2h".
#[test]
fn a_job_pushing_at_its_start_and_end_is_irregular_and_kept() {
    let mut pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let flags = ["--threshold", "30h", "--missed-pushes", "3"];
    let nightly = job("nightly");
    for (i, wait) in [0, 2 * HOUR, 22 * HOUR, 2 * HOUR].into_iter().enumerate() {
        if i > 0 {
            later(&mut pg, &state, wait);
        }
        pg.push_ok(&nightly, "m");
        let (r, _) = pass(&pg, &state, &flags);
        assert_eq!(r.group(&nightly).unwrap().action, "active", "push {i}");
    }
    later(&mut pg, &state, 7 * HOUR);
    let (r, _) = pass(&pg, &state, &flags);
    let g = r.group(&nightly).unwrap();
    assert_eq!(g.action, "active", "{}", g.reason);
    assert_eq!(g.threshold_source, "--threshold");
    assert!(g.irregular, "{g:?}");
    assert_eq!(
        (g.cadence_seconds, g.pushes_needed, g.late),
        (None, None, false)
    );
}

/// A nightly backup under a 10m threshold with `--missed-pushes 2`: deleted
/// ten minutes after each push, it returns three times (each warned about,
/// with the rule that would have kept it, and counted); its return gaps are
/// its cadence, so after the third it is judged by it and kept. Flink-style
/// keys that never return are forgotten after the return window.
#[test]
fn a_nightly_job_that_returns_is_learned_and_then_kept() {
    let mut pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let textfile = dir.path().join("janitor.prom");
    let textfile = textfile.to_str().unwrap();
    let flags = [
        "--threshold",
        "10m",
        "--missed-pushes",
        "2",
        "--textfile",
        textfile,
    ];
    let backup = job("backup");
    for night in 0..4 {
        if night > 0 {
            later(&mut pg, &state, DAY - 15 * MINUTE);
        }
        pg.push_ok(&backup, "backup_last_success");
        for i in 0..3 {
            let key = format!("{night}-{i}");
            pg.push_ok(&[("job", "flink"), ("key", &key)], "m");
        }
        let (r, err) = pass(&pg, &state, &flags);
        let g = r.group(&backup).unwrap();
        assert_eq!(g.action, "active", "night {night}");
        assert_eq!(r.gateways[0].groups_returned, u64::from(night > 0));
        if night > 0 {
            let returned = g.returned.as_ref().expect("returned");
            assert_eq!(
                minutes(Some(returned.after_seconds)),
                Some((DAY - 15 * MINUTE) / 60)
            );
            assert_eq!(returned.threshold_that_keeps_seconds, (27 * HOUR) as f64);
            let warning = err
                .lines()
                .find(|l| l.contains("returned: deleted as stale"))
                .unwrap();
            assert!(
                warning.contains(r#"--rule '{job="backup"}=27h' would have kept it"#),
                "{warning}"
            );
        }
        later(&mut pg, &state, 15 * MINUTE);
        let (r, _) = pass(&pg, &state, &flags);
        let g = r.group(&backup).unwrap();
        if night < 3 {
            assert_eq!(g.action, "deleted", "night {night}: {}", g.reason);
            assert_eq!(g.threshold_source, "--threshold");
        } else {
            // Three return gaps of a day: judged by its rhythm, kept.
            assert_eq!(g.action, "active", "{}", g.reason);
            assert_eq!(minutes(g.cadence_seconds), Some(DAY / 60));
            assert_eq!(
                g.threshold_source,
                "2 missed pushes of ~1d, learned from 4 pushes"
            );
        }
    }
    let prom = std::fs::read_to_string(textfile).unwrap();
    let counter = format!(
        "pushgateway_janitor_groups_returned_total{{gateway=\"{}\"}} 3",
        pg.url
    );
    assert!(prom.contains(&counter), "{prom}");
    // The Flink keys (12, each deleted once) are remembered until the
    // return window passes, then forgotten: the file does not grow.
    let departed = |path: &Path| -> usize {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["rhythms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["departed"].as_array().unwrap().len())
            .sum()
    };
    assert_eq!(departed(&state), 12);
    later(&mut pg, &state, 9 * DAY);
    // Nine silent days: two missed nights, the backup goes too.
    let (r, _) = pass(&pg, &state, &flags);
    assert_eq!(r.action_of(&backup), Some("deleted"));
    // The Flink keys are forgotten; the backup is remembered, deleted now.
    assert_eq!(departed(&state), 1);
}
