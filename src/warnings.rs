//! Per-group warnings, bounded at the default verbosity: the first few of
//! each kind, then one `... and N more` line, so that a run with hundreds of
//! failing groups does not bury the one line that says why. `-v` (or an
//! env filter that shows info) prints every one; the report lists every
//! group whatever the verbosity.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many warnings of one kind are printed before the rest are counted.
pub const SHOWN: usize = 5;

/// The warnings of one kind on one gateway in one pass.
#[derive(Debug)]
pub struct Bounded {
    /// What they are, plural, for the closing line ("failed deletes").
    kind: &'static str,
    seen: AtomicUsize,
}

impl Bounded {
    pub const fn new(kind: &'static str) -> Bounded {
        Bounded {
            kind,
            seen: AtomicUsize::new(0),
        }
    }

    /// Whether the next warning of this kind is printed at warn level;
    /// when not, it goes to info level, which `-v` shows.
    pub fn admit(&self) -> bool {
        self.seen.fetch_add(1, Ordering::Relaxed) < SHOWN || every_one_shown()
    }

    /// The closing line: how many were not printed, if any.
    pub fn finish(&self, gateway: &str) {
        let held = self.seen.load(Ordering::Relaxed).saturating_sub(SHOWN);
        if held > 0 && !every_one_shown() {
            tracing::warn!(
                gateway,
                "... and {held} more {} (-v shows each; the report lists every group)",
                self.kind
            );
        }
    }
}

/// Whether info-level events are on: then nothing is held back.
fn every_one_shown() -> bool {
    tracing::enabled!(tracing::Level::INFO)
}

/// `tracing::warn!` for the first few of `bounded`'s kind, `info!` after.
#[macro_export]
macro_rules! warn_bounded {
    ($bounded:expr, $($arg:tt)+) => {
        if $bounded.admit() {
            tracing::warn!($($arg)+)
        } else {
            tracing::info!($($arg)+)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_first_few_then_counts() {
        // No subscriber: info is off, as at the default verbosity.
        let b = Bounded::new("things");
        let admitted = (0..12).filter(|_| b.admit()).count();
        assert_eq!(admitted, SHOWN);
        assert_eq!(b.seen.load(Ordering::Relaxed), 12);
    }
}
