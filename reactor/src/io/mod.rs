//! Async I/O, re-exported as `weft::io`: tokio's I/O traits and utilities,
//! so code written against `tokio::io` ports by renaming; the in-memory
//! pipes and always-ready readers and writers, which spend weft's
//! cooperative budget; and, under [`futures`], the `futures-io` traits
//! with their extension traits for smol-ecosystem code.
//!
//! The traits are tokio's own ([`AsyncRead`] with [`ReadBuf`],
//! [`AsyncWrite`], [`AsyncBufRead`], [`AsyncSeek`]), taken from the tokio
//! crate with its runtime compiled out: they are the ecosystem's interface,
//! so tokio-util codecs, tokio-rustls or hyper-util's `TokioIo` take weft's
//! streams as they are. The utilities built on them (the extension traits,
//! [`BufReader`], [`BufWriter`], [`BufStream`], [`split`], [`join`]) are
//! tokio's runtime-free implementations, re-exported rather than written
//! again. What is written here is what must spend weft's budget: [`duplex`], [`simplex`],
//! [`empty`], [`repeat`] and [`sink`] are always ready, and an always-ready
//! operation that spends no budget can starve the other tasks on a worker;
//! the copies are tokio's, run over ends that spend it.
//!
//! Every weft I/O type (sockets and their halves, `fs::File`, the standard
//! streams, child pipes, the pipes here) implements both trait families.
//! Nothing here knows which executor polls it.
//!
//! ```
//! use weft_reactor::io::{self, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
//!
//! # futures_executor::block_on(async {
//! let (mut client, server) = io::duplex(64);
//! client.write_all(b"hello\nworld\n").await?;
//! client.shutdown().await?; // the server reads EOF after the two lines
//!
//! let mut lines = BufReader::new(server).lines();
//! assert_eq!(lines.next_line().await?.as_deref(), Some("hello"));
//! let mut rest = String::new();
//! lines.into_inner().read_to_string(&mut rest).await?;
//! assert_eq!(rest, "world\n");
//! # io::Result::Ok(()) }).unwrap();
//! ```

mod constant;
mod copy;
mod duplex;

pub use constant::{empty, repeat, sink, Empty, Repeat, Sink};
pub use copy::{copy, copy_bidirectional, copy_bidirectional_with_sizes, copy_buf};
pub use duplex::{duplex, simplex, DuplexStream, SimplexStream};

pub use crate::ready::{Interest, Ready};

/// Unix-only I/O: [`AsyncFd`](unix::AsyncFd), readiness for any descriptor.
#[cfg(unix)]
pub mod unix {
    pub use crate::async_fd::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, AsyncFdRegisterError, AsyncFdTryNewError,
        TryIoError,
    };
}

pub use std::io::{Error, ErrorKind, IoSlice, IoSliceMut, Result, SeekFrom};
pub use tokio::io::{
    join, split, AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt,
    AsyncWrite, AsyncWriteExt, BufReader, BufStream, BufWriter, Chain, Join, Lines, ReadBuf,
    ReadHalf, Split, Take, WriteHalf,
};

/// The `futures-io` side, for code written against the `futures` crate's
/// I/O (smol's ecosystem): the four traits, their extension traits and
/// futures-util's utilities over them. Every weft I/O type implements these
/// traits too; bring this module's extension traits into scope instead of
/// the top-level ones to use them.
///
/// ```
/// use weft_reactor::io::futures::{AsyncReadExt, AsyncWriteExt};
///
/// # futures_executor::block_on(async {
/// let (mut a, mut b) = weft_reactor::io::duplex(64);
/// a.write_all(b"ping").await?;
/// a.close().await?;
/// let mut got = Vec::new();
/// b.read_to_end(&mut got).await?;
/// assert_eq!(got, b"ping");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub mod futures {
    pub use futures_util::io::{
        copy, copy_buf, AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek,
        AsyncSeekExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter, Lines,
    };
}
