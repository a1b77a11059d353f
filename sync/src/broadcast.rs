//! A multi-producer, multi-consumer broadcast channel: every receiver sees
//! every message, from a bounded ring.
//!
//! Each slot of the ring has its own lock around the message it holds,
//! and records the message's position in an atomic beside it; the write
//! position `tail` and the counts sit behind one more mutex, and `written`
//! mirrors the write position and whether any sender is left, for readers.
//! Invariants: a send writes slot `tail % capacity` (holding the tail lock,
//! then the slot's lock: position, count, message) and then advances
//! `tail` and stores `written`; so a slot holding position `pos` holds
//! message `pos`, and a `written` that says a message was sent makes its
//! slot's position visible (Release, Acquire). A receiver takes no lock to
//! learn there is nothing for it: it reads its slot's position, then
//! `written`, to tell "not sent yet" from "overwritten" (a receiver more
//! than `capacity` behind has lost messages, gets `Lagged(n)` once and
//! resumes at the oldest one still held). It locks a slot only to copy a
//! message the position says is there, and checks the position again
//! under the lock. The slot lock is exclusive, not a reader-writer lock, as
//! tokio's is: a receiver clones the message with the slot to itself, so
//! the channel is `Send` and `Sync` when `T: Send`, with no `T: Sync`
//! asked. Receivers wait on a sharded notify: create the `Notified` (which
//! records the notify generation), re-check, then sleep; a send (or the
//! last sender's drop) stores `written` before its `notify_waiters`, so a
//! message is either seen by the re-check or completes the `Notified`.
//!
//! Each slot also counts the receivers that have still to see its message
//! (`rem`, set to the receiver count by the send, under the tail lock where
//! receivers come and go). The count shares a word with the slot's lock
//! bit and changes only under the lock, so the unlock is a plain store that
//! also writes the count: a receive costs one read-modify-write (the lock)
//! where a mutex and a separate counter cost three, each on a line the
//! other receivers and the sender write too. The lock spins, then yields
//! the core; it is held for a clone or a replace. A receiver counts down
//! before it clones (so even a panicking clone has moved it past the
//! message), and a receiver that goes away counts down every message it
//! had not seen; the one that reaches zero drops the message (a panicking
//! clone leaves it to be dropped when overwritten). So the ring holds only
//! messages someone still wants, and `Sender::len` counts those: the fully
//! seen ones are always the oldest, since every receiver reads in order.
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

use error::{RecvError, SendError, TryRecvError};

use std::fmt;

use crate::budget::cooperative;
use crate::notify::{BigNotify, Notify};
use weft_base::loom::{thread, Arc, AtomicU64, AtomicUsize, Mutex, Ordering, UnsafeCell};
use weft_base::wait::{SyncKind, WaitOn};

struct Shared<T> {
    slots: Box<[Slot<T>]>,
    tail: Mutex<Tail>,
    /// `tail.pos << 1`, plus [`CLOSED`] once no sender is left: stored
    /// under the tail lock whenever either changes, read without it.
    written: AtomicU64,
    /// A power of two, so a position's slot is a mask, not a division.
    capacity: u64,
    notify: BigNotify,
    /// Fired (notify_waiters) when the last receiver goes: `Sender::closed`.
    receivers_gone: Notify,
    /// How many `WeakSender`s exist (for `weak_count` only).
    weak: AtomicUsize,
}

/// The bit of `Shared::written` that says every sender is gone.
const CLOSED: u64 = 1;

/// One to a cache line (for a `T` of up to about 40 bytes): every
/// receiver writes the slot it reads (lock, count), so slots sharing a line
/// made the sender's next write and the receivers' reads of the one before
/// it fight over that line. The array is the channel's one over-aligned
/// allocation, made once per channel.
#[repr(align(64))]
struct Slot<T> {
    /// The position of the message held (`u64::MAX`: none yet). Stored
    /// under the slot's lock, read with or without it.
    pos: AtomicU64,
    /// `rem << 1 | LOCKED`: how many receivers have yet to see the message
    /// (see the module doc), and the lock over `value`. The count changes
    /// only under the lock.
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
}

