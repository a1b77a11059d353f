//! The task cell: one heap allocation per task, the state word that drives
//! it, the waker that is the task itself, the handles the outside holds on
//! it (`JoinHandle`, `AbortHandle`), and the owned list that finds every
//! live task at shutdown.
//!
//! `layout.rs` is the allocation, `state.rs` the state word, `harness.rs`
//! polls and completes a task, `raw.rs` holds the reference-counted pointers
//! the queues carry, `waker.rs` makes the task its own waker, `list.rs`
//! tracks live tasks, `join.rs` is the outside's handle on one and
//! `join_waker.rs` the one-word slot where it leaves its waker.
//!
//! This layer knows nothing of workers or runtimes: a cell reaches whoever
//! runs it only through the [`Schedule`] implementation it was made with
//! (held in the cell, kept alive by the task, reached from type-erased
//! paths through the vtable).

mod activity;
mod error;
mod harness;
mod id;
mod join;
mod join_waker;
mod layout;
mod list;
mod low_bit;
mod origin;
mod raw;
mod state;
mod waker;

pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinHandle};

pub(crate) use activity::TaskView;
pub(crate) use layout::{Header, Meta};
pub(crate) use list::OwnedTasks;
pub(crate) use raw::{Notified, Task};

use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;

use layout::Cell;
use raw::RawTask;

/// What a task needs from whoever runs it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues a task woken from outside its own poll. The caller holds a
    /// reference to the task for the whole call.
    fn schedule(&self, task: Notified);

    /// Queues a task woken during its own poll, on the thread that polled
    /// it, or gives it back when this thread cannot keep it. The task cannot
    /// run anywhere else before this returns, and the entry is not dropped
    /// here: it may be carried (`raw.rs`), and dropping one cancels its
    /// task, which the poller is still using.
    fn defer(&self, task: Notified) -> Result<(), Notified>;

    /// Removes a finished task from the owned list. True when the list's
    /// reference is now the caller's to drop.
    fn release(&self, task: &Header) -> bool;
}

/// Allocates a task: the owned list's handle, its first queue entry, and
/// its `JoinHandle` (one reference each).
pub(crate) fn new<F, S>(
    future: F,
    scheduler: Arc<S>,
    id: Id,
    meta: Meta,
    span_id: crate::trace::SpanId,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: a `Send` future with a `Send` output may be polled and
    // dropped on any thread, which is all `new_local` asks of its caller.
    unsafe { new_local(future, scheduler, id, meta, span_id) }
}

/// Allocates a task whose future (and output) need not be `Send`: a
/// `LocalSet`'s. Returns the same three handles as [`new`].
///
/// # Safety
/// Unless `F` and `F::Output` are `Send`, `scheduler` must run the task
/// (every `Notified` it is given) only on the thread that calls this, and
/// that thread must shut down every task still in the owned list the task
/// is bound to before it exits; a task whose owned list is closed must be
/// made on that thread too (`bind` then drops the future here). Then the
/// future is polled and dropped only on this thread: the cell layer drops a
/// future only while running the task, or in a shutdown from its owned
/// list, and drops the output only where it completes (the runner) or in
/// the `JoinHandle`, which is `Send` only when the output is.
pub(crate) unsafe fn new_local<F, S>(
    future: F,
    scheduler: Arc<S>,
    id: Id,
    meta: Meta,
    span_id: crate::trace::SpanId,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let vtable = if meta.blocking {
        harness::vtable::<F, S, true>()
    } else {
        harness::vtable::<F, S, false>()
    };
    let cell = Cell::new(future, scheduler, id, meta, span_id, vtable);
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
