//! The one door through which runtime code reaches atomics, cells, mutexes,
//! condvars, threads and thread-locals.
//!
//! Normally these are `std` and `parking_lot`; under `--cfg loom` they are
//! loom's model-checked versions, so that every interleaving of our own
//! protocol (task state, wake, park, steal, shutdown) is explored. Nothing in
//! the crate may use `std::sync::atomic`, `std::cell::UnsafeCell`,
//! `parking_lot` or `std::thread` directly.
//!
//! The wrappers keep one API for both worlds: `UnsafeCell::with{,_mut}`
//! (loom's, which checks aliasing) and parking_lot-style locks whose `lock`
//! cannot fail. Under miri the locks are `std`'s (see `locks`).

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
    pub(crate) use std::thread;

    #[cfg(not(miri))]
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};

    /// `std::cell::UnsafeCell` with loom's closure-based API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
    pub(crate) use loom::thread;
}

/// parking_lot's lock API over a `std`-shaped backend: loom's locks under
/// `--cfg loom`, `std`'s under miri. Miri cannot run parking_lot's parker
/// (its raw futex call passes `&AtomicI32` where miri wants `*mut u32`,
/// rust-lang/rust#161734), and `std`'s locks are ones miri models natively.
/// A poisoned lock is taken anyway: parking_lot's locks do not poison.
#[cfg(any(loom, miri))]
mod locks {
    #[cfg(loom)]
    use loom::sync as backend;
    #[cfg(not(loom))]
    use std::sync as backend;
    use std::sync::PoisonError;

    #[derive(Debug)]
    pub(crate) struct Mutex<T>(backend::Mutex<T>);

    /// A guard that [`Condvar::wait`] can hand to the backend and take back.
    pub(crate) struct MutexGuard<'a, T>(Option<backend::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        #[cfg(loom)]
        pub(crate) fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        /// `const`, as parking_lot's is, for the `static`s loom never sees.
        #[cfg(not(loom))]
        pub(crate) const fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)))
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Self::new(T::default())
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

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }

        /// parking_lot's timed wait, over `std`'s.
        #[cfg(not(loom))]
        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            timeout: std::time::Duration,
        ) -> std::sync::WaitTimeoutResult {
            let inner = guard.0.take().expect("guard present");
            let (inner, result) = self
                .0
                .wait_timeout(inner, timeout)
                .unwrap_or_else(PoisonError::into_inner);
            guard.0 = Some(inner);
            result
        }
    }

    /// loom's condvar has no timeouts: in the model every timed wait is an
    /// untimed one, so a protocol that only works because a timeout fires is
    /// reported as a deadlock. That is the point. A zero timeout is the one
    /// exception: it times out at once (as it does for real), which lets a
    /// model reach the paths that run after a timeout (a blocking thread
    /// retiring with a zero keep-alive).
    #[cfg(loom)]
    pub(crate) fn wait_timeout<T>(
        condvar: &Condvar,
        guard: &mut MutexGuard<'_, T>,
        timeout: Option<std::time::Duration>,
    ) -> bool {
        if timeout == Some(std::time::Duration::ZERO) {
            return true;
        }
        condvar.wait(guard);
        false
    }
}

#[cfg(any(loom, miri))]
pub(crate) use locks::*;

pub(crate) use imp::*;

/// Waits on `condvar` for at most `timeout` (forever when `None`).
/// True when the timeout passed.
#[cfg(not(loom))]
pub(crate) fn wait_timeout<T>(
    condvar: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    timeout: Option<std::time::Duration>,
) -> bool {
    match timeout {
        Some(timeout) => condvar.wait_for(guard, timeout).timed_out(),
        None => {
            condvar.wait(guard);
            false
        }
    }
}

/// Joins (and so releases) the threads in `handles` that have finished.
#[cfg(not(loom))]
pub(crate) fn join_finished(handles: &mut Vec<thread::JoinHandle<()>>) {
    let mut i = 0;
    while i < handles.len() {
        if handles[i].is_finished() {
            let _ = handles.swap_remove(i).join();
        } else {
            i += 1;
        }
    }
}

/// loom's handles cannot tell: keep them all until shutdown.
#[cfg(loom)]
pub(crate) fn join_finished(_handles: &mut Vec<thread::JoinHandle<()>>) {}

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

/// The process-wide source of task ids. It is a plain `std` atomic even under
/// loom: ids order nothing, and loom cannot model a `static`.
pub(crate) fn next_task_id() -> std::num::NonZeroU64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::num::NonZeroU64::new(id).expect("task ids exhausted")
}
