//! The runtime: `Builder`, `Runtime`, `Handle`.
//!
//! A `Runtime` owns the scheduler's threads and the blocking pool; dropping
//! it cancels every task (each future is dropped once, on a runtime thread
//! or the dropping thread), joins the threads, and resolves outstanding
//! `JoinHandle`s to cancelled. A `Handle` is a cheap, cloneable reference
//! that spawns onto the runtime from anywhere.

mod builder;
pub(crate) mod handle;
mod metrics;

pub use builder::{Builder, IO_BACKEND_ENV, WORKER_THREADS_ENV};
pub use handle::{EnterGuard, Handle, TryCurrentError};
pub use metrics::RuntimeMetrics;
pub use weft_reactor::{IoBackend, ParseIoBackendError};

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context;
use crate::loom::thread;
use crate::scheduler::Flavor;
use crate::task::JoinHandle;

/// Which scheduler a runtime uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// All tasks run on the thread that calls `block_on`.
    CurrentThread,
    /// Tasks run on a pool of work-stealing worker threads.
    MultiThread,
}

/// How runtime threads are made, shared by workers and the blocking pool.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<Arc<dyn Fn() + Send + Sync>>,
    pub(crate) on_thread_stop: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Config {
    pub(crate) fn thread_builder(&self) -> thread::Builder {
        let builder = thread::Builder::new().name((self.thread_name)());
        match self.stack_size {
            Some(size) => builder.stack_size(size),
            None => builder,
        }
    }

    /// Runs a thread's body between the start and stop hooks.
    /// A panicking hook is reported by the panic hook and otherwise
    /// ignored: it must not take a worker (and its queue) down with it.
    pub(crate) fn run_thread(&self, f: impl FnOnce()) {
        if let Some(hook) = &self.on_thread_start {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook()));
        }
        f();
        if let Some(hook) = &self.on_thread_stop {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook()));
        }
    }
}

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
    is_shut_down: bool,
}

impl Runtime {
    /// A multi-thread runtime with the default configuration.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    fn from_handle(handle: Handle) -> Runtime {
        Runtime {
            handle,
            is_shut_down: false,
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
        self.handle.block_on(future)
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
        let shared = &self.handle.shared;
        shared.close();
        match shared.flavor {
            Flavor::CurrentThread => {
                let core = shared.idle_core.lock().take();
                if let Some(core) = core {
                    // Futures dropped now still see this runtime as current.
                    let _current = context::set_current(&self.handle);
                    shared.shutdown_core(*core);
                }
            }
            Flavor::MultiThread => shared.join_threads(deadline),
        }
        shared.blocking.shutdown(deadline);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropped from a thread that runs tasks (say, inside a task) or from
        // one of this runtime's own threads: joining would wait for
        // ourselves. Let the threads finish on their own.
        let own_thread = context::is_thread_of(Arc::as_ptr(&self.handle.shared).cast());
        let timeout = if own_thread || context::is_in_runtime() {
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
