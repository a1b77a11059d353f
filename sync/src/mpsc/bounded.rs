//! The bounded channel: capacity is a [`Semaphore`] of slots.
//!
//! A send first takes a slot (waiting, FIFO, while the channel is full:
//! that is the backpressure), then pushes. The receiver gives the slot
//! back as it hands the message out. Closing the receiver closes the
//! semaphore, so every waiting send fails and returns its value.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::chan::{Chan, Rx};
#[cfg(feature = "time")]
use super::error::SendTimeoutError;
use super::error::{SendError, TryRecvError, TrySendError};
use crate::semaphore::{Semaphore, TryAcquireError};
use weft_base::loom::Arc;

/// A bounded channel holding at most `capacity` messages.
///
/// # Panics
///
/// If `capacity` is zero or exceeds [`Semaphore::MAX_PERMITS`].
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let chan = Arc::new(Chan::new(Some(Semaphore::new(capacity))));
    (
        Sender { chan: chan.clone() },
        Receiver {
            rx: Rx::new(chan),
            capacity,
        },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    rx: Rx<T>,
    capacity: usize,
}

/// A reserved slot: [`send`](Permit::send) cannot fail or wait.
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// A reserved slot that owns a sender handle.
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

impl<T> Sender<T> {
    fn sem(&self) -> &Semaphore {
        self.chan
            .sem
            .as_ref()
            .expect("bounded channel has a semaphore")
    }

    /// Sends `value`, waiting while the channel is full. Fails, handing the
    /// value back, if the receiver is gone.
    ///
    /// Dropping the future while it waits for room drops the value; to keep
    /// it (for example when racing the send against a timer), take a slot
    /// with [`reserve`](Sender::reserve), which is cancel-safe, and then
    /// [`Permit::send`].
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.sem().acquire_raw(1).await.is_err() {
            return Err(SendError(value));
        }
        self.chan.push(value).map_err(SendError)
    }

    /// Sends `value`, waiting at most `timeout` for room; on a timeout or a
    /// closed channel the value comes back in the error.
    ///
    /// Needs the `time` feature (on in the `weft` facade) and a weft runtime
    /// for its timer; the rest of the crate runs under any executor.
    ///
    /// ```no_run
    /// # async fn example(tx: weft_sync::mpsc::Sender<u32>) {
    /// use std::time::Duration;
    /// use weft_sync::mpsc::SendTimeoutError;
    ///
    /// match tx.send_timeout(7, Duration::from_millis(50)).await {
    ///     Ok(()) => {}
    ///     Err(SendTimeoutError::Timeout(value)) => eprintln!("consumer too slow, kept {value}"),
    ///     Err(SendTimeoutError::Closed(value)) => eprintln!("consumer gone, kept {value}"),
    /// }
    /// # }
    /// ```
    #[cfg(feature = "time")]
    pub async fn send_timeout(
        &self,
        value: T,
        timeout: std::time::Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        match weft_timer::timeout(timeout, self.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(value);
                Ok(())
            }
            Ok(Err(SendError(()))) => Err(SendTimeoutError::Closed(value)),
            Err(_elapsed) => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.sem().try_take(1) {
            Ok(()) => self.chan.push(value).map_err(TrySendError::Closed),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Waits for a free slot and reserves it. Cancel-safe: a dropped
    /// `reserve` future gives up its place (and any slot it was handed).
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        match self.sem().acquire_raw(1).await {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(_) => Err(SendError(())),
        }
    }

    /// Reserves a slot if one is free now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.sem().try_take(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// [`reserve`](Sender::reserve), with a permit that owns the sender.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        match self.sem().acquire_raw(1).await {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(_) => Err(SendError(())),
        }
    }

    /// Whether the receiver is gone (or closed): sends will fail.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Completes when the receiver is dropped or closed.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// How many slots are free now.
    pub fn capacity(&self) -> usize {
        self.sem().available_permits()
    }

    /// How many senders (clones of this one) exist.
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// Whether `self` and `other` send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot. If the receiver has gone since
    /// the slot was reserved, the value is dropped.
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self);
        // The slot now belongs to the message; on failure (receiver gone)
        // the channel is closed and slots no longer matter.
        let _ = chan.push(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        // Unused: give the slot back.
        if let Some(sem) = &self.chan.sem {
            sem.release(1);
        }
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.sender.take().expect("permit used once");
        let _ = sender.chan.push(value);
        sender
    }

    /// Gives the slot back unused, returning the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("permit used once");
        sender.sem().release(1);
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.sem().release(1);
        }
    }
}

impl<T> Receiver<T> {
    /// Receives the next message; `None` once every sender is gone (or the
    /// receiver closed) and the channel is drained. Cancel-safe: a dropped
    /// `recv` future loses no message.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    /// Receives up to `limit` messages into `buffer`, waiting for at least
    /// one; returns how many (zero only when the channel is closed and
    /// drained, or `limit` is zero).
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        self.rx.recv_many(buffer, limit).await
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// Polls for the next message (the `Stream` method).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// Closes the channel: sends fail from now on, waiting sends fail with
    /// their values; messages already queued can still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// Whether the channel is closed (by `close`, or every sender gone).
    pub fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    /// How many senders exist.
    pub fn sender_count(&self) -> usize {
        self.rx.chan.sender_count()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.capacity
    }
}

// Nothing of a receiver is pinned: its messages are only moved out.
impl<T> Unpin for Receiver<T> {}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Permit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::OwnedPermit").finish_non_exhaustive()
    }
}
