//! Per-worker counters: how often a worker parked, how long it was busy,
//! how many polls it ran and which task it is polling now, behind
//! `RuntimeMetrics`'s `worker_*` methods and the slow-poll watchdog.
//!
//! Invariants:
//! - Only the thread holding a worker's core writes that worker's counters,
//!   as `Stat`s (a plain load and store, no read-modify-write): at most one thread
//!   holds a core at a time, and a core changes threads only through a
//!   lock or a thread start, which orders the writes. Readers use relaxed
//!   loads and may see a value a little old, never a torn one.
//! - `park_unpark_count` is odd exactly while the worker is parked.
//! - Busy time runs from when a worker starts (or unparks) to when it parks
//!   (or stops), and is added to the total at those points: a worker busy
//!   right now has not yet added its current stretch.

use std::time::{Duration, Instant};

use weft_base::coarse;
use weft_base::loom::Stat;

/// One worker's counters, shared with readers.
pub(crate) struct WorkerMetrics {
    park_count: Stat,
    park_unpark_count: Stat,
    busy_nanos: Stat,
    /// Polls begun: tasks, and a `block_on`'s own future.
    poll_count: Stat,
    /// The id of the task being polled now; [`NOT_POLLING`] between polls,
    /// [`POLLING_BLOCK_ON`] while a `block_on`'s own future is polled.
    polling: Stat,
}

/// `polling` between polls.
pub(crate) const NOT_POLLING: u64 = 0;
/// `polling` while the worker polls the future of the `block_on` driving
/// it (task ids start at 1, and never reach this).
pub(crate) const POLLING_BLOCK_ON: u64 = u64::MAX;

impl WorkerMetrics {
    pub(crate) fn new() -> WorkerMetrics {
        WorkerMetrics {
            park_count: Stat::new(0),
            park_unpark_count: Stat::new(0),
            busy_nanos: Stat::new(0),
            poll_count: Stat::new(0),
            polling: Stat::new(NOT_POLLING),
        }
    }

    /// A poll of task `id` (or [`POLLING_BLOCK_ON`]) begins.
    #[inline]
    pub(crate) fn poll_started(&self, id: u64) {
        self.poll_count.add(1);
        self.polling.store(id);
    }

    /// The poll begun last has returned.
    #[inline]
    pub(crate) fn poll_ended(&self) {
        self.polling.store(NOT_POLLING);
    }

    /// Polls begun so far.
    pub(crate) fn poll_count(&self) -> u64 {
        self.poll_count.load()
    }

    /// What the worker polls now: a task id, [`NOT_POLLING`] or
    /// [`POLLING_BLOCK_ON`].
    pub(crate) fn polling(&self) -> u64 {
        self.polling.load()
    }

    /// Times the worker parked.
    pub(crate) fn park_count(&self) -> u64 {
        self.park_count.load()
    }

    /// Times the worker parked plus times it unparked.
    pub(crate) fn park_unpark_count(&self) -> u64 {
        self.park_unpark_count.load()
    }

    /// The busy time added so far.
    pub(crate) fn total_busy_duration(&self) -> Duration {
        Duration::from_nanos(self.busy_nanos.load())
    }
}

/// The core's side: when the current busy stretch began.
pub(crate) struct WorkerStats {
    busy_since: Option<Instant>,
}

impl WorkerStats {
    pub(crate) fn new() -> WorkerStats {
        WorkerStats { busy_since: None }
    }

    /// The worker starts running (a no-op if it already is: a core handed
    /// to a new thread by `block_in_place` stays busy).
    pub(crate) fn start_busy(&mut self) {
        if self.busy_since.is_none() {
            self.busy_since = Some(coarse::refresh());
        }
    }

    /// The worker stops running: its busy stretch is added to the total.
    pub(crate) fn end_busy(&mut self, metrics: &WorkerMetrics) {
        if let Some(since) = self.busy_since.take() {
            let busy = coarse::refresh().saturating_duration_since(since);
            let nanos = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
            metrics.busy_nanos.add(nanos);
        }
    }

    /// The worker is about to park.
    pub(crate) fn about_to_park(&mut self, metrics: &WorkerMetrics) {
        self.end_busy(metrics);
        metrics.park_count.add(1);
        metrics.park_unpark_count.add(1);
    }

    /// The worker is back from a park.
    pub(crate) fn unparked(&mut self, metrics: &WorkerMetrics) {
        metrics.park_unpark_count.add(1);
        self.start_busy();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn parks_and_unparks_are_counted_and_busy_time_adds_up() {
        let metrics = WorkerMetrics::new();
        let mut stats = WorkerStats::new();
        stats.start_busy();
        std::thread::sleep(Duration::from_millis(2));
        stats.about_to_park(&metrics);
        assert_eq!(metrics.park_count(), 1);
        assert_eq!(metrics.park_unpark_count(), 1, "odd while parked");
        let busy = metrics.total_busy_duration();
        assert!(busy >= Duration::from_millis(2));
        // Parked time is not busy time.
        std::thread::sleep(Duration::from_millis(2));
        stats.unparked(&metrics);
        assert_eq!(metrics.park_unpark_count(), 2);
        assert_eq!(metrics.total_busy_duration(), busy);
        stats.end_busy(&metrics);
        stats.end_busy(&metrics);
        assert!(metrics.total_busy_duration() >= busy);
        assert_eq!(metrics.park_count(), 1);
    }
}
