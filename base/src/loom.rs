//! The one door through which weft code reaches atomics, cells, locks,
//! condvars, threads and thread-locals.
//!
//! Normally these are `std` and `parking_lot`; under `--cfg loom` they are
//! loom's model-checked versions, so that every interleaving of weft's own
//! protocols (task state, wake, park, steal, readiness, timer firing, permit
//! hand-off) is explored. No weft crate uses `std::sync::atomic`,
//! `std::cell::UnsafeCell`, `parking_lot` or `std::thread` directly.
//!
//! One API for both worlds: [`UnsafeCell::with`] / [`with_mut`](UnsafeCell::with_mut)
//! (loom's, which checks aliasing), and parking_lot-style locks whose `lock`
//! cannot fail. Under miri the locks are `std`'s: miri cannot run
//! parking_lot's parker (its raw futex call passes `&AtomicI32` where miri
//! wants `*mut u32`, rust-lang/rust#161734), and it models `std`'s natively.
//!
//! One behaviour for every crate: a timed wait ([`wait_timeout`]) under loom
//! is an untimed one, except that a zero timeout times out at once.
//!
//! One exception to "everything through here": the public `self: Arc<Self>`
//! methods of the sync primitives (`lock_owned`, `acquire_owned`, ...) take
//! `std::sync::Arc`, the type users hold; loom cannot see that count, but no
//! protocol of weft's rests on it.

#[cfg(not(loom))]
mod imp {
    pub use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub use std::sync::Arc;
    pub use std::thread;

    #[cfg(not(miri))]
    pub use parking_lot::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

    /// `std::cell::UnsafeCell` with loom's closure-based API.
    #[derive(Debug)]
    pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        pub const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// The value, the cell consumed.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared pointer to the value.
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a unique pointer to the value.
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        /// The value, borrowed uniquely through the cell.
        #[inline(always)]
        pub fn get_mut(&mut self) -> &mut T {
            self.0.get_mut()
        }
    }
}

#[cfg(loom)]
mod imp {
    pub use ::loom::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
    pub use ::loom::sync::Arc;
    pub use ::loom::thread;

    /// loom's `UnsafeCell` plus the `into_inner` / `get_mut` std has.
    /// Unsized values are allowed, as in std's (`Mutex<dyn Trait>`).
    #[derive(Debug)]
    pub struct UnsafeCell<T: ?Sized>(::loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        pub fn new(value: T) -> Self {
            Self(::loom::cell::UnsafeCell::new(value))
        }

        /// The value, the cell consumed.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared pointer to the value.
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            self.0.with(f)
        }

        /// Runs `f` with a unique pointer to the value.
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }

        /// The value, borrowed uniquely through the cell.
        #[inline(always)]
        pub fn get_mut(&mut self) -> &mut T {
            // SAFETY: `&mut self` proves no other access to the cell exists.
            self.0.with_mut(|p| unsafe { &mut *p })
        }
    }
}

/// parking_lot's lock API over a `std`-shaped backend: loom's locks under
/// `--cfg loom`, `std`'s under miri. A poisoned lock is taken anyway:
/// parking_lot's locks do not poison.
#[cfg(any(loom, miri))]
mod locks {
    #[cfg(loom)]
    use ::loom::sync as backend;
    #[cfg(not(loom))]
    use std::sync as backend;
    use std::sync::PoisonError;

    /// A mutex whose `lock` cannot fail.
    #[derive(Debug)]
    pub struct Mutex<T>(backend::Mutex<T>);

    /// A guard that [`Condvar::wait`] can hand to the backend and take back.
    pub struct MutexGuard<'a, T>(Option<backend::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        /// A mutex holding `value`.
        #[cfg(loom)]
        pub fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        /// A mutex holding `value`; `const`, as parking_lot's is, for the
        /// `static`s loom never sees.
        #[cfg(not(loom))]
        pub const fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        /// Locks, waiting for the lock as long as it takes.
        pub fn lock(&self) -> MutexGuard<'_, T> {
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

    /// A condition variable over [`Mutex`].
    #[derive(Debug, Default)]
    pub struct Condvar(backend::Condvar);

    impl Condvar {
        /// A condvar nobody waits on.
        pub fn new() -> Self {
            Self(backend::Condvar::new())
        }

        /// Unlocks, waits for a notification, locks again.
        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().expect("guard present");
            guard.0 = Some(self.0.wait(inner).unwrap_or_else(PoisonError::into_inner));
        }

        /// Wakes one waiter.
        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        /// Wakes every waiter.
        pub fn notify_all(&self) {
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

    /// A reader-writer lock whose `read` and `write` cannot fail.
    #[derive(Debug)]
    pub struct RwLock<T>(backend::RwLock<T>);

    /// Shared access to an [`RwLock`]'s value.
    pub type RwLockReadGuard<'a, T> = backend::RwLockReadGuard<'a, T>;

    /// Unique access to an [`RwLock`]'s value.
    pub type RwLockWriteGuard<'a, T> = backend::RwLockWriteGuard<'a, T>;

    impl<T> RwLock<T> {
        /// A lock holding `value`.
        pub fn new(value: T) -> Self {
            Self(backend::RwLock::new(value))
        }

        /// Locks for reading.
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(PoisonError::into_inner)
        }

        /// Locks for writing.
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(PoisonError::into_inner)
        }
    }
}