// SAFETY: `value` is reached only through a `SlotGuard`, which holds the
// slot's lock: one thread at a time, as with a mutex, so `T: Send` is
// enough for the slot to be shared.
unsafe impl<T: Send> Sync for Slot<T> {}

/// The lock bit of `Slot::state`; the count is the rest of the word.
const LOCKED: usize = 1;

/// A slot's lock, held: the message and the count of receivers yet to see
/// it. Dropping it unlocks and stores the count, in one store.
struct SlotGuard<'a, T> {
    slot: &'a Slot<T>,
    rem: usize,
}

impl<T> Slot<T> {
    fn lock(&self) -> SlotGuard<'_, T> {
        let mut spins = 0u32;
        loop {
            let state = self.state.load(Ordering::Relaxed);
            if state & LOCKED == 0
                && self
                    .state
                    .compare_exchange_weak(
                        state,
                        state | LOCKED,
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                return SlotGuard {
                    slot: self,
                    rem: state >> 1,
                };
            }
            // Held for a clone or a replace: a few short spins, then let
            // the holder have the core (it may be waiting for this one).
            if cfg!(not(loom)) && spins < 6 {
                for _ in 0..1 << spins {
                    std::hint::spin_loop();
                }
                spins += 1;
            } else {
                thread::yield_now();
            }
        }
    }
}

impl<T> SlotGuard<'_, T> {
    /// The message, once every receiver has seen it: the caller drops it
    /// after unlocking (a message's drop may run any code).
    fn take_if_all_seen(&mut self) -> Option<T> {
        if self.rem == 0 {
            self.value().take()
        } else {
            None
        }
    }

    fn value(&mut self) -> &mut Option<T> {
        // SAFETY: the guard holds the slot's lock, so no other thread
        // reaches `value` until it drops, and the `&mut self` borrow keeps
        // this reference from outliving it or aliasing another.
        self.slot.value.with_mut(|value| unsafe { &mut *value })
    }
}

impl<T> Drop for SlotGuard<'_, T> {
    fn drop(&mut self) {
        // The word is ours while locked: nobody else writes it.
        self.slot.state.store(self.rem << 1, Ordering::Release);
    }
}

struct Tail {
    /// The position the next send writes.
    pos: u64,
    senders: usize,
    receivers: usize,
}

/// Creates a broadcast channel keeping the last `capacity` messages
/// (rounded up to a power of two, as tokio's does).
///
/// # Panics
///
/// If `capacity` is zero or more than `usize::MAX / 2`.
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(capacity);
    let rx = tx.subscribe();
    (tx, rx)
}

/// The shared state of a channel with one sender and `receivers` receivers.
#[track_caller]
fn new_shared<T>(capacity: usize, receivers: usize) -> Arc<Shared<T>> {
    assert!(capacity > 0, "broadcast channel requires capacity > 0");
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeds usize::MAX / 2"
    );
    let capacity = capacity.next_power_of_two();
    Arc::new(Shared {
        slots: (0..capacity)
            .map(|_| Slot {
                pos: AtomicU64::new(u64::MAX),
                state: AtomicUsize::new(0),
                value: UnsafeCell::new(None),
            })
            .collect(),
        tail: Mutex::new(Tail {
            pos: 0,
            senders: 1,
            receivers,
        }),
        written: AtomicU64::new(0),
        capacity: capacity as u64,
        notify: BigNotify::new(),
        receivers_gone: Notify::new(),
        weak: AtomicUsize::new(0),
    })
}

