//! The one door through which reactor code reaches atomics and locks:
//! `std` / `parking_lot` normally, loom's under `--cfg loom` (see the
//! runtime's `loom.rs` for why), `std`'s locks under miri. The condvar
//! serves the quiet park (no source registered) and the fake poller that
//! loom and miri run with.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

    #[cfg(not(miri))]
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
}

/// parking_lot's lock API over a `std`-shaped backend: loom's locks under
/// `--cfg loom`, `std`'s under miri, which cannot run parking_lot's parker
/// (see the runtime's `loom.rs`). A poisoned lock is taken anyway, as
/// parking_lot's locks do not poison.
#[cfg(any(loom, miri))]
mod locks {
    #[cfg(loom)]
    use loom::sync as backend;
    #[cfg(not(loom))]
    use std::sync as backend;
    use std::sync::PoisonError;
    #[cfg(not(loom))]
    use std::time::Duration;

    #[derive(Debug)]
    pub(crate) struct Mutex<T>(backend::Mutex<T>);

    /// A guard that [`Condvar::wait`] can hand to the backend and take back.
    pub(crate) struct MutexGuard<'a, T>(Option<backend::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)))
        }
    }

    impl<T> std::ops::Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().expect("guard present")
        }
    }

    impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().expect("guard present")
        }
    }

    #[derive(Debug, Default)]
    pub(crate) struct Condvar(backend::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Self(backend::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().expect("guard present");
            guard.0 = Some(self.0.wait(inner).unwrap_or_else(PoisonError::into_inner));
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        /// parking_lot's timed wait, over `std`'s.
        #[cfg(not(loom))]
        pub(crate) fn wait_for<T>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) {
            let inner = guard.0.take().expect("guard present");
            let (inner, _) = self
                .0
                .wait_timeout(inner, timeout)
                .unwrap_or_else(PoisonError::into_inner);
            guard.0 = Some(inner);
        }
    }

    /// loom's condvar has no timeouts: a timed wait is an untimed one, so
    /// a protocol that only works because a timeout fires deadlocks in the
    /// model.
    #[cfg(loom)]
    pub(crate) fn wait_timeout<T>(
        condvar: &Condvar,
        guard: &mut MutexGuard<'_, T>,
        _timeout: Option<std::time::Duration>,
    ) {
        condvar.wait(guard);
    }
}

#[cfg(any(loom, miri))]
pub(crate) use locks::*;

pub(crate) use imp::*;

/// Waits on `condvar` for at most `timeout` (forever when `None`).
#[cfg(not(loom))]
pub(crate) fn wait_timeout<T>(
    condvar: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    timeout: Option<std::time::Duration>,
) {
    match timeout {
        Some(timeout) => drop(condvar.wait_for(guard, timeout)),
        None => condvar.wait(guard),
    }
}

/// Declares a thread-local that loom sees as one per modelled thread
/// (loom's macro takes no `const` initialiser, so the shim drops it there).
macro_rules! thread_local_cx {
    ($vis:vis static $name:ident: $t:ty = const { $init:expr };) => {
        #[cfg(not(loom))]
        std::thread_local!($vis static $name: $t = const { $init });
        #[cfg(loom)]
        loom::thread_local!($vis static $name: $t = $init);
    };
}
pub(crate) use thread_local_cx as thread_local;
