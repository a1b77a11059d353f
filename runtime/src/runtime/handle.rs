//! `Handle`: a cheap reference to a runtime, usable from any thread.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{RuntimeFlavor, RuntimeMetrics};
use crate::blocking::BlockingTask;
use crate::context::{self, SetCurrentGuard};
use crate::scheduler::park::Parker;
use crate::scheduler::{current, Flavor, Shared};
use crate::task::{self, Id, JoinHandle};
use weft_reactor::coop;

/// A handle to a runtime: spawn onto it, block on it, enter it.
///
/// ```
/// let rt = weft_runtime::runtime::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let answer = std::thread::spawn(move || {
///     handle.block_on(handle.spawn(async { 42 })).unwrap()
/// })
/// .join()
/// .unwrap();
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the runtime this thread is in.
    ///
    /// # Panics
    /// Outside a runtime; see [`try_current`](Self::try_current).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(err) => panic!("{err}"),
        }
    }

    /// The handle of the runtime this thread is in, or why there is none.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(Handle::clone)
    }

    /// Spawns a task onto this runtime. It starts running at once, in the
    /// background; the handle awaits its output.
    ///
    /// On a runtime that has shut down, the task is dropped unpolled and the
    /// handle resolves to a cancelled [`JoinError`](crate::task::JoinError).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(self.shared.clone(), future, None)
    }

    /// Runs a blocking closure on the runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_blocking_on(self, f, None)
    }

    /// Runs `future` to completion on this thread. On the current-thread
    /// flavour this thread also runs the runtime's tasks while it waits.
    ///
    /// # Panics
    /// When called from a thread that is driving tasks.
    #[track_caller]
    pub fn block_on<F: IntoFuture>(&self, future: F) -> F::Output {
        let _runtime = context::enter_runtime();
        let _current = context::set_current(self);
        let future = future.into_future();
        match self.shared.flavor {
            Flavor::CurrentThread => current::block_on(&self.shared, future),
            Flavor::MultiThread => park_on(future, &self.shared),
        }
    }

    /// Makes this runtime current on this thread until the guard drops, so
    /// that `weft::spawn` and `Handle::current` work outside of it.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::set_current(self),
            _handle: PhantomData,
        }
    }

    /// Counters describing the runtime.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            shared: self.shared.clone(),
        }
    }

    /// Which scheduler the runtime uses.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match self.shared.flavor {
            Flavor::CurrentThread => RuntimeFlavor::CurrentThread,
            Flavor::MultiThread => RuntimeFlavor::MultiThread,
        }
    }

    /// Which poller the runtime's reactor waits in: what
    /// [`Builder::io_backend`](super::Builder::io_backend) (or
    /// `WEFT_IO_BACKEND`) asked for, [`Portable`](super::IoBackend::Portable)
    /// on a platform without a native backend.
    pub fn io_backend(&self) -> super::IoBackend {
        self.shared.io.io_backend()
    }
}

/// Spawns `future` onto the scheduler `shared`.
pub(crate) fn spawn_on<F>(
    shared: Arc<Shared>,
    future: F,
    name: Option<Arc<String>>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (task, notified, join) = task::new(future, shared, Id::next(), name);
    let raw = task.raw();
    // The header (and the scheduler in it) stays alive: `join` holds a reference.
    let shared = &raw.header().scheduler;
    if let Some(notified) = shared.owned.bind(task, notified) {
        shared.schedule_spawned(notified);
    }
    join
}

pub(crate) fn spawn_blocking_on<F, R>(
    handle: &Handle,
    f: F,
    name: Option<Arc<String>>,
) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let shared = &handle.shared;
    // A paused clock must not jump ahead while blocking work takes real
    // time, nor before its result is out.
    let inhibit =
        (shared.flavor == Flavor::CurrentThread).then(|| shared.time.inhibit_auto_advance());
    let (task, notified, join) = task::new(BlockingTask::new(f), shared.clone(), Id::next(), name);
    if let Some(notified) = shared.owned.bind(task, notified) {
        shared.blocking.spawn(notified, inhibit, handle);
    }
    join
}

/// Polls `future` on this thread, sleeping between wakeups (after a short
/// spin while a worker is idle: `Parker::park_spinning`).
fn park_on<F: Future>(future: F, shared: &Shared) -> F::Output {
    let mut future = pin!(future);
    let mut park = Parker::new(None);
    let waker = park.waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = coop::budget(|| future.as_mut().poll(&mut cx)) {
            return out;
        }
        park.park_spinning(|| shared.idle.has_idle_worker());
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.runtime_flavor())
            .finish_non_exhaustive()
    }
}

/// Keeps a runtime current on this thread; see [`Handle::enter`].
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    _guard: SetCurrentGuard,
    _handle: PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// Why there is no current runtime.
#[derive(Debug)]
pub struct TryCurrentError {
    destroyed: bool,
}

impl TryCurrentError {
    pub(crate) fn no_context() -> TryCurrentError {
        TryCurrentError { destroyed: false }
    }

    pub(crate) fn thread_local_destroyed() -> TryCurrentError {
        TryCurrentError { destroyed: true }
    }

    /// True when no runtime was entered on this thread.
    pub fn is_missing_context(&self) -> bool {
        !self.destroyed
    }

    /// True when the thread is exiting and its runtime context is gone.
    pub fn is_thread_local_destroyed(&self) -> bool {
        self.destroyed
    }
}

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.destroyed {
            f.write_str("the weft runtime context of this thread is gone: the thread is exiting")
        } else {
            f.write_str(
                "there is no weft runtime here: this must be called from inside a weft \
                 runtime (a task, `Runtime::block_on`, `#[weft::main]` or `#[weft::test]`), \
                 or after `Handle::enter()`",
            )
        }
    }
}

impl std::error::Error for TryCurrentError {}
