//! A multi-producer, multi-consumer broadcast channel: every receiver sees
//! every message, from a bounded ring.
//!
//! Each slot of the ring has its own reader-writer lock and records the
//! position of the message it holds; the write position `tail` and the
//! counts sit behind one mutex. Invariants: a send writes slot
//! `tail % capacity` (holding the tail lock, then the slot's write lock)
//! and then advances `tail`; so a slot holding position `pos` holds message
//! `pos`, and receivers read messages under the slot's read lock without
//! touching the tail lock at all. Only when a slot does not hold the
//! position a receiver wants does it take the tail lock, to tell "not sent
//! yet" from "overwritten": a receiver more than `capacity` behind has lost
//! messages, gets `Lagged(n)` once and resumes at the oldest one still
//! held. Receivers wait on a sharded notify: create the `Notified` (which
//! records the notify generation), re-check, then sleep; a send (or the last
//! sender's drop) happens before its `notify_waiters`, so a message is either
//! seen by the re-check or completes the `Notified`.
//!
//! ```
//! use weft_sync::broadcast;
//!
//! futures::executor::block_on(async {
//!     let (tx, mut a) = broadcast::channel(4);
//!     let mut b = tx.subscribe();
//!     tx.send(1).unwrap();
//!     assert_eq!(a.recv().await, Ok(1));
//!     assert_eq!(b.recv().await, Ok(1));
//! });
//! ```

pub mod error;

// `weft-bench` (outside this crate's reach for this change) still names
// `broadcast::RecvError`; `error::RecvError` is the one documented path.
#[doc(hidden)]
pub use error::RecvError;

use error::{SendError, TryRecvError};

use std::fmt;

use crate::notify::BigNotify;
use weft_base::loom::{Arc, Mutex, RwLock};

struct Shared<T> {
    slots: Box<[RwLock<Slot<T>>]>,
    tail: Mutex<Tail>,
    capacity: u64,
    notify: BigNotify,
}

struct Slot<T> {
    /// The position of the message held (`u64::MAX`: none yet).
    pos: u64,
    value: Option<T>,
}

struct Tail {
    /// The position the next send writes.
    pos: u64,
    senders: usize,
    receivers: usize,
}

/// Creates a broadcast channel keeping the last `capacity` messages.
///
/// # Panics
///
/// If `capacity` is zero.
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel requires capacity > 0");
    let shared = Arc::new(Shared {
        slots: (0..capacity)
            .map(|_| {
                RwLock::new(Slot {
                    pos: u64::MAX,
                    value: None,
                })
            })
            .collect(),
        tail: Mutex::new(Tail {
            pos: 0,
            senders: 1,
            receivers: 1,
        }),
        capacity: capacity as u64,
        notify: BigNotify::new(),
    });
    let shard = shared.notify.pick_shard();
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            shard,
        },
    )
}

/// Sends to every receiver; clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every message sent after it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    next: u64,
    /// Which notify shard this receiver waits on.
    shard: usize,
}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver; returns how many there
    /// are. Fails, handing the value back, if there are none. Never waits:
    /// the oldest message is overwritten when the ring is full.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut tail = self.shared.tail.lock();
        if tail.receivers == 0 {
            return Err(SendError(value));
        }
        let pos = tail.pos;
        let old = {
            let mut slot = self.shared.slots[(pos % self.shared.capacity) as usize].write();
            slot.pos = pos;
            slot.value.replace(value)
        };
        tail.pos += 1;
        let receivers = tail.receivers;
        drop(tail);
        // The overwritten message drops outside the locks.
        drop(old);
        self.shared.notify.notify_waiters();
        Ok(receivers)
    }

    /// A new receiver that sees messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        subscribe(&self.shared)
    }

    /// How many receivers exist.
    pub fn receiver_count(&self) -> usize {
        self.shared.tail.lock().receivers
    }

    /// How many messages the ring holds now (at most the capacity).
    pub fn len(&self) -> usize {
        let tail = self.shared.tail.lock();
        tail.pos.min(self.shared.capacity) as usize
    }

    /// Whether nothing was ever sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `self` and `other` send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

fn subscribe<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut tail = shared.tail.lock();
    tail.receivers += 1;
    let next = tail.pos;
    drop(tail);
    Receiver {
        shared: shared.clone(),
        next,
        shard: shared.notify.pick_shard(),
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.tail.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut tail = self.shared.tail.lock();
        tail.senders -= 1;
        let last = tail.senders == 0;
        drop(tail);
        if last {
            self.shared.notify.notify_waiters();
        }
    }
}

impl<T: Clone> Receiver<T> {
    /// The next message if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        try_recv_at(&self.shared, &mut self.next)
    }

    /// Waits for the next message. `Err(Lagged(n))` if `n` messages were
    /// overwritten before this receiver saw them; `Err(Closed)` once every
    /// sender is gone and everything was received. Cancel-safe.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        let (shared, next, shard) = (&*self.shared, &mut self.next, self.shard);
        loop {
            match try_recv_at(shared, next) {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty) => {}
            }
            // Created before the re-check: a send's `notify_waiters` after
            // this line completes it (the generation moved).
            let notified = shared.notify.notified(shard);
            match try_recv_at(shared, next) {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty) => notified.await,
            }
        }
    }
}

/// One receive attempt for a receiver positioned at `next`.
fn try_recv_at<T: Clone>(shared: &Shared<T>, next: &mut u64) -> Result<T, TryRecvError> {
    let cap = shared.capacity;
    loop {
        {
            // The common case: the slot holds our message; no tail lock.
            let slot = shared.slots[(*next % cap) as usize].read();
            if slot.pos == *next {
                let value = slot.value.clone().expect("a written slot holds a value");
                *next += 1;
                return Ok(value);
            }
        }
        let tail = shared.tail.lock();
        if *next >= tail.pos {
            return Err(if tail.senders == 0 {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        let oldest = tail.pos.saturating_sub(cap);
        if *next < oldest {
            let missed = oldest - *next;
            *next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        // Sent between our slot read and the tail lock: read it again.
    }
}

impl<T> Receiver<T> {
    /// A new receiver starting at the current end of the channel (what
    /// `subscribe` on a sender would give).
    pub fn resubscribe(&self) -> Receiver<T> {
        subscribe(&self.shared)
    }

    /// How many messages this receiver has not seen yet (including ones
    /// already overwritten).
    pub fn len(&self) -> usize {
        (self.shared.tail.lock().pos - self.next) as usize
    }

    /// Whether this receiver is up to date.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.tail.lock().senders == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.tail.lock().receivers -= 1;
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}
