//! `copy`, `copy_buf` and `copy_bidirectional`: tokio's implementations,
//! with the reader made to spend weft's cooperative budget.
//!
//! tokio's copies spend tokio's budget once per step, and without tokio's
//! runtime that budget does not exist: a copy between always-ready ends
//! (`&[u8]` into a `Vec`) would never yield. So each copy here runs
//! tokio's over [`Budgeted`] ends, whose every ready read spends one unit of
//! weft's budget: after the budget is spent, the copy yields like any other
//! budgeted operation. (A socket's read spends a unit of its own too, so a
//! copy between sockets yields twice as often as one from a slice: once
//! per 64 reads rather than 128, which costs one reschedule per ~0.5 MiB.)

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use weft_base::coop;

/// Copies everything `reader` gives, until EOF, into `writer`; returns how
/// many bytes. The writer is flushed whenever the reader has nothing ready,
/// and at the end.
///
/// # Errors
/// The first error from a read, write or flush; a write that takes no bytes
/// is [`WriteZero`](io::ErrorKind::WriteZero).
///
/// ```
/// use weft_reactor::io;
///
/// # futures_executor::block_on(async {
/// let mut reader: &[u8] = b"hello";
/// let mut writer = Vec::new();
/// assert_eq!(io::copy(&mut reader, &mut writer).await?, 5);
/// assert_eq!(writer, b"hello");
/// # io::Result::Ok(()) }).unwrap();
/// ```
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy(&mut Budgeted(reader), writer).await
}

/// [`copy`] from a buffered reader, writing straight out of its buffer.
///
/// # Errors
/// As [`copy`].
pub async fn copy_buf<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy_buf(&mut Budgeted(reader), writer).await
}

/// Copies from `a` to `b` and from `b` to `a` at the same time, until both
/// reach EOF; returns the bytes copied `(a to b, b to a)`. When one side
/// reaches EOF, the other's write side is shut down (a TCP half-close) and
/// the other direction goes on. For proxies.
///
/// # Errors
/// The first error either way ends both directions.
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy_bidirectional(&mut Budgeted(a), &mut Budgeted(b)).await
}

/// [`copy_bidirectional`] with a buffer of the given size for each
/// direction.
///
/// # Errors
/// As [`copy_bidirectional`].
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b_buf_size: usize,
    b_to_a_buf_size: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy_bidirectional_with_sizes(
        &mut Budgeted(a),
        &mut Budgeted(b),
        a_to_b_buf_size,
        b_to_a_buf_size,
    )
    .await
}

/// An I/O end whose ready reads spend one unit of the budget each (and
/// whose writes pass straight through).
struct Budgeted<'a, T: ?Sized>(&'a mut T);

impl<T: AsyncRead + Unpin + ?Sized> AsyncRead for Budgeted<'_, T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let budget = ready!(coop::poll_proceed(cx));
        let res = ready!(Pin::new(&mut *self.get_mut().0).poll_read(cx, buf));
        budget.made_progress();
        Poll::Ready(res)
    }
}

impl<T: AsyncBufRead + Unpin + ?Sized> AsyncBufRead for Budgeted<'_, T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let budget = ready!(coop::poll_proceed(cx));
        let res = ready!(Pin::new(&mut *self.get_mut().0).poll_fill_buf(cx));
        budget.made_progress();
        Poll::Ready(res)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut *self.get_mut().0).consume(amt);
    }
}

impl<T: AsyncWrite + Unpin + ?Sized> AsyncWrite for Budgeted<'_, T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_shutdown(cx)
    }
}
