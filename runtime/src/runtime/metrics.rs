//! Counters that describe a running runtime: a view over the scheduler's,
//! the blocking pool's, the timers' and the reactor's own counters, read
//! without locks where the counter allows (the per-worker ones are relaxed
//! loads of words only their worker writes).
//!
//! Every name that tokio's `RuntimeMetrics` also has means what tokio's
//! means; tokio keeps most of them behind `tokio_unstable`, weft has them
//! all on a stable build.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use super::services::Services;
use crate::scheduler::stats::WorkerMetrics;
use crate::scheduler::Remote;

/// A view of a runtime's counters; cheap to get and to clone.
///
/// ```
/// let rt = weft_runtime::runtime::Builder::new_multi_thread()
///     .worker_threads(3)
///     .build()
///     .unwrap();
/// assert_eq!(rt.metrics().num_workers(), 3);
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    pub(crate) services: Arc<Services>,
}

impl RuntimeMetrics {
    /// Worker threads (1 for the current-thread flavour).
    pub fn num_workers(&self) -> usize {
        self.services.scheduler.num_workers()
    }

    /// Tasks spawned and not yet finished; as tokio's, this does not count
    /// `spawn_blocking` closures (see
    /// [`blocking_tasks_spawned`](Self::blocking_tasks_spawned)).
    pub fn num_alive_tasks(&self) -> usize {
        self.services.scheduler.owned.len()
    }

    /// Threads in the blocking pool.
    pub fn num_blocking_threads(&self) -> usize {
        self.services.blocking.num_threads()
    }

    /// Closures handed to the blocking pool since the runtime was built:
    /// `spawn_blocking` calls, and each hop of a file system or standard
    /// stream operation (`weft::fs`, `weft::io::stdin`). Watching it tells
    /// how many hops a piece of file I/O costs.
    ///
    /// ```
    /// let rt = weft_runtime::runtime::Builder::new_current_thread().build().unwrap();
    /// let before = rt.metrics().blocking_tasks_spawned();
    /// rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    /// assert_eq!(rt.metrics().blocking_tasks_spawned(), before + 1);
    /// ```
    pub fn blocking_tasks_spawned(&self) -> u64 {
        self.services.blocking.num_spawned()
    }

    /// Tasks waiting in the injector (scheduled from outside the workers).
    pub fn global_queue_depth(&self) -> usize {
        self.services.scheduler.inject.len()
    }

    /// Timers waiting in the runtime's wheel: sleeps, timeouts and intervals
    /// that have been polled and have neither fired nor been dropped. A
    /// number that only grows points at timers that are never awaited to
    /// the end nor dropped.
    pub fn num_timers(&self) -> usize {
        self.services.time().num_timers()
    }

    /// Workers looking for work to steal right now.
    pub fn num_searching_workers(&self) -> usize {
        self.services.scheduler.idle.num_searching()
    }

