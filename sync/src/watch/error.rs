//! The watch channel's errors: a send with no receiver left hands the value
//! back; a receive fails once the sender is gone with nothing new.

use std::fmt;

pub use crate::send_error::SendError;

/// The sender is gone and there is no change left to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError(pub(crate) ());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: the sender was dropped")
    }
}

impl std::error::Error for RecvError {}
