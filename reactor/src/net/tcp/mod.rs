//! TCP: listeners, streams and the halves a stream splits into.

pub(crate) mod listener;
pub(crate) mod socket;
pub(crate) mod split;
pub(crate) mod stream;
