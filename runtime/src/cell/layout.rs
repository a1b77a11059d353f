//! The one heap allocation behind every task.
//!
//! `Cell<F>` is `#[repr(C)]` with the non-generic `Header` first, so a
//! `NonNull<Header>` is a valid pointer to the whole cell and every type-erased
//! path (wakers, queues, the owned list) works on the header alone. The
//! generic parts sit behind the header's vtable.
//!
//! Access rules (the proofs in `raw.rs` and `harness.rs` lean on these):
//! - `stage` is touched only by the thread that holds `RUNNING`, or by the
//!   `JoinHandle` once `COMPLETE` is set and it still has `JOIN_INTEREST`.
//!   `RUNNING` passes from thread to thread through the state word, or
//!   inside a carried queue entry (`raw.rs`), whose queue then orders one
//!   holder's accesses before the next's.
//! - `stage` holds the future from the cell's birth until the owner drops
//!   it (completed, panicked or cancelled), nothing until `complete` stores
//!   the output, and the output from `COMPLETE` until exactly one of: the
//!   runtime drops it (no join interest at completion), the `JoinHandle`
//!   takes it (and remembers that it did), or the handle drops it (dropped
//!   with the interest after completion, unread). So a cell freed
//!   without `COMPLETE` holds its future, and one freed with it holds
//!   nothing.
//! - `join_waker` is written by the `JoinHandle` only while `JOIN_WAKER` is
//!   clear, and read by the runtime only while it is set.
//! - `owned` is touched only under the lock of the owned-list shard.

use std::future::Future;
use std::io;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;

use super::activity::Activity;
use super::error::JoinError;
use super::id::Id;
use super::join_waker::JoinWaker;
use super::origin::Origin;
use super::raw::Notified;
use super::state::State;
use super::Schedule;
use weft_base::coarse::{self, Millis};
use weft_base::loom::UnsafeCell;

/// Links of the intrusive owned-tasks list.
#[derive(Default)]
pub(crate) struct Pointers {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    pub(crate) owned: UnsafeCell<Pointers>,
    pub(crate) id: Id,
    /// Polls, last poll, what it waits on: for the dump and the detector.
    pub(crate) activity: Activity,
    /// The id of the task's `tracing` span, for the events of its wakers
    /// (`crate::trace`).
    #[cfg(feature = "tracing")]
    pub(crate) span_id: crate::trace::SpanId,
}

/// The future, then its output, then nothing (the module doc says when
/// each is live). Untagged: the state word and the owner's step tell which
/// field is live, and a tag would cost the cell of a small future a word,
/// and with it a glibc size class (the test below).
pub(crate) union Stage<F: Future> {
    pub(crate) future: ManuallyDrop<F>,
    pub(crate) output: ManuallyDrop<Result<F::Output, JoinError>>,
}

pub(crate) struct Trailer {
    pub(crate) join_waker: UnsafeCell<JoinWaker>,
    /// Where it was spawned and its name.
    pub(crate) origin: Origin,
}

/// What a task is known by when it is spawned; the cell keeps the origin
/// in its trailer, the spawn time in its activity, and whether it is a
/// blocking job in its vtable.
pub(crate) struct Meta {
    /// Where it was spawned (`#[track_caller]` through every spawn path)
    /// and its name.
    pub(crate) origin: Origin,
    /// When it was spawned, by the coarse clock.
    pub(crate) spawned: Millis,
    /// A `spawn_blocking` job rather than a task (it sits in the padding
    /// after `spawned`).
    pub(crate) blocking: bool,
}

impl Meta {
    /// The meta of a task spawned now, at `location`.
    pub(crate) fn new(name: Option<Arc<String>>, location: &'static Location<'static>) -> Meta {
        Meta {
            origin: Origin::new(name, location),
            spawned: coarse::now(),
            blocking: false,
        }
    }

    /// The meta of a `spawn_blocking` job spawned now, at `location`.
    pub(crate) fn blocking(
        name: Option<Arc<String>>,
        location: &'static Location<'static>,
    ) -> Meta {
        Meta {
            blocking: true,
            ..Meta::new(name, location)
        }
    }
}

#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    /// The scheduler that runs this task; the task keeps it alive.
    pub(crate) scheduler: Arc<S>,
    pub(crate) stage: UnsafeCell<Stage<F>>,
    pub(crate) trailer: Trailer,
}

