//! `Handle`: a cheap reference to a runtime, usable from any thread.

use std::cell::Cell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::services::Services;
use super::{RuntimeFlavor, RuntimeMetrics};
use crate::blocking::BlockingTask;
use crate::cell::JoinHandle;
use crate::scheduler::park::ThreadParker;
use crate::scheduler::worker::BlockInPlace;
use crate::scheduler::{current_thread, Scheduler};
use crate::trace;
use weft_base::context::{self, DrivingGuard, Service, ServiceGuard, ServiceSet, Slot};
use weft_base::coop;

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
    pub(crate) services: Arc<Services>,
}

impl Handle {
    /// The one way a `Handle` is made: around a runtime's services.
    pub(crate) fn new(services: Arc<Services>) -> Handle {
        Handle { services }
    }

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

    /// The current runtime, or the error an I/O operation outside one (or
    /// on one that has shut down: `is_rt_shutdown_err` says so) reports.
    pub(crate) fn current_for_io() -> std::io::Result<Handle> {
        let handle = Handle::try_current().map_err(std::io::Error::other)?;
        #[cfg(not(loom))]
        if handle.services.check.get().is_some() {
            return Err(crate::check::real_io_refused());
        }
        if handle.services.scheduler.is_shutdown() {
            return Err(weft_base::gone::RuntimeGone::error(
                "the weft runtime has shut down",
            ));
        }
        Ok(handle)
    }

    /// The handle of the runtime this thread is in, or why there is none.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::current().ok_or_else(TryCurrentError::here)
    }

    /// Spawns a task onto this runtime. It starts running at once, in the
    /// background; the handle awaits its output.
    ///
    /// On a runtime that has shut down, the task is dropped unpolled and the
    /// handle resolves to a cancelled [`JoinError`](crate::cell::JoinError).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.services.spawn(future, None, Location::caller())
    }

    /// Runs a blocking closure on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_named(f, None)
    }

    /// Runs `future` to completion on this thread. On the current-thread
    /// flavour this thread also runs the runtime's tasks while it waits.
    ///
    /// Unlike [`Runtime::block_on`](super::Runtime::block_on), it lets the
    /// future call [`block_in_place`](crate::task::block_in_place) on the
    /// current-thread flavour too, as tokio's does: the closure runs right
    /// there, and the runtime's tasks wait for it.
    ///
    /// # Panics
    /// When called from a thread that is driving tasks.
    #[track_caller]
    pub fn block_on<F: IntoFuture>(&self, future: F) -> F::Output {
        self.block_on_with(
            future.into_future(),
            BlockInPlace::InPlace,
            &self.service_set(),
        )
    }

    /// `block_on`, with what a `block_in_place` inside it does on the
    /// current-thread flavour (`Runtime::block_on` refuses it), and this
    /// runtime's `services` to make current meanwhile.
    #[track_caller]
    pub(crate) fn block_on_with<F: Future>(
        &self,
        future: F,
        block_in_place: BlockInPlace,
        services: &ServiceSet,
    ) -> F::Output {
        let location = Location::caller();
        let _driving = start_driving_tasks();
        // Pinned here, once: below it travels as a pointer, not moved
        // (copied) through each call on its way to the poll.
        let future = pin!(trace::block_on(future, location));
        services.scope(|| {
            let scheduler = &self.services.scheduler;
            match scheduler.flavor {
                RuntimeFlavor::CurrentThread => {
                    let origin = current_thread::Origin {
                        location,
                        type_name: std::any::type_name::<F>(),
                    };
                    current_thread::block_on(scheduler, future, block_in_place, origin)
                }
                RuntimeFlavor::MultiThread => park_on(future, scheduler),
            }
        })
    }

    /// Makes this runtime current on this thread until the guard drops, so
    /// that `weft::spawn` and `Handle::current` work outside of it.
    ///
    /// # Panics
    /// When guards are dropped in another order than the reverse of the
    /// order they were made in (the runtime left current would be wrong).
    pub fn enter(&self) -> EnterGuard<'_> {
        let depth = ENTERED.with(|entered| {
            let depth = entered.get() + 1;
            entered.set(depth);
            depth
        });
        EnterGuard {
            _order: EnterOrder { depth },
            _guard: self.set_current(),
            _handle: PhantomData,
        }
    }

    /// Makes this runtime, its timers and its reactor current on this
    /// thread until the guard drops (guards nest).
    #[inline]
    pub(crate) fn set_current(&self) -> ServiceGuard {
        self.service_set().enter()
    }

    /// This runtime, its timers and its reactor, to make current on a
    /// thread the runtime starts.
    #[inline]
    pub(crate) fn service_set(&self) -> ServiceSet {
        ServiceSet::new()
            .with(self)
            .with(self.services.time())
            .with(self.services.io())
    }

    /// Counters describing the runtime.
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            services: self.services.clone(),
        }
    }

    /// Which scheduler the runtime uses.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        self.services.scheduler.flavor
    }

    /// Every live task of this runtime, for "why is it stuck?": each
    /// task's id, name, spawn location, future type, state (running on
    /// which worker, scheduled, idle, ...), polls, time since its last poll
    /// and since its spawn, and what it waits on (a timer, a socket, a sync
    /// primitive, another task's `JoinHandle`, or a future weft cannot
    /// see), with deadlock hints. Print it for a table.
    ///
    /// Cheap enough to call on a live server: it walks the task list under
    /// its locks, reading a few words per task; it stops, polls and wakes
    /// nothing. What it leaves out: see [`dump`](super::dump).
    pub fn dump(&self) -> super::Dump {
        super::dump::Dump::of_runtime(&self.services)
    }

    /// The runtime's id, the same from every handle to it and different
    /// from every other runtime's.
    pub fn id(&self) -> super::Id {
        self.services.id
    }

    /// The name [`Builder::name`](super::Builder::name) gave the runtime.
    pub fn name(&self) -> Option<&str> {
        self.services.name.as_deref()
    }

    /// Which poller the runtime's reactor waits in: what
    /// [`Builder::io_backend`](super::Builder::io_backend) (or
    /// `WEFT_IO_BACKEND`) asked for, [`Portable`](super::IoBackend::Portable)
    /// on a platform without a native backend.
    pub fn io_backend(&self) -> super::IoBackend {
        self.services.io().io_backend()
    }
}

