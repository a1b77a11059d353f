//! The channel core shared by the bounded and unbounded flavours.
//!
//! A mutex-guarded `VecDeque` plus the receiver's waker. The receiver swaps
//! the whole shared buffer into a private one when its private one runs dry,
//! so under contention it takes the lock once per batch, not per message,
//! and producers mostly contend only with each other.
//!
//! Invariants: `rx_closed`, `rx_dropped` and `tx_closed` are set once each,
//! under the lock. The bounded flavour's [`Slots`] hold one slot per
//! message in the channel (shared buffer or the receiver's private one) and
//! one per reserved slot (a `Permit`); the receiver frees a message's slot
//! as it hands the message out. Closing the receiver closes the slots'
//! semaphore, so no slot can be reserved after it; slots reserved before it
//! may still be filled, and the receiver reports the channel closed only
//! once it is drained and every slot is back (all are free). Whoever moves
//! slots to the semaphore after a close checks for that last state, so the
//! receiver waiting for it is woken.
//!
//! Sender counts: `senders` counts the strong handles (`Sender`,
//! `UnboundedSender`, an `OwnedPermit`'s sender). The last one to go sets
//! `tx_closed`; a weak handle upgrades only by raising a count that is not
//! zero, so once the count reached zero the channel stays closed for
//! senders. `weak` counts the weak handles, for `weak_count` only.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use super::error::TryRecvError;
use super::slots::Slots;
use crate::notify::Notify;
use crate::semaphore::{Acquire, AcquireError, TryAcquireError};
use weft_base::coop;
use weft_base::loom::{Arc, AtomicUsize, Mutex, Ordering};
use weft_base::wait::{SyncKind, WaitOn};

// In this order: the queue, which receiver and senders write, and the
// slots' semaphore word, which only senders write, with the receiver's
// padded word between them, so that each is on a line of its own.
#[repr(C)]
pub(super) struct Chan<T> {
    queue: Mutex<Queue<T>>,
    /// Capacity, for the bounded flavour.
    slots: Option<Slots>,
    senders: AtomicUsize,
    weak: AtomicUsize,
    /// The bounded flavour's capacity (zero for the unbounded one).
    pub(super) bound: usize,
    /// Fired (notify_waiters) when the receiver closes: `Sender::closed`.
    rx_closed_notify: Notify,
}

struct Queue<T> {
    buf: VecDeque<T>,
    rx_waker: Option<Waker>,
    rx_closed: bool,
    rx_dropped: bool,
    tx_closed: bool,
}

/// The receiver's side: its private batch and the shared core.
pub(super) struct Rx<T> {
    pub(super) chan: Arc<Chan<T>>,
    local: Batch<T>,
}

/// The receiver's private batch of messages. Only `&mut` access reaches
/// the messages (`&self` gives the length alone), so a receiver shared
/// between threads shares no `&T`: it is `Sync` when `T: Send`, as tokio's
/// receivers are, not only when `T: Sync`.
struct Batch<T>(VecDeque<T>);

// SAFETY: through `&Batch` nothing but the length is reachable (`len`); the
// messages are reached only through `&mut Batch` (`get_mut`), which is
// exclusive, so no two threads ever touch a `T` through shared access.
// Moving messages between threads needs `T: Send`.
unsafe impl<T: Send> Sync for Batch<T> {}

impl<T> Batch<T> {
    /// How many messages the batch holds.
    fn len(&self) -> usize {
        self.0.len()
    }

    /// The messages, exclusively.
    fn get_mut(&mut self) -> &mut VecDeque<T> {
        &mut self.0
    }
}

impl<T> Chan<T> {
    /// A channel with one strong sender; `bound` zero means unbounded.
    #[track_caller]
    pub(super) fn new(bound: usize) -> Chan<T> {
        Chan {
            queue: Mutex::new(Queue {
                buf: VecDeque::new(),
                rx_waker: None,
                rx_closed: false,
                rx_dropped: false,
                tx_closed: false,
            }),
            senders: AtomicUsize::new(1),
            weak: AtomicUsize::new(0),
            slots: (bound > 0).then(|| Slots::new(bound)),
            bound,
            rx_closed_notify: Notify::new(),
        }
    }

