//! Lock-free run queues on the shim's atomics, for the loom models that
//! check the scheduler's own fences: the same operations as crossbeam-deque's
//! `Worker` (FIFO), `Stealer` and `Injector`, with orderings no stronger
//! than crossbeam's (crossbeam-deque 0.8, `deque.rs`; each operation below
//! names what it mirrors).
//!
//! Why: a lock's acquire/release edges order a push before any later look
//! at the queue, whatever the scheduler does around it, so with the locked
//! queues ([`super::locked`]) loom passed every model with the SeqCst fence
//! after a remote push removed, or the idle-state read relaxed. Here a push
//! publishes its slot with a release store and a look at the queue is an
//! acquire load, so what orders "push, then read the idle state" against
//! "become idle, then look at the queues" is the scheduler's own fences,
//! and loom checks them. Every atomic here is one more thing loom
//! interleaves, so only the models that need these queues use them
//! (`Builder::loom_lock_free_queues`).
//!
//! Shapes, kept small for the models:
//! - [`Local`] / [`Steal`]: a Chase-Lev ring of [`CAP`] slots. The owner
//!   pushes at `back` and pops at `front` (FIFO, as `Worker::new_fifo`);
//!   thieves take from `front` with a compare-and-swap.
//! - [`Inject`]: a ring of [`CAP`] slots with a sequence word each; pushers
//!   claim `tail`, stealers claim `head`, and a claimed slot is read once its
//!   sequence says written.
//!
//! Invariants: indices only grow (wrapping); a slot holds a task's entry
//! (one reference, `Notified::into_ptr`) from the push that fills it until
//! the claim that takes it; a queue never holds more than `CAP` entries (a
//! model that queues more fails with a message saying so rather than losing
//! a task). Slots are atomics, so a thief's read of a slot it then fails to
//! claim is a stale read, not a data race. Dropping a queue drops the
//! entries left in it.

use std::ptr::{self, NonNull};

use crate::cell::{Header, Notified};
use weft_base::loom::{fence, thread, Arc, AtomicPtr, AtomicUsize, Ordering::*};

/// Slots per queue: more than any model queues at once (loom tracks every
/// atomic, so the rings are small).
pub(crate) const CAP: usize = 16;

/// Tasks moved by one steal at most, as crossbeam's batch limit.
const MAX_BATCH: usize = 32;

fn slots() -> Box<[AtomicPtr<Header>]> {
    (0..CAP).map(|_| AtomicPtr::new(ptr::null_mut())).collect()
}

fn to_ptr(task: Notified) -> *mut Header {
    task.into_ptr().as_ptr()
}

/// Takes back the entry a slot held.
///
/// # Safety
/// `ptr` was stored by a push from `to_ptr`, and the caller's claim on the
/// slot makes it the only one to take it back.
unsafe fn from_ptr(ptr: *mut Header) -> Notified {
    let ptr = NonNull::new(ptr).expect("a claimed slot holds a task");
    // SAFETY: forwarded from the caller.
    unsafe { Notified::from_ptr(ptr) }
}

/// Signed distance from `front` to `back`: the length, or less than zero
/// while an owner's pop has moved `front` past `back`.
fn len(front: usize, back: usize) -> isize {
    back.wrapping_sub(front) as isize
}

struct Ring {
    front: AtomicUsize,
    back: AtomicUsize,
    slots: Box<[AtomicPtr<Header>]>,
}

impl Ring {
    fn slot(&self, index: usize) -> &AtomicPtr<Header> {
        &self.slots[index % CAP]
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let mut index = self.front.load(Relaxed);
        let back = self.back.load(Relaxed);
        while len(index, back) > 0 {
            // SAFETY: the ring is gone with its owner and every thief, so
            // the entries between `front` and `back` are unclaimed and ours.
            drop(unsafe { from_ptr(self.slot(index).load(Relaxed)) });
            index = index.wrapping_add(1);
        }
    }
}

/// The owner's end of a worker queue.
pub(crate) struct Local(Arc<Ring>);

/// Another worker's way into a queue.
pub(crate) struct Steal(Arc<Ring>);