/// Sends to every receiver; clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open: once every [`Sender`] is
/// gone, [`upgrade`](WeakSender::upgrade) fails and receivers see the
/// channel closed. Made by [`Sender::downgrade`].
pub struct WeakSender<T> {
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
    /// A sender for a new channel keeping the last `capacity` messages (see
    /// [`channel`]), with no receiver yet: [`subscribe`](Sender::subscribe)
    /// makes them.
    ///
    /// # Panics
    ///
    /// If `capacity` is zero or more than `usize::MAX / 2`.
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        Sender {
            shared: new_shared(capacity, 0),
        }
    }

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
            let slot = self.shared.slot(pos);
            let mut held = slot.lock();
            slot.pos.store(pos, Ordering::Relaxed);
            held.rem = tail.receivers;
            held.value().replace(value)
        };
        tail.pos += 1;
        // A sender exists (this one): not closed.
        self.shared.written.store(tail.pos << 1, Ordering::Release);
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
        // Under the tail lock no send moves a slot. The fully seen messages
        // are the oldest ones (module doc): find where they end.
        let (mut low, mut high) = (tail.pos.saturating_sub(self.shared.capacity), tail.pos);
        while low < high {
            let mid = low + (high - low) / 2;
            if self.shared.slot(mid).lock().rem == 0 {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        (tail.pos - low) as usize
    }

    /// Whether no message is waiting for a receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `self` and `other` send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Completes when there is no receiver (at once if there is none now).
    pub async fn closed(&self) {
        cooperative(self.closed_inner()).await
    }

    async fn closed_inner(&self) {
        loop {
            // Created before the check: a `notify_waiters` after it counts.
            let notified = self.shared.receivers_gone.notified();
            if self.shared.tail.lock().receivers == 0 {
                return;
            }
            notified.await;
        }
    }

    /// A [`WeakSender`] for this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.weak.fetch_add(1, Ordering::Relaxed);
        WeakSender {
            shared: self.shared.clone(),
        }
    }

    /// How many (strong) senders exist.
    pub fn strong_count(&self) -> usize {
        self.shared.tail.lock().senders
    }

    /// How many [`WeakSender`]s exist.
    pub fn weak_count(&self) -> usize {
        self.shared.weak.load(Ordering::Relaxed)
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] again, unless every sender is already gone (the channel
    /// is then closed for good).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        // Under the tail lock, where the last sender's drop sets zero.
        let mut tail = self.shared.tail.lock();
        if tail.senders == 0 {
            return None;
        }
        tail.senders += 1;
        drop(tail);
        Some(Sender {
            shared: self.shared.clone(),
        })
    }

    /// How many (strong) senders exist.
    pub fn strong_count(&self) -> usize {
        self.shared.tail.lock().senders
    }

    /// How many weak senders exist.
    pub fn weak_count(&self) -> usize {
        self.shared.weak.load(Ordering::Relaxed)
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.weak.fetch_add(1, Ordering::Relaxed);
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.weak.fetch_sub(1, Ordering::Relaxed);
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
        if last {
            // For good: a weak sender upgrades only while one is left.
            self.shared
                .written
                .store(tail.pos << 1 | CLOSED, Ordering::Release);
        }
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
        cooperative(self.recv_inner()).await
    }

    async fn recv_inner(&mut self) -> Result<T, RecvError> {
        let (shared, next, shard) = (&*self.shared, &mut self.next, self.shard);
        loop {
            // Each attempt's result is a temporary of its own statement, so
            // no `T` lives across the await below: the future is `Sync`
            // without `T: Sync` (tokio's bounds).
            if let Some(done) = recv_step(shared, next) {
                return done;
            }
            // Created before the re-check: a send's `notify_waiters` after
            // this line completes it (the generation moved).
            let wait = WaitOn::sync(SyncKind::BroadcastRecv, shared);
            let notified = shared.notify.notified(shard, wait);
            if let Some(done) = recv_step(shared, next) {
                return done;
            }
            notified.await;
        }
    }
}

