//! The runtime: `Builder`, `Runtime`, `Handle`.
//!
//! A `Runtime` owns the scheduler's threads and the blocking pool; dropping
//! it cancels every task (each future is dropped once, on a runtime thread
//! or the dropping thread), joins the threads, and resolves outstanding
//! `JoinHandle`s to cancelled. A `Handle` is a cheap, cloneable reference
//! that spawns onto the runtime from anywhere.

mod builder;
pub mod dump;
pub(crate) mod handle;
mod id;
mod local;
mod metrics;
pub(crate) mod services;
mod shutdown_err;
mod slow_poll;
mod watchdog;

pub use crate::scheduler::histogram::{
    HistogramConfiguration, HistogramScale, InvalidHistogramConfiguration, LogHistogram,
    LogHistogramBuilder,
};
pub use crate::scheduler::RuntimeFlavor;
pub use builder::{Builder, IO_BACKEND_ENV, WORKER_THREADS_ENV};
#[cfg(all(unix, not(loom)))]
pub use dump::dump_on_signal;
pub use dump::Dump;
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use id::Id;
pub use local::{LocalOptions, LocalRuntime};
pub use metrics::RuntimeMetrics;
pub use shutdown_err::is_rt_shutdown_err;
pub use slow_poll::{SlowPoll, SlowPollKind};
pub use weft_reactor::{IoBackend, ParseIoBackendError};

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cell::JoinHandle;
use crate::scheduler::worker::BlockInPlace;
use weft_base::context::ServiceSet;

/// A weft runtime: worker threads, a blocking pool, and the tasks on them.
///
/// ```
/// let rt = weft_runtime::runtime::Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     let task = weft_runtime::spawn(async { 40 + 2 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct Runtime {
    handle: Handle,
    /// The runtime, its timers and its reactor, which `block_on` makes
    /// current by borrowing them (a `Handle` cannot keep this: the set
    /// holds the handle's own state).
    services: ServiceSet,
    is_shut_down: bool,
    /// The slow-poll watchdog, while the detector is on.
    watchdog: Option<watchdog::Watchdog>,
}

impl Runtime {
    /// A multi-thread runtime with the default configuration.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    fn from_handle(handle: Handle) -> Runtime {
        Runtime {
            services: handle.service_set(),
            handle,
            is_shut_down: false,
            watchdog: None,
        }
    }

    /// Runs `future` to completion on this thread, driving the runtime's
    /// tasks too on the current-thread flavour.
    ///
    /// # Panics
    /// When called from a thread that is driving tasks (inside an async
    /// context); the message names the way out.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // As tokio's: on the current-thread flavour the thread is the
        // runtime's only worker, so a `block_in_place` inside is refused.
        self.handle
            .block_on_with(future, BlockInPlace::Refuse, &self.services)
    }

    /// Spawns a task; see [`Handle::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the blocking pool; see
    /// [`Handle::spawn_blocking`].
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Every live task of this runtime: see [`Handle::dump`].
    pub fn dump(&self) -> Dump {
        self.handle.dump()
    }

    /// Makes this runtime current on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Counters describing the runtime.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle.metrics()
    }

    /// Shuts down, waiting at most `timeout` for the threads (a task stuck in
    /// a blocking call, a running `spawn_blocking` closure) to finish.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Shuts down without waiting for the threads.
    pub fn shutdown_background(mut self) {
        self.shutdown(Some(Duration::ZERO));
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        if std::mem::replace(&mut self.is_shut_down, true) {
            return;
        }
        // One deadline for the workers and the blocking pool together; a
        // timeout too large to represent means no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        if let Some(watchdog) = self.watchdog.take() {
            // It wakes at once; only a report handler running right now
            // could hold the join up. A shutdown that must not wait leaves
            // it to exit on its own.
            watchdog.stop(timeout != Some(Duration::ZERO));
        }
        let services = &self.handle.services;
        let scheduler = &services.scheduler;
        scheduler.close();
        match scheduler.flavor {
            RuntimeFlavor::CurrentThread => {
                let core = scheduler.current_thread.take_core();
                if let Some(core) = core {
                    // Futures dropped now still see this runtime as current
                    // (unless the thread is exiting and its context is gone:
                    // a runtime kept in a thread-local drops then).
                    let _current = (!weft_base::context::is_thread_exiting())
                        .then(|| self.handle.set_current());
                    scheduler.shutdown_core(*core);
                }
            }
            RuntimeFlavor::MultiThread => scheduler.join_threads(deadline),
        }
        services.blocking.shutdown(deadline);
    }
}

/// The index of the worker this thread is, from 0 to the number of
/// workers less one; `None` on any other thread (a blocking-pool thread, a
/// thread outside the runtime, or the thread in a multi-thread runtime's
/// `block_on`). On the current-thread flavour, `Some(0)` on the thread
/// whose `block_on` drives the runtime. A task may move between workers at
/// each `.await`, so the answer holds only until then.
pub fn worker_index() -> Option<usize> {
    crate::scheduler::worker::current_index()
}

// A runtime is left in a consistent state by a panic on the thread that
// holds it (tasks catch their own panics; shutdown runs on drop).
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropped from a thread that runs tasks (say, inside a task) or from
        // one of this runtime's own threads: joining would wait for
        // ourselves. Let the threads finish on their own.
        let scheduler = Arc::as_ptr(&self.handle.services.scheduler).cast();
        let own_thread = crate::threads::is_thread_of(scheduler);
        let timeout = if own_thread || weft_base::context::is_driving_tasks() {
            Some(Duration::ZERO)
        } else {
            None
        };
        self.shutdown(timeout);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.runtime_flavor())
            .finish_non_exhaustive()
    }
}
