//! `TcpStream`: a TCP connection.
//!
//! Reads and writes go through the reactor: the reader and the writer each
//! have their own waker slot, so one task may read while another writes
//! (`split`, `into_split`). The byte-stream methods it shares with
//! `UnixStream` come from `net/stream.rs`.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use super::listener::no_addresses;
use super::socket::TcpSocket;
use crate::net::addr::ToSocketAddrs;
use crate::net::readiness::{readiness_methods, recv_read_buf, stream_try_methods};
use crate::net::stream::{stream_methods, stream_traits};
use crate::poll_evented::PollEvented;
use crate::scheduled_io::{self, Direction};

/// A TCP connection between a local and a remote socket.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// use weft_reactor::io::{AsyncReadExt, AsyncWriteExt};
/// use weft_reactor::net::TcpStream;
///
/// let mut stream = TcpStream::connect("127.0.0.1:8080").await?;
/// stream.write_all(b"hello").await?;
/// let mut reply = [0; 5];
/// stream.read_exact(&mut reply).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TcpStream {
    io: PollEvented<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each address it names in turn.
    ///
    /// # Errors
    /// `ConnectionRefused`, `TimedOut`, `AddrNotAvailable`, ... as the OS
    /// reports them; the last address's error if every one failed.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let addrs = addr.into_addrs().resolve().await?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.connect(addr).await
    }

    /// Waits for a non-blocking connect on `stream` to finish.
    pub(crate) async fn connected(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream {
            io: PollEvented::new(stream)?,
        };
        poll_fn(|cx| stream.io.poll_ready(cx, Direction::Write)).await?;
        if let Some(err) = stream.io.get_ref().take_error()? {
            return Err(err);
        }
        Ok(stream)
    }

    /// Takes over a connected `std` stream (made non-blocking here).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_nonblocking(stream)
    }

    /// Registers a stream that is already non-blocking.
    #[track_caller]
    /// A stream a listener just accepted: assumed readable and writable
    /// (see `ScheduledIo::assume_ready`), so its first read and write try
    /// the socket rather than wait a driver turn.
    pub(crate) fn from_accepted(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream::from_nonblocking(stream)?;
        (stream.io.registration()).assume_ready(scheduled_io::READABLE | scheduled_io::WRITABLE);
        Ok(stream)
    }

    pub(crate) fn from_nonblocking(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(stream)?,
        })
    }

    /// Hands the stream back as a `std` one (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner()
    }

    /// The local address of this connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The remote address of this connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    stream_methods!();
}

/// tokio's readiness, `try_*`, peeking and socket-option methods.
impl TcpStream {
    readiness_methods!(poll_read_ready, poll_write_ready);
    stream_try_methods!();

    /// Reads what is there without taking it off the stream; waits for
    /// data (`Ok(0)` at end of stream).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.peek(buf)).await
    }

    /// Polls to read what is there into `buf` without taking it off the
    /// stream; how many bytes came.
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| {
            recv_read_buf(s, buf, libc::MSG_PEEK)
        })
    }

    /// Takes the socket's pending error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// `SO_LINGER`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket2::SockRef::from(self.io.get_ref()).linger()
    }

    /// Sets `SO_LINGER`. With a non-zero time the close that drops this
    /// stream blocks the thread until the data is sent or the time is up:
    /// deprecated for that, as in tokio; [`set_zero_linger`](Self::set_zero_linger)
    /// (reset on close) does not block.
    #[deprecated = "`SO_LINGER` causes the socket to block the thread on drop"]
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(dur)
    }

    /// Sets `SO_LINGER` to zero: the close that drops this stream resets
    /// the connection (RST) instead of sending what is left.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(Some(Duration::ZERO))
    }

    /// `TCP_QUICKACK`.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    pub fn quickack(&self) -> io::Result<bool> {
        socket2::SockRef::from(self.io.get_ref()).tcp_quickack()
    }

    /// Sets `TCP_QUICKACK`: acknowledge at once rather than delay (the
    /// kernel may turn it off again).
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    pub fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_tcp_quickack(quickack)
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// [`TcpStream::from_std`].
    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}

impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

stream_traits!(TcpStream);
