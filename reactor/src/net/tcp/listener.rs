//! `TcpListener`: accepts TCP connections.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::stream::TcpStream;
use crate::net::addr::ToSocketAddrs;
use crate::poll_evented::PollEvented;
use crate::scheduled_io::Direction;

/// A TCP socket server, listening for connections.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// use weft_reactor::net::TcpListener;
///
/// let listener = TcpListener::bind("127.0.0.1:8080").await?;
/// loop {
///     let (stream, peer) = listener.accept().await?;
///     // hand `stream` to a task of its own
/// #   drop((stream, peer)); break;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TcpListener {
    io: PollEvented<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (trying each address it names in turn) and listens,
    /// with `SO_REUSEADDR` set as `std` does on Unix.
    ///
    /// # Errors
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, ... as the OS
    /// reports them; the last address's error if none could be bound.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let addrs = addr.into_addrs().resolve().await?;
        let mut last = None;
        for addr in addrs {
            match std::net::TcpListener::bind(addr).and_then(TcpListener::from_std) {
                Ok(listener) => return Ok(listener),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    /// Takes over a `std` listener (made non-blocking here).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollEvented::new(listener)?,
        })
    }

    /// Hands the listener back as a `std` one (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner()
    }

    /// Waits for a connection. Any number of tasks may wait at once; a
    /// connection wakes them all, and one of them takes it.
    ///
    /// # Errors
    /// What `accept(2)` reports, `EMFILE` (too many open files) included:
    /// the listener keeps working once descriptors are free again.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.io.io(Direction::Read, accept).await?;
        Ok((TcpStream::from_accepted(stream)?, peer))
    }

    /// Polls for a connection. Only the waker of the last call is woken;
    /// [`accept`](Self::accept) has no such limit.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) = std::task::ready!(self.io.poll_io(cx, Direction::Read, accept))?;
        Poll::Ready(TcpStream::from_accepted(stream).map(|s| (s, peer)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `IP_TTL` for sockets this listener accepts.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// [`TcpListener::from_std`].
    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }
}

impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

/// Accepts a connection, non-blocking from the start where the platform
/// allows (`accept4`), saving the `fcntl` that `from_std` would make.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn accept(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    #[cfg(all(feature = "fault-injection", not(loom)))]
    crate::fault::fail(crate::fault::Fault::AcceptTooManyFiles)?;
    let (socket, peer) =
        socket2::SockRef::from(listener).accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    let peer = peer
        .as_socket()
        .ok_or_else(|| io::Error::other("accepted a non-IP peer on a TCP listener"))?;
    Ok((socket.into(), peer))
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn accept(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    #[cfg(all(feature = "fault-injection", not(loom)))]
    crate::fault::fail(crate::fault::Fault::AcceptTooManyFiles)?;
    let (stream, peer) = listener.accept()?;
    stream.set_nonblocking(true)?;
    Ok((stream, peer))
}

pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}
