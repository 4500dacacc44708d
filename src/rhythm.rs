//! Each group's rhythm, learned from the push times the passes see: its
//! cadence (the median gap between the distinct push times remembered),
//! whether it is late, and whether a group deleted as stale came back.
//! Pure: the times are passed in, nothing is read or written here; the
//! state file (`pending`) keeps a [`Memory`] per gateway, and the plan
//! receives the [`Cadence`]s as input.
//!
//! The rules, each stated by a test below:
//! - a pass *observes* a group's last activity (as `--activity` counts it);
//!   a time newer than the last one remembered is a push, the same time
//!   again is one more pass that saw it, an older one (a clock that went
//!   back, a group replaced) starts the memory again;
//! - at most [`PUSHES_KEPT`] pushes are kept, so at most five gaps; the
//!   cadence is learned once [`GAPS_NEEDED`] gaps are seen, if they agree:
//!   gaps more than [`IRREGULAR_SPREAD`] times apart are no cadence
//!   ([`Cadence::Irregular`]);
//! - when every push but the newest was seen by one pass only, the janitor
//!   may have missed pushes between its passes: the cadence is then an
//!   upper bound ("at most");
//! - a group is late when silent longer than `--late-after` times its cadence;
//! - a group the janitor deleted as stale is remembered for
//!   [`RETURN_WINDOW`]; pushed again under the same grouping key within it,
//!   it has *returned*, and the gap counts as one of its gaps;
//! - at most [`DEPARTED_KEPT`] deleted groups are remembered per gateway
//!   (the most recently deleted), so keys that never come back (Flink's
//!   random suffixes) cannot grow the memory without bound.
//!
//! A group is remembered by a 128-bit hash of its exact grouping key
//! ([`KeyHash`]), not the key itself: the key is on the gateway whenever the
//! memory is used, and the hash keeps the state file small and quick to
//! read (one 32-digit hex string per group, no label values).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::group::GroupingKey;

/// How many distinct push times a group's memory keeps: five gaps, so the
/// median is over an odd count once full and one late push cannot move it.
pub const PUSHES_KEPT: usize = 6;

/// How many gaps are needed before a cadence is trusted: three that agree
/// (see [`IRREGULAR_SPREAD`]).
pub const GAPS_NEEDED: usize = 3;

/// How far apart the gaps of one rhythm may be: a cadence is learned only
/// when the largest gap remembered is at most twice the smallest. A
/// schedule's jitter is a small part of its period, and one skipped push
/// doubles a gap exactly; a job that pushes at its start and end (gaps of
/// 2h and 22h), or progress every minute for an hour once a day, spreads
/// far wider, and the median of such gaps is not when the next push is
/// due. Deleting by it would delete a healthy group, so such a group keeps
/// `--threshold`.
pub const IRREGULAR_SPREAD: f64 = 2.0;

/// How long a group deleted as stale is remembered, waiting for its
/// producer: eight days, so a weekly job deleted ten minutes after its push
/// is still known when it pushes again a week later, with a day to spare.
pub const RETURN_WINDOW: Duration = Duration::from_secs(8 * 86_400);

/// How many deleted groups one gateway's memory keeps at most (the most
/// recently deleted win): what bounds it when keys never return.
pub const DEPARTED_KEPT: usize = 10_000;

/// `--late-after`'s default: silent for two cadences. One cadence plus any
/// jitter is the normal worst case for a producer on time; a whole missed
/// push beyond that is a signal, and a shorter factor flags every cron job
/// that runs a little long.
pub const DEFAULT_LATE_AFTER: f64 = 2.0;

/// A group's exact grouping key as the memory knows it: FNV-1a, 128 bits,
/// over its label names and values (`job` first, then by name), each
/// followed by a 0xFF byte that UTF-8 never holds, so `{a="bc"}` and
/// `{ab="c"}` differ. Stable across versions and platforms: it is what the
/// state file holds. Two of 10,000 keys collide with a chance of about
/// 10^-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyHash(pub u128);

