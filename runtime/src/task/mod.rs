//! Tasks, as code spawns and awaits them: `spawn`, `spawn_blocking`,
//! `block_in_place`, the `Builder` that names a task, `JoinSet`,
//! `join_all`, `yield_now`, the task's id, `!Send` tasks on a `LocalSet`
//! (`spawn_local`), task-local storage (`task_local!`), and the
//! cooperative budget (`coop`).
//!
//! Everything here goes through a runtime `Handle` (spawning lives in
//! `Services::spawn`); the task itself, its state and its handles are
//! the cell layer's (`crate::cell`).

mod builder;
pub mod coop;
mod join_all;
pub mod join_set;
mod local;
mod ready;
mod task_local;
mod yield_now;

pub use crate::cell::{id, try_id, AbortHandle, Id, JoinError, JoinHandle};
pub use builder::Builder;
pub use coop::{consume_budget, unconstrained, Unconstrained};
pub use join_all::{join_all, try_join_all, JoinAll, TryJoinAll};
pub use join_set::JoinSet;
pub use local::{spawn_local, LocalEnterGuard, LocalSet};
pub use task_local::{AccessError, LocalKey};
pub use yield_now::yield_now;

/// The futures of this module's functions.
pub mod futures {
    pub use super::task_local::TaskLocalFuture;
}

pub(crate) use local::{is_running as is_running_local_set, LocalOwner};

use std::future::Future;

use crate::runtime::{Handle, TryCurrentError};

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
    // Through a borrow of the current runtime: no count taken on it. The
    // caller's location is read here: `#[track_caller]` stops at a closure.
    let location = std::panic::Location::caller();
    let spawned = weft_base::context::with_current::<Handle, _>(|services| {
        services.map(|services| services.spawn_at(future, None, location))
    });
    match spawned {
        Some(join) => join,
        None => panic!("weft::spawn: {}", TryCurrentError::here()),
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
        Ok(handle) => handle.spawn_blocking_named(f, None),
        Err(err) => panic!("weft::task::spawn_blocking: {err}"),
    }
}

/// Runs blocking code inside a task without stalling the other tasks of the
/// worker: the worker's queue moves to a new thread first, and this thread
/// finishes the current task and then leaves the pool.
///
/// Outside a runtime, or already inside `block_in_place`, it just runs `f`.
/// Inside `f`, `Handle::block_on` is allowed, and there is no cooperative
/// budget (as in tokio): futures `f` drives itself are never told to yield.
///
/// # Panics
/// On the current-thread flavour, which has no other thread to hand the
/// queue to (use [`spawn_blocking`] there), except in the future given to
/// [`Handle::block_on`](crate::runtime::Handle::block_on), where, as in
/// tokio, `f` runs in place while the runtime's tasks wait.
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    crate::scheduler::worker::block_in_place(f)
}
