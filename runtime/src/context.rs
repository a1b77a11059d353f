//! What a thread knows about the runtime it is in, kept in one thread-local:
//! the current `Handle` (set by `enter`, `block_on` and on runtime threads),
//! whether the thread drives tasks (then blocking on another runtime is a
//! bug), the worker it is (if any), and the task being polled. (The
//! cooperative budget is the reactor's: `weft_reactor::coop`.)

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

use crate::runtime::{Handle, TryCurrentError};
use crate::scheduler::worker::WorkerContext;
use crate::task::Id;

struct Context {
    handle: RefCell<Option<Handle>>,
    worker: Cell<*const WorkerContext>,
    in_runtime: Cell<bool>,
    task: Cell<Option<Id>>,
    /// The scheduler whose worker or blocking thread this is (identity only).
    thread_of: Cell<*const ()>,
}

crate::loom::thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            worker: Cell::new(std::ptr::null()),
            in_runtime: Cell::new(false),
            task: Cell::new(None),
            thread_of: Cell::new(std::ptr::null()),
        }
    };
}

/// Runs `f` with the current handle.
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> Result<R, TryCurrentError> {
    match CONTEXT.try_with(|cx| cx.handle.borrow().as_ref().map(f)) {
        Ok(Some(out)) => Ok(out),
        Ok(None) => Err(TryCurrentError::no_context()),
        Err(_) => Err(TryCurrentError::thread_local_destroyed()),
    }
}

/// Makes `handle` current until the guard drops (guards nest).
pub(crate) fn set_current(handle: &Handle) -> SetCurrentGuard {
    let time = handle.shared.time.enter();
    let io = handle.shared.io.enter();
    let prev = CONTEXT.with(|cx| cx.handle.borrow_mut().replace(handle.clone()));
    SetCurrentGuard {
        prev,
        _time: time,
        _io: io,
        _not_send: PhantomData,
    }
}

pub(crate) struct SetCurrentGuard {
    prev: Option<Handle>,
    /// The timers' and the reactor's own notions of the current runtime,
    /// set alongside.
    _time: weft_timer::EnterGuard,
    _io: weft_reactor::EnterGuard,
    _not_send: PhantomData<*const ()>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|cx| *cx.handle.borrow_mut() = prev);
    }
}

/// Marks this thread as driving tasks until the guard drops.
///
/// # Panics
/// If it already is: blocking a thread that drives tasks stalls them all.
#[track_caller]
pub(crate) fn enter_runtime() -> RuntimeGuard {
    let was = CONTEXT.with(|cx| cx.in_runtime.replace(true));
    if was {
        panic!(
            "cannot block on a future from a thread that is driving weft tasks \
             (`block_on` was called inside a runtime: in an async fn, a task, or another \
             `block_on`). Blocking here would stall every task on this thread. \
             `.await` the future instead, or move the blocking call off the runtime with \
             `weft::task::spawn_blocking`, or wrap it in `weft::task::block_in_place` on \
             the multi-thread runtime."
        );
    }
    RuntimeGuard {
        was: false,
        _not_send: PhantomData,
    }
}

/// Lifts the "driving tasks" mark until the guard drops (`block_in_place`).
pub(crate) fn exit_runtime() -> RuntimeGuard {
    let was = CONTEXT.with(|cx| cx.in_runtime.replace(false));
    RuntimeGuard {
        was,
        _not_send: PhantomData,
    }
}

pub(crate) struct RuntimeGuard {
    was: bool,
    _not_send: PhantomData<*const ()>,
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        let was = self.was;
        let _ = CONTEXT.try_with(|cx| cx.in_runtime.set(was));
    }
}

/// Makes `worker` this thread's worker until the guard drops.
pub(crate) fn set_worker(worker: &WorkerContext) -> WorkerGuard<'_> {
    let prev = CONTEXT.with(|cx| cx.worker.replace(worker));
    WorkerGuard {
        prev,
        _worker: PhantomData,
    }
}

pub(crate) struct WorkerGuard<'a> {
    prev: *const WorkerContext,
    _worker: PhantomData<&'a WorkerContext>,
}

impl Drop for WorkerGuard<'_> {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CONTEXT.try_with(|cx| cx.worker.set(prev));
    }
}

/// Runs `f` with this thread's worker, if it is one.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&WorkerContext>) -> R) -> R {
    let ptr = CONTEXT
        .try_with(|cx| cx.worker.get())
        .unwrap_or(std::ptr::null());
    // SAFETY: the pointer is set only by `set_worker`, whose guard clears it
    // before the `WorkerContext` it borrows goes away, and it is only read on
    // its own thread.
    f(unsafe { ptr.as_ref() })
}

/// Names `id` as the task being polled until the guard drops.
pub(crate) fn enter_task(id: Id) -> TaskGuard {
    let prev = CONTEXT
        .try_with(|cx| cx.task.replace(Some(id)))
        .unwrap_or(None);
    TaskGuard { prev }
}

pub(crate) struct TaskGuard {
    prev: Option<Id>,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CONTEXT.try_with(|cx| cx.task.set(prev));
    }
}

pub(crate) fn current_task() -> Option<Id> {
    CONTEXT.try_with(|cx| cx.task.get()).unwrap_or(None)
}

/// True on a thread that is driving tasks.
pub(crate) fn is_in_runtime() -> bool {
    CONTEXT.try_with(|cx| cx.in_runtime.get()).unwrap_or(false)
}

/// Marks this thread as one of the threads of the runtime `id` (an address
/// used only for identity) until the guard drops.
pub(crate) fn set_thread_of(id: *const ()) -> ThreadOfGuard {
    let prev = CONTEXT.with(|cx| cx.thread_of.replace(id));
    ThreadOfGuard { prev }
}

pub(crate) struct ThreadOfGuard {
    prev: *const (),
}

impl Drop for ThreadOfGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CONTEXT.try_with(|cx| cx.thread_of.set(prev));
    }
}

/// True on a worker or blocking thread of the runtime `id`.
pub(crate) fn is_thread_of(id: *const ()) -> bool {
    CONTEXT
        .try_with(|cx| cx.thread_of.get() == id)
        .unwrap_or(false)
}
