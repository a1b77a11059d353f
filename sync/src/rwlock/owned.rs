//! The guards that keep their [`RwLock`] alive through an `Arc` (from
//! `read_owned` / `write_owned`): they borrow nothing, so they can move
//! into spawned tasks.
//!
//! Same permits as the borrowing guards (`guards`). A mapped guard keeps a
//! pointer into the data: valid while the `Arc` it holds keeps the lock
//! alive, and used only while the guard holds its permits.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr;
use std::sync::Arc;

use super::RwLock;
use crate::mutex::fmt_via_deref;

/// Shared access to an `Arc<RwLock<T>>`'s data, or to a part of it (`U`)
/// once narrowed by [`map`](OwnedRwLockReadGuard::map). Releases its read
/// permit on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: *const U,
}

// SAFETY: the guard is a `&U` plus an `Arc` of the lock, which it may be
// the last to drop (so the lock, and `T`, move with it: `T: Send + Sync`,
// what `Arc<RwLock<T>>: Send` asks); `&U` moves when `U: Sync`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: `&OwnedRwLockReadGuard` gives `&U` and `&Arc<RwLock<T>>`, both
// shareable under these bounds (tokio's).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// A guard for the whole data of `lock`, whose read permit the caller
    /// holds and hands over.
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        let data = lock.data_ptr();
        OwnedRwLockReadGuard { lock, data }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// Narrows the guard to a part of the data; the read permit stays held
    /// (and the lock alive) until the narrowed guard is dropped.
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        let data: *const V = f(&*this);
        OwnedRwLockReadGuard {
            lock: this.into_lock(),
            data,
        }
    }

    /// [`map`](OwnedRwLockReadGuard::map), when `f` may find nothing to
    /// narrow to: then the guard comes back unchanged.
    pub fn try_map<F, V: ?Sized>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        let Some(data) = f(&*this) else {
            return Err(this);
        };
        let data: *const V = data;
        Ok(OwnedRwLockReadGuard {
            lock: this.into_lock(),
            data,
        })
    }

    /// The lock this guard reads.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// The `Arc`, the guard dissolved without releasing its permit.
    fn into_lock(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so reading the Arc
        // out moves it: it is dropped exactly once, by the caller.
        unsafe { ptr::read(&this.lock) }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the lock's data, kept alive by our
        // `Arc`, and a read permit is held, so no write guard exists.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

/// Exclusive access to an `Arc<RwLock<T>>`'s data. Releases every permit
/// on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    // `Send` and `Sync` follow from the `Arc`: both need `T: Send + Sync`,
    // as tokio's do.
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// A guard for `lock`, whose `max_readers` permits the caller holds and
    /// hands over.
    pub(super) fn new(lock: Arc<RwLock<T>>) -> Self {
        lock.sem.took_lock();
        OwnedRwLockWriteGuard { lock }
    }

    /// Narrows the guard to a part of the data; the lock stays write-locked
    /// (and alive) until the mapped guard is dropped.
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        OwnedRwLockMappedWriteGuard {
            lock: this.into_lock(),
            data,
        }
    }

    /// [`map`](OwnedRwLockWriteGuard::map), when `f` may find nothing to
    /// narrow to: then the guard comes back unchanged.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *this) else {
            return Err(this);
        };
        let data: *mut U = data;
        Ok(OwnedRwLockMappedWriteGuard {
            lock: this.into_lock(),
            data,
        })
    }

    /// The guard as an [`OwnedRwLockMappedWriteGuard`] of the whole data.
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        OwnedRwLockWriteGuard::map(this, |data| data)
    }

    /// Turns exclusive access into shared access to a part of the data,
    /// without letting a writer in between. Readers waiting for the lock
    /// get in only once `f` has returned.
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data: *const U = f(&*this);
        downgrade(this.into_lock(), data)
    }

    /// [`downgrade_map`](OwnedRwLockWriteGuard::downgrade_map), when `f`
    /// may find nothing to narrow to: then the write guard comes back
    /// unchanged, still holding the lock exclusively.
    pub fn try_downgrade_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self>
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
    /// in between.
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let lock = self.into_lock();
        let data = lock.data_ptr();
        downgrade(lock, data)
    }

    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// The `Arc`, the guard dissolved without releasing its permits.
    fn into_lock(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so reading the Arc
        // out moves it: it is dropped exactly once, by the caller.
        unsafe { ptr::read(&this.lock) }
    }
}

/// A read guard for `data`, made from the write permits held on `lock`:
/// keeps one of them and releases the rest (after building the guard, so a
/// panic cannot leak the permit it keeps).
fn downgrade<T: ?Sized, U: ?Sized>(
    lock: Arc<RwLock<T>>,
    data: *const U,
) -> OwnedRwLockReadGuard<T, U> {
    let guard = OwnedRwLockReadGuard { lock, data };
    guard.lock.sem.release_lock(guard.lock.max_readers - 1);
    guard
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: all permits are held: this guard is the only one.
        unsafe { &*self.lock.data_ptr() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: all permits are held and `&mut self` is unique.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release_lock(self.lock.max_readers);
    }
}

/// Exclusive access to a part (`U`) of an `Arc<RwLock<T>>`'s data, from
/// [`OwnedRwLockWriteGuard::map`]. Releases every permit on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: *mut U,
}

// SAFETY: the guard is a `&mut U` plus an `Arc` of the lock (which moves
// with it, see `OwnedRwLockReadGuard`); tokio's bounds.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: `&OwnedRwLockMappedWriteGuard` gives only `&U` and the `Arc`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// Narrows the guard further.
    pub fn map<F, V: ?Sized>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let data: *mut V = f(&mut *this);
        OwnedRwLockMappedWriteGuard {
            lock: this.into_lock(),
            data,
        }
    }

    /// [`map`](OwnedRwLockMappedWriteGuard::map), when `f` may find nothing
    /// to narrow to: then the guard comes back unchanged.
    pub fn try_map<F, V: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let Some(data) = f(&mut *this) else {
            return Err(this);
        };
        let data: *mut V = data;
        Ok(OwnedRwLockMappedWriteGuard {
            lock: this.into_lock(),
            data,
        })
    }

    /// The lock this guard writes.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// The `Arc`, the guard dissolved without releasing its permits.
    fn into_lock(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so reading the Arc
        // out moves it: it is dropped exactly once, by the caller.
        unsafe { ptr::read(&this.lock) }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the lock's data, kept alive by our
        // `Arc`, and all permits are held: this guard is the only one.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.sem.release_lock(self.lock.max_readers);
    }
}

fmt_via_deref!(
    OwnedRwLockReadGuard<T, U> => [T: ?Sized, U: ?Sized],
    OwnedRwLockWriteGuard<T> => [T: ?Sized],
    OwnedRwLockMappedWriteGuard<T, U> => [T: ?Sized, U: ?Sized],
);
