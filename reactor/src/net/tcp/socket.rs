//! `TcpSocket`: a TCP socket not yet connected or listening, for the
//! options that must be set before (address reuse, buffer sizes, backlog).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use super::listener::TcpListener;
use super::stream::TcpStream;

/// A TCP socket to configure, then [`connect`](Self::connect) or
/// [`listen`](Self::listen) with.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// use weft_reactor::net::TcpSocket;
///
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.set_recv_buffer_size(1 << 20)?;
/// socket.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = socket.listen(4096)?;
/// # drop(listener); Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// An IPv4 socket.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// An IPv6 socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        // Non-blocking from the start where the platform allows: one
        // system call, not three.
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
        let inner = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        let inner = {
            let inner = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
            inner.set_nonblocking(true)?;
            inner
        };
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`: bind to an address still in `TIME_WAIT`.
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// `SO_REUSEADDR`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets listen on one port, the kernel
    /// spreads connections between them.
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuse)
    }

    /// `SO_REUSEPORT`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `SO_SNDBUF` (the kernel may round or double it).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// `SO_SNDBUF`.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(|n| n as u32)
    }

    /// Sets `SO_RCVBUF` (the kernel may round or double it).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// `SO_RCVBUF`.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(|n| n as u32)
    }

    /// Sets `TCP_NODELAY` for the connection to come.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Binds to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket address"))
    }

    /// Connects to `addr`.
    ///
    /// # Errors
    /// As [`TcpStream::connect`].
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(err) => return Err(err),
        }
        TcpStream::connected(self.inner.into()).await
    }

    /// Listens with a queue of `backlog` pending connections.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.inner.listen(backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::from_std(self.inner.into())
    }
}
