//! A one-shot channel: one value, from one sender to one receiver.
//!
//! No lock and no list: one atomic state word and three cells (the value and
//! each side's waker). Bits of the word:
//!
//! - `VALUE_SENT`: the sender is done (the value cell is written, or empty
//!   if the sender was dropped). Set once, by the sender; after it the
//!   sender never touches the value cell, the receiver owns it.
//! - `CLOSED`: the receiver is done (closed or dropped). Set once, by the
//!   receiver. A send that finds it set fails and takes its value back: the
//!   receiver reads the value cell only after seeing `VALUE_SENT`.
//! - `RX_TASK_SET` / `TX_TASK_SET`: the receiver's (sender's) waker cell
//!   holds a waker. Each side writes its waker cell only while its bit is
//!   clear; the other side reads it only if the bit was set when it set
//!   its own terminal bit. So a waker cell is never written and read at once.

pub mod error;

use error::{RecvError, TryRecvError};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use weft_base::coop;
use weft_base::loom::{Arc, AtomicUsize, Ordering, UnsafeCell};
use weft_base::wait::{SyncKind, WaitOn};

const RX_TASK_SET: usize = 1;
const VALUE_SENT: usize = 2;
const CLOSED: usize = 4;
const TX_TASK_SET: usize = 8;

/// A sender and receiver for one value.
///
/// ```
/// use weft_sync::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// tx.send(7).unwrap();
/// assert_eq!(futures::executor::block_on(rx), Ok(7));
///
/// let (tx, rx) = oneshot::channel::<u8>();
/// drop(rx);
/// assert_eq!(tx.send(1), Err(1)); // the value comes back
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner: Some(inner) },
    )
}

struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: UnsafeCell<Option<Waker>>,
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are handed between the two sides by the state word's
// protocol (module doc): at any time one side owns each cell. The value
// moves between threads, hence `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; no `&T` is ever shared.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    /// Sets `VALUE_SENT` unless the receiver is gone; wakes the receiver.
    /// False if `CLOSED` was set (the value cell is still the sender's).
    fn complete(&self) -> bool {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & CLOSED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur | VALUE_SENT,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & RX_TASK_SET != 0 {
            self.rx_waker.with(|w| {
                // SAFETY: RX_TASK_SET was set with VALUE_SENT: the receiver
                // wrote its waker before setting the bit (our CAS acquires it)
                // and never writes the cell again once VALUE_SENT is set.
                if let Some(w) = unsafe { &*w } {
                    w.wake_by_ref();
                }
            });
        }
        true
    }

    /// Sets `CLOSED`; wakes a sender waiting in `closed()`. Returns the
    /// previous state.
    fn close(&self) -> usize {
        let prev = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & TX_TASK_SET != 0 && prev & VALUE_SENT == 0 {
            self.tx_waker.with(|w| {
                // SAFETY: mirror of `complete`: the sender set TX_TASK_SET
                // after writing its waker and writes it only while the bit
                // is clear and CLOSED is not set.
                if let Some(w) = unsafe { &*w } {
                    w.wake_by_ref();
                }
            });
        }
        prev
    }

    /// Takes the value; only after seeing `VALUE_SENT` (receiver) or after
    /// a failed `complete` (sender).
    fn take_value(&self) -> Option<T> {
        // SAFETY: the caller owns the value cell now (see above).
        self.value.with_mut(|v| unsafe { (*v).take() })
    }

    /// Registers `waker` in `cell` under `bit`, the protocol both sides use.
    /// Returns the state seen once the waker is registered (or the state
    /// that made registering unnecessary): the caller checks its terminal
    /// bit in it.
    fn register(
        &self,
        cell: &UnsafeCell<Option<Waker>>,
        bit: usize,
        done: usize,
        waker: &Waker,
    ) -> usize {
        let mut state = self.state.load(Ordering::Acquire);
        if state & done != 0 {
            return state;
        }
        if state & bit != 0 {
            // SAFETY: our bit is set, so the other side only reads the cell
            // (and only after setting its terminal bit); reading it is fine.
            let same = cell.with(|w| unsafe { (*w).as_ref() }.is_some_and(|w| w.will_wake(waker)));
            if same {
                return state;
            }
            state = self.state.fetch_and(!bit, Ordering::AcqRel);
            if state & done != 0 {
                // The other side may be reading the old waker: leave it.
                return state;
            }
        }
        // SAFETY: our bit is clear: the other side does not read the cell.
        cell.with_mut(|w| unsafe { *w = Some(waker.clone()) });
        self.state.fetch_or(bit, Ordering::AcqRel) | bit
    }
}

