//! Unix domain sockets: listeners, streams and datagram sockets on paths,
//! sockets to bind before they connect,
//! and tokio's `weft::net::unix` paths for their parts: the halves of a
//! split [`UnixStream`](crate::net::UnixStream), its peer's [`UCred`], and
//! [`SocketAddr`]; and [`pipe`]: anonymous pipes and FIFOs.

pub(crate) mod datagram;
pub(crate) mod listener;
pub mod pipe;
pub(crate) mod socket;
pub(crate) mod stream;
mod ucred;

pub use std::os::unix::net::SocketAddr;
pub use ucred::UCred;

/// The read half of [`UnixStream::into_split`](crate::net::UnixStream::into_split).
pub type OwnedReadHalf = crate::net::OwnedReadHalf<crate::net::UnixStream>;
/// The write half of [`UnixStream::into_split`](crate::net::UnixStream::into_split):
/// dropping it shuts the write side down.
pub type OwnedWriteHalf = crate::net::OwnedWriteHalf<crate::net::UnixStream>;
/// The borrowed read half of [`UnixStream::split`](crate::net::UnixStream::split).
pub type ReadHalf<'a> = crate::net::ReadHalf<'a, crate::net::UnixStream>;
/// The borrowed write half of [`UnixStream::split`](crate::net::UnixStream::split).
pub type WriteHalf<'a> = crate::net::WriteHalf<'a, crate::net::UnixStream>;
/// Halves of two different streams, given back by `reunite`.
pub type ReuniteError = crate::net::ReuniteError<crate::net::UnixStream>;