/// One receive attempt for `recv`: the outcome, or `None` for "wait".
#[inline]
fn recv_step<T: Clone>(shared: &Shared<T>, next: &mut u64) -> Option<Result<T, RecvError>> {
    match try_recv_at(shared, next) {
        Ok(v) => Some(Ok(v)),
        Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
        Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
        Err(TryRecvError::Empty) => None,
    }
}

impl<T: Clone> Receiver<T> {
    /// [`recv`](Receiver::recv) from synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        crate::blocking::block_on(self.recv())
    }
}

/// One receive attempt for a receiver positioned at `next`.
fn try_recv_at<T: Clone>(shared: &Shared<T>, next: &mut u64) -> Result<T, TryRecvError> {
    let cap = shared.capacity;
    loop {
        let held = match shared.take_copy(next) {
            Ok(value) => return Ok(value),
            Err(held) => held,
        };
        // No lock: what a send stores last (module doc).
        let written = shared.written.load(Ordering::Acquire);
        let mut tail = written >> 1;
        if held != u64::MAX && held > *next {
            // Overwritten: the slot shows a later send, which `written`
            // may not show yet.
            tail = tail.max(held + 1);
        }
        if *next >= tail {
            return Err(if written & CLOSED != 0 {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        let oldest = tail.saturating_sub(cap);
        if *next < oldest {
            let missed = oldest - *next;
            *next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        // Sent between our slot read and `written`'s: read it again (its
        // position is visible now, so the next look ends the loop).
    }
}

impl<T> Shared<T> {
    fn slot(&self, pos: u64) -> &Slot<T> {
        &self.slots[(pos & (self.capacity - 1)) as usize]
    }

    /// A copy of message `*next` if its slot holds it; moves `*next` past
    /// it and counts this receiver as having seen it. Else the position
    /// the slot holds.
    fn take_copy(&self, next: &mut u64) -> Result<T, u64>
    where
        T: Clone,
    {
        let pos = *next;
        let slot = self.slot(pos);
        // Not there (yet, or any more): no lock taken, nothing written.
        // Relaxed is enough: a hit is checked again under the lock, and a
        // miss is settled by `written`, whose Acquire makes a later look
        // see the position it announces.
        let seen = slot.pos.load(Ordering::Relaxed);
        if seen != pos {
            return Err(seen);
        }
        let mut held = slot.lock();
        // A send may have overwritten it since the look above.
        let seen = slot.pos.load(Ordering::Relaxed);
        if seen != pos {
            return Err(seen);
        }
        *next += 1;
        // Counted as seen before the clone: if `clone` panics, this
        // receiver has still moved past the message.
        held.rem -= 1;
        let value = held.value().clone().expect("a written slot holds a value");
        let last = held.take_if_all_seen();
        drop(held);
        // Outside the lock: a message's drop may run any code.
        drop(last);
        Ok(value)
    }

    /// A receiver leaves without seeing messages `from..until`: counts them
    /// as seen.
    fn forget_unseen(&self, from: u64, until: u64) {
        for pos in from.max(until.saturating_sub(self.capacity))..until {
            let slot = self.slot(pos);
            let mut held = slot.lock();
            if slot.pos.load(Ordering::Relaxed) != pos {
                // Overwritten since: nothing left to count.
                continue;
            }
            held.rem -= 1;
            let last = held.take_if_all_seen();
            drop(held);
            drop(last);
        }
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
        ((self.shared.written.load(Ordering::Acquire) >> 1) - self.next) as usize
    }

    /// Whether this receiver is up to date.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.written.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Whether `self` and `other` receive from the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// How many (strong) senders exist.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.tail.lock().senders
    }

    /// How many weak senders exist.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.weak.load(Ordering::Relaxed)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut tail = self.shared.tail.lock();
        tail.receivers -= 1;
        // Later sends do not count us; earlier ones did.
        let until = tail.pos;
        let last = tail.receivers == 0;
        drop(tail);
        self.shared.forget_unseen(self.next, until);
        if last {
            self.shared.receivers_gone.notify_waiters();
        }
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