impl KeyHash {
    pub fn of(key: &GroupingKey) -> KeyHash {
        const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
        const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
        let mut h = OFFSET;
        let mut eat = |bytes: &[u8]| {
            for b in bytes.iter().chain([&0xFF]) {
                h ^= u128::from(*b);
                h = h.wrapping_mul(PRIME);
            }
        };
        for (name, value) in key.iter() {
            eat(name.as_bytes());
            eat(value.as_bytes());
        }
        KeyHash(h)
    }

    /// Its 32 hex digits, as the state file writes it.
    pub fn parse(hex: &str) -> Option<KeyHash> {
        (hex.len() == 32)
            .then(|| u128::from_str_radix(hex, 16).ok())
            .flatten()
            .map(KeyHash)
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// One distinct push time, and how many passes saw it as the group's last
/// activity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Push {
    /// Unix seconds, rounded to the millisecond.
    pub at: f64,
    pub passes: u32,
}

/// What the passes remember of one group: its last distinct push times,
/// oldest first. Held inline, times and counts apart (64 bytes, no
/// allocation per group): a memory of 10,000 groups is about 10,000 of
/// these. A count saturates at 65,535 passes: only whether it is more
/// than one matters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rhythm {
    at: [f64; PUSHES_KEPT],
    passes: [u16; PUSHES_KEPT],
    len: u8,
}

impl PartialEq for Rhythm {
    fn eq(&self, other: &Rhythm) -> bool {
        self.times() == other.times() && self.counts() == other.counts()
    }
}

/// A group's cadence as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cadence {
    /// Fewer than [`GAPS_NEEDED`] gaps seen: `needed` more pushes.
    Learning {
        needed: usize,
    },
    Learned(Learned),
    /// The gaps remembered disagree (the largest is more than
    /// [`IRREGULAR_SPREAD`] times the smallest): pushes in bursts, or at
    /// the start and end of a run. No cadence: the group keeps
    /// `--threshold` and is never late.
    Irregular,
}

/// A learned cadence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Learned {
    /// The median gap, in seconds.
    pub seconds: f64,
    /// The janitor may have missed pushes between its passes (each push
    /// was new at the next pass): the cadence is at most `seconds`.
    pub upper_bound: bool,
    /// How many pushes it was learned from.
    pub pushes: usize,
}

/// Times as the memory keeps them: to the millisecond, so a file stays
/// small and a time read back compares equal to the one written.
fn rounded(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

impl Rhythm {
    /// How many pushes are remembered.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The push times remembered, oldest first.
    pub fn times(&self) -> &[f64] {
        &self.at[..self.len()]
    }

    fn counts(&self) -> &[u16] {
        &self.passes[..self.len()]
    }

    /// The pushes remembered, oldest first.
    pub fn pushes(&self) -> impl Iterator<Item = Push> + '_ {
        self.times()
            .iter()
            .zip(self.counts())
            .map(|(&at, &passes)| Push {
                at,
                passes: u32::from(passes),
            })
    }

    /// A memory of these pushes (oldest first): the last [`PUSHES_KEPT`].
    pub fn of(pushes: impl IntoIterator<Item = Push>) -> Rhythm {
        let mut r = Rhythm::default();
        for p in pushes {
            r.append(p);
        }
        r
    }

    fn append(&mut self, push: Push) {
        if self.len() == PUSHES_KEPT {
            self.at.copy_within(1.., 0);
            self.passes.copy_within(1.., 0);
            self.len -= 1;
        }
        self.at[self.len()] = push.at;
        self.passes[self.len()] = u16::try_from(push.passes).unwrap_or(u16::MAX);
        self.len += 1;
    }

    /// The memory of a group first seen with this last activity.
    pub fn first(activity: f64) -> Rhythm {
        let mut r = Rhythm::default();
        r.observe(activity);
        r
    }

    /// The newest push remembered.
    pub fn last(&self) -> Option<f64> {
        self.times().last().copied()
    }

    /// One pass saw the group with this last activity.
    pub fn observe(&mut self, activity: f64) {
        let at = rounded(activity);
        let push = Push { at, passes: 1 };
        match self.len.checked_sub(1).map(usize::from) {
            Some(last) if self.at[last] == at => {
                self.passes[last] = self.passes[last].saturating_add(1)
            }
            Some(last) if self.at[last] < at => self.append(push),
            // Older than what was seen: not the producer we learned from.
            _ => *self = Rhythm::of([push]),
        }
    }

    /// The gaps between consecutive pushes, oldest first.
    pub fn gaps(&self) -> impl Iterator<Item = f64> + '_ {
        self.times().windows(2).map(|w| w[1] - w[0])
    }

    pub fn cadence(&self) -> Cadence {
        let mut gaps = [0.0; PUSHES_KEPT - 1];
        let mut n = 0;
        for (slot, gap) in gaps.iter_mut().zip(self.gaps()) {
            *slot = gap;
            n += 1;
        }
        let gaps = &mut gaps[..n];
        if gaps.len() < GAPS_NEEDED {
            return Cadence::Learning {
                needed: GAPS_NEEDED + 1 - self.len(),
            };
        }
        let smallest = gaps.iter().copied().fold(f64::INFINITY, f64::min);
        let largest = gaps.iter().copied().fold(0.0, f64::max);
        if largest > IRREGULAR_SPREAD * smallest {
            return Cadence::Irregular;
        }
        let (_, older) = self.counts().split_last().expect("gaps need pushes");
        Cadence::Learned(Learned {
            seconds: median(gaps),
            upper_bound: older.iter().all(|passes| *passes <= 1),
            pushes: self.len(),
        })
    }
}

