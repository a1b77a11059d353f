//! Unix domain sockets: listeners, streams and datagram sockets on paths.

pub(crate) mod datagram;
pub(crate) mod listener;
pub(crate) mod stream;
