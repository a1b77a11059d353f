//! Our ends of a child's standard streams: the reactor's pipe ends
//! ([`weft_reactor::net::unix::pipe`]), with tokio's `AsyncRead` /
//! `AsyncWrite` (and futures-io's), tokio's `from_std` / `into_owned_fd`,
//! and the conversions back to a [`Stdio`] for another child.
//!
//! Invariant: a `ChildStdin` whose pipe is `None` was closed by this side
//! (`shutdown` / `close`); every operation on it then fails with
//! `BrokenPipe`, and it has no descriptor.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use weft_reactor::net::unix::pipe::{Receiver, Sender};

/// The child's standard input, our writing end (`Stdio::piped()`).
///
/// Dropping it, or shutting it down (`AsyncWriteExt::shutdown`, or
/// futures-io's `close`), closes the pipe: the child reads end of file.
/// tokio's `shutdown` leaves the pipe open; weft's closes it, so a child
/// that reads to the end can finish while the `ChildStdin` lives on.
#[derive(Debug)]
pub struct ChildStdin {
    pipe: Option<Sender>,
}

/// The child's standard output, our reading end (`Stdio::piped()`).
#[derive(Debug)]
pub struct ChildStdout {
    pipe: Receiver,
}

/// The child's standard error, our reading end (`Stdio::piped()`).
#[derive(Debug)]
pub struct ChildStderr {
    pipe: Receiver,
}

impl ChildStdin {
    /// Takes over a std child's stdin pipe, made non-blocking and
    /// registered with the current runtime's reactor.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_std(inner: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin {
            pipe: Some(Sender::from_owned_fd(inner.into())?),
        })
    }

    /// Deregisters the pipe and hands its descriptor back, made blocking
    /// (as a child expects its standard streams).
    ///
    /// # Errors
    /// `BrokenPipe` if this side already closed it.
    pub fn into_owned_fd(mut self) -> io::Result<OwnedFd> {
        self.take_pipe()?.into_blocking_fd()
    }

    fn take_pipe(&mut self) -> io::Result<Sender> {
        self.pipe.take().ok_or_else(closed)
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the child's stdin was closed by this side",
    )
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(self, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe (the child reads end of file); later writes fail
    /// with `BrokenPipe`.
    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        drop(self.pipe.take());
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let pipe = self.get_mut().pipe.as_mut().ok_or_else(closed)?;
        tokio::io::AsyncWrite::poll_write(Pin::new(pipe), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let pipe = self.get_mut().pipe.as_mut().ok_or_else(closed)?;
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(pipe), cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe, as futures-io's `poll_close` does.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(self, cx)
    }
}

impl AsRawFd for ChildStdin {
    /// The pipe's descriptor; -1 once this side closed it.
    fn as_raw_fd(&self) -> RawFd {
        self.pipe.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }
}

impl AsFd for ChildStdin {
    /// The pipe's descriptor.
    ///
    /// # Panics
    /// Once this side closed the pipe (`shutdown`): there is no descriptor
    /// to borrow.
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.pipe {
            Some(pipe) => pipe.as_fd(),
            None => panic!("the child's stdin was closed by this side: it has no descriptor"),
        }
    }
}

impl TryFrom<ChildStdin> for Stdio {
    type Error = io::Error;

    /// The pipe as another child's standard stream (made blocking), to
    /// connect two children.
    fn try_from(stdin: ChildStdin) -> io::Result<Stdio> {
        stdin.into_owned_fd().map(Stdio::from)
    }
}

/// The reading-end types' shared methods and traits.
macro_rules! reader {
    ($t:ident, $std:ty, $what:literal) => {
        impl $t {
            #[doc = concat!("Takes over a std child's ", $what, " pipe, made non-blocking and")]
            /// registered with the current runtime's reactor.
            ///
            /// # Panics
            /// Outside a weft runtime.
            #[track_caller]
            pub fn from_std(inner: $std) -> io::Result<$t> {
                Ok($t {
                    pipe: Receiver::from_owned_fd(inner.into())?,
                })
            }

            /// Deregisters the pipe and hands its descriptor back, made
            /// blocking (as a child expects its standard streams).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_blocking_fd()
            }

            pub(crate) fn into_pipe(self) -> Receiver {
                self.pipe
            }
        }

        impl futures_io::AsyncRead for $t {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncRead::poll_read(Pin::new(&mut self.pipe), cx, buf)
            }
        }

        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                tokio::io::AsyncRead::poll_read(Pin::new(&mut self.pipe), cx, buf)
            }
        }

        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.as_raw_fd()
            }
        }

        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.as_fd()
            }
        }

        impl TryFrom<$t> for Stdio {
            type Error = io::Error;

            /// The pipe as another child's standard stream (made
            /// blocking), to connect two children.
            fn try_from(pipe: $t) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }
    };
}

reader!(ChildStdout, std::process::ChildStdout, "stdout");
reader!(ChildStderr, std::process::ChildStderr, "stderr");

/// Reads one pipe to its end into a buffer, a step per poll
/// (`Child::wait_with_output`).
pub(crate) struct ReadToEnd {
    pipe: Option<Receiver>,
    bytes: Vec<u8>,
}

impl ReadToEnd {
    /// Reads `pipe`; with none there, already at the end.
    pub(crate) fn new(pipe: Option<Receiver>) -> ReadToEnd {
        ReadToEnd {
            pipe,
            bytes: Vec::new(),
        }
    }

    /// Ready once the pipe reached end of file (it is closed then).
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        const CHUNK: usize = 64 * 1024;
        while let Some(pipe) = &mut self.pipe {
            let len = self.bytes.len();
            self.bytes.reserve(CHUNK);
            let mut buf = tokio::io::ReadBuf::uninit(&mut self.bytes.spare_capacity_mut()[..CHUNK]);
            let read = tokio::io::AsyncRead::poll_read(Pin::new(pipe), cx, &mut buf);
            let n = buf.filled().len();
            // SAFETY: the read initialised (filled) the first `n` bytes of
            // the spare capacity, which starts at `len`.
            unsafe { self.bytes.set_len(len + n) };
            match std::task::ready!(read) {
                Ok(()) if n == 0 => self.pipe = None,
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
        Poll::Ready(Ok(()))
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
