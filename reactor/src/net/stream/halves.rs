//! tokio's inherent methods on the halves of a TCP or Unix stream
//! (`peer_addr`, `ready`, `try_read`, `peek`, `forget`, `reunite` from
//! either half, ...), kept apart from the halves' I/O traits in
//! `stream.rs`. Each delegates to the stream the half shares.

use std::io;

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, Stream, WriteHalf};
use crate::io::{Interest, Ready};

impl<S: Stream> OwnedWriteHalf<S> {
    /// Puts the stream back together (as [`OwnedReadHalf::reunite`]).
    ///
    /// # Errors
    /// If `read` came from another stream; both halves come back.
    pub fn reunite(self, read: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        read.reunite(self)
    }

    /// Drops this half without shutting the write side down: the peer
    /// reads no EOF until the whole stream closes.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl<S: Stream> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.0
    }
}

impl<S: Stream> AsRef<S> for OwnedWriteHalf<S> {
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: Stream> AsRef<S> for ReadHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

impl<S: Stream> AsRef<S> for WriteHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}

/// The methods each half of a `$stream` has: `$addr` is its address type.
macro_rules! half_methods {
    ($stream:ty, $addr:ty) => {
        half_methods!(@common OwnedReadHalf<$stream>, $addr);
        half_methods!(@common OwnedWriteHalf<$stream>, $addr);
        half_methods!(@common ReadHalf<'_, $stream>, $addr);
        half_methods!(@common WriteHalf<'_, $stream>, $addr);
        half_methods!(@read OwnedReadHalf<$stream>);
        half_methods!(@read ReadHalf<'_, $stream>);
        half_methods!(@write OwnedWriteHalf<$stream>);
        half_methods!(@write WriteHalf<'_, $stream>);
    };
    (@common $half:ty, $addr:ty) => {
        impl $half {
            /// The remote address of the stream.
            pub fn peer_addr(&self) -> io::Result<$addr> {
                self.as_ref().peer_addr()
            }

            /// The local address of the stream.
            pub fn local_addr(&self) -> io::Result<$addr> {
                self.as_ref().local_addr()
            }

            /// Waits for any of `interest` on the stream (as the stream's
            /// `ready`).
            pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
                self.as_ref().ready(interest).await
            }
        }
    };
    (@read $half:ty) => {
        impl $half {
            /// Waits until a read may make progress.
            pub async fn readable(&self) -> io::Result<()> {
                self.as_ref().ready(Interest::READABLE).await.map(drop)
            }

            /// Reads without waiting; `WouldBlock` if nothing is there.
            pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.as_ref().try_read(buf)
            }

            /// Reads into `bufs` without waiting.
            pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
                self.as_ref().try_read_vectored(bufs)
            }

            /// Reads into the spare capacity of `buf` without waiting.
            pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
                self.as_ref().try_read_buf(buf)
            }
        }
    };
    (@write $half:ty) => {
        impl $half {
            /// Waits until a write may make progress.
            pub async fn writable(&self) -> io::Result<()> {
                self.as_ref().ready(Interest::WRITABLE).await.map(drop)
            }

            /// Writes without waiting; `WouldBlock` if the send buffer is
            /// full.
            pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                self.as_ref().try_write(buf)
            }

            /// Writes from `bufs` without waiting.
            pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.as_ref().try_write_vectored(bufs)
            }
        }
    };
}

half_methods!(crate::net::TcpStream, std::net::SocketAddr);
#[cfg(unix)]
half_methods!(crate::net::UnixStream, std::os::unix::net::SocketAddr);

/// Peeking, which only TCP has.
macro_rules! peek_methods {
    ($half:ty) => {
        impl $half {
            /// Reads what is there without taking it off the stream.
            pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.as_ref().peek(buf).await
            }

            /// Polls to read what is there into `buf` without taking it off
            /// the stream.
            pub fn poll_peek(
                &mut self,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<io::Result<usize>> {
                self.as_ref().poll_peek(cx, buf)
            }
        }
    };
}

peek_methods!(OwnedReadHalf<crate::net::TcpStream>);
peek_methods!(ReadHalf<'_, crate::net::TcpStream>);
