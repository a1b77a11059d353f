//! The bounded channel: capacity is a [`Semaphore`](crate::Semaphore) of
//! slots (with the receiver's freed ones beside it: `slots.rs`).
//!
//! A send first takes a slot (waiting, FIFO, while the channel is full:
//! that is the backpressure), then pushes. The receiver frees the slot as
//! it hands the message out. Closing the receiver closes the semaphore, so
//! every waiting send fails and returns its value.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::chan::{Chan, Rx};
#[cfg(feature = "time")]
use super::error::SendTimeoutError;
use super::error::{SendError, TryRecvError, TrySendError};
use crate::semaphore::TryAcquireError;
use weft_base::loom::Arc;
use weft_base::wait::{SyncKind, WaitOn};

/// A bounded channel holding at most `capacity` messages.
///
/// # Panics
///
/// If `capacity` is zero or exceeds [`Semaphore::MAX_PERMITS`](crate::Semaphore::MAX_PERMITS).
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let chan = Arc::new(Chan::new(capacity));
    (
        Sender { chan: chan.clone() },
        Receiver { rx: Rx::new(chan) },
    )
}

/// The sending half of a bounded channel; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of a bounded channel.
pub struct Receiver<T> {
    rx: Rx<T>,
}

/// A sender that does not keep the channel open: once every [`Sender`] is
/// gone, [`upgrade`](WeakSender::upgrade) fails and the receiver sees the
/// channel closed. Made by [`Sender::downgrade`].
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

/// A reserved slot: [`send`](Permit::send) cannot fail or wait.
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// `n` reserved slots, handed out one [`Permit`] at a time; the slots not
/// taken go back when it is dropped. Made by [`Sender::reserve_many`].
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    n: usize,
}

/// A reserved slot that owns a sender handle.
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full. Fails, handing the
    /// value back, if the receiver is gone.
    ///
    /// Dropping the future while it waits for room drops the value; to keep
    /// it (for example when racing the send against a timer), take a slot
    /// with [`reserve`](Sender::reserve), which is cancel-safe, and then
    /// [`Permit::send`].
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.reserve().await {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(SendError(())) => Err(SendError(value)),
        }
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
    /// use weft_sync::mpsc::error::SendTimeoutError;
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

    /// [`send`](Sender::send) from synchronous code: blocks this thread
    /// until there is room (or the receiver is gone).
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks (inside a
    /// runtime's async context); use `send().await` there.
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::blocking::block_on(self.send(value))
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.try_take_slots(1) {
            Ok(()) => {
                Permit { chan: &self.chan }.send(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Waits for a free slot and reserves it. Cancel-safe: a dropped
    /// `reserve` future gives up its place (and any slot it was handed).
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        self.reserve_slots(1).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Waits for `n` free slots and reserves them all at once (FIFO with the
    /// other senders); fails if the receiver is gone or `n` exceeds
    /// [`max_capacity`](Sender::max_capacity). Cancel-safe, like
    /// [`reserve`](Sender::reserve).
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        self.reserve_slots(n).await?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// [`reserve`](Sender::reserve), with a permit that owns the sender.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        self.reserve_slots(1).await?;
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Takes `n` slots for the caller, waiting for them.
    async fn reserve_slots(&self, n: usize) -> Result<(), SendError<()>> {
        if n > self.chan.bound {
            return Err(SendError(()));
        }
        /// Wakes the receiver if the wait ends without the slots (failed or
        /// cancelled): the acquire gives back slots it was partly handed
        /// without the check [`Chan::release`] makes.
        struct WakeRxUnlessServed<'a, T>(&'a Chan<T>);
        impl<T> Drop for WakeRxUnlessServed<'_, T> {
            fn drop(&mut self) {
                self.0.wake_rx_if_drained_closed();
            }
        }
        let guard = WakeRxUnlessServed(&self.chan);
        let chan: *const Chan<T> = &*self.chan;
        let wait = WaitOn::sync(SyncKind::MpscSend, chan);
        let acquired = if self.chan.take_slots_now(n) {
            Ok(())
        } else {
            self.chan.queue_for_slots(n, wait).await
        };
        std::mem::forget(guard);
        match acquired {
            // Handed the slots, but the receiver closed before we saw them:
            // nobody wants the message any more; fail as a closed channel.
            Ok(()) if self.chan.slots().sem().is_closed() => {
                self.chan.release(n);
                Err(SendError(()))
            }
            Ok(()) => Ok(()),
            Err(_) => {
                self.chan.wake_rx_if_drained_closed();
                Err(SendError(()))
            }
        }
    }

    /// Reserves a slot if one is free now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.try_reserve_slots(1)?;
        Ok(Permit { chan: &self.chan })
    }

    /// Reserves `n` slots if they are free now; `Full` if `n` exceeds
    /// [`max_capacity`](Sender::max_capacity).
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        self.try_reserve_slots(n)?;
        Ok(PermitIterator {
            chan: &self.chan,
            n,
        })
    }

    /// [`try_reserve`](Sender::try_reserve), with a permit that owns the
    /// sender; on failure the sender comes back in the error.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.try_reserve_slots(1) {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    fn try_reserve_slots(&self, n: usize) -> Result<(), TrySendError<()>> {
        if n > self.chan.bound {
            return Err(TrySendError::Full(()));
        }
        match self.chan.try_take_slots(n) {
            Ok(()) => Ok(()),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// Whether the receiver is gone (or closed): sends will fail.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Completes when the receiver is dropped or closed.
    pub async fn closed(&self) {
        crate::budget::cooperative(self.chan.closed()).await
    }

    /// How many slots are free now.
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.bound
    }

    /// A [`WeakSender`] for this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.chan.add_weak();
        WeakSender {
            chan: self.chan.clone(),
        }
    }

    /// How many (strong) senders exist.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many [`WeakSender`]s exist.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
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

