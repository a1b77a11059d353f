//! `AsyncFd`: any non-blocking descriptor registered with the reactor, for
//! weft's crates above this one (the runtime's child pipes, pidfds and
//! signal pipe), so they wait for readiness with the same code as sockets.
//!
//! It is a thin public face of `PollEvented`: the same invariants hold (the
//! descriptor is deregistered before it closes or is handed back), and
//! every completed operation spends the task's cooperative budget.

use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use crate::poll_evented::PollEvented;
use crate::scheduled_io::Direction;

/// A non-blocking descriptor registered with the current runtime's reactor.
///
/// Doc-hidden: the building block of `weft::process` and `weft::signal`,
/// not a public API of its own.
#[derive(Debug)]
pub struct AsyncFd<E: AsFd> {
    io: PollEvented<E>,
}

impl<E: AsFd> AsyncFd<E> {
    /// Registers `io`, which must already be in non-blocking mode and own
    /// its descriptor (dropping it closes it), with the current reactor.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn new(io: E) -> io::Result<AsyncFd<E>> {
        Ok(AsyncFd {
            io: PollEvented::new(io)?,
        })
    }

    /// The I/O object.
    pub fn get_ref(&self) -> &E {
        self.io.get_ref()
    }

    /// Ready once a read may make progress (or the runtime is gone: an
    /// error).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read)
    }

    /// Runs the non-blocking read `op` once readable, until it does not
    /// report `WouldBlock`; a `WouldBlock` forgets the readiness it used.
    pub fn poll_read_io<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.io.poll_io(cx, Direction::Read, op)
    }

    /// Runs the non-blocking write `op` once writable, until it does not
    /// report `WouldBlock`.
    pub fn poll_write_io<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.io.poll_io(cx, Direction::Write, op)
    }

    /// Reads into the unfilled part of `buf` without initialising it
    /// (`tokio::io::AsyncRead`). Reads until `WouldBlock` before it waits:
    /// a short read proves nothing on an arbitrary descriptor (a terminal
    /// returns a line at a time).
    pub fn poll_read_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        use crate::net::stream::{read_into_tokio_buf, read_uninit};
        read_into_tokio_buf(buf, |b| {
            self.io.poll_io(cx, Direction::Read, |s| read_uninit(s, b))
        })
    }

    /// Deregisters and hands the I/O object back.
    pub fn into_inner(self) -> io::Result<E> {
        self.io.into_inner()
    }
}
