//! `UnixSocket`: a Unix socket not yet bound, listening, connected or used
//! for datagrams, for binding a stream socket to a path before it connects
//! (tokio 1.54's type). Its kind, stream or datagram, is fixed at birth; the
//! calls that need the other kind fail with an error, never a panic.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, RawFd};
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

use super::datagram::UnixDatagram;
use super::listener::UnixListener;
use super::stream::UnixStream;

/// A Unix socket to configure, then turn into a [`UnixListener`]
/// ([`listen`](Self::listen)), a [`UnixStream`] ([`connect`](Self::connect))
/// or a [`UnixDatagram`] ([`datagram`](Self::datagram)).
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// use weft_reactor::net::UnixSocket;
///
/// let socket = UnixSocket::new_stream()?;
/// socket.bind("/tmp/client.sock")?;
/// let stream = socket.connect("/tmp/server.sock").await?;
/// # drop(stream); Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UnixSocket {
    inner: Socket,
}

impl UnixSocket {
    /// A datagram socket (`SOCK_DGRAM`).
    pub fn new_datagram() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::DGRAM)
    }

    /// A stream socket (`SOCK_STREAM`).
    pub fn new_stream() -> io::Result<UnixSocket> {
        UnixSocket::new(Type::STREAM)
    }

    fn new(ty: Type) -> io::Result<UnixSocket> {
        Ok(UnixSocket {
            inner: new_socket(ty)?,
        })
    }

    fn is_datagram(&self) -> io::Result<bool> {
        Ok(self.inner.r#type()? == Type::DGRAM)
    }

    /// Binds to `path`.
    ///
    /// # Errors
    /// `AddrInUse` if the path exists, and what else the OS reports.
    pub fn bind(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.bind(&SockAddr::unix(path)?)
    }

    /// Listens with a queue of `backlog` pending connections.
    ///
    /// # Errors
    /// On a datagram socket, and what the OS reports.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn listen(self, backlog: u32) -> io::Result<UnixListener> {
        if self.is_datagram()? {
            return Err(io::Error::other(
                "listen cannot be called on a datagram socket",
            ));
        }
        self.inner
            .listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        UnixListener::from_std(std::os::fd::OwnedFd::from(self.inner).into())
    }

    /// Connects to the socket at `path`, as [`UnixStream::connect`] does.
    ///
    /// # Errors
    /// On a datagram socket, and as [`UnixStream::connect`].
    pub async fn connect(self, path: impl AsRef<Path>) -> io::Result<UnixStream> {
        if self.is_datagram()? {
            return Err(io::Error::other(
                "connect cannot be called on a datagram socket",
            ));
        }
        UnixStream::connect_socket(self.inner, SockAddr::unix(path)?).await
    }

    /// The socket as a [`UnixDatagram`].
    ///
    /// # Errors
    /// On a stream socket.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn datagram(self) -> io::Result<UnixDatagram> {
        if !self.is_datagram()? {
            return Err(io::Error::other(
                "datagram cannot be called on a stream socket",
            ));
        }
        UnixDatagram::from_std(std::os::fd::OwnedFd::from(self.inner).into())
    }
}

impl AsRawFd for UnixSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for UnixSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl FromRawFd for UnixSocket {
    /// Takes over `fd`, a Unix socket.
    ///
    /// # Safety
    /// `fd` must be an open socket that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> UnixSocket {
        // SAFETY: passed on from our caller.
        let inner = unsafe { Socket::from_raw_fd(fd) };
        UnixSocket { inner }
    }
}

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

/// A new non-blocking Unix socket of type `ty`: one system call where the
/// platform allows, not three.
pub(crate) fn new_socket(ty: Type) -> io::Result<Socket> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let socket = Socket::new(Domain::UNIX, ty.nonblocking(), None)?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let socket = {
        let socket = Socket::new(Domain::UNIX, ty, None)?;
        socket.set_nonblocking(true)?;
        socket
    };
    Ok(socket)
}

/// `addr` as socket2 takes it: its path, or on Linux and Android its
/// abstract name; an unnamed address names nothing to bind or connect to.
pub(crate) fn sock_addr(addr: &std::os::unix::net::SocketAddr) -> io::Result<SockAddr> {
    if let Some(path) = addr.as_pathname() {
        return SockAddr::unix(path);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;
        if let Some(name) = addr.as_abstract_name() {
            // socket2 reads a leading NUL as the abstract namespace.
            let mut bytes = Vec::with_capacity(name.len() + 1);
            bytes.push(0);
            bytes.extend_from_slice(name);
            return SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "an unnamed Unix socket address names nothing to connect to",
    ))
}
