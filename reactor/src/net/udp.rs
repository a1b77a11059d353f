//! `UdpSocket`: datagrams over the reactor.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::addr::ToSocketAddrs;
use super::tcp::listener::no_addresses;
use crate::poll_evented::PollEvented;
use crate::scheduled_io::Direction;

/// A UDP socket.
///
/// Unconnected, it sends to and receives from anyone (`send_to`,
/// `recv_from`); after [`connect`](Self::connect), only to and from that
/// peer (`send`, `recv`). Methods take `&self`: one task may receive while
/// another sends (an `Arc<UdpSocket>` shares it).
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// use weft_reactor::net::UdpSocket;
///
/// let socket = UdpSocket::bind("127.0.0.1:0").await?;
/// socket.send_to(b"ping", "127.0.0.1:9000").await?;
/// let mut buf = [0; 1500];
/// let (n, from) = socket.recv_from(&mut buf).await?;
/// # let _ = (n, from); Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    io: PollEvented<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (trying each address it names in turn).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let addrs = addr.into_addrs().resolve().await?;
        let mut last = None;
        for addr in addrs {
            match std::net::UdpSocket::bind(addr).and_then(UdpSocket::from_std) {
                Ok(socket) => return Ok(socket),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    /// Takes over a `std` socket (made non-blocking here).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: PollEvented::new(socket)?,
        })
    }

    /// Hands the socket back as a `std` one (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_inner()
    }

    /// Sends to and receives from `addr` only (its first address that
    /// works).
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addrs = addr.into_addrs().resolve().await?;
        let mut last = None;
        for addr in addrs {
            match self.io.get_ref().connect(addr) {
                Ok(()) => return Ok(()),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sends `buf` to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer (truncated to `buf`).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// Sends `buf` to `target`.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let addrs = target.into_addrs().resolve().await?;
        let target = *addrs.first().ok_or_else(no_addresses)?;
        self.io
            .io(Direction::Write, |s| s.send_to(buf, target))
            .await
    }

    /// Receives one datagram and its sender's address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// Receives a copy of the next datagram without taking it off the
    /// queue, and its sender's address.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.peek_from(buf)).await
    }

    /// Polls to receive one datagram and its sender's address.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Polls to send `buf` to `target`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Waits until a receive may make progress.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Read)).await
    }

    /// Waits until a send may make progress.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.io.poll_ready(cx, Direction::Write)).await
    }

    /// Receives without waiting; `WouldBlock` if no datagram is queued.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Sends without waiting; `WouldBlock` if the send buffer is full.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl std::os::fd::AsFd for UdpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
