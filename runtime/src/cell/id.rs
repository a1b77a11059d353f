//! Task ids: unique for the life of the process, never reused.

use std::fmt;
use std::num::NonZeroU64;

/// An opaque id that names a task for as long as the process runs.
///
/// Ids are unique across runtimes and never reused, so they are safe keys in
/// logs and maps.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = weft_runtime::spawn(async { weft_runtime::task::id() });
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), id);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq, Ord, PartialOrd)]
pub struct Id(pub(crate) NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        // A plain `std` atomic even under loom: ids order nothing, and loom
        // cannot model a `static`.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("task ids exhausted"))
    }

    /// The id as a number, for logs and metrics.
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of the task being polled.
///
/// # Panics
/// Outside a task (for example in `block_on`'s own future, or on a plain
/// thread). Use [`try_id`] where that can happen.
#[track_caller]
pub fn id() -> Id {
    try_id().expect("weft::task::id() called outside of a task; use weft::task::try_id()")
}

/// The id of the task being polled, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    weft_base::context::current_task().map(Id)
}