/// The median of `values` (not empty): the middle one, or the mean of the
/// two middle ones.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

impl Cadence {
    /// The learned cadence, if any.
    pub fn learned(&self) -> Option<Learned> {
        match self {
            Cadence::Learned(l) => Some(*l),
            Cadence::Learning { .. } | Cadence::Irregular => None,
        }
    }
}

/// Whether a group silent for `silent_for` seconds is late: its cadence is
/// learned and it has been silent longer than `late_after` times it.
pub fn late(cadence: Cadence, silent_for: Option<f64>, late_after: f64) -> bool {
    match (cadence, silent_for) {
        (Cadence::Learned(l), Some(silent)) => silent > late_after * l.seconds,
        _ => false,
    }
}

/// A group deleted as stale, remembered in case its producer comes back.
#[derive(Debug, Clone, PartialEq)]
pub struct Departed {
    pub deleted_at: f64,
    pub rhythm: Rhythm,
}

impl Departed {
    /// Whether it is still remembered at `now`: deleted within
    /// [`RETURN_WINDOW`] (and not further in the future than that, a clock
    /// that went back). Past it, a group pushed again under its key is a
    /// new group: the one place the window is decided.
    pub fn remembered_at(&self, now: f64) -> bool {
        let window = RETURN_WINDOW.as_secs_f64();
        now - self.deleted_at <= window && self.deleted_at <= now + window
    }
}

/// A group deleted as stale and pushed again under the same grouping key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Returned {
    /// When the janitor deleted it.
    pub deleted_at: f64,
    /// Its last push before it was deleted, and the new one.
    pub last_push: f64,
    pub pushed_again: f64,
}

impl Returned {
    /// From its push before the delete to its push after: the gap its
    /// threshold was too short for.
    pub fn gap(&self) -> f64 {
        self.pushed_again - self.last_push
    }

    /// A threshold that would have kept it: the gap and a tenth, for the
    /// jitter of a schedule and a job that runs longer, rounded up to the
    /// minute (to the hour past a day) so that it reads as people write it.
    pub fn threshold_that_keeps(&self) -> Duration {
        // In whole milliseconds: 3600 * 1.1 is 3960.0000000000005 in f64.
        let want = (self.gap().max(0.0) * 1000.0).round() as u64 * 11 / 10;
        let unit: u64 = if want > 86_400_000 { 3_600_000 } else { 60_000 };
        Duration::from_millis(want.div_ceil(unit).max(1) * unit)
    }
}

/// One gateway's memory: the rhythm of each group on it, and the groups
/// deleted as stale within [`RETURN_WINDOW`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    pub groups: BTreeMap<KeyHash, Rhythm>,
    pub departed: BTreeMap<KeyHash, Departed>,
}

