//! `OnceCell`: a value set once, by whichever task gets there first, that
//! everyone else waits for (tokio's `sync::OnceCell`).
//!
//! A one-permit [`Semaphore`] picks the initialiser: the task holding the
//! permit runs its initialiser, writes the value, sets `initialized`
//! (Release) and closes the semaphore, which fails every queued acquire:
//! those tasks then read the value. An initialiser that fails, panics or is
//! cancelled drops the permit, and the next queued task tries.
//!
//! Invariant: the value cell is written only by the permit holder while
//! `initialized` is false, and read only after `initialized` was seen true
//! (Acquire); after that nobody writes it again (except through `&mut
//! self`).

use std::fmt;
use std::future::Future;

use crate::semaphore::{acquire_raw, Semaphore, TryAcquireError};
use weft_base::loom::{AtomicBool, Ordering, UnsafeCell};
use weft_base::wait::{SyncKind, WaitOn};

/// A thread-safe cell written once, asynchronously.
///
/// ```
/// use weft_sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
///
/// futures::executor::block_on(async {
///     let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
///     assert_eq!(v, "loaded");
///     // Later callers get the same value; their initialiser does not run.
///     let again = CONFIG.get_or_init(|| async { unreachable!() }).await;
///     assert_eq!(again, "loaded");
/// });
/// ```
pub struct OnceCell<T> {
    initialized: AtomicBool,
    value: UnsafeCell<Option<T>>,
    semaphore: Semaphore,
}

// SAFETY: the cell hands a `T` to whichever thread takes it out (`T: Send`).
unsafe impl<T: Send> Send for OnceCell<T> {}
// SAFETY: shared, the cell gives out `&T` on every thread (`T: Sync`) and
// takes a `T` in from any thread (`T: Send`); the one write happens before
// any read (module invariant).
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}

/// Why [`OnceCell::set`] failed; the value is handed back.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another task is initialising the cell right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether the cell already held a value.
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether another task was initialising the cell.
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError"),
            SetError::InitializingError(_) => f.write_str("InitializingError"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell {
            initialized: AtomicBool::new(false),
            value: UnsafeCell::new(None),
            semaphore: Semaphore::new(1),
        }
    }

    /// [`new`](OnceCell::new) usable in a `static` (not under loom, whose
    /// atomics and locks cannot be built in a constant).
    #[cfg(not(loom))]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            initialized: AtomicBool::new(false),
            value: UnsafeCell::new(None),
            semaphore: Semaphore::const_new(1),
        }
    }

    /// A cell holding `value` if it is `Some`, empty otherwise.
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        match value {
            Some(value) => OnceCell::from(value),
            None => OnceCell::new(),
        }
    }

    /// A cell holding `value`, usable in a `static` (not under loom).
    #[cfg(not(loom))]
    pub const fn const_new_with(value: T) -> OnceCell<T> {
        OnceCell {
            initialized: AtomicBool::new(true),
            value: UnsafeCell::new(Some(value)),
            // Never acquired: `initialized` is checked first.
            semaphore: Semaphore::const_new(0),
        }
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    /// The value, if the cell holds one.
    pub fn get(&self) -> Option<&T> {
        if !self.initialized() {
            return None;
        }
        // SAFETY: initialized (seen with Acquire, after the writer's
        // Release): the value is written and never written again while
        // `&self` is shared.
        self.value.with(|v| unsafe { (*v).as_ref() })
    }

    /// The value, through exclusive access.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut().as_mut()
    }

    /// Sets the value if the cell is empty and nobody is initialising it;
    /// otherwise hands `value` back in the error.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_take(1) {
            Ok(()) => {
                self.publish(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// The value, running `f` to produce it if the cell is empty. Only one
    /// initialiser runs at a time; the others wait for it. If it is
    /// cancelled or panics, the next waiting caller runs its own.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) })
            .await
        {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// [`get_or_init`](OnceCell::get_or_init) with a fallible initialiser:
    /// on `Err` the cell stays empty (the next waiting caller tries) and
    /// the error comes back.
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        let wait = WaitOn::sync(SyncKind::OnceCell, self);
        if acquire_raw!(&self.semaphore, 1, wait).is_err() {
            // Closed: only `publish` closes it, after the value is set.
            return Ok(self.get().expect("a closed OnceCell holds its value"));
        }
        /// Gives the permit back unless the value was published.
        struct Permit<'a>(&'a Semaphore);
        impl Drop for Permit<'_> {
            fn drop(&mut self) {
                self.0.release(1);
            }
        }
        let permit = Permit(&self.semaphore);
        let value = f().await?;
        std::mem::forget(permit);
        Ok(self.publish(value))
    }

    /// The permit holder's write: stores `value`, marks the cell set and
    /// fails every queued acquire, whose callers then read it.
    fn publish(&self, value: T) -> &T {
        // SAFETY: we hold the one permit and `initialized` is false, so
        // nobody else writes or reads the cell (module invariant).
        self.value.with_mut(|v| unsafe { *v = Some(value) });
        self.initialized.store(true, Ordering::Release);
        self.semaphore.close();
        self.get().expect("just set")
    }

    /// The value, the cell consumed.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// Takes the value out, leaving the cell empty (and settable again).
    pub fn take(&mut self) -> Option<T> {
        std::mem::take(self).into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell {
            initialized: AtomicBool::new(true),
            value: UnsafeCell::new(Some(value)),
            // Never acquired: `initialized` is checked first.
            semaphore: Semaphore::new(0),
        }
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