pub(crate) fn local() -> (Local, Steal) {
    let ring = Arc::new(Ring {
        front: AtomicUsize::new(0),
        back: AtomicUsize::new(0),
        slots: slots(),
    });
    (Local(ring.clone()), Steal(ring))
}

impl Local {
    /// `Worker::push`: write the slot, a release fence, then a relaxed
    /// store of `back`.
    pub(crate) fn push(&self, task: Notified) {
        let ring = &*self.0;
        let back = ring.back.load(Relaxed);
        let front = ring.front.load(Acquire);
        assert!(
            len(front, back) < CAP as isize,
            "a model run queued more than {CAP} tasks on one worker"
        );
        ring.slot(back).store(to_ptr(task), Relaxed);
        fence(Release);
        ring.back.store(back.wrapping_add(1), Relaxed);
    }

    /// `Worker::pop` of a FIFO worker: claim `front` with a `SeqCst`
    /// fetch-add, and give it back if a thief emptied the queue first.
    pub(crate) fn pop(&self) -> Option<Notified> {
        let ring = &*self.0;
        let back = ring.back.load(Relaxed);
        let front = ring.front.load(Relaxed);
        if len(front, back) <= 0 {
            return None;
        }
        let front = ring.front.fetch_add(1, SeqCst);
        if len(front.wrapping_add(1), back) < 0 {
            ring.front.store(front, Relaxed);
            return None;
        }
        // SAFETY: the fetch-add claimed `front` for us alone.
        Some(unsafe { from_ptr(ring.slot(front).load(Relaxed)) })
    }

    /// `Worker::is_empty`: `back` relaxed, `front` `SeqCst`.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Worker::len`.
    pub(crate) fn len(&self) -> usize {
        let back = self.0.back.load(Relaxed);
        let front = self.0.front.load(SeqCst);
        len(front, back).max(0) as usize
    }

    /// Appends entries taken from another queue (the end of a batch steal:
    /// crossbeam writes them into the buffer, then publishes `back` with a
    /// release fence and a relaxed store).
    fn push_batch(&self, tasks: impl ExactSizeIterator<Item = *mut Header>) {
        let ring = &*self.0;
        let back = ring.back.load(Relaxed);
        let front = ring.front.load(Acquire);
        assert!(
            len(front, back) + (tasks.len() as isize) <= CAP as isize,
            "a model run queued more than {CAP} tasks on one worker"
        );
        let mut end = back;
        for task in tasks {
            ring.slot(end).store(task, Relaxed);
            end = end.wrapping_add(1);
        }
        fence(Release);
        ring.back.store(end, Relaxed);
    }
}

impl Steal {
    /// `Stealer::steal_batch_and_pop` into a FIFO worker: read `front`
    /// (acquire), a `SeqCst` fence (crossbeam's epoch pin), `back`
    /// (acquire), read half the entries, claim them with one `SeqCst`
    /// compare-and-swap of `front`, and retry if it lost.
    pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
        let ring = &*self.0;
        loop {
            let front = ring.front.load(Acquire);
            fence(SeqCst);
            let back = ring.back.load(Acquire);
            let available = len(front, back);
            if available <= 0 {
                return None;
            }
            let batch = (available as usize).div_ceil(2).min(MAX_BATCH);
            let taken: Vec<*mut Header> = (0..batch)
                .map(|i| ring.slot(front.wrapping_add(i)).load(Relaxed))
                .collect();
            if ring
                .front
                .compare_exchange(front, front.wrapping_add(batch), SeqCst, Relaxed)
                .is_err()
            {
                thread::yield_now();
                continue;
            }
            dest.push_batch(taken[1..].iter().copied());
            // SAFETY: the compare-and-swap claimed the batch for us alone.
            return Some(unsafe { from_ptr(taken[0]) });
        }
    }

    /// `Stealer::is_empty`.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Stealer::len`: `front` (acquire), a `SeqCst` fence, `back`
    /// (acquire).
    pub(crate) fn len(&self) -> usize {
        let front = self.0.front.load(Acquire);
        fence(SeqCst);
        let back = self.0.back.load(Acquire);
        len(front, back).max(0) as usize
    }
}

