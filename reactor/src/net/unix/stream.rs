//! `UnixStream`: a connection on a Unix socket, with the byte-stream
//! methods it shares with `TcpStream` (`net/stream.rs`).

use std::future::poll_fn;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{SockAddr, Socket, Type};

use std::os::fd::AsFd as _;

use super::ucred::UCred;
use crate::net::readiness::{readiness_methods, stream_try_methods};
use crate::net::stream::{stream_methods, stream_traits};
use crate::poll_evented::PollEvented;
use crate::scheduled_io::{self, Direction};

/// A connected Unix stream socket.
#[derive(Debug)]
pub struct UnixStream {
    io: PollEvented<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`, without blocking the worker even
    /// when the listener's backlog is full.
    ///
    /// # Errors
    /// `NotFound` for no socket there, `ConnectionRefused` for nobody
    /// listening on it, and what else the OS reports.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        UnixStream::connect_socket(UnixStream::socket()?, SockAddr::unix(path)?).await
    }

    /// Connects to `addr` (a path, or on Linux an abstract name), as
    /// [`connect`](Self::connect) does.
    ///
    /// # Errors
    /// `InvalidInput` for an unnamed address, and as
    /// [`connect`](Self::connect).
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        let addr = super::socket::sock_addr(addr)?;
        UnixStream::connect_socket(UnixStream::socket()?, addr).await
    }

    /// A new non-blocking stream socket.
    fn socket() -> io::Result<Socket> {
        super::socket::new_socket(Type::STREAM)
    }

    /// Connects `socket` (a non-blocking stream socket) to `addr`.
    pub(crate) async fn connect_socket(
        mut socket: Socket,
        addr: SockAddr,
    ) -> io::Result<UnixStream> {
        match socket.connect(&addr) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
            // The listener's backlog is full (Linux): nothing is in
            // progress, and no event will say when there is room. A
            // blocking connect waits for it, on the blocking pool.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                socket = crate::net::lookup::on_blocking_pool(move || {
                    socket.set_nonblocking(false)?;
                    socket.connect(&addr)?;
                    socket.set_nonblocking(true)?;
                    Ok(socket)
                })
                .await?;
            }
            Err(err) => return Err(err),
        }
        let stream = UnixStream {
            io: PollEvented::new(std::os::unix::net::UnixStream::from(
                std::os::fd::OwnedFd::from(socket),
            ))?,
        };
        poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
        if let Some(err) = stream.io.get_ref().take_error()? {
            return Err(err);
        }
        Ok(stream)
    }

    /// A connected pair of streams (`socketpair(2)`).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        let pair = (UnixStream::from_std(a)?, UnixStream::from_std(b)?);
        // Connected and empty: writable, nothing to read yet (see
        // `ScheduledIo::assume_ready`).
        pair.0
            .io
            .registration()
            .assume_ready(scheduled_io::WRITABLE);
        pair.1
            .io
            .registration()
            .assume_ready(scheduled_io::WRITABLE);
        Ok(pair)
    }

    /// A stream a listener just accepted: assumed readable and writable
    /// (see `ScheduledIo::assume_ready`).
    #[track_caller]
    pub(crate) fn from_accepted(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        let stream = UnixStream::from_std(stream)?;
        (stream.io.registration()).assume_ready(scheduled_io::READABLE | scheduled_io::WRITABLE);
        Ok(stream)
    }

    /// Takes over a connected `std` stream (made non-blocking here).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: PollEvented::new(stream)?,
        })
    }

    /// Hands the stream back as a `std` one (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io.into_inner()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    stream_methods!();
}

/// tokio's readiness, `try_*` and credential methods.
impl UnixStream {
    readiness_methods!(poll_read_ready, poll_write_ready);
    stream_try_methods!();

    /// The credentials of the process at the other end.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        super::ucred::peer_cred(self.io.get_ref().as_fd())
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    /// [`UnixStream::from_std`].
    fn try_from(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}

impl std::os::fd::AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

stream_traits!(UnixStream);
