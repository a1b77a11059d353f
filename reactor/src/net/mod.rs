//! Networking: TCP listeners and streams (with `futures_io` traits) and UDP
//! sockets.

mod addr;
mod lookup;
mod tcp;
mod udp;

pub use addr::ToSocketAddrs;
pub use lookup::lookup_host;
pub use tcp::listener::TcpListener;
pub use tcp::socket::TcpSocket;
pub use tcp::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp::stream::TcpStream;
pub use udp::UdpSocket;