    /// How many times worker `worker` (from 0 to
    /// [`num_workers`](Self::num_workers) less one) has parked: gone to
    /// sleep for want of work. Each wake-up that finds no work and sleeps
    /// again counts once more. On the current-thread flavour, worker 0 is
    /// whichever thread's `block_on` drives the runtime.
    ///
    /// Only the worker writes its counters, so reading one costs a load;
    /// a value read while the worker runs may be a little old.
    ///
    /// ```
    /// let rt = weft_runtime::runtime::Builder::new_current_thread().build().unwrap();
    /// let metrics = rt.metrics();
    /// rt.block_on(async { weft_timer::sleep(std::time::Duration::from_millis(1)).await });
    /// assert!(metrics.worker_park_count(0) >= 1);
    /// ```
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        self.worker(worker).park_count()
    }

    /// How many times worker `worker` has parked plus how many times it has
    /// woken from a park: odd while it is parked, even while it runs.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_park_unpark_count(&self, worker: usize) -> u64 {
        self.worker(worker).park_unpark_count()
    }

    /// How long worker `worker` has been busy (running tasks, looking for
    /// them, driving I/O and timers: everything but parked) since the
    /// runtime was built. A stretch is added when the worker parks or
    /// stops, so the stretch it is in now is not counted yet.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_total_busy_duration(&self, worker: usize) -> Duration {
        self.worker(worker).total_busy_duration()
    }

    /// Idle threads in the blocking pool: started, waiting for a closure.
    pub fn num_idle_blocking_threads(&self) -> usize {
        self.services.blocking.num_idle_threads()
    }

    /// Closures waiting in the blocking pool's queue for a thread to run
    /// them (more than zero only while every thread is busy and the pool
    /// is at [`max_blocking_threads`](super::Builder::max_blocking_threads),
    /// or a woken thread has not yet taken its closure).
    pub fn blocking_queue_depth(&self) -> usize {
        self.services.blocking.queue_depth()
    }

    /// Tasks spawned on this runtime since it was built (not counting
    /// `spawn_blocking` closures, nor tasks refused because the runtime was
    /// shutting down). Counted under the owned-task shard lock a spawn takes
    /// anyway, so it costs a spawn nothing shared of its own.
    pub fn spawned_tasks_count(&self) -> u64 {
        self.services.scheduler.owned.bound_count()
    }

    /// Tasks scheduled from outside the runtime's workers: spawned or woken
    /// on another thread (the `block_on` thread of a multi-thread runtime,
    /// a blocking-pool thread, any plain thread), and so queued on the
    /// injection queue, which is slower than a worker's own queue.
    pub fn remote_schedule_count(&self) -> u64 {
        self.services.scheduler.remote_schedule_count()
    }

    /// Times a task was made to yield because it spent its cooperative
    /// budget (128 units of progress per poll): how often the budget kept a
    /// busy task from starving the others. Each refused operation counts,
    /// so a poll in which two joined futures are both refused counts 2
    /// (tokio counts the poll once). Each worker adds its count when
    /// it parks and at its periodic maintenance (every
    /// [`event_interval`](super::Builder::event_interval) ticks), so a
    /// reading may lag by that much.
    pub fn budget_forced_yield_count(&self) -> u64 {
        self.workers()
            .map(WorkerMetrics::budget_forced_yield_count)
            .sum()
    }

    /// How many times worker `worker` woke from a park with no task polled
    /// since its previous wake-up: it had woken, found nothing to do and
    /// parked again (tokio's rule; its first wake-up counts if no task ran
    /// before it). Wake-ups that were for nothing.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_noop_count(&self, worker: usize) -> u64 {
        self.worker(worker).noop_count()
    }

    /// How many tasks worker `worker` has stolen from other workers' queues
    /// (each steal takes about half of the victim's queue).
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_steal_count(&self, worker: usize) -> u64 {
        self.worker(worker).steal_count()
    }

    /// How many steals worker `worker` has made that took at least one task.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_steal_operations(&self, worker: usize) -> u64 {
        self.worker(worker).steal_operations()
    }

    /// How many task polls worker `worker` has begun. A spawned task counts
    /// one poll for its first run and one more for each wake-up that ran it
    /// again; a current-thread runtime's `block_on` future is not a task and
    /// is not counted.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_poll_count(&self, worker: usize) -> u64 {
        self.worker(worker).task_poll_count()
    }

    /// How many tasks were scheduled on worker `worker`'s own queue (or its
    /// LIFO slot) from its own thread: spawned or woken by one of its tasks,
    /// or by its driver. Tasks that yield (`yield_now`, a spent budget) are
    /// requeued, not scheduled, and are not counted.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_local_schedule_count(&self, worker: usize) -> u64 {
        self.worker(worker).local_schedule_count()
    }

    /// Of [`worker_local_schedule_count`](Self::worker_local_schedule_count),
    /// the tasks the I/O and timer driver woke while worker `worker` turned
    /// it: how much of the worker's work arrives through its driver.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_driver_wake_count(&self, worker: usize) -> u64 {
        self.worker(worker).driver_wake_count()
    }

    /// How many times worker `worker`'s local queue overflowed into the
    /// injection queue: always 0 in weft, whose local queues grow as needed
    /// (tokio's hold 256 tasks and move half to the injector when full).
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_overflow_count(&self, worker: usize) -> u64 {
        self.worker(worker);
        0
    }

    /// The thread that runs worker `worker` now (or ran it last); `None`
    /// before it first ran. A multi-thread worker's thread changes when a
    /// task calls `block_in_place` on it; a current-thread runtime's worker
    /// is whichever thread's `block_on` drives it.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_thread_id(&self, worker: usize) -> Option<std::thread::ThreadId> {
        self.worker(worker).thread_id()
    }

    /// Tasks in worker `worker`'s local queue now (not counting its LIFO
    /// slot). Read while the worker and thieves move tasks, so only a
    /// snapshot.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_local_queue_depth(&self, worker: usize) -> usize {
        self.remote(worker).steal.len()
    }

    /// The mean time worker `worker` spends in a task poll: an
    /// exponentially weighted moving average over batches of polls, each
    /// the busy time between two clock reads the worker makes anyway (at
    /// park and at maintenance) divided by the polls in it, so it includes
    /// the worker's own overhead between polls (as tokio's does). Zero
    /// until the first batch ends.
    ///
    /// # Panics
    /// If `worker` is not a worker's index.
    #[track_caller]
    pub fn worker_mean_poll_time(&self, worker: usize) -> Duration {
        self.worker(worker).mean_poll_time()
    }

    /// Whether the poll-time histogram is on
    /// ([`Builder::enable_metrics_poll_time_histogram`](super::Builder::enable_metrics_poll_time_histogram)).
    pub fn poll_time_histogram_enabled(&self) -> bool {
        self.layout().is_some()
    }

    /// How many buckets the poll-time histogram has; 0 when it is off.
    pub fn poll_time_histogram_num_buckets(&self) -> usize {
        self.layout().map_or(0, |layout| layout.num_buckets())
    }

    /// The poll durations bucket `bucket` of the histogram counts; the last
    /// bucket runs to `Duration::from_nanos(u64::MAX)`.
    ///
    /// # Panics
    /// If the histogram is off, or `bucket` is not below
    /// [`poll_time_histogram_num_buckets`](Self::poll_time_histogram_num_buckets).
    #[track_caller]
    pub fn poll_time_histogram_bucket_range(&self, bucket: usize) -> Range<Duration> {
        let Some(layout) = self.layout() else {
            panic!(
                "RuntimeMetrics: the poll-time histogram is off; turn it on with \
                 Builder::enable_metrics_poll_time_histogram"
            );
        };
        assert!(
            bucket < layout.num_buckets(),
            "RuntimeMetrics: histogram bucket {bucket} is out of range: there are {}",
            layout.num_buckets()
        );
        layout.bucket_range(bucket)
    }

    /// How many polls on worker `worker` took a time in bucket `bucket`'s
    /// range ([`poll_time_histogram_bucket_range`](Self::poll_time_histogram_bucket_range)).
    ///
    /// # Panics
    /// If the histogram is off, `worker` is not a worker's index, or
    /// `bucket` is out of range.
    #[track_caller]
    pub fn poll_time_histogram_bucket_count(&self, worker: usize, bucket: usize) -> u64 {
        let Some(histogram) = self.worker(worker).histogram() else {
            panic!(
                "RuntimeMetrics: the poll-time histogram is off; turn it on with \
                 Builder::enable_metrics_poll_time_histogram"
            );
        };
        match histogram.count(bucket) {
            Some(count) => count,
            None => panic!(
                "RuntimeMetrics: histogram bucket {bucket} is out of range: there are {}",
                self.poll_time_histogram_num_buckets()
            ),
        }
    }

    /// File descriptors (sockets, pipes, ...) registered with the runtime's
    /// I/O driver since it was built.
    pub fn io_driver_fd_registered_count(&self) -> u64 {
        self.services.io().registered_count()
    }

    /// File descriptors deregistered from the runtime's I/O driver since it
    /// was built.
    pub fn io_driver_fd_deregistered_count(&self) -> u64 {
        self.services.io().deregistered_count()
    }

    /// Ready events the I/O driver has received and dispatched to sources.
    pub fn io_driver_ready_count(&self) -> u64 {
        self.services.io().ready_count()
    }

    fn layout(&self) -> Option<crate::scheduler::histogram::Layout> {
        self.services.scheduler.config.poll_time_histogram
    }

    fn workers(&self) -> impl Iterator<Item = &WorkerMetrics> {
        self.services.scheduler.remotes.iter().map(|r| &*r.metrics)
    }

    #[track_caller]
    fn worker(&self, worker: usize) -> &WorkerMetrics {
        &self.remote(worker).metrics
    }

    #[track_caller]
    fn remote(&self, worker: usize) -> &Remote {
        let remotes = &self.services.scheduler.remotes;
        match remotes.get(worker) {
            Some(remote) => remote,
            None => panic!(
                "RuntimeMetrics: worker index {worker} is out of range: this runtime has {} \
                 worker(s), numbered from 0",
                remotes.len()
            ),
        }
    }
}

