//! The broadcast channel's errors: a send with no receiver left hands the
//! value back; a receive says closed, or how many messages it missed.

use std::fmt;

pub use crate::send_error::SendError;

/// Why [`Receiver::recv`](super::Receiver::recv) returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and every message was received.
    Closed,
    /// The receiver fell behind: this many messages were overwritten
    /// before it could see them. The next receive resumes at the oldest one
    /// still held.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("channel closed"),
            RecvError::Lagged(n) => write!(f, "receiver lagged by {n} messages"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing new now.
    Empty,
    /// Every sender is gone and every message was received.
    Closed,
    /// The receiver fell behind by this many messages (see
    /// [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Closed => f.write_str("channel closed"),
            TryRecvError::Lagged(n) => write!(f, "receiver lagged by {n} messages"),
        }
    }
}

impl std::error::Error for TryRecvError {}
