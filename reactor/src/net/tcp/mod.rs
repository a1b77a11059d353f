//! TCP: listeners, sockets to configure, and streams.

pub(crate) mod listener;
pub(crate) mod socket;
pub(crate) mod stream;