impl std::fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.num_workers();
        let per_worker = |get: &dyn Fn(usize) -> u64| (0..n).map(get).collect::<Vec<_>>();
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &n)
            .field("num_alive_tasks", &self.num_alive_tasks())
            .field("spawned_tasks_count", &self.spawned_tasks_count())
            .field("global_queue_depth", &self.global_queue_depth())
            .field("remote_schedule_count", &self.remote_schedule_count())
            .field(
                "budget_forced_yield_count",
                &self.budget_forced_yield_count(),
            )
            .field("num_timers", &self.num_timers())
            .field("num_searching_workers", &self.num_searching_workers())
            .field("num_blocking_threads", &self.num_blocking_threads())
            .field(
                "num_idle_blocking_threads",
                &self.num_idle_blocking_threads(),
            )
            .field("blocking_queue_depth", &self.blocking_queue_depth())
            .field("blocking_tasks_spawned", &self.blocking_tasks_spawned())
            .field(
                "io_driver_fd_registered_count",
                &self.io_driver_fd_registered_count(),
            )
            .field(
                "io_driver_fd_deregistered_count",
                &self.io_driver_fd_deregistered_count(),
            )
            .field("io_driver_ready_count", &self.io_driver_ready_count())
            .field(
                "worker_total_busy_duration",
                &(0..n)
                    .map(|w| self.worker_total_busy_duration(w))
                    .collect::<Vec<_>>(),
            )
            .field(
                "worker_park_count",
                &per_worker(&|w| self.worker_park_count(w)),
            )
            .field(
                "worker_park_unpark_count",
                &per_worker(&|w| self.worker_park_unpark_count(w)),
            )
            .field(
                "worker_noop_count",
                &per_worker(&|w| self.worker_noop_count(w)),
            )
            .field(
                "worker_poll_count",
                &per_worker(&|w| self.worker_poll_count(w)),
            )
            .field(
                "worker_steal_count",
                &per_worker(&|w| self.worker_steal_count(w)),
            )
            .field(
                "worker_steal_operations",
                &per_worker(&|w| self.worker_steal_operations(w)),
            )
            .field(
                "worker_local_schedule_count",
                &per_worker(&|w| self.worker_local_schedule_count(w)),
            )
            .field(
                "worker_driver_wake_count",
                &per_worker(&|w| self.worker_driver_wake_count(w)),
            )
            .field(
                "worker_local_queue_depth",
                &per_worker(&|w| self.worker_local_queue_depth(w) as u64),
            )
            .field(
                "worker_mean_poll_time",
                &(0..n)
                    .map(|w| self.worker_mean_poll_time(w))
                    .collect::<Vec<_>>(),
            )
            .field(
                "poll_time_histogram_enabled",
                &self.poll_time_histogram_enabled(),
            )
            .finish()
    }
}
