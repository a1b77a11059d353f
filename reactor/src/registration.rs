//! `Registration`: one descriptor's place in the reactor, and every way a
//! task waits on it: the single-waker `poll_*` path of the I/O traits, the
//! readiness futures (`ready(interest)`, any number at once), and the
//! "try, and on `WouldBlock` forget the readiness" loops.
//!
//! Invariants:
//! - The descriptor `fd` was open when registered and its owner keeps it
//!   open, the same file, until it calls [`deregister`](Registration::deregister)
//!   or [`deregister_closing`](Registration::deregister_closing) (the
//!   contract of [`Registration::new`]). A registration never closes it.
//! - Readiness is forgotten only with the tick it was seen at
//!   (`ScheduledIo::clear_*`), and always from a snapshot taken *before*
//!   the operation that reported `WouldBlock`: an event that lands during
//!   the operation is newer, so it survives.
//! - The cooperative budget is spent where tokio spends it: one unit per
//!   `poll_*` wait that completes with readiness (so per read, write, send
//!   or receive), and one per `async_io` operation that completes. A
//!   readiness future (`ready`, `readable`, `writable`) spends none: a task
//!   may wait for readiness and `try_*` in a loop as often as the socket
//!   stays ready, as tokio's own tests do while they fill a send buffer.
//! - Every wait that returns `Pending` notes the descriptor and direction
//!   for the task dump (`weft_base::wait`); a ready wait notes nothing.

use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::io_driver::{gone, IoHandle};
use crate::ready::Interest;
use crate::scheduled_io::{Direction, ReadyEvent, ScheduledIo};
use weft_base::coop;
use weft_base::wait::WaitOn;

pub(crate) struct Registration {
    handle: IoHandle,
    scheduled: Arc<ScheduledIo>,
    key: usize,
    fd: RawFd,
    interest: Interest,
}

