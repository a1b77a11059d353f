//! `LocalRuntime`: a current-thread runtime whose `block_on` also runs
//! `!Send` tasks, spawned with `task::spawn_local` anywhere on its thread.
//!
//! It is a current-thread [`Runtime`] with a [`LocalSet`] that every
//! `block_on` runs; the runtime's services name the set and the thread that
//! owns it, so that `spawn_local` under a plain `Handle::enter` of this
//! runtime finds it, and refuses on any other thread. The set drops (and
//! with it every local task's future) before the runtime shuts down.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::time::Duration;

use super::{EnterGuard, Handle, Runtime, RuntimeMetrics};
use crate::cell::JoinHandle;
use crate::task::LocalSet;

/// Options for [`Builder::build_local`](super::Builder::build_local); none
/// yet, there for tokio compatibility and later additions.
#[derive(Default, Debug)]
#[non_exhaustive]
pub struct LocalOptions {
    _not_send: PhantomData<*mut u8>,
}

/// A current-thread runtime that runs `!Send` tasks too; made by
/// [`Builder::build_local`](super::Builder::build_local). It stays on the
/// thread that made it (it is not `Send`).
///
/// ```
/// use std::rc::Rc;
/// use weft_runtime::runtime::{Builder, LocalOptions};
///
/// let rt = Builder::new_current_thread().build_local(LocalOptions::default()).unwrap();
/// let shared = Rc::new(3);
/// let task = rt.spawn_local({
///     let shared = shared.clone();
///     async move { *shared + 1 }
/// });
/// assert_eq!(rt.block_on(task).unwrap(), 4);
/// ```
pub struct LocalRuntime {
    // Declared first so that it drops first: local futures go while the
    // runtime they may use is still up.
    local: LocalSet,
    runtime: Runtime,
}

impl LocalRuntime {
    /// A local runtime with the default configuration.
    pub fn new() -> io::Result<LocalRuntime> {
        super::Builder::new_current_thread().build_local(LocalOptions::default())
    }

    /// Wraps a current-thread `runtime` built on this thread.
    pub(crate) fn from_runtime(runtime: Runtime) -> LocalRuntime {
        let local = LocalSet::new();
        local.attach_to(&runtime.handle().services);
        LocalRuntime { local, runtime }
    }

    /// A handle to the runtime (it spawns `Send` tasks; `spawn_local` under
    /// its `enter` works on this runtime's thread only).
    pub fn handle(&self) -> &Handle {
        self.runtime.handle()
    }

    /// Every live task of this runtime, its local ones included: see
    /// [`Handle::dump`].
    pub fn dump(&self) -> super::Dump {
        self.runtime.dump()
    }

    /// Spawns a `!Send` task; it runs while this runtime's `block_on` does.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local.spawn_local(future)
    }

    /// Runs a blocking closure on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.runtime.spawn_blocking(f)
    }

    /// Runs `future` (which need not be `Send`) to completion on this
    /// thread, with the runtime's tasks and its local tasks.
    ///
    /// # Panics
    /// When called from a thread that is driving tasks.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.local.block_on(&self.runtime, future)
    }

    /// Makes this runtime current on this thread until the guard drops, so
    /// that `spawn` and `spawn_local` work outside of `block_on`.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.runtime.enter()
    }

    /// Counters describing the runtime.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.runtime.metrics()
    }

    /// Drops the local tasks, then shuts down as
    /// [`Runtime::shutdown_timeout`].
    pub fn shutdown_timeout(self, timeout: Duration) {
        let LocalRuntime { local, runtime } = self;
        drop(local);
        runtime.shutdown_timeout(timeout);
    }

    /// Drops the local tasks, then shuts down without waiting for the
    /// runtime's threads.
    pub fn shutdown_background(self) {
        let LocalRuntime { local, runtime } = self;
        drop(local);
        runtime.shutdown_background();
    }
}

impl std::panic::UnwindSafe for LocalRuntime {}
impl std::panic::RefUnwindSafe for LocalRuntime {}

impl fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRuntime").finish_non_exhaustive()
    }
}