    /// Pushes `value` unless nobody can receive it any more (then hands it
    /// back). A bounded push holds a slot reserved before any close, so it
    /// fails only once the receiver is dropped.
    pub(super) fn push(&self, value: T) -> Result<(), T> {
        let mut q = self.queue.lock();
        if q.rx_dropped || (self.slots.is_none() && q.rx_closed) {
            return Err(value);
        }
        q.buf.push_back(value);
        let waker = q.rx_waker.take();
        drop(q);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    pub(super) fn is_closed(&self) -> bool {
        self.queue.lock().rx_closed
    }

    pub(super) fn strong_count(&self) -> usize {
        self.senders.load(Ordering::Acquire)
    }

    pub(super) fn weak_count(&self) -> usize {
        self.weak.load(Ordering::Acquire)
    }

    pub(super) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// A weak handle's upgrade: adds a strong sender unless every strong
    /// one is already gone (then the channel is closed for good).
    pub(super) fn try_add_sender(&self) -> bool {
        let mut cur = self.senders.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                return false;
            }
            match self.senders.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    pub(super) fn add_weak(&self) {
        self.weak.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn drop_weak(&self) {
        self.weak.fetch_sub(1, Ordering::Relaxed);
    }

    /// A sender went away; the last one closes the sending side.
    pub(super) fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let mut q = self.queue.lock();
        q.tx_closed = true;
        let waker = q.rx_waker.take();
        drop(q);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The bounded flavour's slots.
    pub(super) fn slots(&self) -> &Slots {
        self.slots.as_ref().expect("a bounded channel has slots")
    }

    /// How many slots are free now (zero for the unbounded flavour).
    pub(super) fn capacity(&self) -> usize {
        self.slots.as_ref().map_or(0, Slots::available)
    }

    /// Gives back `n` reserved slots unused. After a close, the last slot
    /// back may be what the receiver waits for (see the module doc).
    pub(super) fn release(&self, n: usize) {
        if let Some(slots) = &self.slots {
            slots.sem().release(n);
            self.wake_rx_if_drained_closed();
        }
    }

    /// Takes `n` slots if they are free now, the receiver's freed ones
    /// included.
    pub(super) fn try_take_slots(&self, n: usize) -> Result<(), TryAcquireError> {
        let sem = self.slots().sem();
        match sem.try_take(n) {
            Err(TryAcquireError::NoPermits) if self.reclaim() => sem.try_take(n),
            taken => taken,
        }
    }

    /// [`Semaphore::take_now`](crate::semaphore::Semaphore::take_now) for
    /// `n` slots, the receiver's freed ones included: the lock-free first
    /// step of a waiting reserve.
    #[inline]
    pub(super) fn take_slots_now(&self, n: usize) -> bool {
        let sem = self.slots().sem();
        sem.take_now(n) || (self.reclaim() && sem.take_now(n))
    }

    /// The queued second step of a waiting reserve of `n` slots.
    pub(super) fn queue_for_slots(&self, n: usize, wait: WaitOn) -> QueuedForSlots<'_, T> {
        QueuedForSlots {
            chan: self,
            asked: false,
            acquire: self.slots().sem().queue_for(n, wait),
        }
    }

    /// Moves the slots the receiver freed to the semaphore; whether there
    /// were any.
    fn reclaim(&self) -> bool {
        self.hand_to_semaphore(self.slots().reclaim())
    }

    /// Gives `n` slots taken from the receiver's count to the semaphore,
    /// with the check every giver-back makes; whether there were any.
    fn hand_to_semaphore(&self, n: usize) -> bool {
        if n > 0 {
            self.release(n);
        }
        n > 0
    }

    /// After a close, wakes the receiver once the last reserved slot is
    /// back: it may be waiting for exactly that (see the module doc). Each
    /// giver-back checks after its own release, so the last one sees it.
    pub(super) fn wake_rx_if_drained_closed(&self) {
        if self.slots.as_ref().is_some_and(|s| s.sem().is_closed()) && self.is_idle() {
            self.wake_rx();
        }
    }

    /// Wakes the receiver, whatever it waits for.
    fn wake_rx(&self) {
        let waker = self.queue.lock().rx_waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// No slot is reserved and no message holds one.
    fn is_idle(&self) -> bool {
        self.slots
            .as_ref()
            .is_none_or(|slots| slots.available() == self.bound)
    }

    /// Waits until the receiver closes or is dropped.
    pub(super) async fn closed(&self) {
        loop {
            // Created before the check: a `notify_waiters` after it counts.
            let notified = self.rx_closed_notify.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Closes the receiving side: later sends fail, waiting senders of the
    /// bounded flavour fail, `closed()` completes.
    fn close_rx(&self, dropped: bool) {
        let mut q = self.queue.lock();
        q.rx_dropped |= dropped;
        if q.rx_closed {
            return;
        }
        q.rx_closed = true;
        drop(q);
        if let Some(slots) = &self.slots {
            slots.sem().close();
        }
        self.rx_closed_notify.notify_waiters();
    }
}

pin_project! {
    /// A reserve's wait in the slots' queue: the semaphore's [`Acquire`],
    /// which once queued asks the receiver for the slots it holds and for
    /// each it frees from then on (see `slots.rs`).
    pub(super) struct QueuedForSlots<'a, T> {
        chan: &'a Chan<T>,
        asked: bool,
        #[pin]
        acquire: Acquire<'a>,
    }
}

impl<T> Future for QueuedForSlots<'_, T> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let acquired = this.acquire.as_mut().poll(cx);
            if acquired.is_ready() || *this.asked {
                return acquired;
            }
            *this.asked = true;
            if !this.chan.hand_to_semaphore(this.chan.slots().ask()) {
                return Poll::Pending;
            }
            // They went to the queue, perhaps to us: look again.
        }
    }
}

