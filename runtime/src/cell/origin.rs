//! Where a task was spawned and what it is called, in one word.
//!
//! Every task keeps its spawn location (a `&'static Location`) and some
//! keep a name. Two fields would cost a pointer more per task, and the
//! cell of a small future would then no longer fit glibc's fast bins
//! (allocations up to 120 bytes), whose frees from another thread take no
//! lock: a spawn-heavy workload ran twice as slowly when the cell grew past
//! them (`docs/benchmarks.md`). So an unnamed task holds the location
//! itself, and a named one a box holding both, marked by the pointer's low
//! bit.
//!
//! Invariants: the low bit is set exactly when the pointer is a
//! `Box<Named>` this `Origin` owns (freed on drop); otherwise it is a
//! `&'static Location`. Both types are aligned to at least 2, so the bit is
//! free (`low_bit.rs`).

use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;

use super::low_bit;

/// A task's spawn location and name: see the module doc.
pub(crate) struct Origin(NonNull<()>);

/// A named task's origin, boxed.
struct Named {
    location: &'static Location<'static>,
    name: Arc<String>,
}

// The low bit is free (`low_bit.rs`).
const _: () = assert!(std::mem::align_of::<Location<'static>>() > 1);
const _: () = assert!(std::mem::align_of::<Named>() > 1);

// SAFETY: an `Origin` is a `&'static Location` (Send and Sync) or owns a
// `Box<Named>` whose fields are Send and Sync, and is never written after
// it is made.
unsafe impl Send for Origin {}
// SAFETY: as above.
unsafe impl Sync for Origin {}

impl Origin {
    pub(crate) fn new(name: Option<Arc<String>>, location: &'static Location<'static>) -> Origin {
        match name {
            None => Origin(NonNull::from(location).cast()),
            Some(name) => {
                let named = NonNull::from(Box::leak(Box::new(Named { location, name })));
                Origin(low_bit::set(named.cast::<()>()))
            }
        }
    }

    /// The box, untagged, with the provenance `Box::leak` gave it.
    fn boxed(&self) -> Option<NonNull<Named>> {
        low_bit::is_set(self.0).then(|| low_bit::clear(self.0).cast())
    }

    fn named(&self) -> Option<&Named> {
        // SAFETY: the bit says this is our `Box<Named>` (module invariant),
        // alive as long as `self`.
        self.boxed().map(|ptr| unsafe { ptr.as_ref() })
    }

    /// Where the task was spawned.
    pub(crate) fn location(&self) -> &'static Location<'static> {
        match self.named() {
            Some(named) => named.location,
            // SAFETY: without the bit, the pointer is the `&'static
            // Location` `new` was given.
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }

    /// The task's name, if it was given one.
    pub(crate) fn name(&self) -> Option<&Arc<String>> {
        self.named().map(|named| &named.name)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        if let Some(ptr) = self.boxed() {
            // SAFETY: the bit says we own this box (made by `Box::leak` in
            // `new`, whose unique pointer this is), dropped once, here.
            drop(unsafe { Box::from_raw(ptr.as_ptr()) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_one_word_and_gives_back_what_it_was_given() {
        assert_eq!(std::mem::size_of::<Origin>(), 8);
        let here = Location::caller();
        let unnamed = Origin::new(None, here);
        assert!(std::ptr::eq(unnamed.location(), here));
        assert!(unnamed.name().is_none());
        let name = Arc::new("db-sync".to_string());
        let named = Origin::new(Some(name.clone()), here);
        assert!(std::ptr::eq(named.location(), here));
        assert!(Arc::ptr_eq(named.name().unwrap(), &name));
        assert_eq!(Arc::strong_count(&name), 2);
        drop(named);
        assert_eq!(
            Arc::strong_count(&name),
            1,
            "the box and its name are freed"
        );
    }
}
