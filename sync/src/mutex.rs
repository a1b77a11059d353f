//! An async mutex: a one-permit [`Semaphore`] guarding an `UnsafeCell`.
//!
//! The semaphore makes it FIFO-fair and cancel-safe (a dropped `lock` future
//! leaves the queue, and a lock handed to it is passed on). Invariant: the
//! data is reached only through a guard, and a guard exists only while its
//! owner holds the single permit, so at most one guard (mapped or not)
//! exists at a time.
//!
//! For the task dump, a waiting `lock` notes the mutex (by the address of
//! its semaphore, which is what [`weft_base::holders`] keys the holder
//! by), and taking the lock records the task that took it, cleared when
//! the guard drops. The record names the task that *took* the lock: an
//! owned guard moved into another task, or a guard sent elsewhere, is
//! still reported under the task that locked it until it is dropped.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use std::sync::Arc;

use crate::semaphore::{acquire_raw, Semaphore, TryAcquireError};
use weft_base::loom::UnsafeCell;
use weft_base::wait::{SyncKind, WaitOn};

/// An async mutual-exclusion lock, fair (first come, first served).
///
/// ```
/// use weft_sync::Mutex;
///
/// let m = Mutex::new(vec![1]);
/// futures::executor::block_on(async {
///     m.lock().await.push(2);
///     assert_eq!(*m.lock().await, [1, 2]);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands `T` from thread to thread (guards may be dropped
// anywhere), so `T: Send` is needed and enough, as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: only one guard at a time reaches the data (module invariant), so
// sharing the mutex shares no `&T` concurrently; `T: Send` as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The lock was held; returned by [`Mutex::try_lock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock is held")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            sem: Semaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// [`new`](Mutex::new) usable in a `static` (not under loom, whose
    /// atomics and locks cannot be built in a constant).
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> Mutex<T> {
        Mutex {
            sem: Semaphore::const_new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// [`lock`](Mutex::lock) from synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        crate::blocking::block_on(self.lock())
    }

    /// [`lock_owned`](Mutex::lock_owned) from synchronous code.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        crate::blocking::block_on(self.lock_owned())
    }

    /// Waits for the lock. Cancel-safe: dropping the future before it
    /// completes gives up its place in the queue.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        if acquire_raw!(&self.sem, 1, self.wait_on()).is_err() {
            unreachable_closed();
        }
        self.sem.took_lock();
        MutexGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    /// Takes the lock if it is free now and nobody is queued for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_take(1) {
            Ok(()) => {
                self.sem.took_lock();
                Ok(MutexGuard {
                    lock: self,
                    _marker: PhantomData,
                })
            }
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`lock`](Mutex::lock) for an `Arc`'d mutex: the guard keeps the mutex
    /// alive and borrows nothing, so it can move into a spawned task.
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        if acquire_raw!(&self.sem, 1, self.wait_on()).is_err() {
            unreachable_closed();
        }
        self.sem.took_lock();
        OwnedMutexGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    /// [`try_lock`](Mutex::try_lock) for an `Arc`'d mutex.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_take(1) {
            Ok(()) => {
                self.sem.took_lock();
                Ok(OwnedMutexGuard {
                    lock: self,
                    _marker: PhantomData,
                })
            }
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(TryLockError(())),
        }
    }

    /// The data, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn data_ptr(&self) -> *mut T {
        self.data.with_mut(|p| p)
    }

    /// What a waiting `lock` notes (see the module doc).
    fn wait_on(&self) -> WaitOn {
        WaitOn::sync(SyncKind::Mutex, &self.sem)
    }
}