/// The type-erased operations of a task, one static table per future type.
pub(crate) struct Vtable {
    /// Run the task popped from a queue (consumes the entry's reference;
    /// `true`: a carried entry, whose `RUNNING` it takes over too).
    pub(crate) poll: unsafe fn(NonNull<Header>, bool),
    /// Free the cell: the last reference is gone.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Read the output into `*mut Poll<Result<T, JoinError>>` or store the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// Drop the handle's interest and reference; the flag says whether it
    /// read the output.
    pub(crate) drop_join_handle_slow: unsafe fn(NonNull<Header>, bool),
    /// Cancel a task we own or mark it cancelled (consumes one reference);
    /// the cause, if given, is what its `JoinError` reports. `true`: the
    /// reference is a carried entry's, which owns the task already.
    pub(crate) shutdown: unsafe fn(NonNull<Header>, Option<io::Error>, bool),
    /// Queue one of the task's entries with its scheduler (the caller holds
    /// a reference of its own throughout).
    pub(crate) schedule: unsafe fn(NonNull<Header>, Notified),
    /// The future's type name (`std::any::type_name`).
    pub(crate) type_name: fn() -> &'static str,
    /// The task's origin (the caller holds a reference throughout).
    pub(crate) origin: unsafe fn(NonNull<Header>) -> NonNull<Origin>,
    /// A `spawn_blocking` job rather than a task.
    pub(crate) blocking: bool,
}

impl<F: Future, S: Schedule> Cell<F, S> {
    pub(crate) fn new(
        future: F,
        scheduler: Arc<S>,
        id: Id,
        meta: Meta,
        span_id: crate::trace::SpanId,
        vtable: &'static Vtable,
    ) -> Box<Cell<F, S>> {
        #[cfg(not(feature = "tracing"))]
        let crate::trace::SpanId = span_id;
        Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable,
                owned: UnsafeCell::new(Pointers::default()),
                id,
                activity: Activity::new(meta.spawned),
                #[cfg(feature = "tracing")]
                span_id,
            },
            scheduler,
            stage: UnsafeCell::new(Stage {
                future: ManuallyDrop::new(future),
            }),
            trailer: Trailer {
                join_waker: UnsafeCell::new(JoinWaker::empty()),
                origin: meta.origin,
            },
        })
    }
}

/// (Not with the `tracing` feature, which adds a span id to every header.)
#[cfg(all(test, not(loom), not(feature = "tracing")))]
mod tests {
    use super::*;

    struct Nowhere;

    impl Schedule for Nowhere {
        fn schedule(&self, _: Notified) {}
        fn defer(&self, task: Notified) -> Result<(), Notified> {
            Err(task)
        }
        fn release(&self, _: &Header) -> bool {
            false
        }
    }

    fn cell_size<F: Future>(_: &F) -> usize {
        std::mem::size_of::<Cell<F, Nowhere>>()
    }

    /// glibc serves allocations of up to 120 bytes from its fast bins,
    /// whose frees from another thread take no lock; a task of a small
    /// future (two pointers held across an await, no output) must fit, or
    /// a spawn-heavy workload slows down twice over (`docs/benchmarks.md`).
    #[test]
    fn the_cell_of_a_small_future_fits_a_fast_bin() {
        let (a, b) = (Arc::new(0u64), Arc::new(1u64));
        let small = async move {
            std::future::ready(()).await;
            drop((a, b));
        };
        assert_eq!(std::mem::size_of_val(&small), 24);
        let size = cell_size(&small);
        assert!(size <= 120, "{size} bytes");
        assert_eq!(std::mem::size_of::<Header>(), 56);
        assert_eq!(std::mem::size_of::<Trailer>(), 16);
        assert_eq!(std::mem::size_of::<JoinError>(), 8);
    }

    /// A task parked on a future that holds nothing across its await (a
    /// signal, a loop on a channel it was handed by reference) is 88 bytes,
    /// which glibc serves as a 96-byte chunk: one word more, and it is 112,
    /// more than a smol task (`docs/benchmarks.md`, memory per pending task).
    #[test]
    fn the_cell_of_a_minimal_future_fits_96_byte_chunks() {
        let minimal = async {
            std::future::pending::<()>().await;
        };
        assert_eq!(std::mem::size_of_val(&minimal), 1);
        assert_eq!(cell_size(&minimal), 88);
        assert_eq!(
            std::mem::size_of::<super::super::JoinHandle<()>>(),
            8,
            "a handle that read its output says so in its pointer's low bit"
        );
    }
}