/// One injector slot: the entry, and a sequence word that says whose turn
/// it is (`index`: free for the push of `index`; `index + 1`: written by
/// it; `index + CAP`: read, free for the push one lap later).
struct Slot {
    task: AtomicPtr<Header>,
    seq: AtomicUsize,
}

/// The queue for tasks scheduled from outside the workers.
pub(crate) struct Inject {
    head: AtomicUsize,
    tail: AtomicUsize,
    slots: Box<[Slot]>,
}

impl Inject {
    pub(crate) fn new() -> Inject {
        Inject {
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            slots: (0..CAP)
                .map(|i| Slot {
                    task: AtomicPtr::new(ptr::null_mut()),
                    seq: AtomicUsize::new(i),
                })
                .collect(),
        }
    }

    fn slot(&self, index: usize) -> &Slot {
        &self.slots[index % CAP]
    }

    /// `Injector::push`: claim `tail` with a `SeqCst` read-modify-write,
    /// write the slot, then mark it written with a release store.
    pub(crate) fn push(&self, task: Notified) {
        let tail = self.tail.fetch_add(1, SeqCst);
        let slot = self.slot(tail);
        assert_eq!(
            slot.seq.load(Acquire),
            tail,
            "a model run queued more than {CAP} tasks in the injector"
        );
        slot.task.store(to_ptr(task), Relaxed);
        slot.seq.store(tail.wrapping_add(1), Release);
    }

    /// `Injector::steal`.
    pub(crate) fn pop(&self) -> Option<Notified> {
        let (head, _) = self.claim(1)?;
        // SAFETY: `claim` made `head` ours alone.
        Some(unsafe { from_ptr(self.take(head)) })
    }

    /// `Injector::steal_batch_and_pop`: claims up to half the entries at
    /// once, queues all but the first in `dest`, returns the first.
    pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
        let (head, batch) = self.claim(MAX_BATCH)?;
        let first = self.take(head);
        let rest: Vec<*mut Header> = (1..batch)
            .map(|i| self.take(head.wrapping_add(i)))
            .collect();
        dest.push_batch(rest.into_iter());
        // SAFETY: `claim` made `head` ours alone.
        Some(unsafe { from_ptr(first) })
    }

    /// Claims up to `limit` entries (at most half of them, at least one) as
    /// crossbeam's steal does: `head` (acquire), a `SeqCst` fence, `tail`
    /// (relaxed), then a `SeqCst` compare-and-swap of `head`.
    fn claim(&self, limit: usize) -> Option<(usize, usize)> {
        loop {
            let head = self.head.load(Acquire);
            fence(SeqCst);
            let tail = self.tail.load(Relaxed);
            let available = len(head, tail);
            if available <= 0 {
                return None;
            }
            let batch = if limit == 1 {
                1
            } else {
                (available as usize).div_ceil(2).min(limit)
            };
            if self
                .head
                .compare_exchange(head, head.wrapping_add(batch), SeqCst, Acquire)
                .is_ok()
            {
                return Some((head, batch));
            }
            thread::yield_now();
        }
    }

    /// Reads the entry of claimed index `index` once its push has written
    /// it (a pusher may have claimed `tail` and not written yet, as with
    /// crossbeam's `WRITE` bit), and frees the slot for the next lap.
    fn take(&self, index: usize) -> *mut Header {
        let slot = self.slot(index);
        while slot.seq.load(Acquire) != index.wrapping_add(1) {
            thread::yield_now();
        }
        let task = slot.task.load(Relaxed);
        slot.seq.store(index.wrapping_add(CAP), Release);
        task
    }

    /// `Injector::is_empty`: `head` and `tail`, both `SeqCst`.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Injector::len`.
    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(SeqCst);
        let tail = self.tail.load(SeqCst);
        len(head, tail).max(0) as usize
    }
}

impl Drop for Inject {
    fn drop(&mut self) {
        while let Some(task) = self.pop() {
            drop(task);
        }
    }
}
