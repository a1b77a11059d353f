//! `SetOnce`: a value set once, synchronously, that tasks can wait for
//! (tokio's `sync::SetOnce`, an `asyncio.Event` that carries a value).
//!
//! Invariant: the value cell is written once, by the `set` that holds the
//! `set_lock` and finds `value_set` false; it sets `value_set` (Release)
//! after writing and only then wakes the waiters. The cell is read only
//! after `value_set` was seen true (Acquire), and never written again
//! while the `SetOnce` is shared.

use std::fmt;

use crate::notify::Notify;
use weft_base::loom::{AtomicBool, Mutex, Ordering, UnsafeCell};

/// A cell set at most once, with a [`wait`](SetOnce::wait) for the value.
///
/// ```
/// use weft_sync::SetOnce;
///
/// let ready = SetOnce::new();
/// futures::executor::block_on(async {
///     let waiter = async { *ready.wait().await };
///     let setter = async { ready.set(7).unwrap() };
///     let (got, ()) = futures::join!(waiter, setter);
///     assert_eq!(got, 7);
///     assert!(ready.set(8).is_err()); // set once
/// });
/// ```
pub struct SetOnce<T> {
    value_set: AtomicBool,
    value: UnsafeCell<Option<T>>,
    /// Serialises `set` calls.
    set_lock: Mutex<()>,
    notify: Notify,
}

// SAFETY: the cell hands a `T` to whichever thread takes it out (`T: Send`).
unsafe impl<T: Send> Send for SetOnce<T> {}
// SAFETY: shared, it gives out `&T` on every thread (`T: Sync`) and takes a
// `T` in from any thread (`T: Send`); the one write happens before any read
// (module invariant).
unsafe impl<T: Send + Sync> Sync for SetOnce<T> {}

/// [`SetOnce::set`] found the value already set; `value` is handed back.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnceError")
    }
}

impl<T: fmt::Debug> std::error::Error for SetOnceError<T> {}

impl<T> SetOnce<T> {
    /// An unset `SetOnce`.
    pub fn new() -> SetOnce<T> {
        SetOnce::new_with(None)
    }

    /// [`new`](SetOnce::new) usable in a `static` (not under loom, whose
    /// atomics and locks cannot be built in a constant).
    #[cfg(not(loom))]
    pub const fn const_new() -> SetOnce<T> {
        SetOnce {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(None),
            set_lock: Mutex::new(()),
            notify: Notify::const_new(),
        }
    }

    /// A `SetOnce` holding `value` if it is `Some`, unset otherwise.
    pub fn new_with(value: Option<T>) -> SetOnce<T> {
        SetOnce {
            value_set: AtomicBool::new(value.is_some()),
            value: UnsafeCell::new(value),
            set_lock: Mutex::new(()),
            notify: Notify::new(),
        }
    }

    /// A `SetOnce` holding `value`, usable in a `static` (not under loom).
    #[cfg(not(loom))]
    pub const fn const_new_with(value: T) -> SetOnce<T> {
        SetOnce {
            value_set: AtomicBool::new(true),
            value: UnsafeCell::new(Some(value)),
            set_lock: Mutex::new(()),
            notify: Notify::const_new(),
        }
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.value_set.load(Ordering::Acquire)
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if !self.initialized() {
            return None;
        }
        // SAFETY: set (seen with Acquire, after the setter's Release): the
        // value is written and never written again while `&self` is shared.
        self.value.with(|v| unsafe { (*v).as_ref() })
    }

    /// Sets the value and wakes every waiter; if it is already set, hands
    /// `value` back.
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        if self.initialized() {
            return Err(SetOnceError(value));
        }
        let guard = self.set_lock.lock();
        if self.initialized() {
            return Err(SetOnceError(value));
        }
        // SAFETY: under `set_lock` with `value_set` false: nobody reads the
        // cell and no other `set` writes it (module invariant).
        self.value.with_mut(|v| unsafe { *v = Some(value) });
        self.value_set.store(true, Ordering::Release);
        drop(guard);
        self.notify.notify_waiters();
        Ok(())
    }

    /// The value, the `SetOnce` consumed.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// Waits until the value is set, then borrows it.
    pub async fn wait(&self) -> &T {
        loop {
            // Created before the check: a `set` after it completes it (its
            // `notify_waiters` follows the store).
            let notified = self.notify.notified();
            if let Some(value) = self.get() {
                return value;
            }
            notified.await;
        }
    }
}

impl<T> Default for SetOnce<T> {
    fn default() -> Self {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> Self {
        SetOnce::new_with(Some(value))
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    fn clone(&self) -> Self {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce")
            .field("value", &self.get())
            .finish()
    }
}
