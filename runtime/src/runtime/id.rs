//! `runtime::Id`: which runtime, for logs and for telling runtimes apart.

use std::fmt;
use std::num::NonZeroU64;

/// An opaque id of a runtime, unique for the life of the process
/// ([`Handle::id`](super::Handle::id)).
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn next() -> Id {
        // A plain `std` atomic even under loom: ids order nothing, and loom
        // cannot model a `static`.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Id(NonZeroU64::new(id).expect("runtime ids exhausted"))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
