//! Tasks: spawning, joining, aborting, yielding, blocking.
//!
//! A task is one heap cell (`cell.rs`) driven by a state word (`state.rs`);
//! `harness.rs` polls and completes it, `waker.rs` makes the task its own
//! waker, `list.rs` tracks every live task for shutdown, and `join.rs` is the
//! outside's handle on it.

mod builder;
mod cell;
mod error;
mod harness;
mod id;
mod join;
mod join_all;
mod join_set;
mod list;
mod raw;
mod ready;
mod state;
mod waker;
mod yield_now;

pub use builder::Builder;
pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinHandle};
pub use join_all::{join_all, try_join_all, JoinAll, TryJoinAll};
pub use join_set::JoinSet;
pub use yield_now::yield_now;

pub(crate) use cell::Header;
pub(crate) use list::OwnedTasks;
pub(crate) use raw::{Notified, Task};

use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::context;
use crate::runtime::handle::{spawn_blocking_on, spawn_on};
use crate::runtime::Handle;
use crate::scheduler::{Flavor, Shared};
use cell::Cell;
use raw::RawTask;

/// Allocates a task: the owned list's handle, its first queue entry, and
/// its `JoinHandle` (one reference each).
pub(crate) fn new<F>(
    future: F,
    scheduler: Arc<Shared>,
    id: Id,
    name: Option<Arc<String>>,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cell = Cell::new(future, scheduler, id, name, harness::vtable::<F>());
    // SAFETY: `Box::into_raw` never returns null.
    let ptr = unsafe { NonNull::new_unchecked(Box::into_raw(cell)) }.cast::<Header>();
    // SAFETY: the cell is live and starts with three references (see
    // `state::INITIAL`), one for each handle made here; `NOTIFIED` is set.
    unsafe {
        let raw = RawTask::from_raw(ptr);
        (
            Task::from_raw(raw),
            Notified::from_raw(raw),
            JoinHandle::new(raw),
        )
    }
}

/// Spawns a task onto the current runtime.
///
/// The task starts running in the background at once; await the returned
/// [`JoinHandle`] for its output, or drop it to detach the task.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = weft_runtime::spawn(async { "hello" });
/// assert_eq!(handle.await.unwrap(), "hello");
/// # });
/// ```
///
/// # Panics
/// Outside a weft runtime (no `block_on`, task, or `Handle::enter` on this
/// thread). Use [`Builder::spawn`] for an error instead.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::with_current(|handle| handle.shared.clone()) {
        Ok(shared) => spawn_on(shared, future, None),
        Err(err) => panic!("weft::spawn: {err}"),
    }
}

/// Runs a blocking closure on the current runtime's blocking pool and
/// returns a handle to its result; the async code awaiting it stays
/// responsive.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let sum = weft_runtime::task::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
/// assert_eq!(sum, 5050);
/// # });
/// ```
///
/// # Panics
/// Outside a weft runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) => spawn_blocking_on(&handle, f, None),
        Err(err) => panic!("weft::task::spawn_blocking: {err}"),
    }
}

/// Runs blocking code inside a task without stalling the other tasks of the
/// worker: the worker's queue moves to a new thread first, and this thread
/// finishes the current task and then leaves the pool.
///
/// Outside a runtime, or already inside `block_in_place`, it just runs `f`.
/// Inside `f`, `Handle::block_on` is allowed.
///
/// # Panics
/// On the current-thread flavour, which has no other thread to hand the
/// queue to (use [`spawn_blocking`] there).
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    let handed_off = context::with_worker(|cx| {
        let Some(cx) = cx else { return Ok(false) };
        if cx.shared.flavor == Flavor::CurrentThread {
            return Err(());
        }
        let core = cx.core.borrow_mut().take();
        let Some(core) = core else { return Ok(false) };
        match crate::scheduler::worker::hand_off(&cx.shared, core) {
            Ok(()) => Ok(true),
            Err(core) => {
                // No thread could be started: block this worker instead.
                *cx.core.borrow_mut() = Some(core);
                Ok(false)
            }
        }
    });
    if handed_off.is_err() {
        panic!(
            "weft::task::block_in_place cannot be used on the current-thread runtime: it has no \
             other thread to take over its tasks. Use weft::task::spawn_blocking, or the \
             multi-thread runtime."
        );
    }
    let _outside = context::exit_runtime();
    f()
}
