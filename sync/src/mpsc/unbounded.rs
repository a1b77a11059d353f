//! The unbounded channel: sends never wait (memory is the only limit).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::chan::{Chan, Rx};
use super::error::{SendError, TryRecvError};
use weft_base::loom::Arc;

/// An unbounded channel.
///
/// ```
/// use weft_sync::mpsc;
///
/// let (tx, mut rx) = mpsc::unbounded_channel();
/// tx.send("hi").unwrap();
/// assert_eq!(rx.try_recv(), Ok("hi"));
/// drop(rx);
/// assert_eq!(tx.send("bye").unwrap_err().0, "bye"); // value handed back
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(0));
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { rx: Rx::new(chan) },
    )
}

/// The sending half of an unbounded channel; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// An unbounded sender that does not keep the channel open: once every
/// [`UnboundedSender`] is gone, [`upgrade`](WeakUnboundedSender::upgrade)
/// fails and the receiver sees the channel closed. Made by
/// [`UnboundedSender::downgrade`].
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving half of an unbounded channel.
pub struct UnboundedReceiver<T> {
    rx: Rx<T>,
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once. Fails, handing it back, if the receiver is
    /// gone or closed.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.push(value).map_err(SendError)
    }

    /// Whether the receiver is gone (or closed): sends will fail.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Completes when the receiver is dropped or closed.
    pub async fn closed(&self) {
        crate::budget::cooperative(self.chan.closed()).await
    }

    /// A [`WeakUnboundedSender`] for this channel, which does not keep it
    /// open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.chan.add_weak();
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }

    /// How many (strong) senders exist.
    pub fn strong_count(&self) -> usize {
        self.chan.strong_count()
    }

    /// How many [`WeakUnboundedSender`]s exist.
    pub fn weak_count(&self) -> usize {
        self.chan.weak_count()
    }

    /// Whether `self` and `other` send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> WeakUnboundedSender<T> {
    /// An [`UnboundedSender`] again, unless every sender is already gone
    /// (the channel is then closed for good).
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.try_add_sender().then(|| UnboundedSender {
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

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_weak();
        WeakUnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak();
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next message; `None` once every sender is gone (or the
    /// receiver closed) and the channel is drained. Cancel-safe.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    /// Receives up to `limit` messages into `buffer`, waiting for at least
    /// one; returns how many (zero only when closed and drained, or `limit`
    /// is zero).
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.rx.poll_recv_many(cx, buffer, limit)).await
    }

    /// [`recv`](UnboundedReceiver::recv) from synchronous code: blocks this
    /// thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        crate::blocking::block_on(self.recv())
    }

    /// [`recv_many`](UnboundedReceiver::recv_many) from synchronous code.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        crate::blocking::block_on(self.recv_many(buffer, limit))
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
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

    /// Closes the channel: sends fail from now on; messages already queued
    /// can still be received.
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

    /// How many (strong) senders exist.
    pub fn sender_strong_count(&self) -> usize {
        self.rx.chan.strong_count()
    }

    /// How many weak senders exist.
    pub fn sender_weak_count(&self) -> usize {
        self.rx.chan.weak_count()
    }
}

// Nothing of a receiver is pinned: its messages are only moved out.
impl<T> Unpin for UnboundedReceiver<T> {}

impl<T> futures_core::Stream for UnboundedReceiver<T> {
    type Item = T;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedReceiver")
            .finish_non_exhaustive()
    }
}