impl Service for Handle {
    type Shared = Services;
    const SLOT: Slot = Slot::Scheduler;
    const MISSING: &'static str = "there is no weft runtime here: this must be called from \
                                   inside a weft runtime (a task, `Runtime::block_on`, \
                                   `#[weft::main]` or `#[weft::test]`), or after \
                                   `Handle::enter()`";

    fn shared(&self) -> &Arc<Services> {
        &self.services
    }

    fn from_shared(services: Arc<Services>) -> Handle {
        Handle::new(services)
    }
}

/// Marks this thread as driving tasks until the guard drops.
///
/// # Panics
/// If it already is: blocking a thread that drives tasks stalls them all.
#[track_caller]
pub(crate) fn start_driving_tasks() -> DrivingGuard {
    let (guard, was) = context::set_driving_tasks(true);
    if was {
        panic!(
            // tokio's words first (code ported from tokio matches on them),
            // then weft's ways out.
            "Cannot start a runtime from within a runtime. This happens because a function \
             (like `block_on`) attempted to block the current thread while the thread is \
             being used to drive asynchronous tasks. If you are in an async function, use \
             `.await` on the future instead of blocking on it. Otherwise move the blocking \
             call off the runtime with `weft::task::spawn_blocking`, or wrap it in \
             `weft::task::block_in_place` on the multi-thread runtime."
        );
    }
    guard
}

impl Handle {
    /// Runs `f` on this runtime's blocking pool, as a task of its own.
    #[track_caller]
    pub(crate) fn spawn_blocking_named<F, R>(
        &self,
        f: F,
        name: Option<Arc<String>>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let services = &self.services;
        // In a check run the closure is one more step the checker orders
        // among the tasks, run inline on the checker's thread.
        #[cfg(not(loom))]
        if let Some(check) = services.check.get() {
            let name = name.or_else(|| Some(Arc::new(String::from("spawn_blocking"))));
            return check.spawn(BlockingTask::new(f), name, Location::caller());
        }
        let scheduler = &services.scheduler;
        // A paused clock must not jump ahead while blocking work takes real
        // time, nor before its result is out.
        let inhibit = (scheduler.flavor == RuntimeFlavor::CurrentThread)
            .then(|| services.time().inhibit_auto_advance());
        let (task, notified, join) = super::services::make_task(
            BlockingTask::new(f),
            scheduler.clone(),
            name,
            Location::caller(),
            true,
        );
        // Not in the owned-tasks list, as tokio's are not: the scheduler's
        // shutdown must not cancel a closure the pool has handed to a
        // thread. The pool cancels the rest itself (`blocking/mod.rs`), and
        // completion finds the task unlinked (`OwnedTasks::remove`).
        drop(task);
        let owner = Arc::as_ptr(scheduler).cast();
        services
            .blocking
            .spawn(notified, inhibit, owner, || self.service_set());
        join
    }
}

/// Polls `future` on this thread, sleeping between wakeups (after a short
/// spin while a worker is idle: `Parker::park_spinning`).
fn park_on<F: Future>(mut future: Pin<&mut F>, scheduler: &Scheduler) -> F::Output {
    let mut park = ThreadParker::take();
    let waker = park.waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = coop::budget(|| future.as_mut().poll(&mut cx)) {
            return out;
        }
        park.park_spinning(|| scheduler.idle.has_idle_worker());
    }
}

// Every piece of a runtime's shared state is behind atomics and locks that
// a panic cannot leave half-changed (task panics are caught in the task).
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.runtime_flavor())
            .finish_non_exhaustive()
    }
}

weft_base::loom::thread_local! {
    /// How many `EnterGuard`s this thread holds.
    static ENTERED: Cell<usize> = const { Cell::new(0) };
}

/// Keeps a runtime current on this thread; see [`Handle::enter`].
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    // Checked before the services are restored (fields drop in order).
    _order: EnterOrder,
    _guard: ServiceGuard,
    // No `Drop` on the guard itself, so the runtime it borrows may be shut
    // down (moved) while it is alive, as with tokio's.
    _handle: PhantomData<&'a Handle>,
}

/// An `EnterGuard`'s place among the thread's guards, 1 for the outermost:
/// it must be the innermost when it drops.
struct EnterOrder {
    depth: usize,
}

impl Drop for EnterOrder {
    fn drop(&mut self) {
        let in_order = ENTERED
            .try_with(|entered| {
                let in_order = entered.get() == self.depth;
                entered.set(self.depth - 1);
                in_order
            })
            .unwrap_or(true);
        if !in_order && !std::thread::panicking() {
            panic!(
                "`EnterGuard` values dropped out of order: the guards of `Handle::enter` and \
                 `Runtime::enter` must be dropped in the reverse order of their making"
            );
        }
    }
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
    /// Why this thread has no current runtime.
    pub(crate) fn here() -> TryCurrentError {
        TryCurrentError {
            destroyed: context::is_thread_exiting(),
        }
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
            f.write_str(<Handle as Service>::MISSING)
        }
    }
}

impl std::error::Error for TryCurrentError {}
