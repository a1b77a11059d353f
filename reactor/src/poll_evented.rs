//! `PollEvented`: an OS I/O object registered with the reactor, and the
//! loop every async operation on it runs: wait until the reactor says the
//! direction is ready, try the non-blocking call, and on `WouldBlock` forget
//! that readiness and wait again.
//!
//! Invariant: while `io` is `Some`, its descriptor is registered; it is
//! deregistered before the descriptor is closed (drop) or handed back
//! (`into_inner`), which is the contract `Handle::register` asks for.

use std::future::poll_fn;
use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::coop;
use crate::driver::{gone, Handle};
use crate::scheduled_io::{Direction, ScheduledIo};

pub(crate) struct PollEvented<E: AsFd> {
    io: Option<E>,
    handle: Handle,
    scheduled: Arc<ScheduledIo>,
    key: usize,
}

impl<E: AsFd> PollEvented<E> {
    /// Registers `io` (already non-blocking) with the current reactor.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub(crate) fn new(io: E) -> io::Result<PollEvented<E>> {
        let handle = Handle::current();
        // SAFETY: `io` moves into the returned value, whose drop and
        // `into_inner` deregister it before the descriptor can close.
        let (scheduled, key) = unsafe { handle.register(io.as_fd())? };
        Ok(PollEvented {
            io: Some(io),
            handle,
            scheduled,
            key,
        })
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io.as_ref().expect("registered I/O present until drop")
    }

    /// Ready when `direction` may make progress (or the runtime is gone);
    /// spends one unit of the task's cooperative budget when ready.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<()>> {
        let budget = std::task::ready!(coop::poll_proceed(cx));
        match self.scheduled.poll_ready(cx, direction) {
            Poll::Ready(event) if event.is_shutdown => Poll::Ready(Err(gone())),
            Poll::Ready(_) => {
                budget.made_progress();
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                self.handle.rearm(self.get_ref().as_fd(), self.key)?;
                Poll::Pending
            }
        }
    }

    /// Runs the non-blocking `op` once `direction` is ready, until it does
    /// not report `WouldBlock`. Each completed operation spends one unit of
    /// the task's cooperative budget.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let budget = std::task::ready!(coop::poll_proceed(cx));
        loop {
            let event = match self.scheduled.poll_ready(cx, direction) {
                Poll::Ready(event) if event.is_shutdown => return Poll::Ready(Err(gone())),
                Poll::Ready(event) => event,
                Poll::Pending => {
                    self.handle.rearm(self.get_ref().as_fd(), self.key)?;
                    return Poll::Pending;
                }
            };
            match op(self.get_ref()) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.scheduled.clear_readiness(event);
                }
                result => {
                    budget.made_progress();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// [`poll_io`](Self::poll_io) as a future.
    pub(crate) async fn io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_io(cx, direction, &mut op)).await
    }

    /// Runs `op` once, without waiting; on `WouldBlock` the readiness it
    /// used up is forgotten, so a later wait waits for a new event.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        op: impl FnOnce(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let result = op(self.get_ref());
        if matches!(&result, Err(err) if err.kind() == io::ErrorKind::WouldBlock) {
            if let Some(event) = self.scheduled.ready_now(direction) {
                self.scheduled.clear_readiness(event);
            }
        }
        result
    }

    /// Deregisters and hands the I/O object back.
    pub(crate) fn into_inner(mut self) -> io::Result<E> {
        let io = self.io.take().expect("registered I/O present until drop");
        self.handle.deregister(io.as_fd(), self.key)?;
        Ok(io)
    }
}

impl<E: AsFd> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Deregister first: the descriptor number may be reused by the
            // next `open` the moment it closes.
            let _ = self.handle.deregister(io.as_fd(), self.key);
            drop(io);
        }
    }
}

impl<E: AsFd + std::fmt::Debug> std::fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get_ref().fmt(f)
    }
}
