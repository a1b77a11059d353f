//! A flag in a pointer's low bit, for the cell's one-word fields: the
//! origin (a location, or a boxed location and name), the join waker slot
//! (a task header, or a boxed waker) and the `JoinHandle` (output taken or
//! not). Each asserts that its pointees are aligned to at least 2, so the
//! bit is free; provenance is kept with `map_addr`.

use std::num::NonZeroUsize;
use std::ptr::NonNull;

const BIT: usize = 1;

/// `ptr` with the bit set.
pub(super) fn set<T>(ptr: NonNull<T>) -> NonNull<T> {
    ptr.map_addr(|addr| addr | BIT)
}

/// `ptr` with the bit clear.
pub(super) fn clear<T>(ptr: NonNull<T>) -> NonNull<T> {
    ptr.map_addr(|addr| {
        NonZeroUsize::new(addr.get() & !BIT).expect("an aligned pointer is never 0 or 1")
    })
}

/// Whether the bit is set.
pub(super) fn is_set<T>(ptr: NonNull<T>) -> bool {
    ptr.addr().get() & BIT != 0
}