impl Registration {
    /// Registers `fd` for `interest` with the current reactor.
    ///
    /// # Safety
    /// `fd` stays open, the same file, until
    /// [`deregister`](Self::deregister) or
    /// [`deregister_closing`](Self::deregister_closing) is called.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub(crate) unsafe fn new(fd: BorrowedFd<'_>, interest: Interest) -> io::Result<Registration> {
        let handle = weft_base::context::expect_current::<IoHandle>();
        // SAFETY: our caller deregisters `fd` before it closes.
        let (scheduled, key) = unsafe { handle.register_with(fd, interest)? };
        Ok(Registration {
            handle,
            scheduled,
            key,
            fd: fd.as_raw_fd(),
            interest,
        })
    }

    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `fd` stays open while registered (the contract of `new`),
        // and this registration is alive.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }

    fn rearm(&self) -> io::Result<()> {
        self.handle.rearm(self.fd(), self.key, self.interest)
    }

    /// Whether a short transfer proves a stream drained or full (see
    /// `PollEvented::poll_stream_io`).
    pub(crate) fn short_io_is_final(&self) -> bool {
        self.handle.short_io_is_final()
    }

    /// Ready with the readiness seen when `direction` may make progress
    /// (an error once the runtime is gone). Only the last waker of each
    /// direction is kept.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let budget = std::task::ready!(coop::poll_proceed(cx));
        match self.scheduled.poll_ready(cx, direction) {
            Poll::Ready(event) if event.is_shutdown => Poll::Ready(Err(gone())),
            Poll::Ready(event) => {
                budget.made_progress();
                Poll::Ready(Ok(event))
            }
            Poll::Pending => {
                self.rearm()?;
                self.note_wait(direction);
                Poll::Pending
            }
        }
    }

    /// Notes, for the task dump, that the task waits on this source in
    /// `direction` (called only on the way to `Pending`).
    #[inline]
    fn note_wait(&self, direction: Direction) {
        let fd = self.fd as u64;
        weft_base::wait::note(match direction {
            Direction::Read => WaitOn::readable(fd),
            Direction::Write => WaitOn::writable(fd),
        });
    }

    /// Runs `op` once `direction` is ready, until it does not report
    /// `WouldBlock`; readiness is also forgotten after a result `used_up`
    /// says exhausted it. Each completed operation spends one unit of the
    /// task's cooperative budget.
    pub(crate) fn poll_io_until<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
        used_up: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let budget = std::task::ready!(coop::poll_proceed(cx));
        loop {
            let event = match self.scheduled.poll_ready(cx, direction) {
                Poll::Ready(event) if event.is_shutdown => return Poll::Ready(Err(gone())),
                Poll::Ready(event) => event,
                Poll::Pending => {
                    self.rearm()?;
                    self.note_wait(direction);
                    return Poll::Pending;
                }
            };
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.scheduled.clear_readiness(event);
                }
                result => {
                    if matches!(&result, Ok(value) if used_up(value)) {
                        self.scheduled.clear_drained(event);
                    }
                    budget.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// Waits until any of `interest` is ready (or the runtime is gone: an
    /// error). The readiness returned may be empty: a spurious wake-up.
    /// Any number of these may wait at once, from any tasks. Spends no
    /// cooperative budget (as tokio's).
    pub(crate) fn readiness(&self, interest: Interest) -> Readiness<'_> {
        Readiness {
            registration: self,
            mask: interest.mask(),
            id: None,
        }
    }

    /// Runs `op` once if any of `interest` is ready, else reports
    /// `WouldBlock` without running it; a `WouldBlock` from `op` forgets
    /// the readiness it was given.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        match self.scheduled.ready_mask(interest.mask()) {
            Some(event) if event.is_shutdown => Err(gone()),
            Some(event) => self.run_clearing(event, op),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Runs `op` once whatever the readiness says (the OS knows best); a
    /// `WouldBlock` forgets the readiness of `direction` seen before it
    /// ran, so a later wait waits for a new event.
    pub(crate) fn try_io_eager<R>(
        &self,
        direction: Direction,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        match self.scheduled.ready_now(direction) {
            Some(event) => self.run_clearing(event, op),
            None => op(),
        }
    }

    fn run_clearing<R>(
        &self,
        event: ReadyEvent,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let result = op();
        if matches!(&result, Err(err) if err.kind() == io::ErrorKind::WouldBlock) {
            self.scheduled.clear_readiness(event);
        }
        result
    }

    /// Waits for `interest` and runs `op`, again after each `WouldBlock`
    /// (which forgets the readiness it was given), until it does not
    /// report one. The operation that completes spends one unit of the
    /// task's cooperative budget.
    pub(crate) async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let event = self.readiness(interest).await?;
            let budget = poll_fn(coop::poll_proceed).await;
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.scheduled.clear_readiness(event);
                }
                result => {
                    budget.made_progress();
                    return result;
                }
            }
        }
    }

    /// Runs `op` once `direction` is ready, until it does not report
    /// `WouldBlock`, as [`async_io`](Self::async_io): any number of tasks
    /// may wait at once (tasks sharing a listener's `accept`, or a UDP
    /// socket's `recv`, are all woken by an event), unlike the single waker
    /// of [`poll_io_until`](Self::poll_io_until).
    pub(crate) async fn io<R>(
        &self,
        direction: Direction,
        op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let interest = match direction {
            Direction::Read => Interest::READABLE,
            Direction::Write => Interest::WRITABLE,
        };
        self.async_io(interest, op).await
    }

    /// Forgets what `event` saw, unless a newer event arrived since.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.scheduled.clear_readiness(event);
    }

    /// See [`ScheduledIo::assume_ready`].
    pub(crate) fn assume_ready(&self, ready: usize) {
        self.scheduled.assume_ready(ready);
    }

    /// Forgets the `bits` of what `event` saw, unless a newer event arrived
    /// since.
    pub(crate) fn clear_matching(&self, event: ReadyEvent, bits: usize) {
        self.scheduled.clear_matching(event, bits);
    }

    /// Removes the descriptor from the poller and frees its slot.
    pub(crate) fn deregister(&self) -> io::Result<()> {
        self.handle.deregister(self.fd(), self.key)
    }

    /// [`deregister`](Self::deregister) for a descriptor its owner closes
    /// next (the close may do the delete).
    pub(crate) fn deregister_closing(&self) {
        self.handle.deregister_closing(self.fd(), self.key);
    }

    /// The readiness record, for tests that look at it.
    #[cfg(all(test, unix, not(any(loom, miri))))]
    pub(crate) fn scheduled(&self) -> &ScheduledIo {
        &self.scheduled
    }
}

/// The future of [`Registration::readiness`]: an entry in the source's
/// waiter list while pending, taken out when dropped.
pub(crate) struct Readiness<'a> {
    registration: &'a Registration,
    mask: usize,
    id: Option<u64>,
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        let this = self.get_mut();
        let scheduled = &this.registration.scheduled;
        match scheduled.poll_readiness(cx, this.mask, &mut this.id) {
            Poll::Ready(event) if event.is_shutdown => Poll::Ready(Err(gone())),
            Poll::Ready(event) => Poll::Ready(Ok(event)),
            Poll::Pending => {
                this.registration.rearm()?;
                this.registration
                    .note_wait(if this.mask & crate::scheduled_io::READABLE != 0 {
                        Direction::Read
                    } else {
                        Direction::Write
                    });
                Poll::Pending
            }
        }
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.registration.scheduled.cancel_readiness(id);
        }
    }
}
