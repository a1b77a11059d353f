//! Per-worker counters: how often a worker parked, how long it was busy,
//! how many polls it ran and which task it is polling now, what it stole,
//! scheduled and was woken with, its mean poll time and (when enabled) its
//! poll-time histogram; behind `RuntimeMetrics`'s `worker_*` methods and the
//! slow-poll watchdog.
//!
//! Invariants:
//! - Only the thread holding a worker's core writes that worker's counters,
//!   with a plain load and store (no read-modify-write): at most one thread
//!   holds a core at a time, and a core changes threads only through a
//!   lock or a thread start, which orders the writes. Readers use relaxed
//!   loads and may see a value a little old, never a torn one.
//! - `park_unpark_count` is odd exactly while the worker is parked.
//! - Busy time runs from when a worker starts (or unparks) to when it parks
//!   (or stops), and is added to the total at those points: a worker busy
//!   right now has not yet added its current stretch.
//! - Nothing here reads a clock per poll unless the poll-time histogram is
//!   on: the mean poll time is the busy stretch between two clock reads the
//!   worker makes anyway (parking, maintenance) over the polls in it.

use std::thread::ThreadId;
use std::time::{Duration, Instant};

use super::histogram::{Layout, PollHistogram};
use weft_base::loom::{Mutex, Stat};
use weft_base::{coarse, coop};

/// Weight of the newest poll in the mean poll time (tokio's number): a
/// batch of `n` polls weighs `1 - (1 - ALPHA)^n`.
const POLL_TIME_EWMA_ALPHA: f64 = 0.1;

/// One worker's counters, shared with readers.
pub(crate) struct WorkerMetrics {
    park_count: Stat,
    park_unpark_count: Stat,
    /// Unparks with no task polled since the unpark before (tokio's rule:
    /// the worker woke, found nothing, slept, and woke again).
    noop_count: Stat,
    busy_nanos: Stat,
    /// Polls begun: tasks, and a `block_on`'s own future.
    poll_count: Stat,
    /// Of `poll_count`, the polls of a `block_on`'s own future.
    block_on_polls: Stat,
    /// The id of the task being polled now; [`NOT_POLLING`] between polls,
    /// [`POLLING_BLOCK_ON`] while a `block_on`'s own future is polled.
    polling: Stat,
    /// Tasks taken from other workers' queues, and the steals that took them.
    steal_count: Stat,
    steal_operations: Stat,
    /// Tasks scheduled on this worker's queue or LIFO slot from this thread.
    local_schedule_count: Stat,
    /// Of those, the ones the driver woke while this worker turned it.
    driver_wake_count: Stat,
    /// Operations refused for want of budget on this worker.
    budget_forced_yield_count: Stat,
    /// The mean poll time (EWMA), in nanoseconds.
    mean_poll_nanos: Stat,
    /// Poll durations, when the histogram is enabled.
    histogram: Option<PollHistogram>,
    /// The thread holding the core now (or last): written when a thread
    /// takes the core, never per poll.
    thread: Mutex<Option<ThreadId>>,
}

/// `polling` between polls.
pub(crate) const NOT_POLLING: u64 = 0;
/// `polling` while the worker polls the future of the `block_on` driving
/// it (task ids start at 1, and never reach this).
pub(crate) const POLLING_BLOCK_ON: u64 = u64::MAX;

impl WorkerMetrics {
    /// Counters for a worker; with a histogram of `layout` when given.
    pub(crate) fn new(histogram: Option<Layout>) -> WorkerMetrics {
        WorkerMetrics {
            park_count: Stat::new(0),
            park_unpark_count: Stat::new(0),
            noop_count: Stat::new(0),
            busy_nanos: Stat::new(0),
            poll_count: Stat::new(0),
            block_on_polls: Stat::new(0),
            polling: Stat::new(NOT_POLLING),
            steal_count: Stat::new(0),
            steal_operations: Stat::new(0),
            local_schedule_count: Stat::new(0),
            driver_wake_count: Stat::new(0),
            budget_forced_yield_count: Stat::new(0),
            mean_poll_nanos: Stat::new(0),
            histogram: histogram.map(PollHistogram::new),
            thread: Mutex::new(None),
        }
    }

