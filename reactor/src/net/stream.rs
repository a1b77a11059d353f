//! What TCP and Unix streams share: the byte-stream operations over a
//! registered socket, their I/O traits (tokio's, the primary ones; the
//! `futures-io` pair; hyper's with feature `hyper`), and the halves a stream
//! splits into so one task can read while another writes.
//!
//! The operations are written once here, generic over the socket type; the
//! `stream_methods!` macro gives each stream type the same inherent methods
//! (with one set of docs), and the halves are generic over the stream.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::poll_evented::PollEvented;
use crate::scheduled_io::Direction;

mod halves;
mod sealed {
    pub trait Sealed {}
}

/// A connected stream socket: [`TcpStream`](super::TcpStream) or, on
/// Unix, [`UnixStream`](super::UnixStream).
pub trait Stream: sealed::Sealed + Send + Sync + 'static {
    #[doc(hidden)]
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    #[doc(hidden)]
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    #[doc(hidden)]
    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;
    #[doc(hidden)]
    fn shutdown_write(&self) -> io::Result<()>;
    /// Reads into `buf` without initialising it first; `Ok(n)` means its
    /// first `n` bytes are now initialised.
    #[doc(hidden)]
    fn poll_read_uninit_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}

/// Reads some bytes once readable.
pub(crate) fn poll_read<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    E: AsFd,
    for<'a> &'a E: Read,
{
    io.poll_stream_io(cx, Direction::Read, buf.len(), |s| (&*s).read(buf))
}

/// Writes some bytes once writable.
pub(crate) fn poll_write<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>>
where
    E: AsFd,
    for<'a> &'a E: Write,
{
    // An injected short write hands the kernel part of `buf`, which it
    // takes whole: unlike a short count from the kernel, it says nothing
    // about the socket being full, so the readiness stays.
    #[cfg(all(feature = "fault-injection", not(loom)))]
    let buf = &buf[..crate::fault::write_len(buf.len())];
    io.poll_stream_io(cx, Direction::Write, buf.len(), |s| (&*s).write(buf))
}

/// Writes some bytes from `bufs` once writable.
pub(crate) fn poll_write_vectored<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    E: AsFd,
    for<'a> &'a E: Write,
{
    // `write_vectored` hands the kernel at most `IOV_MAX` slices (1024 on
    // Linux, the one platform whose poller makes a short write final).
    let len = bufs.iter().take(1024).map(|buf| buf.len()).sum();
    // An injected short write: part of the first slice (see `poll_write`).
    #[cfg(all(feature = "fault-injection", not(loom)))]
    if let Some(first) = bufs.iter().find(|buf| !buf.is_empty()) {
        let short = crate::fault::write_len(len);
        if short < len {
            let part = &first[..short.min(first.len())];
            return io.poll_stream_io(cx, Direction::Write, part.len(), |s| (&*s).write(part));
        }
    }
    io.poll_stream_io(cx, Direction::Write, len, |s| (&*s).write_vectored(bufs))
}

/// Reads into `buf` without initialising it first, for the I/O traits that
/// hand out uninitialised memory (tokio's `ReadBuf`, hyper's
/// `ReadBufCursor`): `read(2)` on the raw descriptor, so no `&mut [u8]` over
/// uninitialised bytes ever exists. `Ok(n)`: the first `n` bytes of `buf`
/// are initialised.
pub(crate) fn poll_read_uninit<E>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    buf: &mut [MaybeUninit<u8>],
) -> Poll<io::Result<usize>>
where
    E: AsFd,
{
    io.poll_stream_io(cx, Direction::Read, buf.len(), |s| read_uninit(s, buf))
}

