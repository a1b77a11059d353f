//! An async reader-writer lock: a [`Semaphore`] with `max_readers` permits
//! (`MAX_READS` unless made with [`RwLock::with_max_readers`]).
//!
//! A reader takes one permit, a writer takes all of them. The semaphore's
//! FIFO queue makes the lock fair: a writer queued behind readers holds back
//! the readers that come after it, so writers are never starved. Invariant:
//! a write guard (mapped or not) exists only while its owner holds all
//! `max_readers` permits, a read guard only while its owner holds one; so
//! while a write guard exists no other guard does. Each guard releases what
//! it holds when dropped; turning one guard into another (`map`,
//! `downgrade`, ...) hands its permits over without releasing them, except
//! that a downgrade releases all but one.
//!
//! The guards live in `guards` (borrowing the lock) and `owned` (keeping
//! an `Arc` of it). A mapped guard keeps a raw pointer to the part of the
//! data it was narrowed to: valid while the lock lives and the permits are
//! held, which the guard itself ensures.
//!
//! For the task dump, a waiting `read` or `write` notes the lock (by its
//! semaphore's address), and a write guard records the task that took it
//! in [`weft_base::holders`] until it is dropped or downgraded (as a
//! `Mutex` does; readers are not recorded: there may be many).

mod guards;
mod owned;

pub use guards::{RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard};
pub use owned::{OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

use std::fmt;

use std::sync::Arc;

use crate::mutex::TryLockError;
use crate::semaphore::{acquire_raw, AcquireError, Semaphore};
use weft_base::loom::UnsafeCell;
use weft_base::wait::{SyncKind, WaitOn};

/// How many readers can hold the lock at once, unless the lock was made
/// with another limit ([`RwLock::with_max_readers`]).
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock, fair between readers and writers.
///
/// ```
/// use weft_sync::RwLock;
///
/// let lock = RwLock::new(5);
/// futures::executor::block_on(async {
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///         assert!(lock.try_write().is_err());
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    /// Readers' permits: one per reader, all of them for a writer.
    max_readers: usize,
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: a write guard may be dropped on any thread, so `T: Send`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: readers share `&T` across threads (`T: Sync`) and writers move
// exclusive access between threads (`T: Send`); the permits keep readers and
// writers apart (module invariant).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// An unlocked lock holding `value` that lets at most `max_reads`
    /// readers in at once.
    ///
    /// # Panics
    ///
    /// If `max_reads` is zero or more than `u32::MAX >> 3`.
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert_ne!(max_reads, 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than {MAX_READS} readers"
        );
        RwLock {
            max_readers: max_reads as usize,
            sem: Semaphore::new(max_reads as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// [`new`](RwLock::new) usable in a `static` (not under loom, whose
    /// atomics and locks cannot be built in a constant).
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::const_with_max_readers(value, MAX_READS)
    }

    /// [`with_max_readers`](RwLock::with_max_readers) usable in a `static`.
    ///
    /// # Panics
    ///
    /// As `with_max_readers` (at compile time in a constant).
    #[cfg(not(loom))]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than u32::MAX >> 3 readers"
        );
        RwLock {
            max_readers: max_reads as usize,
            sem: Semaphore::const_new(max_reads as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// [`read`](RwLock::read) from synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        crate::blocking::block_on(self.read())
    }

    /// [`write`](RwLock::write) from synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        crate::blocking::block_on(self.write())
    }

    /// Waits for shared access. Queues behind any earlier writer.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        expect_open(acquire_raw!(
            &self.sem,
            1,
            self.wait_on(SyncKind::RwLockRead)
        ));
        RwLockReadGuard::new(&self.sem, self.data_ptr())
    }

    /// Waits for exclusive access.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        expect_open(acquire_raw!(
            &self.sem,
            self.max_readers,
            self.wait_on(SyncKind::RwLockWrite)
        ));
        RwLockWriteGuard::new(self)
    }

    /// Shared access if it can be had now without queueing.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(RwLockReadGuard::new(&self.sem, self.data_ptr()))
    }

    /// Exclusive access if it can be had now without queueing.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.sem
            .try_take(self.max_readers)
            .map_err(|_| TryLockError(()))?;
        Ok(RwLockWriteGuard::new(self))
    }

    /// [`read`](RwLock::read) for an `Arc`'d lock.
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        expect_open(acquire_raw!(
            &self.sem,
            1,
            self.wait_on(SyncKind::RwLockRead)
        ));
        OwnedRwLockReadGuard::new(self)
    }

    /// [`write`](RwLock::write) for an `Arc`'d lock.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        expect_open(acquire_raw!(
            &self.sem,
            self.max_readers,
            self.wait_on(SyncKind::RwLockWrite)
        ));
        OwnedRwLockWriteGuard::new(self)
    }

    /// [`try_read`](RwLock::try_read) for an `Arc`'d lock.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.sem.try_take(1).map_err(|_| TryLockError(()))?;
        Ok(OwnedRwLockReadGuard::new(self))
    }

    /// [`try_write`](RwLock::try_write) for an `Arc`'d lock.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.sem
            .try_take(self.max_readers)
            .map_err(|_| TryLockError(()))?;
        Ok(OwnedRwLockWriteGuard::new(self))
    }

    /// The data, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// What an acquire of the lock's permits notes while it waits.
    fn wait_on(&self, kind: SyncKind) -> WaitOn {
        WaitOn::sync(kind, &self.sem)
    }

    fn data_ptr(&self) -> *mut T {
        self.data.with_mut(|p| p)
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

/// A lock's semaphore is never closed: an acquire of it always succeeds.
fn expect_open(outcome: Result<(), AcquireError>) {
    if outcome.is_err() {
        panic!("weft-sync: an rwlock semaphore was closed");
    }
}
