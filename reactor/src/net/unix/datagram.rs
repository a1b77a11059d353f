//! `UnixDatagram`: datagrams on Unix socket paths.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::ReadBuf;

use crate::io::Interest;
use crate::net::readiness::{readiness_methods, recv_buf, recv_read_buf};
use crate::poll_evented::PollEvented;
use crate::scheduled_io::{self, Direction};

/// A Unix datagram socket. Methods take `&self`: one task may receive while
/// another sends.
#[derive(Debug)]
pub struct UnixDatagram {
    io: PollEvented<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to `path` (on Linux and Android, a path that starts
    /// with a NUL byte names a socket in the abstract namespace).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let socket = super::socket::new_socket(socket2::Type::DGRAM)?;
        socket.bind(&socket2::SockAddr::unix(path)?)?;
        UnixDatagram::from_std(std::os::fd::OwnedFd::from(socket).into())
    }

    /// A socket bound to no path (it can send, and receive once connected).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of sockets.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        let pair = (UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?);
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

    /// Takes over a `std` socket (made non-blocking here).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: PollEvented::new(socket)?,
        })
    }

    /// Hands the socket back as a `std` one (still non-blocking).
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.io.into_inner()
    }

    /// Sends to and receives from `path` only.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends `buf` to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// Sends `buf` to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.io(Direction::Write, |s| s.send_to(buf, path)).await
    }

    /// Receives one datagram and its sender's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}

/// tokio's readiness, `try_*`, `poll_*` and `BufMut` methods.
impl UnixDatagram {
    readiness_methods!(poll_recv_ready, poll_send_ready);

    /// Waits until a receive may make progress.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Waits until a send may make progress.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Sends to the connected peer without waiting; `WouldBlock` if the
    /// send buffer is full.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Sends `buf` to the socket at `path` without waiting.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, path))
    }

    /// Polls to send `buf` to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Polls to send `buf` to the socket at `path`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        path: impl AsRef<Path>,
    ) -> Poll<io::Result<usize>> {
        let path = path.as_ref();
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, path))
    }

    /// Receives from the connected peer without waiting; `WouldBlock` if
    /// no datagram is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Receives one datagram and its sender's address without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Polls to receive one datagram from the connected peer into `buf`.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.io
            .poll_io(cx, Direction::Read, |s| recv_read_buf(s, buf, 0))
            .map_ok(drop)
    }

    /// Polls to receive one datagram into `buf`; its sender's address.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.io.poll_io(cx, Direction::Read, |s| {
            let (n, from) = s.recv_from(buf.initialize_unfilled())?;
            buf.advance(n);
            Ok(from)
        })
    }

    /// Receives one datagram from the connected peer into the spare
    /// capacity of `buf` (advancing it), without waiting.
    pub fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| recv_buf(s, buf, 0))
    }

    /// Receives one datagram from the connected peer into the spare
    /// capacity of `buf` (advancing it).
    pub async fn recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| recv_buf(s, buf, 0)).await
    }

    /// Receives one datagram into the spare capacity of `buf` (advancing
    /// it), and its sender's address, without waiting.
    pub fn try_recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        self.io
            .try_io(Direction::Read, |s| recv_path_buf_from(s, buf))
    }

    /// Receives one datagram into the spare capacity of `buf` (advancing
    /// it), and its sender's address.
    pub async fn recv_buf_from<B: BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        self.io
            .io(Direction::Read, |s| recv_path_buf_from(s, buf))
            .await
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the receiving side, the sending side or both.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

/// `recvfrom(2)` into the spare capacity of `buf` (zeroed first: std's
/// call, which gives the sender as a Unix address, takes initialised
/// bytes), advancing it.
fn recv_path_buf_from(
    s: &std::os::unix::net::UnixDatagram,
    buf: &mut impl BufMut,
) -> io::Result<(usize, SocketAddr)> {
    let chunk = buf.chunk_mut();
    let (ptr, len) = (chunk.as_mut_ptr(), chunk.len());
    // SAFETY: `chunk_mut` hands out `len` bytes valid for writes while
    // `buf` is borrowed; they are zeroed first, so the slice over them is
    // initialised.
    let spare = unsafe {
        std::ptr::write_bytes(ptr, 0, len);
        std::slice::from_raw_parts_mut(ptr, len)
    };
    let (n, from) = s.recv_from(spare)?;
    // SAFETY: all `len >= n` bytes were initialised above.
    unsafe { buf.advance_mut(n) };
    Ok((n, from))
}

impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    /// [`UnixDatagram::from_std`].
    fn try_from(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(socket)
    }
}

impl std::os::fd::AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for UnixDatagram {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
