//! Counters that describe a running runtime: a view over the scheduler's,
//! the blocking pool's and the timers' own counters, read without locks
//! where the counter allows (the per-worker ones are relaxed loads).

use std::sync::Arc;
use std::time::Duration;

use super::services::Services;
use crate::scheduler::stats::WorkerMetrics;

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

    #[track_caller]
    fn worker(&self, worker: usize) -> &WorkerMetrics {
        let remotes = &self.services.scheduler.remotes;
        match remotes.get(worker) {
            Some(remote) => &remote.metrics,
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
        f.debug_struct("RuntimeMetrics")
            .field("num_workers", &self.num_workers())
            .field("num_alive_tasks", &self.num_alive_tasks())
            .field("global_queue_depth", &self.global_queue_depth())
            .field("num_timers", &self.num_timers())
            .finish()
    }
}
