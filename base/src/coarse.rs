//! A monotonic millisecond clock cheap enough to read on every poll: one
//! shared word, refreshed by the runtime's threads where they read the real
//! clock anyway (a worker starting or parking, a worker's periodic look at
//! its driver, the watchdog's ticks), so reading it is a plain load.
//!
//! Invariants: the word only moves forward (a refresh that lost a race to a
//! later one leaves the later value); it lags the real clock by at most the
//! time since the last refresh anywhere in the process. It is a plain `std`
//! atomic even under loom, like task ids: it orders nothing, diagnostics
//! only read it, and loom cannot model a `static`.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Milliseconds since the process's epoch (the first read of this clock);
/// wraps after 49 days, which only affects ages that long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u32);

static NOW: AtomicU32 = AtomicU32::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The clock as last refreshed.
#[inline]
pub fn now() -> Millis {
    Millis(NOW.load(Relaxed))
}

/// Reads the real clock, moves the coarse one up to it, and returns the
/// real reading (callers that needed it anyway pay nothing more).
pub fn refresh() -> Instant {
    let now = Instant::now();
    let millis = Millis::at(now);
    // A write only when the millisecond has moved on: every worker
    // refreshes many times a millisecond, and an unconditional write took
    // the line from the cores whose every poll reads it.
    if NOW.load(Relaxed) < millis.0 {
        NOW.fetch_max(millis.0, Relaxed);
    }
    now
}

impl Millis {
    /// The coarse reading of `instant`.
    pub fn at(instant: Instant) -> Millis {
        let millis = instant.saturating_duration_since(epoch()).as_millis();
        Millis(millis as u32)
    }

    /// How long before `later` this was (zero if it was not before).
    pub fn until(self, later: Millis) -> Duration {
        // Across a wrap the difference is still right; a "later" reading
        // that is in fact earlier shows as a difference over half the range.
        let diff = later.0.wrapping_sub(self.0);
        if diff < u32::MAX / 2 {
            Duration::from_millis(u64::from(diff))
        } else {
            Duration::ZERO
        }
    }

    /// How long ago this was, by the coarse clock.
    pub fn elapsed(self) -> Duration {
        self.until(now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_moves_the_clock_forward_only() {
        let before = now();
        let real = refresh();
        let after = now();
        assert!(after >= before);
        assert_eq!(after, Millis::at(real).max(after));
        // A stale reading published late does not move it back.
        NOW.fetch_max(0, Relaxed);
        assert!(now() >= after);
    }

    #[test]
    fn until_measures_forward_and_is_zero_backwards() {
        assert_eq!(Millis(10).until(Millis(250)), Duration::from_millis(240));
        assert_eq!(Millis(250).until(Millis(10)), Duration::ZERO);
        // Across the wrap.
        assert_eq!(
            Millis(u32::MAX - 4).until(Millis(5)),
            Duration::from_millis(10)
        );
    }
}
