//! Owning handles to a task: each holds exactly one reference.
//!
//! - `Task`: the owned-tasks list's reference.
//! - `Notified`: a queue entry's reference (and, carried, the `RUNNING` of
//!   a task that woke itself); running it hands them to the poll.
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

/// A queue entry: one reference to a task, and one of two claims on it.
///
/// - *Plain*: the transition that made the entry set `NOTIFIED` on an idle
///   task; running it takes `RUNNING` from the state word.
/// - *Carried*: the task woke itself during a poll on this thread, and the
///   entry holds that poll's `RUNNING` as well as its reference, so neither
///   the end of that poll nor the start of the next writes the state word.
///   Dropping a carried entry unrun cancels the task, which it owns.
///
/// The kind is the low bit of the header pointer (headers are aligned
/// past it), so an entry stays one word in every queue.
pub(crate) struct Notified {
    tagged: NonNull<Header>,
}

/// The tag bit of a carried entry.
const CARRIED: usize = 1;
const _: () = assert!(std::mem::align_of::<Header>() > CARRIED);

// SAFETY: tasks are created from `Send` futures with `Send` outputs, or as
// local tasks (`cell::new_local`), whose future is only polled and dropped
// on their own thread whoever holds these references; every access to the
// shared cell is synchronised by the state word, or, for a carried entry,
// by the queue that hands the entry (and `RUNNING` with it) from the poll
// that made it to the poll that runs it: a push and the pop or steal that
// takes the entry are a release and an acquire (crossbeam's deque and
// injector, the model queues' locks and fences, a core moved under a
// mutex).
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
        unsafe { (raw.header().vtable.shutdown)(raw.header_ptr(), cause, false) }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl Notified {
    /// A plain entry.
    ///
    /// # Safety
    /// The caller gives this handle one reference it owns, and the task's
    /// `NOTIFIED` bit was set by the transition that created the reference.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified {
            tagged: raw.header_ptr(),
        }
    }

    /// A carried entry.
    ///
    /// # Safety
    /// The caller holds `RUNNING` (its poll returned `Pending` after the
    /// task woke itself) and gives this handle both that and one reference
    /// it owns.
    pub(crate) unsafe fn carried(raw: RawTask) -> Notified {
        Notified {
            tagged: raw.header_ptr().map_addr(|addr| addr | CARRIED),
        }
    }

    fn raw(&self) -> RawTask {
        let ptr = self.tagged.map_addr(|addr| {
            // SAFETY: a header's address with the tag bit cleared is the
            // header's address, which is not zero.
            unsafe { std::num::NonZeroUsize::new_unchecked(addr.get() & !CARRIED) }
        });
        // SAFETY: the entry's reference keeps the header live.
        unsafe { RawTask::from_raw(ptr) }
    }

    fn is_carried(&self) -> bool {
        self.tagged.addr().get() & CARRIED != 0
    }

    /// Gives up the entry's claims without acting on them.
    fn into_parts(self) -> (RawTask, bool) {
        let parts = (self.raw(), self.is_carried());
        std::mem::forget(self);
        parts
    }

    /// Unmakes a carried entry that no queue accepted: its reference and
    /// `RUNNING` are the caller's again (it made the entry from them).
    pub(crate) fn take_back_carried(self) {
        let (_, carried) = self.into_parts();
        debug_assert!(carried);
    }

    pub(crate) fn id(&self) -> Id {
        self.raw().id()
    }

    /// Gives up the entry as a tagged pointer, its claims with it (loom's
    /// lock-free model queues keep entries in atomic words).
    #[cfg(loom)]
    pub(crate) fn into_ptr(self) -> NonNull<Header> {
        let tagged = self.tagged;
        std::mem::forget(self);
        tagged
    }

    /// Takes back an entry given up by [`into_ptr`](Self::into_ptr).
    ///
    /// # Safety
    /// `ptr` came from `into_ptr`, and is taken back once.
    #[cfg(loom)]
    pub(crate) unsafe fn from_ptr(ptr: NonNull<Header>) -> Notified {
        Notified { tagged: ptr }
    }

    /// Polls (or cancels) the task, handing it this entry's claims.
    pub(crate) fn run(self) {
        let (raw, carried) = self.into_parts();
        // SAFETY: the vtable matches the cell, and the poll takes over the
        // entry's reference (and, carried, its `RUNNING`).
        unsafe { (raw.header().vtable.poll)(raw.header_ptr(), carried) }
    }

    /// Cancels the task without polling it (blocking pool shutdown).
    pub(crate) fn shutdown(self) {
        self.shutdown_with(None);
    }

    /// Cancels the task without polling it because of `cause`, which its
    /// `JoinError` reports (the blocking pool could start no thread).
    pub(crate) fn shutdown_because(self, cause: io::Error) {
        self.shutdown_with(Some(cause));
    }

    fn shutdown_with(self, cause: Option<io::Error>) {
        let (raw, carried) = self.into_parts();
        // SAFETY: the vtable matches the cell, and we pass on the entry's
        // reference (and, carried, its `RUNNING`).
        unsafe { (raw.header().vtable.shutdown)(raw.header_ptr(), cause, carried) }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        if self.is_carried() {
            // The task is ours to finish: cancel it.
            let raw = self.raw();
            // SAFETY: as in `shutdown_with`; `self` is not used again.
            unsafe { (raw.header().vtable.shutdown)(raw.header_ptr(), None, true) }
        } else {
            self.raw().drop_reference();
        }
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
