//! What happens to a task, generic over its future: poll, complete, cancel,
//! hand the output to the `JoinHandle`, free the cell.
//!
//! Every function here is reached through the task's vtable with a pointer
//! to a live `Cell<F, S>` of the matching `F` and `S`, and follows the access rules of
//! `layout.rs`: the stage is touched only with `RUNNING` held, or by the handle
//! after `COMPLETE`; the join waker slot only per `JOIN_WAKER`.

use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::error::JoinError;
use super::layout::{Cell, Header, Vtable};
use super::origin::Origin;
use super::raw::{Notified, RawTask};
use super::state::{Snapshot, ToIdle, ToRunning};
use super::waker::waker_ref;
use super::Schedule;
use weft_base::context;

/// The vtable of a `Cell<F, S>`. No `Send` bound: a local task's future
/// need not be (see `cell::new_local` for what then keeps it on its thread).
pub(crate) fn vtable<F, S, const BLOCKING: bool>() -> &'static Vtable
where
    F: Future + 'static,
    S: Schedule,
{
    &Vtable {
        poll: poll::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle_slow: drop_join_handle_slow::<F, S>,
        shutdown: shutdown::<F, S>,
        schedule: schedule::<F, S>,
        type_name: std::any::type_name::<F>,
        origin: origin::<F, S>,
        blocking: BLOCKING,
    }
}

/// The task's origin.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>`; the pointer is good while the caller's
/// reference lasts.
unsafe fn origin<F: Future, S: Schedule>(ptr: NonNull<Header>) -> NonNull<Origin> {
    // SAFETY: reached through this cell's own vtable; the origin is never
    // written after the cell is made, so a shared pointer is sound.
    let cell = unsafe { cell::<F, S>(ptr) };
    NonNull::from(&cell.trailer.origin)
}

/// Queues `task` with the cell's scheduler.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>`, and the caller holds a reference to it
/// (besides `task`'s) for the whole call.
unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>, task: Notified) {
    // SAFETY: reached through this cell's own vtable; the caller's reference
    // keeps the cell, and so its scheduler, alive across the push.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.schedule(task);
}

/// # Safety
/// `ptr` points to a live `Cell<F, S>`.
unsafe fn cell<'a, F: Future, S: Schedule>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: `Cell<F, S>` is `repr(C)` with the header first, and the caller
    // guarantees the cell is a live `Cell<F, S>`.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>, carried: bool) {
    // SAFETY: reached through this cell's own vtable.
    let cell = unsafe { cell::<F, S>(ptr) };
    let header = &cell.header;
    let start = if carried {
        header.state.resume_carried()
    } else {
        header.state.transition_to_running()
    };
    match start {
        ToRunning::Success => {}
        ToRunning::Cancelled => {
            let err = cancel_future(cell);
            // SAFETY: we hold `RUNNING` and the poll's reference.
            unsafe { complete::<F, S>(ptr, Err(err)) };
            return;
        }
        ToRunning::Failed => return,
        ToRunning::Dealloc => {
            // SAFETY: that was the last reference.
            unsafe { dealloc::<F, S>(ptr) };
            return;
        }
    }

    // SAFETY: we hold the poll's reference for as long as the waker is used
    // by reference; wakers that outlive the poll are clones with their own.
    let waker = unsafe { waker_ref(ptr) };
    let mut cx = Context::from_waker(&waker);
    match poll_future(cell, &mut cx) {
        // SAFETY: we hold `RUNNING` and the poll's reference.
        Polled::Ready(output) => unsafe { complete::<F, S>(ptr, output) },
        Polled::Pending(true) => {
            // Woken by itself: to the back of this thread's queue, still
            // ours, leaving the state word as it is.
            // SAFETY: we hold `RUNNING` and the poll's reference, and give
            // both to the entry.
            let task = unsafe { Notified::carried(RawTask::from_raw(ptr)) };
            if let Err(task) = cell.scheduler.defer(task) {
                // Not queued here: both are ours again; end the poll
                // through the state word, which queues the task anywhere.
                task.take_back_carried();
                // SAFETY: as below.
                unsafe { idle::<F, S>(ptr, true) };
            }
        }
        // SAFETY: we hold `RUNNING` and the poll's reference.
        Polled::Pending(false) => unsafe { idle::<F, S>(ptr, false) },
    }
}

