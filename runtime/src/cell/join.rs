//! `JoinHandle` and `AbortHandle`: the outside's references to a task.
//!
//! A `JoinHandle` poll that returns `Pending` notes the awaited task's id
//! (a blocking job's, as such) for the task dump (`weft_base::wait`).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll};

use super::error::JoinError;
use super::id::Id;
use super::layout::Header;
use super::low_bit;
use super::raw::{Notified, RawTask};
use super::state::ToNotified;
use weft_base::coop;
use weft_base::wait::WaitOn;

/// An owned permission to await a task's output.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked
/// or was cancelled. Dropping it detaches the task, which keeps running.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = weft_runtime::spawn(async { 6 * 7 });
/// assert_eq!(handle.await.unwrap(), 42);
/// # });
/// ```
pub struct JoinHandle<T> {
    /// The task, its low bit set once the output was read (`low_bit.rs`): the cell's
    /// stage holds nothing then. One word, as tokio's handle is.
    tagged: NonNull<Header>,
    _output: PhantomData<T>,
}

// The low bit of a handle's pointer is free.
const _: () = assert!(std::mem::align_of::<Header>() > 1);

// SAFETY: the handle only moves `T` out of the task, and `T: Send` is what
// allows that across threads; the rest of the handle is the task header,
// which is shared through atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` gives no access to `T` (only `abort`, `id`,
// `is_finished`), all of which go through atomics.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

// A panic cannot leave the task half-changed behind a handle: every shared
// field is behind the atomic state word.
impl<T> std::panic::UnwindSafe for JoinHandle<T> {}
impl<T> std::panic::RefUnwindSafe for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a task whose output type is `T`, and the caller hands over
    /// the reference counted for the handle.
    pub(crate) unsafe fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            tagged: raw.header_ptr(),
            _output: PhantomData,
        }
    }

    /// The task, untagged.
    fn raw(&self) -> RawTask {
        let ptr = low_bit::clear(self.tagged);
        // SAFETY: the handle's own reference keeps the header live.
        unsafe { RawTask::from_raw(ptr) }
    }

    /// Whether the output was read.
    fn taken(&self) -> bool {
        low_bit::is_set(self.tagged)
    }

    /// Cancels the task. A task that has not finished is dropped at its next
    /// await point (or before its first poll) and this handle resolves to a
    /// cancelled [`JoinError`]. A finished task keeps its output.
    ///
    /// ```
    /// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = weft_runtime::spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(handle.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        remote_abort(self.raw());
    }

    /// True once the task has finished (with an output, a panic or a
    /// cancellation); awaiting the handle then returns at once.
    pub fn is_finished(&self) -> bool {
        self.raw().header().state.load().is_complete()
    }

    /// A handle that can abort the task but not await it.
    pub fn abort_handle(&self) -> AbortHandle {
        let raw = self.raw();
        raw.ref_inc();
        AbortHandle { raw }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw().id()
    }

    /// Notes, for the task dump, that the polling task waits on this
    /// handle's task (a blocking job's handle says so).
    pub(crate) fn note_wait(&self) {
        let raw = self.raw();
        let header = raw.header();
        let id = header.id.as_u64();
        weft_base::wait::note(if header.vtable.blocking {
            WaitOn::blocking_job(id)
        } else {
            WaitOn::join(id)
        });
    }

    /// Polls without spending the cooperative budget (for `JoinSet`).
    pub(crate) fn poll_unbudgeted(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        assert!(!self.taken(), "JoinHandle polled after completion");
        let raw = self.raw();
        let mut out = Poll::Pending;
        // SAFETY: the vtable belongs to a task whose output is `T`, and `out`
        // is a valid `Poll<Result<T, JoinError>>` slot.
        unsafe {
            (raw.header().vtable.try_read_output)(
                raw.header_ptr(),
                &mut out as *mut _ as *mut (),
                cx.waker(),
            );
        }
        if out.is_ready() {
            self.tagged = low_bit::set(self.tagged);
        }
        out
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let restore = ready!(coop::poll_proceed(cx));
        let out = self.poll_unbudgeted(cx);
        if out.is_ready() {
            restore.made_progress();
        } else {
            self.note_wait();
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let raw = self.raw();
        if raw.header().state.drop_join_handle_fast() {
            return;
        }
        // SAFETY: the vtable matches, we hand over the handle's reference,
        // and say whether the output is still in the cell.
        unsafe { (raw.header().vtable.drop_join_handle_slow)(raw.header_ptr(), self.taken()) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Aborts a task without owning its output: cheap to clone, `Send + Sync`.
pub struct AbortHandle {
    raw: RawTask,
}

// SAFETY: it only reaches the task header, through atomics.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

// As for `JoinHandle`.
impl std::panic::UnwindSafe for AbortHandle {}
impl std::panic::RefUnwindSafe for AbortHandle {}

impl AbortHandle {
    /// Cancels the task; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        remote_abort(self.raw);
    }

    /// True once the task has finished.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> Self {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Marks the task cancelled and, if it is idle, queues it so that a runtime
/// thread drops its future. The caller holds a reference throughout.
fn remote_abort(raw: RawTask) {
    if raw.header().state.transition_to_notified_and_cancel() == ToNotified::Submit {
        // SAFETY: the transition set NOTIFIED and counted the entry's reference.
        let task = unsafe { Notified::from_raw(raw) };
        raw.schedule(task);
    }
}
