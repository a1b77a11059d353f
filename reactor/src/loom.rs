//! The one door through which reactor code reaches atomics and locks:
//! `std` / `parking_lot` normally, loom's under `--cfg loom` (see the
//! runtime's `loom.rs` for why). The condvar serves the quiet park (no
//! source registered) and the fake poller that loom and miri run with.

#[cfg(not(loom))]
mod imp {
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Waits on `condvar` for at most `timeout` (forever when `None`).
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
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// loom's mutex with parking_lot's infallible API.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap()))
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

    /// loom's condvar with parking_lot's `&mut guard` API.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Self(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().expect("guard present");
            guard.0 = Some(self.0.wait(inner).unwrap());
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }

    /// loom's condvar has no timeouts: a timed wait is an untimed one, so
    /// a protocol that only works because a timeout fires deadlocks in the
    /// model.
    pub(crate) fn wait_timeout<T>(
        condvar: &Condvar,
        guard: &mut MutexGuard<'_, T>,
        _timeout: Option<std::time::Duration>,
    ) {
        condvar.wait(guard);
    }
}

pub(crate) use imp::*;

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
