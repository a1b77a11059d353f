//! The guards that borrow their [`RwLock`]: read, write and mapped write.
//!
//! A read guard holds one permit and a pointer to the data (or, once
//! mapped, to a part of it); a write guard holds all `max_readers` permits
//! and reaches the whole data through the lock; a mapped write guard holds
//! all the permits and a pointer to the part it was narrowed to. The
//! pointers are valid for `'a` (the lock is borrowed that long) and are
//! used only while the permits are held (the guard's own lifetime), so a
//! read guard's `&T` never meets a `&mut T` and a write guard's `&mut T`
//! meets nothing.

use std::marker::PhantomData;
use std::mem;
use std::ops::{Deref, DerefMut};

use super::RwLock;
use crate::mutex::fmt_via_deref;
use crate::semaphore::Semaphore;

/// Shared access to an [`RwLock`]'s data, or to a part of it once narrowed
/// by [`map`](RwLockReadGuard::map). Releases its read permit on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    data: *const T,
    _marker: PhantomData<&'a T>,
}

// SAFETY: the guard is a `&T` plus a read permit; a `&T` may move to
// another thread when `T: Sync`, and releasing a permit is thread-safe.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: `&RwLockReadGuard` gives only `&T` (tokio's bounds, which ask
// `Send` as well).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// A guard for `data`, whose read permit from `sem` the caller holds and
    /// hands over; `data` must stay valid for shared reads for `'a`.
    pub(super) fn new(sem: &'a Semaphore, data: *const T) -> Self {
        RwLockReadGuard {
            sem,
            data,
            _marker: PhantomData,
        }
    }

    /// Narrows the guard to a part of the data; the read permit stays held
    /// until the narrowed guard is dropped.
    ///
    /// ```
    /// use weft_sync::{RwLock, RwLockReadGuard};
    ///
    /// let lock = RwLock::new((1, String::from("a")));
    /// futures::executor::block_on(async {
    ///     let s = RwLockReadGuard::map(lock.read().await, |pair| &pair.1);
    ///     assert_eq!(*s, "a");
    ///     assert!(lock.try_write().is_err());
    /// });
    /// ```
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        // If `f` panics, `this` is dropped and gives its permit back.
        let data: *const U = f(&*this);
        RwLockReadGuard::new(this.into_sem(), data)
    }

    /// [`map`](RwLockReadGuard::map), when `f` may find nothing to narrow
    /// to: then the guard comes back unchanged.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this) else {
            return Err(this);
        };
        let data: *const U = data;
        Ok(RwLockReadGuard::new(this.into_sem(), data))
    }

    /// The semaphore, the guard dissolved without releasing its permit.
    fn into_sem(self) -> &'a Semaphore {
        let sem = self.sem;
        mem::forget(self);
        sem
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` is valid for `'a` and a read permit is held, so no
        // write guard (the only source of `&mut T`) exists.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(1);
    }
}