    /// The calling thread has taken the core.
    pub(crate) fn set_thread(&self) {
        *self.thread.lock() = Some(std::thread::current().id());
    }

    /// The thread that holds (or last held) the core.
    pub(crate) fn thread_id(&self) -> Option<ThreadId> {
        *self.thread.lock()
    }

    /// A poll of task `id` (or [`POLLING_BLOCK_ON`]) begins. Returns when,
    /// if the histogram is on (the only clock read on the poll path).
    #[inline]
    pub(crate) fn poll_started(&self, id: u64) -> Option<Instant> {
        self.poll_count.add(1);
        self.polling.store(id);
        self.histogram.as_ref().map(|_| Instant::now())
    }

    /// The poll begun last has returned; `started` is what
    /// [`poll_started`](Self::poll_started) returned.
    #[inline]
    pub(crate) fn poll_ended(&self, started: Option<Instant>) {
        self.polling.store(NOT_POLLING);
        if let (Some(started), Some(histogram)) = (started, &self.histogram) {
            histogram.record(started.elapsed());
        }
    }

    /// A poll of a `block_on`'s own future begins (counted apart, so that
    /// `worker_poll_count` counts tasks only, as tokio's does).
    pub(crate) fn block_on_poll_started(&self) {
        self.block_on_polls.add(1);
        self.poll_started(POLLING_BLOCK_ON);
    }

    /// Polls begun so far, a `block_on`'s own future's included.
    pub(crate) fn poll_count(&self) -> u64 {
        self.poll_count.load()
    }

    /// Task polls begun so far.
    pub(crate) fn task_poll_count(&self) -> u64 {
        // Read the part first: the total then is at least as new.
        let block_on = self.block_on_polls.load();
        self.poll_count().wrapping_sub(block_on)
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

    /// Times the worker unparked and parked again without polling a task.
    pub(crate) fn noop_count(&self) -> u64 {
        self.noop_count.load()
    }

    /// The busy time added so far.
    pub(crate) fn total_busy_duration(&self) -> Duration {
        Duration::from_nanos(self.busy_nanos.load())
    }

    /// One steal from another worker took `tasks` tasks.
    pub(crate) fn stole(&self, tasks: u64) {
        self.steal_operations.add(1);
        self.steal_count.add(tasks);
    }

    /// Tasks stolen from other workers.
    pub(crate) fn steal_count(&self) -> u64 {
        self.steal_count.load()
    }

    /// Steals from other workers that took at least one task.
    pub(crate) fn steal_operations(&self) -> u64 {
        self.steal_operations.load()
    }

    /// A task was scheduled on this worker from its own thread; `by_driver`
    /// when the driver woke it while this worker turned it.
    #[inline]
    pub(crate) fn scheduled_locally(&self, by_driver: bool) {
        self.local_schedule_count.add(1);
        if by_driver {
            self.driver_wake_count.add(1);
        }
    }

    /// Tasks scheduled on this worker from its own thread.
    pub(crate) fn local_schedule_count(&self) -> u64 {
        self.local_schedule_count.load()
    }

    /// Tasks the driver woke onto this worker.
    pub(crate) fn driver_wake_count(&self) -> u64 {
        self.driver_wake_count.load()
    }

    /// Operations refused for want of budget (forced yields), as far as
    /// the worker has added them up (see [`WorkerStats::settle`]).
    pub(crate) fn budget_forced_yield_count(&self) -> u64 {
        self.budget_forced_yield_count.load()
    }

    /// The mean poll time (an exponentially weighted moving average).
    pub(crate) fn mean_poll_time(&self) -> Duration {
        Duration::from_nanos(self.mean_poll_nanos.load())
    }

    /// The poll-time histogram, when enabled.
    pub(crate) fn histogram(&self) -> Option<&PollHistogram> {
        self.histogram.as_ref()
    }
}

/// The core's side: when the current busy stretch began, and where the
/// current batch of polls (for the mean poll time) began.
pub(crate) struct WorkerStats {
    busy_since: Option<Instant>,
    /// When the current batch began, and the task polls before it.
    batch: Option<(Instant, u64)>,
    /// The task polls at the last unpark that followed some.
    polls_at_unpark: u64,
}

impl WorkerStats {
    pub(crate) fn new() -> WorkerStats {
        WorkerStats {
            busy_since: None,
            batch: None,
            polls_at_unpark: 0,
        }
    }

