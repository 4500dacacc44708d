//! `--missed-pushes`: where a learned cadence sits among the thresholds
//! (issue 30). The plan receives the cadences; it learns nothing itself.

use super::*;
use crate::rhythm::{Cadence, Cadences, Learned};

const HOUR: f64 = 3600.0;

fn group(labels: &[(&str, &str)], push: f64) -> Entry {
    Entry::Group(Group {
        key: GroupingKey::new(labels.iter().copied()).unwrap(),
        last_push: Some(push),
        last_failure: None,
        newest_family_time: None,
        last_push_successful: None,
        ttl_metric: None,
        size: Default::default(),
    })
}

fn hourly(upper_bound: bool) -> Cadence {
    Cadence::Learned(Learned {
        seconds: HOUR,
        upper_bound,
        pushes: 5,
    })
}

fn decide(entries: Vec<Entry>, policy: &Policy, now: f64, cadences: &Cadences) -> Plan {
    decide_learned(
        entries,
        policy,
        now,
        LabelNaming::Legacy,
        &Marks::new(),
        cadences,
    )
}

fn by_job<'p>(plan: &'p Plan, job: &str) -> &'p Decision {
    plan.decisions
        .iter()
        .find(|d| matches!(&d.subject, Subject::Group(g) if g.key.job() == job))
        .unwrap()
}

/// Silent 3h30m under a 10m --threshold, `--missed-pushes 3`: an hourly
/// group whose cadence is learned is stale after 3h; one still learning
/// keeps --threshold; a matching --rule and a declared TTL come first; the
/// reason says which rhythm decided.
#[test]
fn a_learned_cadence_decides_after_ttls_and_rules_before_the_threshold() {
    let now = 100_000.0;
    let silent = now - 3.5 * HOUR;
    let mut policy = Policy::with_threshold(Duration::from_secs(600));
    policy.missed_pushes = Some(3);
    policy.rules = vec![crate::cli::parse_rule(r#"{job="ruled"}=1d"#).unwrap()];
    policy.ttl.label = Some("ttl".into());
    let key = |job: &str| GroupingKey::new([("job", job)]).unwrap();
    let cadences: Cadences = ["hourly", "ruled", "ttl", "fast"]
        .into_iter()
        .map(|j| (key(j), hourly(j == "fast")))
        .chain([(key("learning"), Cadence::Learning { needed: 2 })])
        .collect();
    let entries = vec![
        group(&[("job", "hourly")], silent),
        group(&[("job", "learning")], silent),
        group(&[("job", "ruled")], silent),
        group(&[("job", "ttl"), ("ttl", "1d")], silent),
        group(&[("job", "fast")], now - 2.0 * HOUR),
    ];
    let plan = decide(entries, &policy, now, &cadences);
    let hourly = by_job(&plan, "hourly");
    assert_eq!(hourly.verdict, Verdict::Stale);
    assert_eq!(hourly.threshold.seconds(), Some(3.0 * HOUR));
    let words = crate::report::decision_reason(hourly);
    assert!(
        words.ends_with("longer than 3h (3 missed pushes of ~1h, learned from 5 pushes)"),
        "{words}"
    );
    let learning = by_job(&plan, "learning");
    assert_eq!(
        (learning.verdict, &learning.threshold_source),
        (Verdict::Stale, &ThresholdSource::Threshold)
    );
    assert_eq!(by_job(&plan, "ruled").verdict, Verdict::Active);
    assert!(matches!(
        by_job(&plan, "ttl").threshold_source,
        ThresholdSource::Ttl { .. }
    ));
    let fast = by_job(&plan, "fast");
    assert_eq!(fast.verdict, Verdict::Active);
    assert_eq!(
        fast.threshold_source.to_string(),
        "3 missed pushes of at most ~1h, learned from 5 pushes"
    );
    // Without --missed-pushes the cadence decides nothing.
    policy.missed_pushes = None;
    let plan = decide(
        vec![group(&[("job", "hourly")], now - 2.0 * HOUR)],
        &policy,
        now,
        &cadences,
    );
    assert_eq!(
        plan.decisions[0].threshold_source,
        ThresholdSource::Threshold
    );
}

/// N cadences shorter than --min-ttl are raised to it, as a TTL is.
#[test]
fn missed_pushes_are_not_below_min_ttl() {
    let now = 100_000.0;
    let mut policy = Policy::with_threshold(Duration::from_secs(600));
    policy.missed_pushes = Some(2);
    policy.ttl.min = Some(Duration::from_secs(3 * 3600));
    let key = GroupingKey::new([("job", "hourly")]).unwrap();
    let cadences = Cadences::from([(key, hourly(false))]);
    let plan = decide(
        vec![group(&[("job", "hourly")], now - 2.5 * HOUR)],
        &policy,
        now,
        &cadences,
    );
    let d = &plan.decisions[0];
    assert_eq!(
        (d.verdict, d.threshold.seconds()),
        (Verdict::Active, Some(3.0 * HOUR))
    );
    assert_eq!(
        d.threshold_source.to_string(),
        "2 missed pushes of ~1h, learned from 5 pushes, raised to --min-ttl 3h"
    );
}
