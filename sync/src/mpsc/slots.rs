//! The bounded channel's slots: a [`Semaphore`] of free slots, and the
//! slots the receiver has freed but not yet handed back to it.
//!
//! Every send takes a slot from the semaphore's word. Were the receiver to
//! give each slot straight back, it would write that word too, once per
//! message, and the word's cache line would travel between the receiver and
//! the senders on every message. So the receiver counts the slots it frees
//! in a word of its own, alone on its cache line (`freed`), and they go back
//! in bulk: a sender that finds the semaphore short takes them back first
//! ([`Slots::reclaim`]).
//!
//! Invariants:
//!
//! - The free slots are the semaphore's permits plus the count in `freed`
//!   ([`Slots::available`]). Only the receiver adds to the count; whoever
//!   takes from it hands what it took to the semaphore.
//! - A sender queued in the semaphore never waits on slots parked in
//!   `freed`. Once queued it sets `WANT` in `freed`, taking the count it
//!   finds there ([`Slots::ask`]); a receiver that frees a slot and finds
//!   `WANT` hands the whole count back at once ([`Slots::free`]). Both are
//!   read-modify-writes of the one word, so every freed slot is either taken
//!   by the queued sender's swap or freed under `WANT`.
//! - The receiver clears `WANT` as it hands back, and sets it again if the
//!   semaphore still has a queue: a sender queued behind the one whose
//!   `WANT` it consumed is not left waiting. (A sender that asked after the
//!   clear set `WANT` itself; one that asked before it queued before it, so
//!   the receiver's look at the queue, ordered after the clear, sees it.)

use std::ops::Deref;

use crate::semaphore::Semaphore;
use weft_base::loom::{AtomicUsize, Ordering};

/// In `freed`: a queued sender wants each freed slot handed back at once.
const WANT: usize = 1;
/// In `freed`: one freed slot.
const ONE: usize = 2;

/// A bounded channel's capacity (see the module doc).
#[repr(C)]
pub(super) struct Slots {
    /// `count * ONE | WANT`, written by the receiver on every message.
    freed: Alone,
    sem: Semaphore,
}

/// A word with 56 bytes either side, so whatever 64-byte line holds it
/// holds nothing else, without raising the channel's alignment: an
/// over-aligned type (`CachePadded`, 128) made every channel an aligned
/// allocation, which glibc fragments under a churn of channels (the chat
/// soak's resident memory rose with its heap flat; docs/benchmarks.md).
#[repr(C)]
struct Alone {
    _before: [usize; 7],
    word: AtomicUsize,
    _after: [usize; 7],
}

impl Deref for Alone {
    type Target = AtomicUsize;

    fn deref(&self) -> &AtomicUsize {
        &self.word
    }
}

impl Slots {
    #[track_caller]
    pub(super) fn new(bound: usize) -> Slots {
        Slots {
            sem: Semaphore::new(bound),
            freed: Alone {
                _before: [0; 7],
                word: AtomicUsize::new(0),
                _after: [0; 7],
            },
        }
    }

    /// The semaphore that holds the slots senders can take now.
    pub(super) fn sem(&self) -> &Semaphore {
        &self.sem
    }

    /// How many slots are free: the semaphore's and the receiver's.
    pub(super) fn available(&self) -> usize {
        // The semaphore first: slots only move from `freed` to it, so the
        // sum can come out short while one moves, never long.
        let sem = self.sem.available_permits();
        sem + self.freed.load(Ordering::Acquire) / ONE
    }

    /// The receiver took `n` messages: their slots are free. Handed back at
    /// once only when a sender is queued for them.
    #[inline]
    pub(super) fn free(&self, n: usize) {
        if self.freed.fetch_add(n * ONE, Ordering::AcqRel) & WANT != 0 {
            self.hand_back();
        }
    }

    /// The receiver's side of `WANT`: everything freed goes to the queue.
    #[cold]
    fn hand_back(&self) {
        let freed = self.freed.swap(0, Ordering::AcqRel) / ONE;
        self.sem.release(freed);
        if self.sem.has_waiters() {
            self.freed.fetch_or(WANT, Ordering::AcqRel);
        }
    }

    /// Takes every slot the receiver freed, leaving `WANT` as it is; the
    /// caller hands them to the semaphore. Looks before it writes: with a
    /// queue, the count stays at zero, and the word is the receiver's.
    #[must_use = "the slots taken go to the semaphore"]
    pub(super) fn reclaim(&self) -> usize {
        if self.freed.load(Ordering::Relaxed) < ONE {
            return 0;
        }
        self.freed.fetch_and(WANT, Ordering::AcqRel) / ONE
    }

    /// A sender now queued in the semaphore: sets `WANT` and takes the
    /// slots already freed; the caller hands them to the semaphore (its
    /// queue, in order). Always a write, even over a `WANT` already set: a
    /// receiver that clears it after this sender's write is then ordered
    /// after this sender's queueing and sees it in the queue. (Skipping the
    /// write loses that order when the receiver's hand-back finds nothing
    /// to release: a loom model found the lost wakeup.)
    #[must_use = "the slots taken go to the semaphore"]
    pub(super) fn ask(&self) -> usize {
        self.freed.swap(WANT, Ordering::AcqRel) / ONE
    }
}