/// `read(2)` into `buf` on `s`'s descriptor; `Ok(n)`: the first `n` bytes
/// of `buf` are initialised.
pub(crate) fn read_uninit(s: &impl AsFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: the pointer and length describe `buf`, valid for writes of
    // `len` bytes for the whole call; `read(2)` writes at most that.
    let n = unsafe { libc::read(s.as_fd().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// The result of shutting a stream's write side down: `NotConnected` (the
/// peer reset the connection, or it was never made) leaves nothing to shut
/// down, so it is success, as tokio has it; other errors stand.
pub(crate) fn shutdown_result(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(()),
        result => result,
    }
}

/// `tokio::io::AsyncRead::poll_read` on top of `read`, a
/// [`poll_read_uninit`]-like read into uninitialised memory that returns
/// how many of its bytes it initialised (and writes nothing else).
pub(crate) fn read_into_tokio_buf(
    buf: &mut tokio::io::ReadBuf<'_>,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: `unfilled_mut` hands out memory we must not de-initialise;
    // `read` only writes bytes into it.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = std::task::ready!(read(unfilled))?;
    // SAFETY: `read` initialised the first `n` unfilled bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// `hyper::rt::Read::poll_read` on top of `read` (as for
/// [`read_into_tokio_buf`]): straight into the cursor's uninitialised
/// memory, no zero-filling.
#[cfg(feature = "hyper")]
pub(crate) fn read_into_hyper_cursor(
    mut buf: hyper::rt::ReadBufCursor<'_>,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: `as_mut` hands out memory we must not de-initialise; `read`
    // only writes bytes into it.
    let unfilled = unsafe { buf.as_mut() };
    let n = std::task::ready!(read(unfilled))?;
    // SAFETY: `read` initialised the first `n` bytes of the cursor.
    unsafe { buf.advance(n) };
    Poll::Ready(Ok(()))
}

/// The inherent methods every stream type has, on a type with an `io:
/// PollEvented<_>` field that implements [`Stream`].
macro_rules! stream_methods {
    () => {
        /// Waits until a read may make progress (any number of tasks may
        /// wait at once).
        pub async fn readable(&self) -> std::io::Result<()> {
            self.ready($crate::io::Interest::READABLE).await.map(drop)
        }

        /// Waits until a write may make progress (any number of tasks may
        /// wait at once).
        pub async fn writable(&self) -> std::io::Result<()> {
            self.ready($crate::io::Interest::WRITABLE).await.map(drop)
        }

        /// Reads without waiting; `WouldBlock` if nothing is there.
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            use std::io::Read as _;
            self.io
                .try_io($crate::scheduled_io::Direction::Read, |s| (&*s).read(buf))
        }

        /// Writes without waiting; `WouldBlock` if the send buffer is full.
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            use std::io::Write as _;
            self.io
                .try_io($crate::scheduled_io::Direction::Write, |s| (&*s).write(buf))
        }

        /// Borrowed read and write halves, usable from two tasks at once.
        pub fn split(
            &mut self,
        ) -> (
            $crate::net::ReadHalf<'_, Self>,
            $crate::net::WriteHalf<'_, Self>,
        ) {
            $crate::net::stream::split(self)
        }

        /// Owned read and write halves, for two tasks that outlive this
        /// scope. Dropping the write half shuts the write side down (the
        /// peer reads EOF); [`OwnedReadHalf::reunite`]($crate::net::OwnedReadHalf::reunite)
        /// puts the stream back together.
        pub fn into_split(
            self,
        ) -> (
            $crate::net::OwnedReadHalf<Self>,
            $crate::net::OwnedWriteHalf<Self>,
        ) {
            $crate::net::stream::into_split(self)
        }
    };
}
pub(crate) use stream_methods;

/// `Stream`, `AsyncRead` and `AsyncWrite` for a stream type with an `io`
/// field.
macro_rules! stream_traits {
    ($t:ty) => {
        impl $crate::net::stream::Sealed for $t {}

        impl $crate::net::stream::Stream for $t {
            fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::poll_read(&self.io, cx, buf)
            }

            fn poll_write_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::poll_write(&self.io, cx, buf)
            }

            fn poll_write_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::poll_write_vectored(&self.io, cx, bufs)
            }

            fn shutdown_write(&self) -> std::io::Result<()> {
                $crate::net::stream::shutdown_result(
                    self.io.get_ref().shutdown(std::net::Shutdown::Write),
                )
            }

            fn poll_read_uninit_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::poll_read_uninit(&self.io, cx, buf)
            }
        }

        $crate::net::stream::tokio_io!($t);
        $crate::net::stream::hyper_io!($t);

        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::Stream::poll_read_priv(&*self, cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::Stream::poll_write_priv(&*self, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::Stream::poll_write_vectored_priv(&*self, cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready($crate::net::stream::Stream::shutdown_write(&*self))
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }
    };
}
pub(crate) use sealed::Sealed;
pub(crate) use stream_traits;

/// A runtime's read/write trait pair for a stream type, over the stream's
/// shared methods: tokio's (`tokio_io!`) and hyper's (`hyper_io!`) have the
/// same shape, and both read into uninitialised memory through `$fill`.
macro_rules! foreign_io {
    ($t:ty, $read:path, $buf:ty, $fill:ident, $write:path) => {
        impl $read for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: $buf,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::net::stream::$fill(buf, |b| {
                    $crate::net::stream::Stream::poll_read_uninit_priv(&*self, cx, b)
                })
            }
        }

        impl $write for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::Stream::poll_write_priv(&*self, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::net::stream::Stream::poll_write_vectored_priv(&*self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready($crate::net::stream::Stream::shutdown_write(&*self))
            }
        }
    };
}
pub(crate) use foreign_io;