/// What one pass over a gateway saw, for its memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassSeen {
    /// The plan's `now`.
    pub now: f64,
    /// Each group with a known last activity (selected or not).
    pub groups: Vec<(KeyHash, f64)>,
    /// The groups this pass deleted as stale (gone, not evicted).
    pub deleted: Vec<KeyHash>,
    /// Groups on the gateway whose last activity this pass could not read:
    /// still there, so their memory is kept as it was.
    pub unread: Vec<KeyHash>,
}

impl Memory {
    /// Whether `key`, seen at `now` with `activity`, is a group deleted as
    /// stale within [`RETURN_WINDOW`] that was pushed again: the one place
    /// this is decided.
    pub fn returned(&self, key: KeyHash, activity: f64, now: f64) -> Option<Returned> {
        let departed = self.departed_at(key, now)?;
        let last_push = departed.rhythm.last()?;
        (rounded(activity) > last_push).then_some(Returned {
            deleted_at: departed.deleted_at,
            last_push,
            pushed_again: rounded(activity),
        })
    }

    /// The departed group `key`, if it is still remembered at `now`.
    fn departed_at(&self, key: KeyHash, now: f64) -> Option<&Departed> {
        self.departed.get(&key).filter(|d| d.remembered_at(now))
    }

    /// The rhythm of `key` at `now` once this pass's `activity` is counted:
    /// what the plan decides by. A returned group's return gap counts (a
    /// return after [`RETURN_WINDOW`] is a new group).
    pub fn rhythm_after(&self, key: KeyHash, activity: f64, now: f64) -> Rhythm {
        // A group still shown after its delete (not landed yet) keeps its
        // memory too.
        let mut rhythm = match (self.groups.get(&key), self.departed_at(key, now)) {
            (Some(r), None) => *r,
            (_, Some(d)) => d.rhythm,
            (None, None) => Rhythm::default(),
        };
        rhythm.observe(activity);
        rhythm
    }

    /// The cadence of each group of `groups` (key, last activity) after
    /// the pass at `now`, for the plan.
    pub fn cadences<'k>(
        &self,
        now: f64,
        groups: impl IntoIterator<Item = (&'k GroupingKey, f64)>,
    ) -> Cadences {
        groups
            .into_iter()
            .map(|(key, activity)| {
                let cadence = self.rhythm_after(KeyHash::of(key), activity, now).cadence();
                (key.clone(), cadence)
            })
            .collect()
    }

