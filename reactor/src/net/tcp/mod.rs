//! TCP: listeners, sockets to configure, and streams; and tokio's
//! `weft::net::tcp` paths for the halves of a split
//! [`TcpStream`](crate::net::TcpStream).

pub(crate) mod listener;
pub(crate) mod socket;
pub(crate) mod stream;

/// The read half of [`TcpStream::into_split`](crate::net::TcpStream::into_split).
pub type OwnedReadHalf = crate::net::OwnedReadHalf<crate::net::TcpStream>;
/// The write half of [`TcpStream::into_split`](crate::net::TcpStream::into_split):
/// dropping it shuts the write side down (unless [`forget`](crate::net::OwnedWriteHalf::forget)ten).
pub type OwnedWriteHalf = crate::net::OwnedWriteHalf<crate::net::TcpStream>;
/// The borrowed read half of [`TcpStream::split`](crate::net::TcpStream::split).
pub type ReadHalf<'a> = crate::net::ReadHalf<'a, crate::net::TcpStream>;
/// The borrowed write half of [`TcpStream::split`](crate::net::TcpStream::split).
pub type WriteHalf<'a> = crate::net::WriteHalf<'a, crate::net::TcpStream>;
/// Halves of two different streams, given back by `reunite`.
pub type ReuniteError = crate::net::ReuniteError<crate::net::TcpStream>;
