//! A single-value channel: one sender publishes the latest value, many
//! receivers see it and wait for changes.
//!
//! The value sits behind a reader-writer lock with a version counter beside
//! it. Invariants: the version is bumped (by 2; bit 0 is `CLOSED`, set when
//! the sender is dropped) while the write lock is held, so a receiver that
//! reads the version under the read lock sees the version of the value it
//! reads. Receivers wait on a sharded [`Notify`]: create the `Notified`
//! (which records the notify generation), compare versions, then sleep; the
//! sender bumps the version before `notify_waiters`, so a change is either
//! seen by the check or completes the `Notified`.
//!
//! ```
//! use weft_sync::watch;
//!
//! futures::executor::block_on(async {
//!     let (tx, mut rx) = watch::channel("init");
//!     tx.send("next").unwrap();
//!     rx.changed().await.unwrap();
//!     assert_eq!(*rx.borrow_and_update(), "next");
//!     drop(tx);
//!     assert!(rx.changed().await.is_err()); // sender gone, nothing new
//! });
//! ```

pub mod error;

use error::{RecvError, SendError};

use std::fmt;
use std::ops::Deref;

use crate::budget::cooperative;
use crate::notify::{BigNotify, Notify};
use weft_base::loom::{Arc, AtomicUsize, Ordering::SeqCst, RwLock, RwLockReadGuard};
use weft_base::wait::{SyncKind, WaitOn};

const CLOSED: usize = 1;
const VERSION_ONE: usize = 2;

struct Shared<T> {
    value: RwLock<T>,
    /// `version << 1 | CLOSED`.
    state: AtomicUsize,
    receivers: AtomicUsize,
    /// Sender clones; the last one to go sets `CLOSED`.
    senders: AtomicUsize,
    changed: BigNotify,
    all_receivers_gone: Notify,
}

/// Creates a watch channel holding `init`; the receiver has seen `init`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        receivers: AtomicUsize::new(1),
        senders: AtomicUsize::new(1),
        changed: BigNotify::new(),
        all_receivers_gone: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            seen: 0,
            shard: shared.changed.pick_shard(),
            shared,
        },
    )
}

/// Publishes values; clone it for more publishers. Dropping the last one
/// closes the channel.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Observes the latest value; clone it for more observers.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen (state without `CLOSED`).
    seen: usize,
    /// Which notify shard this receiver waits on.
    shard: usize,
}

/// A read borrow of the current value; holds the read lock, so keep it
/// short (the sender waits for it).
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was new to the receiver when it was borrowed.
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T> Sender<T> {
    /// A sender for a new channel holding `init`, with no receiver yet:
    /// [`subscribe`](Sender::subscribe) makes them.
    pub fn new(init: T) -> Sender<T> {
        channel(init).0
    }

    /// Publishes `value` and wakes the receivers. Fails, handing the value
    /// back, if every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(SeqCst) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Publishes `value` even with no receivers; returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let mut old = Some(value);
        self.send_if_modified(|v| {
            old = Some(std::mem::replace(v, old.take().expect("set above")));
            true
        });
        old.expect("replaced above")
    }

    /// Modifies the value in place and wakes the receivers.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Modifies the value in place; counts as a change (and wakes the
    /// receivers) only if `modify` returns true. Returns that.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        {
            let mut value = self.shared.value.write();
            if !modify(&mut value) {
                return false;
            }
            // Under the write lock: readers see version and value together.
            self.shared.state.fetch_add(VERSION_ONE, SeqCst);
        }
        self.shared.changed.notify_waiters();
        true
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.value.read(),
            has_changed: false,
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, SeqCst);
        let seen = self.shared.state.load(SeqCst) & !CLOSED;
        Receiver {
            shared: self.shared.clone(),
            seen,
            shard: self.shared.changed.pick_shard(),
        }
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(SeqCst)
    }

    /// How many senders (clones of this one) exist.
    pub fn sender_count(&self) -> usize {
        self.shared.senders.load(SeqCst)
    }

    /// Whether `self` and `other` publish into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Completes when every receiver is gone.
    pub async fn closed(&self) {
        cooperative(self.closed_inner()).await
    }

    async fn closed_inner(&self) {
        loop {
            // Created before the check: a `notify_waiters` after it counts.
            let notified = self.shared.all_receivers_gone.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, SeqCst);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, SeqCst) != 1 {
            return;
        }
        self.shared.state.fetch_or(CLOSED, SeqCst);
        self.shared.changed.notify_waiters();
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        let version = self.shared.state.load(SeqCst) & !CLOSED;
        Ref {
            guard,
            has_changed: version != self.seen,
        }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.value.read();
        let version = self.shared.state.load(SeqCst) & !CLOSED;
        let has_changed = version != self.seen;
        self.seen = version;
        Ref { guard, has_changed }
    }

    /// Whether there is a value this receiver has not seen. Fails if the
    /// sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state.load(SeqCst);
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state & !CLOSED != self.seen)
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.state.load(SeqCst) & CLOSED != 0
    }

    /// Marks the current value unseen: [`has_changed`](Receiver::has_changed)
    /// says true and [`changed`](Receiver::changed) completes at once, even
    /// though nothing new was sent.
    pub fn mark_changed(&mut self) {
        // Versions step by `VERSION_ONE`: one step back is a version the
        // channel is no longer at.
        self.seen = self.seen.wrapping_sub(VERSION_ONE);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.state.load(SeqCst) & !CLOSED;
    }

    /// Waits for a value this receiver has not seen, and marks it seen.
    /// Fails once the sender is gone and every value has been seen.
    /// Cancel-safe.
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        cooperative(changed(&self.shared, &mut self.seen, self.shard)).await
    }

    /// Waits until the value satisfies `pred` (checking the current value
    /// first), marks it seen and borrows it. Fails if the sender goes away
    /// first.
    pub async fn wait_for(
        &mut self,
        pred: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        cooperative(self.wait_for_inner(pred)).await
    }

    async fn wait_for_inner(
        &mut self,
        mut pred: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // Split the borrow: the returned guard borrows `shared` (shared
        // borrow), the loop updates `seen`.
        let shared: &Shared<T> = &self.shared;
        let seen = &mut self.seen;
        let shard = self.shard;
        loop {
            {
                let guard = shared.value.read();
                let version = shared.state.load(SeqCst) & !CLOSED;
                let has_changed = version != *seen;
                *seen = version;
                if pred(&guard) {
                    return Ok(Ref { guard, has_changed });
                }
            }
            changed(shared, seen, shard).await?;
        }
    }

    /// Whether `self` and `other` watch the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// Waits for a version other than `seen` (then records it), or for the
/// sender to be gone with nothing new.
async fn changed<T>(shared: &Shared<T>, seen: &mut usize, shard: usize) -> Result<(), RecvError> {
    loop {
        // Created before the check: a `notify_waiters` after this line
        // completes it (the generation moved), so it need not register yet.
        let wait = WaitOn::sync(SyncKind::WatchChanged, shared);
        let notified = shared.changed.notified(shard, wait);
        let state = shared.state.load(SeqCst);
        if state & !CLOSED != *seen {
            *seen = state & !CLOSED;
            return Ok(());
        }
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        notified.await;
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, SeqCst);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
            shard: self.shared.changed.pick_shard(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.receivers.fetch_sub(1, SeqCst) == 1 {
            self.shared.all_receivers_gone.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender")
            .field("value", &*self.borrow())
            .finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("value", &*self.borrow())
            .finish()
    }
}