impl<T> WeakSender<T> {
    /// A [`Sender`] again, unless every sender is already gone (the channel
    /// is then closed for good).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.try_add_sender().then(|| Sender {
            chan: self.chan.clone(),
        })
    }

    /// How many (strong) senders exist.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many weak senders exist.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_weak();
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak();
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot. If the receiver has been
    /// dropped since the slot was reserved, the value is dropped.
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self);
        // The slot now belongs to the message; on failure (receiver gone)
        // slots no longer matter.
        let _ = chan.push(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        // Unused: give the slot back.
        self.chan.release(1);
    }
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: self.chan })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}
impl<T> std::iter::FusedIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.chan.release(self.n);
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
        sender.chan.release(1);
        sender
    }

    /// Whether both permits are for the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        match (&self.sender, &other.sender) {
            (Some(a), Some(b)) => a.same_channel(b),
            _ => false,
        }
    }

    /// Whether this permit is for `sender`'s channel.
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.sender.as_ref().is_some_and(|s| s.same_channel(sender))
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.chan.release(1);
        }
    }
}

impl<T> Receiver<T> {
    /// Receives the next message; `None` once every sender is gone (or the
    /// receiver closed and every reserved slot was used or given back) and
    /// the channel is drained. Cancel-safe: a dropped `recv` future loses no
    /// message. Spends the task's cooperative budget.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    /// Receives up to `limit` messages into `buffer`, waiting for at least
    /// one; returns how many (zero only when the channel is closed and
    /// drained, or `limit` is zero).
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.rx.poll_recv_many(cx, buffer, limit)).await
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// [`recv`](Receiver::recv) from synchronous code: blocks this thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::blocking::block_on(self.recv())
    }

    /// [`recv_many`](Receiver::recv_many) from synchronous code.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        crate::blocking::block_on(self.recv_many(buffer, limit))
    }

    /// Polls for the next message (the `Stream` method).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// Polls for up to `limit` messages into `buffer` (at least one unless
    /// the channel is closed and drained, or `limit` is zero).
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.rx.poll_recv_many(cx, buffer, limit)
    }

    /// Closes the channel: sends and new reservations fail from now on,
    /// waiting ones fail with their values; messages already queued, and
    /// ones sent through slots reserved before, can still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }

    /// Whether the channel is closed (by `close`, or every sender gone).
    pub fn is_closed(&self) -> bool {
        self.rx.is_closed()
    }

    /// How many messages are queued.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many free slots the channel has now.
    pub fn capacity(&self) -> usize {
        self.rx.chan.capacity()
    }

    /// How many (strong) senders exist.
    pub fn sender_strong_count(&self) -> usize {
        self.rx.chan.strong_count()
    }

    /// How many weak senders exist.
    pub fn sender_weak_count(&self) -> usize {
        self.rx.chan.weak_count()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.rx.chan.bound
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

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("capacity", &self.rx.chan.bound)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Permit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::PermitIterator")
            .field("remaining", &self.n)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::OwnedPermit").finish_non_exhaustive()
    }
}
