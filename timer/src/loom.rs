//! The one door through which timer code reaches atomics and locks.
//!
//! Normally these are `std` and `parking_lot`; under `--cfg loom` they are
//! loom's, so the loom models in `tests/loom.rs` explore every interleaving
//! of registering, firing and cancelling a timer; under miri the mutex is
//! `std`'s. Nothing else in the crate may use `std::sync::atomic` or
//! `parking_lot` directly.

#[cfg(not(loom))]
mod imp {
    #[cfg(not(miri))]
    pub(crate) use parking_lot::Mutex;
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

/// parking_lot's infallible `lock` over a `std`-shaped backend: loom's mutex
/// under `--cfg loom`, `std`'s under miri, which cannot run parking_lot's
/// parker (see the runtime's `loom.rs`).
#[cfg(any(loom, miri))]
mod locks {
    #[cfg(loom)]
    use loom::sync as backend;
    #[cfg(not(loom))]
    use std::sync as backend;

    #[derive(Debug)]
    pub(crate) struct Mutex<T>(backend::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> backend::MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

#[cfg(any(loom, miri))]
pub(crate) use locks::*;

pub(crate) use imp::*;