/// Ends a poll that returned `Pending`.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>`, and the caller holds `RUNNING` and the
/// poll's reference, which this takes over.
unsafe fn idle<F: Future, S: Schedule>(ptr: NonNull<Header>, woke_itself: bool) {
    // SAFETY: reached through this cell's own vtable.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_idle(woke_itself) {
        ToIdle::Ok => {}
        ToIdle::OkNotified => {
            // Woken while running: it goes to the back of the queue (not
            // the LIFO slot), so a task that wakes itself yields.
            // SAFETY: the poll's reference moves to the queue entry, and
            // `NOTIFIED` is set.
            let task = unsafe { Notified::from_raw(RawTask::from_raw(ptr)) };
            if let Err(task) = cell.scheduler.defer(task) {
                // Once pushed, the task may run and be freed on another
                // thread, the scheduler in its cell with it: push
                // through a count of our own, borrowing nothing from
                // the cell.
                let scheduler = cell.scheduler.clone();
                scheduler.schedule(task);
            }
        }
        // SAFETY: that was the last reference.
        ToIdle::OkDealloc => unsafe { dealloc::<F, S>(ptr) },
        ToIdle::Cancelled => {
            let err = cancel_future(cell);
            // SAFETY: we still hold `RUNNING` and the poll's reference.
            unsafe { complete::<F, S>(ptr, Err(err)) };
        }
    }
}

/// Polls the future with `RUNNING` held; on completion or panic the future
/// is dropped here and the result returned. A future whose poll panics is
/// dropped while the panic unwinds, as tokio's is: its destructor sees
/// `std::thread::panicking()`.
fn poll_future<F: Future, S: Schedule>(
    cell: &Cell<F, S>,
    cx: &mut Context<'_>,
) -> Polled<Result<F::Output, JoinError>> {
    /// Drops the future if the poll unwinds; forgotten when it returns.
    struct DropOnUnwind<'a, F: Future, S: Schedule>(&'a Cell<F, S>);
    impl<F: Future, S: Schedule> Drop for DropOnUnwind<'_, F, S> {
        fn drop(&mut self) {
            // A panic in the destructor is caught there and lost: the poll's
            // own panic is the one the JoinHandle reports.
            let _ = drop_future(self.0);
        }
    }

    let id = cell.header.id;
    let _task = context::enter_poll(id.0);
    cell.header.activity.poll_started();
    let polled = panic::catch_unwind(AssertUnwindSafe(|| {
        let unwinding = DropOnUnwind(cell);
        let poll = cell.stage.with_mut(|stage| {
            // SAFETY: `RUNNING` gives us the stage, which holds the future
            // until we drop it (`layout.rs`); it never moves: the cell is
            // boxed, and the future is dropped in place.
            unsafe { Pin::new_unchecked(&mut *(*stage).future) }.poll(cx)
        });
        mem::forget(unwinding);
        poll
    }));
    let output = match polled {
        Ok(Poll::Pending) => {
            let woke_itself = context::woke_itself();
            cell.header
                .activity
                .poll_pending(context::noted_wait(), woke_itself);
            return Polled::Pending(woke_itself);
        }
        Ok(Poll::Ready(output)) => {
            // A future that panics in its destructor after finishing keeps
            // its output.
            let _ = drop_future(cell);
            Ok(output)
        }
        // The future was dropped while the panic unwound.
        Err(payload) => Err(JoinError::panic(
            id,
            cell.trailer.origin.name().cloned(),
            payload,
        )),
    };
    Polled::Ready(output)
}

/// How a poll of the task's future ended.
enum Polled<T> {
    Ready(T),
    /// Pending; true when the task woke itself during the poll, on this
    /// thread (noted in the context instead of on the state word).
    Pending(bool),
}