#[cfg(any(loom, miri))]
pub use locks::*;

pub use imp::*;

/// Waits on `condvar` for at most `timeout` (forever when `None`); true when
/// the timeout passed.
///
/// Under loom a condvar has no timeouts, so a timed wait is an untimed one
/// and a protocol that only works because a timeout fires is reported as a
/// deadlock: that is the point. A zero timeout is the one exception: it
/// times out at once, as it does for real, which lets a model reach the
/// paths that run after a timeout (a blocking thread retiring with a zero
/// keep-alive, a driver's non-blocking turn).
pub fn wait_timeout<T>(
    condvar: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    timeout: Option<std::time::Duration>,
) -> bool {
    match timeout {
        #[cfg(not(loom))]
        Some(timeout) => condvar.wait_for(guard, timeout).timed_out(),
        #[cfg(loom)]
        Some(timeout) if timeout.is_zero() => true,
        _ => {
            condvar.wait(guard);
            false
        }
    }
}

/// A number that diagnostics read (metrics, the task dump, the slow-poll
/// watchdog), written by one thread ([`add`](Self::add), [`store`](Self::store))
/// or bumped by many ([`add_shared`](Self::add_shared)): relaxed only, so it
/// can order nothing and no protocol can lean on it.
///
/// It is `std`'s atomic under loom as well. Loom makes every atomic access
/// a point where it may switch threads; these words are written on every
/// poll, and as loom words they multiplied the scheduler models' states
/// (one model ran 37% longer) without adding a race worth checking: a
/// reader sees some value a writer stored, which a relaxed `std` atomic
/// guarantees by itself.
#[derive(Debug, Default)]
pub struct Stat(std::sync::atomic::AtomicU64);

impl Stat {
    /// A stat holding `value`.
    pub const fn new(value: u64) -> Stat {
        Stat(std::sync::atomic::AtomicU64::new(value))
    }

    /// The value last stored (or one a little older).
    #[inline]
    pub fn load(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Replaces the value.
    #[inline]
    pub fn store(&self, value: u64) {
        self.0.store(value, std::sync::atomic::Ordering::Relaxed)
    }

    /// Adds `by`, wrapping: a load and a store, not a read-modify-write,
    /// for a stat only one thread at a time writes.
    #[inline]
    pub fn add(&self, by: u64) {
        self.store(self.load().wrapping_add(by))
    }

    /// Adds `by` with a read-modify-write, for a counter several threads
    /// bump.
    #[inline]
    pub fn add_shared(&self, by: u64) {
        self.0.fetch_add(by, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Joins (and so releases) the threads in `handles` that have finished.
/// loom's handles cannot tell, so under loom they are all kept until the
/// caller joins them at shutdown.
pub fn join_finished(handles: &mut Vec<thread::JoinHandle<()>>) {
    #[cfg(not(loom))]
    {
        let mut i = 0;
        while i < handles.len() {
            if handles[i].is_finished() {
                let _ = handles.swap_remove(i).join();
            } else {
                i += 1;
            }
        }
    }
    #[cfg(loom)]
    let _ = handles;
}

/// Declares a thread-local that loom sees as one per modelled thread
/// (loom's macro takes no `const` initialiser, so the shim drops it there).
/// Written `weft_base::loom::thread_local! { static NAME: T = const { init }; }`.
#[macro_export]
#[doc(hidden)]
macro_rules! __weft_thread_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr };) => {
        #[cfg(not(loom))]
        ::std::thread_local!($(#[$attr])* $vis static $name: $t = const { $init });
        #[cfg(loom)]
        $crate::loom::__loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
    };
}
#[doc(inline)]
pub use crate::__weft_thread_local as thread_local;

#[cfg(loom)]
#[doc(hidden)]
pub use ::loom as __loom;

/// Runs `f` as a loom model, every interleaving up to two preemptions (or
/// `LOOM_MAX_PREEMPTIONS`, when set): the one configuration every weft loom
/// suite shares.
#[cfg(loom)]
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    /// Enough to find every race the suites plant, small enough to finish.
    const MAX_PREEMPTIONS: usize = 2;
    model_at_bound(MAX_PREEMPTIONS, f);
}

/// [`model`] at another preemption bound (`LOOM_MAX_PREEMPTIONS` still
/// overrides it), for a model whose search at two takes minutes; the
/// model says beside it why its bound is enough.
#[cfg(loom)]
pub fn model_at_bound(max_preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = ::loom::model::Builder::new();
    builder.preemption_bound.get_or_insert(max_preemptions);
    builder.check(f);
}