/// A mutex's semaphore is never closed.
#[cold]
fn unreachable_closed() -> ! {
    panic!("weft-sync: a mutex semaphore was closed")
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Exclusive access to a [`Mutex`]'s data; unlocks on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    /// `Sync` only when `T: Sync` (the guard hands out `&T`).
    _marker: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the data; the lock stays held until
    /// the mapped guard is dropped.
    ///
    /// ```
    /// use weft_sync::{Mutex, MutexGuard};
    ///
    /// let m = Mutex::new((1, String::from("a")));
    /// futures::executor::block_on(async {
    ///     let mut s = MutexGuard::map(m.lock().await, |pair| &mut pair.1);
    ///     s.push('b');
    ///     drop(s);
    ///     assert_eq!(m.lock().await.1, "ab");
    /// });
    /// ```
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let sem = &this.lock.sem;
        // SAFETY: the guard holds the permit, so this is the only access to
        // the data; the reference cannot outlive 'a (the mutex borrow).
        let data = f(unsafe { &mut *this.lock.data_ptr() }) as *mut U;
        // The mapped guard takes over the permit.
        std::mem::forget(this);
        MappedMutexGuard {
            sem,
            data,
            _marker: PhantomData,
        }
    }

    /// [`map`](MutexGuard::map), when `f` may find nothing to narrow to:
    /// then the guard comes back unchanged.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard holds the permit, so this is the only access to
        // the data; the reference cannot outlive 'a (the mutex borrow).
        let Some(data) = f(unsafe { &mut *this.lock.data_ptr() }) else {
            return Err(this);
        };
        let data = data as *mut U;
        let sem = &this.lock.sem;
        std::mem::forget(this);
        Ok(MappedMutexGuard {
            sem,
            data,
            _marker: PhantomData,
        })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the only permit: no `&mut T` exists.
        unsafe { &*self.lock.data_ptr() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the only permit, and `&mut self` makes this
        // the only reference through it.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release_lock(1);
    }
}

/// A [`MutexGuard`] narrowed by [`MutexGuard::map`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MappedMutexGuard<'a, U: ?Sized> {
    sem: &'a Semaphore,
    data: *mut U,
    _marker: PhantomData<&'a mut U>,
}

// SAFETY: the guard is an `&mut U` plus a permit; `&mut U` is `Send` when
// `U: Send`, and releasing the permit is thread-safe.
unsafe impl<U: ?Sized + Send> Send for MappedMutexGuard<'_, U> {}
// SAFETY: `&MappedMutexGuard` only gives `&U`, shareable when `U: Sync`.
unsafe impl<U: ?Sized + Sync> Sync for MappedMutexGuard<'_, U> {}

impl<'a, U: ?Sized> MappedMutexGuard<'a, U> {
    /// Narrows the guard further.
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let sem = this.sem;
        // SAFETY: the guard holds the permit; `data` points into the locked
        // data, valid for 'a.
        let data = f(unsafe { &mut *this.data }) as *mut V;
        std::mem::forget(this);
        MappedMutexGuard {
            sem,
            data,
            _marker: PhantomData,
        }
    }

    /// [`map`](MappedMutexGuard::map), when `f` may find nothing to narrow
    /// to: then the guard comes back unchanged.
    pub fn try_map<V: ?Sized, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        // SAFETY: as in `map`.
        let Some(data) = f(unsafe { &mut *this.data }) else {
            return Err(this);
        };
        let data = data as *mut V;
        let sem = this.sem;
        std::mem::forget(this);
        Ok(MappedMutexGuard {
            sem,
            data,
            _marker: PhantomData,
        })
    }
}

impl<U: ?Sized> Deref for MappedMutexGuard<'_, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the locked data, for which this guard
        // holds the only permit.
        unsafe { &*self.data }
    }
}

impl<U: ?Sized> DerefMut for MappedMutexGuard<'_, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        unsafe { &mut *self.data }
    }
}

impl<U: ?Sized> Drop for MappedMutexGuard<'_, U> {
    fn drop(&mut self) {
        self.sem.release_lock(1);
    }
}

