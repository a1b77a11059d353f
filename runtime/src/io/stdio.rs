//! The process's standard streams, async: `stdin()`, `stdout()`,
//! `stderr()`.
//!
//! Each is the blocking adapter (`pool_io.rs`) over the `std` handle, so
//! reads fetch up to a window in one hop and are served from it. Writes go
//! out at once, one hop each (as tokio's do, so output shows without a
//! flush); a write while a hop is in flight waits for it. `flush` waits
//! until everything written is with the OS.

use std::io::{self, Read, SeekFrom, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::pool_io::{BlockingIo, PoolIo};

/// The standard input of the process, for async reads.
///
/// Reading blocks a thread of the blocking pool until input arrives, and
/// that read cannot be cancelled: a runtime shutting down while one is in
/// flight waits for it (until the user presses enter, say). It suits input
/// piped into the program best.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// use weft_reactor::io::AsyncReadExt;
///
/// let mut stdin = weft_runtime::io::stdin();
/// let mut buf = [0u8; 1024];
/// let n = stdin.read(&mut buf).await?;
/// println!("read {n} bytes");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Stdin {
    io: PoolIo<io::Stdin>,
}

/// The standard output of the process, for async writes; see [`stdout`].
#[derive(Debug)]
pub struct Stdout {
    io: PoolIo<io::Stdout>,
}

/// The standard error of the process, for async writes; see [`stderr`].
#[derive(Debug)]
pub struct Stderr {
    io: PoolIo<io::Stderr>,
}

/// A handle to the standard input of the process; see [`Stdin`].
pub fn stdin() -> Stdin {
    Stdin {
        io: PoolIo::new(io::stdin()),
    }
}

/// A handle to the standard output of the process.
///
/// Each write is handed to the blocking pool at once and returns without
/// waiting for it; `flush` waits for all of them, and reports an error
/// one of them met. Several handles (or `println!`) may interleave their
/// writes.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use weft_reactor::io::AsyncWriteExt;
///
/// let mut out = weft_runtime::io::stdout();
/// out.write_all(b"hello\n").await?;
/// out.flush().await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn stdout() -> Stdout {
    Stdout {
        io: PoolIo::new(io::stdout()),
    }
}

/// A handle to the standard error of the process; it behaves as
/// [`stdout`] does.
pub fn stderr() -> Stderr {
    Stderr {
        io: PoolIo::new(io::stderr()),
    }
}

impl tokio::io::AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_read_buf(cx, buf)
    }
}

impl tokio::io::AsyncBufRead for Stdin {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().io.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().io.consume(amt);
    }
}

impl futures_io::AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_read(cx, buf)
    }
}

impl futures_io::AsyncBufRead for Stdin {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().io.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().io.consume(amt);
    }
}

/// The methods and traits `Stdout` and `Stderr` share.
macro_rules! writer {
    ($t:ty) => {
        impl $t {
            /// Buffers some of `buf` and sends it on its way at once.
            fn poll_write_through(
                &mut self,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                // Nothing goes out without a running runtime: say so now,
                // not at the next flush.
                crate::runtime::Handle::current_for_io()?;
                let n = std::task::ready!(self.io.poll_write(cx, buf))?;
                self.io.start_flush();
                Poll::Ready(Ok(n))
            }
        }

        /// Each write goes out at once; flushing waits until every byte
        /// written is with the OS and reports the error a write met.
        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().poll_write_through(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().io.poll_flush(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().io.poll_flush(cx)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().poll_write_through(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().io.poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().io.poll_flush(cx)
            }
        }

        impl Drop for $t {
            fn drop(&mut self) {
                self.io.write_pending_now();
            }
        }
    };
}

writer!(Stdout);
writer!(Stderr);

fn not_this_way(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not supported here"),
    )
}

impl BlockingIo for io::Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }

    fn write_all(&mut self, _: &[u8]) -> io::Result<()> {
        Err(not_this_way("writing to stdin"))
    }

    fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
        Err(not_this_way("seeking stdin"))
    }
}

/// `BlockingIo` for an output stream.
macro_rules! output_io {
    ($t:ty, $name:literal) => {
        impl BlockingIo for $t {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(not_this_way(concat!("reading from ", $name)))
            }

            fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
                Write::write_all(self, buf)?;
                Write::flush(self)
            }

            fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
                Err(not_this_way(concat!("seeking ", $name)))
            }
        }
    };
}

output_io!(io::Stdout, "stdout");
output_io!(io::Stderr, "stderr");
