//! `UnixListener`: accepts connections on a socket path.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{SockAddr, Type};
use std::task::{Context, Poll};

use super::stream::UnixStream;
use crate::poll_evented::PollEvented;
use crate::scheduled_io::Direction;

/// A Unix socket server, listening for connections on a path.
///
/// The path stays in the file system after the listener is dropped;
/// remove it before binding again.
#[derive(Debug)]
pub struct UnixListener {
    io: PollEvented<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` and listens. On Linux and Android a path that
    /// starts with a NUL byte names a socket in the abstract namespace.
    ///
    /// # Errors
    /// `AddrInUse` if the path exists, and what else the OS reports.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::listen_on(&SockAddr::unix(path)?)
    }

    /// Binds to `addr` (a path, or on Linux an abstract name) and listens.
    ///
    /// # Errors
    /// `AddrInUse` if the address is taken, `InvalidInput` for an unnamed
    /// address, and what else the OS reports.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        UnixListener::listen_on(&super::socket::sock_addr(addr)?)
    }

    /// A listener bound to `addr`, with a queue of 1024 pending
    /// connections (as tokio's).
    #[track_caller]
    fn listen_on(addr: &SockAddr) -> io::Result<UnixListener> {
        let socket = super::socket::new_socket(Type::STREAM)?;
        socket.bind(addr)?;
        socket.listen(1024)?;
        UnixListener::from_std(std::os::fd::OwnedFd::from(socket).into())
    }

    /// Takes over a `std` listener (made non-blocking here).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollEvented::new(listener)?,
        })
    }

    /// Hands the listener back as a `std` one (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.io.into_inner()
    }

    /// Waits for a connection. Any number of tasks may wait at once; a
    /// connection wakes them all, and one of them takes it.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.io.io(Direction::Read, accept).await?;
        Ok((UnixStream::from_accepted(stream)?, peer))
    }

    /// Polls for a connection. Only the waker of the last call is woken;
    /// [`accept`](Self::accept) has no such limit.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, peer) = std::task::ready!(self.io.poll_io(cx, Direction::Read, accept))?;
        Poll::Ready(UnixStream::from_accepted(stream).map(|s| (s, peer)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

/// One `accept(2)` on `listener` (non-blocking, as the listener is).
fn accept(
    listener: &std::os::unix::net::UnixListener,
) -> io::Result<(std::os::unix::net::UnixStream, SocketAddr)> {
    #[cfg(all(feature = "fault-injection", not(loom)))]
    crate::fault::fail(crate::fault::Fault::AcceptTooManyFiles)?;
    listener.accept()
}

impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    /// [`UnixListener::from_std`].
    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}

impl std::os::fd::AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for UnixListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
