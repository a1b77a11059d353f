//! Wakers that are the task itself: the data pointer is the task header, and
//! cloning or dropping one is a reference count change on the state word.
//! Waking is a state transition plus at most one queue push; a task that
//! wakes itself during its poll, on the polling thread (`yield_now`, a
//! spent budget), only notes it in the thread's context, and the poller
//! queues it again when the poll returns (`harness.rs`).

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::layout::Header;
use super::raw::{Notified, RawTask};
use super::state::ToNotified;
use weft_base::context;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_by_val, wake_by_ref, drop_waker);

/// A waker borrowed from the poll's reference: no count change.
pub(crate) struct WakerRef {
    waker: ManuallyDrop<Waker>,
}

impl Deref for WakerRef {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// # Safety
/// The caller holds a reference to the task for as long as the `WakerRef`
/// lives.
pub(crate) unsafe fn waker_ref(header: NonNull<Header>) -> WakerRef {
    let raw = RawWaker::new(header.as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable upholds the RawWaker contract for task headers.
    let waker = unsafe { Waker::from_raw(raw) };
    WakerRef {
        waker: ManuallyDrop::new(waker),
    }
}

/// The task `waker` wakes, if it is a task's own waker (made by this
/// module): then its data pointer is the header, and the waker holds a
/// reference to it.
pub(crate) fn as_task(waker: &Waker) -> Option<NonNull<Header>> {
    if std::ptr::eq(waker.vtable(), &VTABLE) {
        NonNull::new(waker.data() as *mut Header)
    } else {
        None
    }
}

/// # Safety
/// `ptr` came from a waker of this vtable, which holds a reference.
unsafe fn raw(ptr: *const ()) -> RawTask {
    // SAFETY: waker data pointers are live task headers.
    unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds a reference.
    let task = unsafe { raw(ptr) };
    crate::trace::waker_op(task.header(), "waker.clone");
    task.ref_inc();
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: the waker's own reference.
    let task = unsafe { raw(ptr) };
    crate::trace::waker_op(task.header(), "waker.drop");
    task.drop_reference();
}

unsafe fn wake_by_val(ptr: *const ()) {
    // SAFETY: the waker's own reference; it is dropped in both paths.
    let task = unsafe { raw(ptr) };
    crate::trace::waker_op(task.header(), "waker.wake");
    wake(task);
    task.drop_reference();
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: the waker holds a reference for the duration of the call.
    let task = unsafe { raw(ptr) };
    crate::trace::waker_op(task.header(), "waker.wake_by_ref");
    wake(task);
}

/// Queues the task if it is idle, or, if it is the task being polled on
/// this thread, notes that it woke itself (the poller queues it). The
/// caller holds a reference throughout, so the header (and the scheduler it
/// points to) outlive the push.
fn wake(task: RawTask) {
    if context::note_self_wake(task.id().0) {
        return;
    }
    if task.header().state.transition_to_notified_by_ref() == ToNotified::Submit {
        // SAFETY: the transition set NOTIFIED and counted a new reference for
        // the queue entry.
        let notified = unsafe { Notified::from_raw(task) };
        task.schedule(notified);
    }
}
