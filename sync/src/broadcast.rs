//! A multi-producer, multi-consumer broadcast channel: every receiver sees
//! every message, from a bounded ring.
//!
//! The ring (slots, the write position `tail`, the counts) sits behind one
//! mutex. Invariants: slot `pos % capacity` holds message `pos` for the last
//! `capacity` positions below `tail`; a receiver's `next` position is at
//! most `tail`. A receiver that fell more than `capacity` behind has lost
//! the overwritten messages: it gets `Lagged(n)` once and resumes at the
//! oldest message still held. Receivers wait on a [`Notify`] with the
//! enable-then-check pattern; a send (or the last sender's drop) happens
//! before its `notify_waiters`, so no message is missed.
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

use std::fmt;
use std::pin::pin;

use crate::loom::{Arc, Mutex};
use crate::notify::Notify;

struct Shared<T> {
    ring: Mutex<Ring<T>>,
    capacity: u64,
    notify: Notify,
}

struct Ring<T> {
    slots: Box<[Option<T>]>,
    tail: u64,
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
        ring: Mutex::new(Ring {
            slots: (0..capacity).map(|_| None).collect(),
            tail: 0,
            senders: 1,
            receivers: 1,
        }),
        capacity: capacity as u64,
        notify: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, next: 0 },
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
}

/// No receiver exists; the value is handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: no receivers")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Receiver::recv`] returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and every message was received.
    Closed,
    /// The receiver fell behind: this many messages were overwritten
    /// before it could see them. The next receive resumes at the oldest one
    /// still held.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("channel closed"),
            RecvError::Lagged(n) => write!(f, "receiver lagged by {n} messages"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing new now.
    Empty,
    /// Every sender is gone and every message was received.
    Closed,
    /// The receiver fell behind by this many messages (see
    /// [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Closed => f.write_str("channel closed"),
            TryRecvError::Lagged(n) => write!(f, "receiver lagged by {n} messages"),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl<T> Sender<T> {
    /// Sends `value` to every current receiver; returns how many there
    /// are. Fails, handing the value back, if there are none. Never waits:
    /// the oldest message is overwritten when the ring is full.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut ring = self.shared.ring.lock();
        if ring.receivers == 0 {
            return Err(SendError(value));
        }
        let idx = (ring.tail % self.shared.capacity) as usize;
        // The overwritten message drops after the lock is released.
        let old = ring.slots[idx].replace(value);
        ring.tail += 1;
        let receivers = ring.receivers;
        drop(ring);
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
        self.shared.ring.lock().receivers
    }

    /// How many messages the ring holds now (at most the capacity).
    pub fn len(&self) -> usize {
        let ring = self.shared.ring.lock();
        ring.tail.min(self.shared.capacity) as usize
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
    let mut ring = shared.ring.lock();
    ring.receivers += 1;
    let next = ring.tail;
    drop(ring);
    Receiver {
        shared: shared.clone(),
        next,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.ring.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut ring = self.shared.ring.lock();
        ring.senders -= 1;
        let last = ring.senders == 0;
        drop(ring);
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
        let (shared, next) = (&*self.shared, &mut self.next);
        loop {
            match try_recv_at(shared, next) {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty) => {}
            }
            let mut notified = pin!(shared.notify.notified());
            // Registered before the re-check: a send after it wakes us.
            notified.as_mut().enable();
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
    {
        let ring = shared.ring.lock();
        let cap = shared.capacity;
        if *next == ring.tail {
            return Err(if ring.senders == 0 {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        let oldest = ring.tail.saturating_sub(cap);
        if *next < oldest {
            let missed = oldest - *next;
            *next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        let value = ring.slots[(*next % cap) as usize]
            .clone()
            .expect("slots below tail are written");
        *next += 1;
        Ok(value)
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
        (self.shared.ring.lock().tail - self.next) as usize
    }

    /// Whether this receiver is up to date.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.ring.lock().senders == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.ring.lock().receivers -= 1;
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