/// Drops the future (with `RUNNING` held) and says how it ended.
fn cancel_future<F: Future, S: Schedule>(cell: &Cell<F, S>) -> JoinError {
    let id = cell.header.id;
    let _task = context::enter_task(id.0);
    match drop_future(cell) {
        Ok(()) => JoinError::cancelled(id, cell.trailer.origin.name().cloned()),
        Err(payload) => JoinError::panic(id, cell.trailer.origin.name().cloned(), payload),
    }
}

/// Drops the future in place, catching a panic in its destructor. In
/// place, because a future polled once is pinned: `Pin` promises it is
/// dropped where it lies, and self-referential futures (futures-util's
/// `ReadLine` restores its string through a pointer into the task's own
/// future) rely on that. The caller holds `RUNNING` and the stage still
/// holds the future; afterwards it holds nothing, also if the destructor
/// panicked (drop glue drops the remaining fields while unwinding).
fn drop_future<F: Future, S: Schedule>(cell: &Cell<F, S>) -> std::thread::Result<()> {
    panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: per the caller, the future is live and ours, and
            // nothing reads it after this.
            unsafe { ManuallyDrop::drop(&mut (*stage).future) };
        });
    }))
}

/// Drops the stored output, catching a panic in its destructor. The caller
/// owns the output (`layout.rs`: completion without join interest, or the
/// handle dropped with it), and nothing reads it after this.
fn drop_output<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: per the caller.
            unsafe { ManuallyDrop::drop(&mut (*stage).output) };
        });
    }));
}

/// Stores the output, releases the join handle's waiter and the task's
/// references, and frees the cell if those were the last.
///
/// # Safety
/// `ptr` is a live `Cell<F, S>`; the caller holds `RUNNING` and one reference,
/// and holds no borrow of the cell across this call (it may be freed here).
unsafe fn complete<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    output: Result<F::Output, JoinError>,
) {
    // SAFETY: per the caller; this borrow ends before the cell is freed.
    let cell = unsafe { cell::<F, S>(ptr) };
    let header = &cell.header;
    // SAFETY: `RUNNING` gives exclusive access, and the stage holds nothing
    // (the future was dropped): writing over it leaks nothing.
    cell.stage.with_mut(|stage| unsafe {
        std::ptr::write(&mut (*stage).output, ManuallyDrop::new(output))
    });
    let snapshot = header.state.transition_to_complete();

    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        if !snapshot.is_join_interested() {
            // Nobody will read the output: drop it here, on the runtime,
            // as the task (its destructor sees the task's id).
            let _task = context::enter_task(header.id.0);
            drop_output(cell);
        } else if snapshot.is_join_waker_set() {
            // SAFETY: `JOIN_WAKER` is set, so the handle does not touch the slot.
            cell.trailer
                .join_waker
                .with(|waker| unsafe { &*waker }.wake_by_ref());
        }
    }));
    if snapshot.is_join_interested() && snapshot.is_join_waker_set() {
        let prev = header.state.unset_waker_after_complete();
        if !prev.is_join_interested() {
            // The handle was dropped while we woke it: the waker is ours.
            // Its destructor is user code: contain a panic.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                cell.trailer.join_waker.with_mut(|slot| {
                    // SAFETY: `JOIN_WAKER` was ours and the handle is gone.
                    unsafe { (*slot).clear() }
                });
            }));
        }
    }

    let released = cell.scheduler.release(header);
    if header
        .state
        .transition_to_terminal(1 + usize::from(released))
    {
        // SAFETY: the count reached zero; `ptr` carries the allocation's
        // provenance (a pointer made from `header` would not).
        unsafe { dealloc::<F, S>(ptr) };
    }
}

unsafe fn shutdown<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    cause: Option<std::io::Error>,
    carried: bool,
) {
    // SAFETY: reached through this cell's own vtable.
    let cell = unsafe { cell::<F, S>(ptr) };
    let owned = if carried {
        cell.header.state.cancel_carried();
        true
    } else {
        cell.header.state.transition_to_shutdown()
    };
    if owned {
        let err = cancel_future(cell).with_cause(cause);
        // SAFETY: the transition (or the carried entry) gave us `RUNNING`;
        // we pass on our reference.
        unsafe { complete::<F, S>(ptr, Err(err)) };
    } else {
        // SAFETY: the caller handed us one reference.
        unsafe { RawTask::from_raw(ptr) }.drop_reference();
    }
}

unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: reached through this cell's own vtable; `dst` is the handle's
    // `Poll<Result<F::Output, JoinError>>`.
    let cell = unsafe { cell::<F, S>(ptr) };
    if can_read_output(cell, waker) {
        let output = cell.stage.with_mut(|stage| {
            // SAFETY: `COMPLETE` is set and we hold the join interest, so
            // the output is stored and ours; the handle notes that it took
            // it, so nothing reads or drops it again.
            ManuallyDrop::into_inner(unsafe { std::ptr::read(&(*stage).output) })
        });
        let dst = dst.cast::<Poll<Result<F::Output, JoinError>>>();
        // SAFETY: the handle passes a valid, initialised slot.
        unsafe { *dst = Poll::Ready(output) };
    }
}

/// True when the output is ready; otherwise leaves `waker` with the runtime.
fn can_read_output<F: Future, S: Schedule>(cell: &Cell<F, S>, waker: &Waker) -> bool {
    let state = &cell.header.state;
    let snapshot = state.load();
    if snapshot.is_complete() {
        return true;
    }
    let stored = if snapshot.is_join_waker_set() {
        let same = cell.trailer.join_waker.with(|slot| {
            // SAFETY: the slot holds a waker while the bit is set, and only
            // the handle (us) may replace it; reading it is fine.
            unsafe { &*slot }.will_wake(waker)
        });
        if same {
            return false;
        }
        state
            .unset_join_waker()
            .and_then(|snapshot| set_join_waker(cell, waker, snapshot))
    } else {
        set_join_waker(cell, waker, snapshot)
    };
    match stored {
        Ok(_) => false,
        Err(snapshot) => {
            debug_assert!(snapshot.is_complete());
            true
        }
    }
}

fn set_join_waker<F: Future, S: Schedule>(
    cell: &Cell<F, S>,
    waker: &Waker,
    snapshot: Snapshot,
) -> Result<Snapshot, Snapshot> {
    debug_assert!(!snapshot.is_join_waker_set());
    // SAFETY: `JOIN_WAKER` is clear, so the runtime does not read the slot.
    cell.trailer
        .join_waker
        .with_mut(|slot| unsafe { (*slot).set(waker) });
    let res = cell.header.state.set_join_waker();
    if res.is_err() {
        // Completed meanwhile: the runtime never saw the waker; take it back.
        // SAFETY: the bit is still clear.
        cell.trailer
            .join_waker
            .with_mut(|slot| unsafe { (*slot).clear() });
    }
    res
}

/// Drops the handle's interest and reference; `taken`: it read the output.
unsafe fn drop_join_handle_slow<F: Future, S: Schedule>(ptr: NonNull<Header>, taken: bool) {
    // SAFETY: reached through this cell's own vtable.
    let cell = unsafe { cell::<F, S>(ptr) };
    let transition = cell.header.state.transition_to_join_handle_dropped();
    if transition.drop_output && !taken {
        // The output is ours: `COMPLETE` was set when we gave up interest.
        // Its destructor sees the task's id, wherever the handle drops.
        let _task = context::enter_task(cell.header.id.0);
        drop_output(cell);
    }
    if transition.drop_waker {
        // SAFETY: `JOIN_WAKER` is clear, so the slot is ours.
        cell.trailer
            .join_waker
            .with_mut(|slot| unsafe { (*slot).clear() });
    }
    // SAFETY: the handle's reference.
    unsafe { RawTask::from_raw(ptr) }.drop_reference();
}

unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the last reference is gone, so nobody else can reach the cell,
    // and it was allocated as a `Box<Cell<F, S>>` in `task::new`.
    let mut cell = unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) };
    if !cell.header.state.get_mut().is_complete() {
        // Never completed, so the stage still holds the future (`layout.rs`);
        // a completed task's output went with its join interest.
        // SAFETY: the cell is ours alone, and dropped right after.
        cell.stage
            .with_mut(|stage| unsafe { ManuallyDrop::drop(&mut (*stage).future) });
    }
    drop(cell);
}