// A panic cannot leave a channel half-updated where a caller could see it:
// every change is made under the lock, before any user code (a waker, a
// message's drop) runs, and messages are only moved. So a channel (and the
// handles that share it, whatever `T` is) may be used across
// `catch_unwind`, as tokio's may.
impl<T> std::panic::RefUnwindSafe for Chan<T> {}
impl<T> std::panic::UnwindSafe for Chan<T> {}
impl<T> std::panic::RefUnwindSafe for Rx<T> {}
impl<T> std::panic::UnwindSafe for Rx<T> {}

/// What a receive attempt found.
pub(super) enum Recv<T> {
    Value(T),
    Empty,
    Closed,
}

impl<T> Rx<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> Rx<T> {
        Rx {
            chan,
            local: Batch(VecDeque::new()),
        }
    }

    /// Takes the next message, refilling the private batch if needed; with
    /// `cx`, registers the waker when there is none.
    pub(super) fn recv(&mut self, cx: Option<&mut Context<'_>>) -> Recv<T> {
        if self.local.get_mut().is_empty() {
            let mut q = self.chan.queue.lock();
            if q.buf.is_empty() {
                // Under the lock: a slot given back after this check wakes
                // us through `wake_rx`, which takes the lock.
                if q.tx_closed || (q.rx_closed && self.chan.is_idle()) {
                    return Recv::Closed;
                }
                let old = cx.and_then(|cx| match &mut q.rx_waker {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    slot => slot.replace(cx.waker().clone()),
                });
                // The old waker drops outside the lock: its drop may run
                // any code, a send on this channel included.
                drop(q);
                drop(old);
                return Recv::Empty;
            }
            std::mem::swap(self.local.get_mut(), &mut q.buf);
        }
        let value = self.local.get_mut().pop_front().expect("refilled above");
        if let Some(slots) = &self.chan.slots {
            slots.free(1);
        }
        Recv::Value(value)
    }

    /// Moves up to `limit` ready messages into `out`; returns how many.
    pub(super) fn drain_into(&mut self, out: &mut Vec<T>, limit: usize) -> usize {
        let mut n = 0;
        while n < limit {
            let local = self.local.get_mut();
            if local.is_empty() {
                let mut q = self.chan.queue.lock();
                if q.buf.is_empty() {
                    break;
                }
                std::mem::swap(local, &mut q.buf);
            }
            let take = (limit - n).min(local.len());
            out.extend(local.drain(..take));
            n += take;
        }
        if let Some(slots) = self.chan.slots.as_ref().filter(|_| n > 0) {
            slots.free(n);
        }
        n
    }

    /// Polls for the next message, spending one unit of the task's
    /// cooperative budget when it gets one (or learns the channel closed).
    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let budget = std::task::ready!(coop::poll_proceed(cx));
        match self.recv(Some(cx)) {
            Recv::Value(v) => {
                budget.made_progress();
                Poll::Ready(Some(v))
            }
            Recv::Closed => {
                budget.made_progress();
                Poll::Ready(None)
            }
            Recv::Empty => {
                let chan: *const Chan<T> = &*self.chan;
                weft_base::wait::note(WaitOn::sync(SyncKind::MpscRecv, chan));
                Poll::Pending
            }
        }
    }

    /// Polls for at least one message, then takes up to `limit` in all into
    /// `buffer`; `Ready(0)` when closed and drained, or `limit` is zero.
    pub(super) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        match std::task::ready!(self.poll_recv(cx)) {
            Some(first) => {
                buffer.push(first);
                Poll::Ready(1 + self.drain_into(buffer, limit - 1))
            }
            None => Poll::Ready(0),
        }
    }

    pub(super) fn close(&mut self) {
        self.chan.close_rx(false);
    }

    pub(super) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.recv(None) {
            Recv::Value(v) => Ok(v),
            Recv::Empty => Err(TryRecvError::Empty),
            Recv::Closed => Err(TryRecvError::Disconnected),
        }
    }

    /// Closed by the receiver, or every sender gone.
    pub(super) fn is_closed(&self) -> bool {
        self.chan.is_closed() || self.chan.strong_count() == 0
    }

    /// How many messages wait to be received.
    pub(super) fn len(&self) -> usize {
        self.local.len() + self.chan.queue.lock().buf.len()
    }
}

impl<T> Drop for Rx<T> {
    fn drop(&mut self) {
        self.chan.close_rx(true);
        // Drop the messages nobody will receive, and our waker (it may keep
        // a task's memory alive), outside the lock.
        let mut q = self.chan.queue.lock();
        let rest = std::mem::take(&mut q.buf);
        let waker = q.rx_waker.take();
        drop(q);
        drop(rest);
        drop(waker);
    }
}