/// Sends the one value; see [`channel`].
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the one value; a future of `Result<T, RecvError>`.
///
/// Cancel-safe in the sense that matters: dropping it makes `send` fail and
/// hand the value back (or drops a value already sent).
///
/// # Panics
///
/// Polling it again after it completed panics (it has nothing left to give).
pub struct Receiver<T> {
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`. Fails, handing it back, if the receiver was dropped
    /// or closed.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("sender used once");
        // SAFETY: VALUE_SENT is not set yet, so the value cell is ours.
        inner.value.with_mut(|v| unsafe { *v = Some(value) });
        if inner.complete() {
            Ok(())
        } else {
            // CLOSED: the receiver never reads the cell; take it back.
            Err(inner.take_value().expect("the value we just wrote"))
        }
    }

    /// Whether the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        let inner = self.inner.as_ref().expect("sender used once");
        inner.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Completes when the receiver is dropped or closed (to stop work whose
    /// result nobody wants).
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver being dropped or closed.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let inner = self.inner.as_ref().expect("sender used once");
        let budget = std::task::ready!(coop::poll_proceed(cx));
        let state = inner.register(&inner.tx_waker, TX_TASK_SET, CLOSED, cx.waker());
        if state & CLOSED != 0 {
            budget.made_progress();
            Poll::Ready(())
        } else {
            let inner: *const Inner<T> = &**inner;
            weft_base::wait::note(WaitOn::sync(SyncKind::OneshotClosed, inner));
            Poll::Pending
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            // No value: the receiver sees VALUE_SENT with an empty cell.
            inner.complete();
        }
    }
}

impl<T> Receiver<T> {
    /// Closes the channel: a later `send` fails. A value sent before stays
    /// receivable.
    pub fn close(&mut self) {
        if let Some(inner) = &self.inner {
            inner.close();
        }
    }

    /// The value if it is there now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = &self.inner else {
            return Err(TryRecvError::Closed);
        };
        let state = inner.state.load(Ordering::Acquire);
        let result = if state & VALUE_SENT != 0 {
            inner.take_value().ok_or(TryRecvError::Closed)
        } else if state & CLOSED != 0 {
            Err(TryRecvError::Closed)
        } else {
            return Err(TryRecvError::Empty);
        };
        // Done either way (CLOSED is set, or the value was taken): the
        // receiver has nothing left to give.
        self.inner = None;
        result
    }

    /// Whether the receiver has already given its result (a value or an
    /// error, by polling or `try_recv`); it must not be polled again.
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether there is no value to receive now (none sent yet, the sender
    /// gone without sending, or already received).
    pub fn is_empty(&self) -> bool {
        let Some(inner) = &self.inner else {
            return true;
        };
        if inner.state.load(Ordering::Acquire) & VALUE_SENT == 0 {
            return true;
        }
        // SAFETY: VALUE_SENT is set: the sender never touches the value
        // cell again, it is the receiver's (and we are the receiver).
        inner.value.with(|v| unsafe { (*v).is_none() })
    }

    /// Waits for the value from synchronous code, blocking this thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        crate::blocking::block_on(self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self
            .inner
            .as_ref()
            .expect("oneshot::Receiver polled after completion");
        let budget = std::task::ready!(coop::poll_proceed(cx));
        let state = inner.register(&inner.rx_waker, RX_TASK_SET, VALUE_SENT, cx.waker());
        if state & VALUE_SENT != 0 {
            let value = inner.take_value();
            self.inner = None;
            budget.made_progress();
            Poll::Ready(value.ok_or(RecvError(())))
        } else if state & CLOSED != 0 {
            // Closed by us and nothing was sent before: nothing will come.
            self.inner = None;
            budget.made_progress();
            Poll::Ready(Err(RecvError(())))
        } else {
            let inner: *const Inner<T> = &**inner;
            weft_base::wait::note(WaitOn::sync(SyncKind::OneshotRecv, inner));
            Poll::Pending
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let prev = inner.close();
            if prev & VALUE_SENT != 0 {
                // Sent but never received: drop it now, on this side.
                drop(inner.take_value());
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
