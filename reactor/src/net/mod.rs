//! Networking: TCP listeners and streams, with `futures_io` traits.

mod addr;
mod lookup;
mod tcp;

pub use addr::ToSocketAddrs;
pub use lookup::lookup_host;
pub use tcp::listener::TcpListener;
pub use tcp::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp::stream::TcpStream;
