//! I/O utilities that need no runtime, re-exported as `weft::io`: the
//! `futures-io` traits and their extension traits, buffered readers and
//! writers, `copy`, `split`, and what `futures-util` lacks:
//! [`copy_bidirectional`] and [`duplex`], an in-memory pipe.
//!
//! Most of this module is a re-export of `futures-util`'s `io` module, on
//! purpose: weft's sockets implement the `futures-io` traits, `futures-util`
//! is the well-kept implementation of everything built on them, and its
//! users already know these names. Writing our own `BufReader` or
//! `AsyncReadExt` would give them a second, incompatible set of the same
//! types. What is written here is only what that crate does not have.
//!
//! Nothing here knows which executor polls it: the same code runs on weft,
//! under `futures::executor::block_on`, or anywhere else.
//!
//! [`Lines`] is a `futures_core::Stream`; [`StreamExt`] (futures-util's,
//! re-exported so that needs no other crate) takes its items with `next`.
//!
//! ```
//! use weft_reactor::io::{self, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
//!
//! # futures_executor::block_on(async {
//! let (mut client, server) = io::duplex(64);
//! client.write_all(b"hello\nworld\n").await?;
//! client.close().await?; // the server reads EOF after the two lines
//!
//! let mut server = BufReader::new(server);
//! let mut line = String::new();
//! server.read_line(&mut line).await?;
//! assert_eq!(line, "hello\n");
//! let mut rest = String::new();
//! server.read_to_string(&mut rest).await?;
//! assert_eq!(rest, "world\n");
//! # io::Result::Ok(()) }).unwrap();
//! ```

mod bidirectional;
mod duplex;

pub use crate::ready::{Interest, Ready};
/// Unix-only I/O: [`AsyncFd`](unix::AsyncFd), readiness for any descriptor.
#[cfg(unix)]
pub mod unix {
    pub use crate::async_fd::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdRegisterError, AsyncFdTryNewError,
        TryIoError,
    };
}
pub use bidirectional::copy_bidirectional;
pub use duplex::{duplex, DuplexStream};

pub use futures_util::io::{
    copy, copy_buf, empty, repeat, sink, AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt,
    AsyncSeek, AsyncSeekExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter, Cursor, Empty, Lines,
    ReadHalf, Repeat, ReuniteError, Sink, WriteHalf,
};
pub use futures_util::stream::StreamExt;
pub use std::io::{Error, ErrorKind, IoSlice, IoSliceMut, Result, SeekFrom};

/// Splits a reader-writer into a read half and a write half that two tasks
/// can use at once ([`AsyncReadExt::split`] as a function). The halves
/// share `stream` behind a small lock taken for each poll, never across an
/// `.await`; [`ReadHalf::reunite`] gives it back.
///
/// Sockets need no lock: for a [`TcpStream`](crate::net::TcpStream) or a
/// [`UnixStream`](crate::net::UnixStream) prefer their own `split` (borrowed
/// halves) or `into_split` (owned halves), which also close only the
/// write side when the write half is closed or dropped.
///
/// ```
/// use weft_reactor::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// # futures_executor::block_on(async {
/// let (left, mut right) = io::duplex(64);
/// let (mut reader, mut writer) = io::split(left);
/// let echo = async move {
///     let mut buf = [0u8; 4];
///     reader.read_exact(&mut buf).await?;
///     writer.write_all(&buf).await
/// };
/// let client = async move {
///     right.write_all(b"ping").await?;
///     let mut reply = [0u8; 4];
///     right.read_exact(&mut reply).await?;
///     assert_eq!(&reply, b"ping");
///     io::Result::Ok(())
/// };
/// let (echoed, replied) = futures_util::future::join(echo, client).await;
/// echoed?;
/// replied
/// # }).unwrap();
/// ```
pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    AsyncReadExt::split(stream)
}