    /// The worker starts running (a no-op if it already is: a core handed
    /// to a new thread by `block_in_place` stays busy).
    pub(crate) fn start_busy(&mut self, metrics: &WorkerMetrics) {
        if self.busy_since.is_none() {
            let now = coarse::refresh();
            self.busy_since = Some(now);
            self.batch = Some((now, metrics.task_poll_count()));
            // Forced yields counted on this thread before it held the core
            // are not this worker's.
            let _ = coop::take_forced_yields();
        }
    }

    /// The worker stops running: its busy stretch is added to the total.
    pub(crate) fn end_busy(&mut self, metrics: &WorkerMetrics) {
        if let Some(since) = self.busy_since.take() {
            let now = coarse::refresh();
            let busy = now.saturating_duration_since(since);
            metrics.busy_nanos.add(duration_nanos(busy));
            self.end_batch(metrics, now);
            self.batch = None;
        }
    }

    /// At a clock read the worker makes anyway (maintenance): ends the
    /// current batch of polls there and starts the next, and adds up the
    /// forced yields.
    pub(crate) fn settle(&mut self, metrics: &WorkerMetrics, now: Instant) {
        if self.busy_since.is_some() {
            self.end_batch(metrics, now);
            self.batch = Some((now, metrics.task_poll_count()));
        }
    }

    /// Folds the batch that ends `now` into the mean poll time, and adds
    /// up the forced yields.
    fn end_batch(&mut self, metrics: &WorkerMetrics, now: Instant) {
        let forced = coop::take_forced_yields();
        if forced > 0 {
            metrics.budget_forced_yield_count.add(forced);
        }
        let Some((began, polls_before)) = self.batch else {
            return;
        };
        let polls = metrics.task_poll_count().wrapping_sub(polls_before);
        if polls == 0 || polls > u64::from(u32::MAX) {
            return;
        }
        let mean = duration_nanos(now.saturating_duration_since(began)) as f64 / polls as f64;
        let weight = 1.0 - (1.0 - POLL_TIME_EWMA_ALPHA).powi(polls as i32);
        let old = metrics.mean_poll_nanos.load() as f64;
        let new = old + (mean - old) * weight;
        metrics.mean_poll_nanos.store(new as u64);
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
        let polls = metrics.task_poll_count();
        if polls == self.polls_at_unpark {
            metrics.noop_count.add(1);
        } else {
            self.polls_at_unpark = polls;
        }
        self.start_busy(metrics);
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn parks_and_unparks_are_counted_and_busy_time_adds_up() {
        let metrics = WorkerMetrics::new(None);
        let mut stats = WorkerStats::new();
        stats.start_busy(&metrics);
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

    #[test]
    fn an_unpark_with_no_poll_since_the_last_is_a_noop_and_polls_make_a_mean() {
        let metrics = WorkerMetrics::new(None);
        let mut stats = WorkerStats::new();
        stats.start_busy(&metrics);
        stats.about_to_park(&metrics);
        stats.unparked(&metrics);
        assert_eq!(metrics.noop_count(), 1, "woke with nothing polled yet");
        let started = metrics.poll_started(7);
        assert!(started.is_none(), "no clock read without the histogram");
        std::thread::sleep(Duration::from_millis(2));
        metrics.poll_ended(started);
        stats.about_to_park(&metrics);
        stats.unparked(&metrics);
        assert_eq!(metrics.noop_count(), 1, "a poll since the last wake-up");
        stats.about_to_park(&metrics);
        stats.unparked(&metrics);
        assert_eq!(metrics.noop_count(), 2, "none since");
        assert_eq!(metrics.task_poll_count(), 1);
        // One poll: the mean moved a tenth of the way to about 2 ms.
        assert!(metrics.mean_poll_time() >= Duration::from_micros(200));
        metrics.block_on_poll_started();
        assert_eq!(metrics.poll_count(), 2);
        assert_eq!(metrics.task_poll_count(), 1);
    }
}
