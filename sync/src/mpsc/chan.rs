//! The channel core shared by the bounded and unbounded flavours.
//!
//! A mutex-guarded `VecDeque` plus the receiver's waker. The receiver swaps
//! the whole shared buffer into a private one when its private one runs dry,
//! so under contention it takes the lock once per batch, not per message,
//! and producers mostly contend only with each other.
//!
//! Invariants: `rx_closed` and `tx_closed` are set once each, under the
//! lock. Once `rx_closed` is set nothing is pushed; once `tx_closed` is set
//! (the last sender dropped) nothing more will be. The bounded flavour holds
//! one semaphore permit per message in the channel (shared buffer or the
//! receiver's private one); the receiver releases it as it hands the
//! message out, and closing the channel closes the semaphore.

use std::collections::VecDeque;

use super::error::TryRecvError;
use std::task::{Context, Poll, Waker};

use crate::notify::Notify;
use crate::semaphore::Semaphore;
use weft_base::loom::{AtomicUsize, Mutex, Ordering};

pub(super) struct Chan<T> {
    queue: Mutex<Queue<T>>,
    senders: AtomicUsize,
    /// Capacity, for the bounded flavour.
    pub(super) sem: Option<Semaphore>,
    /// Fired (notify_waiters) when the receiver closes: `Sender::closed`.
    rx_closed_notify: Notify,
}

struct Queue<T> {
    buf: VecDeque<T>,
    rx_waker: Option<Waker>,
    rx_closed: bool,
    tx_closed: bool,
}

/// The receiver's side: its private batch and the shared core.
pub(super) struct Rx<T> {
    pub(super) chan: weft_base::loom::Arc<Chan<T>>,
    local: VecDeque<T>,
}

impl<T> Chan<T> {
    pub(super) fn new(sem: Option<Semaphore>) -> Chan<T> {
        Chan {
            queue: Mutex::new(Queue {
                buf: VecDeque::new(),
                rx_waker: None,
                rx_closed: false,
                tx_closed: false,
            }),
            senders: AtomicUsize::new(1),
            sem,
            rx_closed_notify: Notify::new(),
        }
    }

    /// Pushes `value` unless the receiver is gone (then hands it back).
    pub(super) fn push(&self, value: T) -> Result<(), T> {
        let mut q = self.queue.lock();
        if q.rx_closed {
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

    pub(super) fn sender_count(&self) -> usize {
        self.senders.load(Ordering::Acquire)
    }

    pub(super) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
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

    /// Closes the receiving side: later pushes fail, waiting senders of the
    /// bounded flavour fail, `closed()` completes.
    fn close_rx(&self) {
        let mut q = self.queue.lock();
        if q.rx_closed {
            return;
        }
        q.rx_closed = true;
        drop(q);
        if let Some(sem) = &self.sem {
            sem.close();
        }
        self.rx_closed_notify.notify_waiters();
    }
}

/// What a receive attempt found.
pub(super) enum Recv<T> {
    Value(T),
    Empty,
    Closed,
}

impl<T> Rx<T> {
    pub(super) fn new(chan: weft_base::loom::Arc<Chan<T>>) -> Rx<T> {
        Rx {
            chan,
            local: VecDeque::new(),
        }
    }

    /// Takes the next message, refilling the private batch if needed; with
    /// `cx`, registers the waker when there is none.
    pub(super) fn recv(&mut self, cx: Option<&mut Context<'_>>) -> Recv<T> {
        if self.local.is_empty() {
            let mut q = self.chan.queue.lock();
            if q.buf.is_empty() {
                if q.tx_closed || q.rx_closed {
                    return Recv::Closed;
                }
                if let Some(cx) = cx {
                    match &mut q.rx_waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                }
                return Recv::Empty;
            }
            std::mem::swap(&mut self.local, &mut q.buf);
        }
        let value = self.local.pop_front().expect("refilled above");
        if let Some(sem) = &self.chan.sem {
            sem.release(1);
        }
        Recv::Value(value)
    }

    /// Moves up to `limit` ready messages into `out`; returns how many.
    pub(super) fn drain_into(&mut self, out: &mut Vec<T>, limit: usize) -> usize {
        let mut n = 0;
        while n < limit {
            if self.local.is_empty() {
                let mut q = self.chan.queue.lock();
                if q.buf.is_empty() {
                    break;
                }
                std::mem::swap(&mut self.local, &mut q.buf);
            }
            let take = (limit - n).min(self.local.len());
            out.extend(self.local.drain(..take));
            n += take;
        }
        if let Some(sem) = &self.chan.sem {
            sem.release(n);
        }
        n
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.recv(Some(cx)) {
            Recv::Value(v) => Poll::Ready(Some(v)),
            Recv::Closed => Poll::Ready(None),
            Recv::Empty => Poll::Pending,
        }
    }

    pub(super) fn close(&mut self) {
        self.chan.close_rx();
    }

    /// `recv` then `drain_into`: at least one message unless closed and
    /// drained (or `limit` is zero).
    pub(super) async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        match std::future::poll_fn(|cx| self.poll_recv(cx)).await {
            Some(first) => {
                buffer.push(first);
                1 + self.drain_into(buffer, limit - 1)
            }
            None => 0,
        }
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
        self.chan.is_closed() || self.chan.sender_count() == 0
    }
}

impl<T> Drop for Rx<T> {
    fn drop(&mut self) {
        self.chan.close_rx();
        // Drop the messages nobody will receive, outside the lock.
        let rest = std::mem::take(&mut self.chan.queue.lock().buf);
        drop(rest);
    }
}