/// Exclusive access to an [`RwLock`]'s data. Releases every permit on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    // `Send` and `Sync` follow from these two: both need `T: Send + Sync`,
    // as tokio's write guard does.
    lock: &'a RwLock<T>,
    _marker: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// A guard for `lock`, whose `max_readers` permits the caller holds and
    /// hands over.
    pub(super) fn new(lock: &'a RwLock<T>) -> Self {
        lock.sem.took_lock();
        RwLockWriteGuard {
            lock,
            _marker: PhantomData,
        }
    }

    /// Narrows the guard to a part of the data; the lock stays write-locked
    /// until the mapped guard is dropped.
    ///
    /// ```
    /// use weft_sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new((1, String::from("a")));
    /// futures::executor::block_on(async {
    ///     let mut s = RwLockWriteGuard::map(lock.write().await, |pair| &mut pair.1);
    ///     s.push('b');
    ///     drop(s);
    ///     assert_eq!(lock.read().await.1, "ab");
    /// });
    /// ```
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let lock = this.into_lock();
        RwLockMappedWriteGuard::new(&lock.sem, lock.max_readers, data)
    }

    /// [`map`](RwLockWriteGuard::map), when `f` may find nothing to narrow
    /// to: then the guard comes back unchanged.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this) else {
            return Err(this);
        };
        let data: *mut U = data;
        let lock = this.into_lock();
        Ok(RwLockMappedWriteGuard::new(
            &lock.sem,
            lock.max_readers,
            data,
        ))
    }

    /// The guard as a [`RwLockMappedWriteGuard`] of the whole data.
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        RwLockWriteGuard::map(this, |data| data)
    }

    /// Turns exclusive access into shared access to a part of the data,
    /// without letting a writer in between. Readers waiting for the lock
    /// get in only once `f` has returned.
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data: *const U = f(&*this);
        downgrade(this.into_lock(), data)
    }

    /// [`downgrade_map`](RwLockWriteGuard::downgrade_map), when `f` may
    /// find nothing to narrow to: then the write guard comes back
    /// unchanged, still holding the lock exclusively.
    pub fn try_downgrade_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this) else {
            return Err(this);
        };
        let data: *const U = data;
        Ok(downgrade(this.into_lock(), data))
    }

    /// Turns exclusive access into shared access without letting a writer
    /// in between (readers queued behind us may now enter).
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.into_lock();
        downgrade(lock, lock.data_ptr())
    }

    /// The lock, the guard dissolved without releasing its permits.
    fn into_lock(self) -> &'a RwLock<T> {
        let lock = self.lock;
        mem::forget(self);
        lock
    }
}

/// A read guard for `data`, made from the write permits held on `lock`:
/// keeps one of them and releases the rest (after building the guard, so a
/// panic cannot leak the permit it keeps).
fn downgrade<'a, T: ?Sized, U: ?Sized>(
    lock: &'a RwLock<T>,
    data: *const U,
) -> RwLockReadGuard<'a, U> {
    let guard = RwLockReadGuard::new(&lock.sem, data);
    lock.sem.release_lock(lock.max_readers - 1);
    guard
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: all permits are held: this guard is the only one.
        unsafe { &*self.lock.data_ptr() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: all permits are held and `&mut self` is unique.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release_lock(self.lock.max_readers);
    }
}

/// Exclusive access to a part of an [`RwLock`]'s data, from
/// [`RwLockWriteGuard::map`]. Releases every permit on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    /// All of the lock's permits: what to release.
    permits: usize,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a `&mut T` plus the lock's permits; moving it moves
// the `&mut T` (`T: Send`), and tokio asks `T: Sync` as well.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: `&RwLockMappedWriteGuard` gives only `&T` (`T: Sync`; tokio's
// bounds ask `Send` as well).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// A guard for `data`, with the `permits` (all of the lock's) the caller
    /// holds and hands over; `data` must stay valid for `'a`.
    fn new(sem: &'a Semaphore, permits: usize, data: *mut T) -> Self {
        RwLockMappedWriteGuard {
            sem,
            permits,
            data,
            _marker: PhantomData,
        }
    }

    /// Narrows the guard further.
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let (sem, permits) = this.into_permits();
        RwLockMappedWriteGuard::new(sem, permits, data)
    }

    /// [`map`](RwLockMappedWriteGuard::map), when `f` may find nothing to
    /// narrow to: then the guard comes back unchanged.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this) else {
            return Err(this);
        };
        let data: *mut U = data;
        let (sem, permits) = this.into_permits();
        Ok(RwLockMappedWriteGuard::new(sem, permits, data))
    }

    /// The semaphore and permit count, the guard dissolved without
    /// releasing them.
    fn into_permits(self) -> (&'a Semaphore, usize) {
        let parts = (self.sem, self.permits);
        mem::forget(self);
        parts
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` is valid for `'a` and all permits are held: this
        // guard is the only one.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release_lock(self.permits);
    }
}

fmt_via_deref!(
    RwLockReadGuard<'a, T> => ['a, T: ?Sized],
    RwLockWriteGuard<'a, T> => ['a, T: ?Sized],
    RwLockMappedWriteGuard<'a, T> => ['a, T: ?Sized],
);
