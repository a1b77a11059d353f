//! Owning handles to a task: each holds exactly one reference.
//!
//! - `Task`: the owned-tasks list's reference.
//! - `Notified`: a queue entry's reference; running it hands that reference
//!   to the poll.
//! - `RawTask`: a plain pointer, no reference; the building block.

use std::fmt;
use std::io;
use std::ptr::NonNull;

use super::id::Id;
use super::layout::Header;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    /// # Safety
    /// `ptr` points to a live task header.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a RawTask is only made from a live header, and callers that
        // use it hold a reference that keeps the cell allocated.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    pub(crate) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    /// Drops one reference, freeing the cell if it was the last.
    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec() {
            self.dealloc();
        }
    }

    /// Queues `task`, an entry of this same task, with the task's
    /// scheduler. The caller holds a reference of its own for the whole
    /// call.
    pub(crate) fn schedule(self, task: Notified) {
        // SAFETY: the vtable is the cell's own, and the caller's reference
        // keeps the cell alive.
        unsafe { (self.header().vtable.schedule)(self.ptr, task) }
    }

    pub(crate) fn dealloc(self) {
        // SAFETY: called once, when the count reached zero; the vtable frees
        // the cell with the layout it was allocated with.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }
}

/// The owned list's reference to a task.
pub(crate) struct Task {
    raw: RawTask,
}

/// A queue entry's reference to a task that is `NOTIFIED`.
pub(crate) struct Notified {
    task: Task,
}

// SAFETY: tasks are created from `Send` futures with `Send` outputs, or as
// local tasks (`cell::new_local`), whose future is only polled and dropped
// on their own thread whoever holds these references; every access to the
// shared cell is synchronised by the state word.
unsafe impl Send for Task {}
// SAFETY: as above; `&Task` only exposes the header, whose shared fields are
// atomics or immutable.
unsafe impl Sync for Task {}
// SAFETY: as for `Task`.
unsafe impl Send for Notified {}

impl Task {
    /// # Safety
    /// The caller gives this handle one reference it owns.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Task {
        Task { raw }
    }

    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }

    pub(crate) fn id(&self) -> Id {
        self.raw.id()
    }

    /// Gives up the reference without dropping it.
    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.raw;
        std::mem::forget(self);
        raw
    }

    /// Cancels the task if no one owns it, else marks it cancelled; consumes
    /// this reference.
    pub(crate) fn shutdown(self) {
        self.shutdown_with(None);
    }

    /// [`shutdown`](Self::shutdown), with the cause its `JoinError`
    /// reports if this cancels it.
    pub(crate) fn shutdown_with(self, cause: Option<io::Error>) {
        let raw = self.into_raw();
        // SAFETY: the vtable matches the cell, and we pass on our reference.
        unsafe { (raw.header().vtable.shutdown)(raw.header_ptr(), cause) }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl Notified {
    /// # Safety
    /// The caller gives this handle one reference it owns, and the task's
    /// `NOTIFIED` bit was set by the transition that created the reference.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified {
            // SAFETY: forwarded from the caller.
            task: unsafe { Task::from_raw(raw) },
        }
    }

    pub(crate) fn id(&self) -> Id {
        self.task.id()
    }

    /// Gives up the entry as a bare pointer, its reference with it (loom's
    /// lock-free model queues keep entries in atomic words).
    #[cfg(loom)]
    pub(crate) fn into_ptr(self) -> NonNull<Header> {
        self.task.into_raw().header_ptr()
    }

    /// Takes back an entry given up by [`into_ptr`](Self::into_ptr).
    ///
    /// # Safety
    /// `ptr` came from `into_ptr`, and is taken back once.
    #[cfg(loom)]
    pub(crate) unsafe fn from_ptr(ptr: NonNull<Header>) -> Notified {
        // SAFETY: `into_ptr` gave up exactly this reference and the entry's
        // `NOTIFIED` bit is still its own; the caller takes it back once.
        unsafe { Notified::from_raw(RawTask::from_raw(ptr)) }
    }

    /// Polls (or cancels) the task, handing it this entry's reference.
    pub(crate) fn run(self) {
        let raw = self.task.into_raw();
        // SAFETY: the vtable matches the cell, and the poll takes over the
        // queue entry's reference.
        unsafe { (raw.header().vtable.poll)(raw.header_ptr()) }
    }

    /// Cancels the task without polling it (blocking pool shutdown).
    pub(crate) fn shutdown(self) {
        self.task.shutdown();
    }

    /// Cancels the task without polling it because of `cause`, which its
    /// `JoinError` reports (the blocking pool could start no thread).
    pub(crate) fn shutdown_because(self, cause: io::Error) {
        self.task.shutdown_with(Some(cause));
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("id", &self.id()).finish()
    }
}

impl fmt::Debug for Notified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").field("id", &self.id()).finish()
    }
}
