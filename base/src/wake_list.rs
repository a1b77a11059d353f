//! A batch of wakers gathered under a lock and woken after it is released:
//! a waker may run arbitrary code (wake a task on this thread, take the
//! same lock), so none runs under a primitive's or a driver's lock.
//!
//! Invariant: the slots below `len` hold wakers, the others nothing; each
//! gathered waker is woken (or dropped, through a wake) exactly once.

use std::mem::MaybeUninit;
use std::task::Waker;

/// Wakers gathered under a lock, to be woken after it is released (a waker
/// may run arbitrary code; it must not run under our lock). Fixed capacity,
/// so gathering never allocates: callers wake a full batch and go again.
///
/// The slots below `len` hold wakers, the rest nothing: making a list
/// writes no slot, and waking or dropping one touches only the filled ones
/// (an array of `Option<Waker>` was initialised whole and checked whole
/// when dropped, a few hundred instructions per `notify_waiters` or
/// release that woke a handful).
pub struct WakeList {
    wakers: [MaybeUninit<Waker>; WakeList::CAPACITY],
    len: usize,
}

impl WakeList {
    /// How many wakers a list holds.
    pub const CAPACITY: usize = 32;

    /// An empty list.
    #[inline]
    pub fn new() -> WakeList {
        WakeList {
            wakers: [const { MaybeUninit::uninit() }; WakeList::CAPACITY],
            len: 0,
        }
    }

    /// Whether no more wakers fit: wake these and go again.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == Self::CAPACITY
    }

    /// Adds `waker` (none: nothing to wake). The list must not be full.
    #[inline]
    pub fn push(&mut self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            assert!(!self.is_full(), "WakeList overflow");
            self.wakers[self.len].write(waker);
            self.len += 1;
        }
    }

    /// Wakes and forgets every gathered waker.
    #[inline]
    pub fn wake_all(&mut self) {
        // Emptied before the first wake: a waker that panics leaks the ones
        // after it rather than leaving them to be read again.
        let len = std::mem::take(&mut self.len);
        for slot in &mut self.wakers[..len] {
            // SAFETY: `push` wrote every slot below the old `len`, and each
            // is read once: `len` is already 0, so no later `wake_all` (or
            // the drop) reads them again.
            unsafe { slot.assume_init_read() }.wake();
        }
    }
}

impl Drop for WakeList {
    fn drop(&mut self) {
        // Never lose a wakeup, even on an early return.
        self.wake_all();
    }
}

impl Default for WakeList {
    fn default() -> WakeList {
        WakeList::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wake_list_wakes_each_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::task::Wake;
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let mut list = WakeList::new();
        while !list.is_full() {
            list.push(Some(Waker::from(count.clone())));
        }
        list.wake_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 32);
        assert_eq!(Arc::strong_count(&count), 1, "each waker consumed once");
        list.push(Some(Waker::from(count.clone())));
        list.push(None);
        list.push(Some(Waker::from(count.clone())));
        drop(list);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            34,
            "the drop wakes the rest"
        );
        assert_eq!(Arc::strong_count(&count), 1);
        // A list never filled wakes and drops nothing.
        drop(WakeList::new());
    }
}
