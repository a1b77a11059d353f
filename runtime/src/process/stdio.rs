//! Our ends of a child's standard streams: pipe descriptors made
//! non-blocking and registered with the reactor, with tokio's
//! `AsyncRead` / `AsyncWrite` (and futures-io's).

use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use weft_reactor::AsyncFd;

/// One registered pipe end.
#[derive(Debug)]
pub(crate) struct Pipe(AsyncFd<File>);

impl Pipe {
    /// Registers `fd` (a pipe end std handed us, blocking) with the current
    /// reactor.
    pub(crate) fn new(fd: impl Into<OwnedFd>) -> io::Result<Pipe> {
        let fd: OwnedFd = fd.into();
        set_nonblocking(&fd)?;
        // SAFETY: the `File` owns the descriptor and keeps it open while
        // registered; `AsyncFd` deregisters it before dropping the file.
        Ok(Pipe(unsafe { AsyncFd::register(File::from(fd))? }))
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read_io(cx, |mut file| file.read(buf))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.poll_write_io(cx, |mut file| file.write(buf))
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.0
            .poll_write_io(cx, |mut file| file.write_vectored(bufs))
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    let raw = fd.as_fd().as_raw_fd();
    // SAFETY: `raw` is an open descriptor borrowed from `fd` for the whole
    // call; F_GETFL and F_SETFL take and return plain integers.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The child's standard input, our writing end (`Stdio::piped()`).
///
/// Dropping it, or closing it (`AsyncWriteExt::close`), closes the pipe:
/// the child reads end of file.
#[derive(Debug)]
pub struct ChildStdin {
    pipe: Option<Pipe>,
}

/// The child's standard output, our reading end (`Stdio::piped()`).
#[derive(Debug)]
pub struct ChildStdout {
    pipe: Pipe,
}

/// The child's standard error, our reading end (`Stdio::piped()`).
#[derive(Debug)]
pub struct ChildStderr {
    pipe: Pipe,
}

impl ChildStdin {
    pub(crate) fn new(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin {
            pipe: Some(Pipe::new(stdin)?),
        })
    }

    fn pipe(&self) -> io::Result<&Pipe> {
        self.pipe.as_ref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the child's stdin was closed by this side",
            )
        })
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe()?.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pipe()?.poll_write_vectored(cx, bufs)
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
        futures_io::AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe, as `futures_io`'s `poll_close` does.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(self, cx)
    }
}

/// `AsyncRead` (tokio's and futures-io's) for a reading end.
macro_rules! reader {
    ($t:ident) => {
        impl $t {
            pub(crate) fn new(fd: impl Into<OwnedFd>) -> io::Result<$t> {
                Ok($t {
                    pipe: Pipe::new(fd)?,
                })
            }

            pub(crate) fn into_pipe(self) -> Pipe {
                self.pipe
            }
        }

        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }
        }

        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.pipe.0.poll_read_buf(cx, buf)
            }
        }
    };
}

reader!(ChildStdout);
reader!(ChildStderr);

/// Reads one pipe to its end into a buffer, a step per poll
/// (`Child::wait_with_output`).
pub(crate) struct ReadToEnd {
    pipe: Option<Pipe>,
    bytes: Vec<u8>,
}

impl ReadToEnd {
    /// Reads `pipe`; with none there, already at the end.
    pub(crate) fn new(pipe: Option<Pipe>) -> ReadToEnd {
        ReadToEnd {
            pipe,
            bytes: Vec::new(),
        }
    }

    /// Ready once the pipe reached end of file (it is closed then).
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        const CHUNK: usize = 64 * 1024;
        while let Some(pipe) = &self.pipe {
            let len = self.bytes.len();
            // Zero one chunk per read (not all the spare capacity, which
            // grows with the output).
            self.bytes.resize(len + CHUNK, 0);
            let read = pipe.poll_read(cx, &mut self.bytes[len..]);
            let n = match &read {
                Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            self.bytes.truncate(len + n);
            match std::task::ready!(read) {
                Ok(0) => self.pipe = None,
                Ok(_) => {}
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