    /// The memory after a pass that saw `seen`: exactly the groups it saw,
    /// each with this pass counted, and those it saw unread as they were
    /// (one unreadable pass must not unlearn a rhythm); those it deleted as
    /// stale move to the departed; a group gone without a delete of ours is
    /// forgotten; the
    /// departed older than [`RETURN_WINDOW`], or beyond [`DEPARTED_KEPT`],
    /// drop out.
    pub fn update(&mut self, seen: &PassSeen) {
        let mut groups = BTreeMap::new();
        for (key, activity) in &seen.groups {
            groups.insert(*key, self.rhythm_after(*key, *activity, seen.now));
            self.departed.remove(key);
        }
        for key in &seen.unread {
            if let Some(rhythm) = self.groups.get(key) {
                groups.entry(*key).or_insert(*rhythm);
            }
        }
        for key in &seen.deleted {
            if let Some(rhythm) = groups.remove(key) {
                let deleted_at = seen.now;
                self.departed.insert(*key, Departed { deleted_at, rhythm });
            }
        }
        self.groups = groups;
        self.departed.retain(|_, d| d.remembered_at(seen.now));
        if self.departed.len() > DEPARTED_KEPT {
            let mut times: Vec<f64> = self.departed.values().map(|d| d.deleted_at).collect();
            let cut = self.departed.len() - DEPARTED_KEPT;
            times.select_nth_unstable_by(cut - 1, f64::total_cmp);
            let oldest_kept = times[cut - 1];
            let mut dropped = 0;
            self.departed.retain(|_, d| {
                let drop = d.deleted_at <= oldest_kept && dropped < cut;
                dropped += usize::from(drop);
                !drop
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.departed.is_empty()
    }
}

/// Each group's cadence, by grouping key: what the plan receives.
pub type Cadences = BTreeMap<GroupingKey, Cadence>;

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: f64 = 3600.0;
    const DAY: f64 = 86_400.0;
    const PINNED: &str = "0e926640b6290a0e7ac8afd20fc62e84";

    fn key(job: &str) -> GroupingKey {
        GroupingKey::new([("job", job)]).unwrap()
    }

    fn hash(job: &str) -> KeyHash {
        KeyHash::of(&key(job))
    }

    /// The rhythm of a group seen by passes at `passes`, pushed at `pushes`.
    fn seen_by(passes: impl IntoIterator<Item = f64>, pushes: &[f64]) -> Rhythm {
        let mut r = Rhythm::default();
        for pass in passes {
            if let Some(last) = pushes.iter().rev().find(|p| **p <= pass) {
                r.observe(*last);
            }
        }
        r
    }

    fn every(step: f64, from: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| from + step * i as f64).collect()
    }

    #[test]
    fn three_gaps_learn_the_median_and_fewer_say_how_many_pushes_are_missing() {
        let mut r = Rhythm::default();
        assert_eq!(r.cadence(), Cadence::Learning { needed: 4 });
        for (i, t) in [0.0, HOUR, 2.0 * HOUR].into_iter().enumerate() {
            r.observe(t);
            assert_eq!(r.cadence(), Cadence::Learning { needed: 3 - i });
        }
        r.observe(3.0 * HOUR + 120.0);
        let l = r.cadence().learned().unwrap();
        assert_eq!((l.seconds, l.pushes), (HOUR, 4));
        r.observe(4.0 * HOUR);
        assert_eq!(r.cadence().learned().unwrap().seconds, HOUR);
    }

    /// Gaps that disagree are no cadence: a nightly job pushing at its
    /// start and end, or progress every minute for an hour a day, would
    /// otherwise be "due" every 2h or every minute and deleted while
    /// healthy. A retried push is such a gap too, until it leaves the
    /// memory.
    #[test]
    fn gaps_that_disagree_are_irregular_not_a_cadence() {
        let start_and_end =
            Rhythm::of([0.0, 2.0 * HOUR, DAY, DAY + 2.0 * HOUR].map(|at| Push { at, passes: 2 }));
        assert_eq!(start_and_end.cadence(), Cadence::Irregular);
        let mut times = every(60.0, 0.0, 6);
        times.push(times[5] + 23.0 * HOUR);
        let progress = Rhythm::of(times.into_iter().map(|at| Push { at, passes: 2 }));
        assert_eq!(progress.cadence(), Cadence::Irregular);
        assert!(!late(progress.cadence(), Some(DAY), 2.0));
        let mut retried = seen_by(every(HOUR, 1.0, 4), &every(HOUR, 0.0, 4));
        retried.observe(3.0 * HOUR + 300.0);
        assert_eq!(retried.cadence(), Cadence::Irregular);
        // Twice the smallest gap (one skipped push) is still a cadence.
        let skipped = Rhythm::of([0.0, DAY, 2.0 * DAY, 4.0 * DAY].map(|at| Push { at, passes: 2 }));
        assert_eq!(skipped.cadence().learned().unwrap().seconds, DAY);
    }

    #[test]
    fn the_same_time_again_is_no_push_and_an_older_one_starts_again() {
        let mut r = Rhythm::first(10.0);
        r.observe(10.0);
        r.observe(10.0004);
        assert_eq!(
            r.pushes().collect::<Vec<_>>(),
            [Push {
                at: 10.0,
                passes: 3
            }]
        );
        r.observe(20.0);
        r.observe(5.0);
        assert_eq!(
            r.pushes().collect::<Vec<_>>(),
            [Push { at: 5.0, passes: 1 }]
        );
    }

    #[test]
    fn memory_per_group_is_bounded() {
        let mut r = Rhythm::default();
        for t in every(60.0, 0.0, 1000) {
            r.observe(t);
        }
        assert_eq!(r.len(), PUSHES_KEPT);
        assert_eq!(r.times()[0], 60.0 * (1000 - PUSHES_KEPT) as f64);
        assert_eq!(std::mem::size_of::<Rhythm>(), 64);
        assert_eq!(r.gaps().count(), PUSHES_KEPT - 1);
    }

    /// A producer slower than the passes is seen twice or more: its gaps
    /// are exact. One faster is new at every pass: the gaps are the passes',
    /// and the cadence is "at most" that.
    #[test]
    fn a_producer_faster_than_the_janitor_is_an_upper_bound() {
        let passes = every(600.0, 1.0, 40);
        let hourly = seen_by(passes.clone(), &every(HOUR, 0.0, 8));
        let l = hourly.cadence().learned().unwrap();
        assert_eq!((l.seconds, l.upper_bound), (HOUR, false));
        let minutely = seen_by(passes, &every(60.0, 0.0, 400));
        let l = minutely.cadence().learned().unwrap();
        assert_eq!((l.seconds, l.upper_bound), (600.0, true));
    }

    #[test]
    fn late_is_silent_longer_than_late_after_cadences() {
        let hourly = seen_by(every(HOUR, 1.0, 5), &every(HOUR, 0.0, 5)).cadence();
        assert!(!late(hourly, Some(2.0 * HOUR), 2.0));
        assert!(late(hourly, Some(2.0 * HOUR + 1.0), 2.0));
        assert!(!late(hourly, None, 2.0));
        let learning = Rhythm::first(0.0).cadence();
        assert!(!late(learning, Some(100.0 * DAY), 2.0));
    }

    fn pass(now: f64, groups: &[(&str, f64)], deleted: &[&str]) -> PassSeen {
        PassSeen {
            now,
            groups: groups.iter().map(|(j, t)| (hash(j), *t)).collect(),
            deleted: deleted.iter().map(|j| hash(j)).collect(),
            unread: Vec::new(),
        }
    }

    /// A nightly job under a 10m threshold: deleted ten minutes after each
    /// push, it returns; each return is a gap, and after three its
    /// cadence is learned.
    #[test]
    fn a_returned_group_is_named_and_its_return_gaps_count() {
        let mut m = Memory::default();
        let mut t = 0.0;
        for night in 0..4 {
            let push = night as f64 * DAY;
            t = push + 60.0;
            let returned = m.returned(hash("backup"), push, t);
            assert_eq!(returned.is_some(), night > 0, "night {night}");
            if let Some(r) = returned {
                assert_eq!(r.gap(), DAY);
                assert_eq!(r.deleted_at, push - DAY + 660.0);
                assert_eq!(r.threshold_that_keeps(), Duration::from_secs(27 * 3600));
            }
            let cadence = m.cadences(t, [(&key("backup"), push)])[&key("backup")];
            assert_eq!(cadence.learned().is_some(), night == 3, "night {night}");
            m.update(&pass(t, &[("backup", push)], &[]));
            if night < 3 {
                m.update(&pass(push + 660.0, &[("backup", push)], &["backup"]));
                assert!(m.groups.is_empty());
            }
        }
        assert_eq!(
            m.groups[&hash("backup")]
                .cadence()
                .learned()
                .unwrap()
                .seconds,
            DAY
        );
        assert!(m.departed.is_empty());
        let _ = t;
    }

    /// Pushed again after the window, a group is a new one: not returned,
    /// and its memory starts again, even when no pass dropped the departed
    /// entry before this one.
    #[test]
    fn a_return_after_the_window_is_a_new_group() {
        let mut m = Memory::default();
        for t in every(HOUR, 0.0, 4) {
            m.update(&pass(t + 1.0, &[("weekly", t)], &[]));
        }
        m.update(&pass(4.0 * HOUR, &[("weekly", 3.0 * HOUR)], &["weekly"]));
        let window = RETURN_WINDOW.as_secs_f64();
        let within = 4.0 * HOUR + window;
        assert!(m.returned(hash("weekly"), within - 1.0, within).is_some());
        let after = within + 60.0;
        assert_eq!(m.returned(hash("weekly"), after - 1.0, after), None);
        let cadence = m.cadences(after, [(&key("weekly"), after - 1.0)])[&key("weekly")];
        assert_eq!(cadence, Cadence::Learning { needed: 3 });
    }

    /// A pass that could not read a group's push time (a broken entry, a
    /// failed push with `--activity successful`) keeps its rhythm: it is
    /// still on the gateway. Before: one such pass forgot it.
    #[test]
    fn a_group_unread_for_one_pass_keeps_its_rhythm() {
        let mut m = Memory::default();
        for t in every(HOUR, 0.0, 4) {
            m.update(&pass(t + 1.0, &[("hourly", t)], &[]));
        }
        let learned = m.groups[&hash("hourly")];
        assert!(learned.cadence().learned().is_some());
        let mut unread = pass(4.0 * HOUR + 1.0, &[], &[]);
        unread.unread.push(hash("hourly"));
        m.update(&unread);
        assert_eq!(m.groups.get(&hash("hourly")), Some(&learned));
        m.update(&pass(5.0 * HOUR + 1.0, &[], &[]));
        assert!(m.groups.is_empty());
    }

    #[test]
    fn a_group_gone_without_our_delete_is_forgotten() {
        let mut m = Memory::default();
        m.update(&pass(0.0, &[("a", 0.0), ("b", 0.0)], &[]));
        m.update(&pass(10.0, &[("a", 0.0)], &[]));
        assert_eq!(
            m.groups.keys().cloned().collect::<Vec<_>>(),
            vec![hash("a")]
        );
        assert!(m.departed.is_empty());
    }

    /// Keys that never return: forgotten after the window, and never more
    /// than [`DEPARTED_KEPT`] remembered.
    #[test]
    fn departed_keys_are_bounded_by_time_and_count() {
        let mut m = Memory::default();
        let mut now = 0.0;
        for batch in 0..12 {
            let jobs: Vec<String> = (0..1000).map(|i| format!("flink-{batch}-{i}")).collect();
            let groups: Vec<(&str, f64)> = jobs.iter().map(|j| (j.as_str(), now)).collect();
            let names: Vec<&str> = jobs.iter().map(String::as_str).collect();
            m.update(&pass(now, &groups, &names));
            now += 60.0;
        }
        assert_eq!(m.departed.len(), DEPARTED_KEPT);
        assert!(!m.departed.contains_key(&hash("flink-0-0")));
        assert!(m.departed.contains_key(&hash("flink-11-999")));
        m.update(&pass(now + RETURN_WINDOW.as_secs_f64() + 1000.0, &[], &[]));
        assert!(m.is_empty());
    }

    /// The hash is stable (the file holds it) and tells apart keys that
    /// concatenate alike.
    #[test]
    fn a_key_hash_is_stable_and_exact() {
        let k =
            |pairs: &[(&str, &str)]| KeyHash::of(&GroupingKey::new(pairs.iter().copied()).unwrap());
        assert_ne!(
            k(&[("job", "j"), ("a", "bc")]),
            k(&[("job", "j"), ("ab", "c")])
        );
        assert_ne!(k(&[("job", "j")]), k(&[("job", "j"), ("instance", "x")]));
        let h = k(&[("job", "backup"), ("instance", "db-1")]);
        assert_eq!(KeyHash::parse(&h.to_string()), Some(h));
        assert_eq!(KeyHash::parse("xyz"), None);
        // Pinned: a change here would make every state file forget.
        assert_eq!(hash("backup").to_string(), PINNED);
    }

    #[test]
    fn the_suggested_threshold_reads_as_people_write_it() {
        let r = |gap: f64| Returned {
            deleted_at: 0.0,
            last_push: 0.0,
            pushed_again: gap,
        };
        assert_eq!(r(HOUR).threshold_that_keeps(), Duration::from_secs(66 * 60));
        assert_eq!(
            r(7.0 * DAY).threshold_that_keeps(),
            Duration::from_secs(185 * 3600)
        );
        assert_eq!(r(1.0).threshold_that_keeps(), Duration::from_secs(60));
    }
}
