//! Counters that describe a running runtime.

use std::sync::Arc;

use super::services::Services;

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

    /// Tasks spawned and not yet finished (blocking ones included).
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