/// `tokio::io::{AsyncRead, AsyncWrite}` for a stream type: weft's primary
/// I/O traits.
macro_rules! tokio_io {
    ($t:ty) => {
        $crate::net::stream::foreign_io!(
            $t,
            tokio::io::AsyncRead,
            &mut tokio::io::ReadBuf<'_>,
            read_into_tokio_buf,
            tokio::io::AsyncWrite
        );
    };
}
pub(crate) use tokio_io;

/// `hyper::rt::{Read, Write}` for a stream type (feature `hyper`).
#[cfg(feature = "hyper")]
macro_rules! hyper_io {
    ($t:ty) => {
        $crate::net::stream::foreign_io!(
            $t,
            hyper::rt::Read,
            hyper::rt::ReadBufCursor<'_>,
            read_into_hyper_cursor,
            hyper::rt::Write
        );
    };
}
#[cfg(not(feature = "hyper"))]
macro_rules! hyper_io {
    ($($tt:tt)*) => {};
}
pub(crate) use hyper_io;

/// The read half of a stream's [`split`](super::TcpStream::split).
#[derive(Debug)]
pub struct ReadHalf<'a, S>(&'a S);

/// The write half of a stream's [`split`](super::TcpStream::split).
/// Closing it (`AsyncWrite::poll_close`) shuts the write side down.
#[derive(Debug)]
pub struct WriteHalf<'a, S>(&'a S);

/// The read half of a stream's [`into_split`](super::TcpStream::into_split).
#[derive(Debug)]
pub struct OwnedReadHalf<S>(Arc<S>);

/// The write half of a stream's
/// [`into_split`](super::TcpStream::into_split). Dropping it shuts the
/// write side down, so the peer reads EOF.
#[derive(Debug)]
pub struct OwnedWriteHalf<S: Stream> {
    stream: Arc<S>,
    shutdown_on_drop: bool,
}

/// Two halves that did not come from the same stream, given back.
#[derive(Debug)]
pub struct ReuniteError<S: Stream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: Stream> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: Stream + fmt::Debug> std::error::Error for ReuniteError<S> {}

pub(crate) fn split<S: Stream>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf(stream), WriteHalf(stream))
}

pub(crate) fn into_split<S: Stream>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Arc::new(stream);
    (
        OwnedReadHalf(stream.clone()),
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        },
    )
}

impl<S: Stream> OwnedReadHalf<S> {
    /// Puts the stream back together.
    ///
    /// # Errors
    /// If `write` came from another stream; both halves come back.
    pub fn reunite(self, mut write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.0, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        let stream = write.stream.clone();
        drop((self, write));
        Ok(Arc::into_inner(stream).expect("both halves were given back"))
    }
}

impl<S: Stream> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.stream.shutdown_write();
        }
    }
}

/// `AsyncRead` (tokio's and futures-io's) and hyper's `Read`
/// (with `hyper`) for a read half whose stream is its field `$f`.
macro_rules! read_half {
    ($t:ty, $f:tt) => {
        impl<S: Stream> futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.$f.poll_read_priv(cx, buf)
            }
        }

        impl<S: Stream> tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                read_into_tokio_buf(buf, |b| self.$f.poll_read_uninit_priv(cx, b))
            }
        }

        #[cfg(feature = "hyper")]
        impl<S: Stream> hyper::rt::Read for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: hyper::rt::ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                read_into_hyper_cursor(buf, |b| self.$f.poll_read_uninit_priv(cx, b))
            }
        }
    };
}

/// `AsyncWrite` (tokio's and futures-io's) and hyper's `Write`
/// (with `hyper`) for a write half whose stream is its field `$f`; closing
/// shuts the write side down.
macro_rules! write_half {
    ($t:ty, $f:tt) => {
        impl<S: Stream> futures_io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.$f.poll_write_priv(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.$f.shutdown_write())
            }
        }

        impl<S: Stream> tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.$f.poll_write_priv(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.$f.shutdown_write())
            }
        }

        #[cfg(feature = "hyper")]
        impl<S: Stream> hyper::rt::Write for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.$f.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.$f.poll_write_vectored_priv(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.$f.shutdown_write())
            }
        }
    };
}

read_half!(ReadHalf<'_, S>, 0);
read_half!(OwnedReadHalf<S>, 0);
write_half!(WriteHalf<'_, S>, 0);
write_half!(OwnedWriteHalf<S>, stream);
