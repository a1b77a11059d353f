//! The one door through which timer code reaches atomics and locks.
//!
//! Normally these are `std` and `parking_lot`; under `--cfg loom` they are
//! loom's, so the loom models in `tests/loom.rs` explore every interleaving
//! of registering, firing and cancelling a timer. Nothing else in the crate
//! may use `std::sync::atomic` or `parking_lot` directly.

#[cfg(not(loom))]
mod imp {
    pub(crate) use parking_lot::Mutex;
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    /// loom's mutex with parking_lot's infallible API.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }
}

pub(crate) use imp::*;
