//! The one door through which weft-sync reaches atomics, cells and locks.
//!
//! Normally these are `std` and `parking_lot`; under `--cfg loom` they are
//! loom's model-checked versions, so every interleaving of our own protocols
//! (permit hand-off, waiter unlinking, channel close) is explored. Nothing in
//! the crate may use `std::sync::atomic`, `std::cell::UnsafeCell` or
//! `parking_lot` directly.
//!
//! The wrappers keep one API for both worlds: `UnsafeCell::with{,_mut}`
//! (loom's, which checks aliasing) and parking_lot-style locks whose `lock`
//! cannot fail (under miri, `std`'s). Same style as `runtime/src/loom.rs`,
//! with only what sync needs.
//!
//! One exception: the public `self: Arc<Self>` methods (`lock_owned`,
//! `acquire_owned`, ...) take `std::sync::Arc`, the type users hold; loom
//! cannot see that reference count, but no protocol of ours rests on it.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use std::sync::Arc;

    #[cfg(not(miri))]
    pub(crate) use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

    /// `std::cell::UnsafeCell` with loom's closure-based API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.0.get_mut()
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use loom::sync::Arc;

    /// loom's `UnsafeCell` plus the `into_inner` / `get_mut` std has.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::cell::UnsafeCell::new(value))
        }

        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            self.0.with(f)
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }

        #[inline(always)]
        pub(crate) fn get_mut(&mut self) -> &mut T {
            // SAFETY: `&mut self` proves no other access to the cell exists.
            self.0.with_mut(|p| unsafe { &mut *p })
        }
    }
}

/// parking_lot's infallible locks over a `std`-shaped backend: loom's under
/// `--cfg loom`, `std`'s under miri, which cannot run parking_lot's parker
/// (its raw futex call passes `&AtomicI32` where miri wants `*mut u32`,
/// rust-lang/rust#161734). A poisoned lock is taken anyway, as parking_lot's
/// locks do not poison.
#[cfg(any(loom, miri))]
mod locks {
    #[cfg(loom)]
    use loom::sync as backend;
    #[cfg(not(loom))]
    use std::sync as backend;
    use std::sync::PoisonError;

    #[derive(Debug)]
    pub(crate) struct Mutex<T>(backend::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = backend::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    #[derive(Debug)]
    pub(crate) struct RwLock<T>(backend::RwLock<T>);

    pub(crate) type RwLockReadGuard<'a, T> = backend::RwLockReadGuard<'a, T>;

    impl<T> RwLock<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(backend::RwLock::new(value))
        }

        pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(PoisonError::into_inner)
        }

        pub(crate) fn write(&self) -> backend::RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(PoisonError::into_inner)
        }
    }
}

#[cfg(any(loom, miri))]
pub(crate) use locks::*;

pub(crate) use imp::*;