/// Exclusive access to an `Arc<Mutex<T>>`'s data; unlocks on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
    /// `Sync` only when `T: Sync` (the guard hands out `&T`).
    _marker: PhantomData<T>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }

    /// Narrows the guard to a part of the data; the lock stays held (and
    /// the mutex alive) until the mapped guard is dropped.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map(this, |data| Some(f(data))) {
            Ok(mapped) => mapped,
            Err(_) => unreachable!("the closure always narrows"),
        }
    }

    /// [`map`](OwnedMutexGuard::map), when `f` may find nothing to narrow
    /// to: then the guard comes back unchanged.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard holds the permit, so this is the only access to
        // the data, which lives as long as the `Arc` the mapped guard keeps.
        let Some(data) = f(unsafe { &mut *this.lock.data_ptr() }) else {
            return Err(this);
        };
        let data = data as *mut U;
        Ok(OwnedMappedMutexGuard {
            lock: this.into_lock(),
            data,
        })
    }

    /// The `Arc`, the guard dissolved without releasing the permit.
    fn into_lock(self) -> Arc<Mutex<T>> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so reading the Arc
        // out moves it: it is dropped exactly once, by the caller.
        unsafe { std::ptr::read(&this.lock) }
    }
}

/// An [`OwnedMutexGuard`] narrowed by [`OwnedMutexGuard::map`]: holds the
/// lock and keeps the mutex alive.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<Mutex<T>>,
    data: *mut U,
}

// SAFETY: an `&mut U` plus the `Arc` of a mutex whose permit it holds: it
// may move to another thread when `U` may (and the mutex may, `T: Send`).
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: `&OwnedMappedMutexGuard` only gives `&U` (tokio's bounds, which
// ask `Send` of both as well).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// Narrows the guard further.
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        match Self::try_map(this, |data| Some(f(data))) {
            Ok(mapped) => mapped,
            Err(_) => unreachable!("the closure always narrows"),
        }
    }

    /// [`map`](OwnedMappedMutexGuard::map), when `f` may find nothing to
    /// narrow to: then the guard comes back unchanged.
    pub fn try_map<V: ?Sized, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        // SAFETY: `data` points into the locked data, for which this guard
        // holds the only permit.
        let Some(data) = f(unsafe { &mut *this.data }) else {
            return Err(this);
        };
        let data = data as *mut V;
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again: the Arc moves out.
        let lock = unsafe { std::ptr::read(&this.lock) };
        Ok(OwnedMappedMutexGuard { lock, data })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the locked data, for which this guard
        // holds the only permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.sem.release_lock(1);
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the only permit: no `&mut T` exists.
        unsafe { &*self.lock.data_ptr() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the only permit; `&mut self` is unique.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release_lock(1);
    }
}

/// `Debug` and `Display` of a guard are those of the data it reaches.
macro_rules! fmt_via_deref {
    ($($ty:ty => [$($gen:tt)*]),* $(,)?) => {$(
        impl<$($gen)*> ::std::fmt::Debug for $ty
        where
            <$ty as ::std::ops::Deref>::Target: ::std::fmt::Debug,
        {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($gen)*> ::std::fmt::Display for $ty
        where
            <$ty as ::std::ops::Deref>::Target: ::std::fmt::Display,
        {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}
pub(crate) use fmt_via_deref;

fmt_via_deref!(
    MutexGuard<'a, T> => ['a, T: ?Sized],
    MappedMutexGuard<'a, T> => ['a, T: ?Sized],
    OwnedMutexGuard<T> => [T: ?Sized],
    OwnedMappedMutexGuard<T, U> => [T: ?Sized, U: ?Sized],
);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use weft_base::holders::{self, Holder};

    /// The task dump names a lock's holder from the record a lock leaves
    /// (outside a task: "not a task"); unlocking clears it.
    #[test]
    fn a_taken_lock_is_recorded_until_it_is_unlocked() {
        let m = Mutex::new(0);
        let addr = std::ptr::addr_of!(m.sem) as u64;
        assert_eq!(holders::holder(addr), Holder::Unknown);
        let guard = m.try_lock().unwrap();
        assert_eq!(holders::holder(addr), Holder::NotATask);
        drop(guard);
        assert_eq!(holders::holder(addr), Holder::Unknown);
    }
}
