//! The send error every channel shares ([`mpsc`](crate::mpsc),
//! [`broadcast`](crate::broadcast), [`watch`](crate::watch)): nobody can
//! receive any more, and the value comes back.

use std::fmt;

/// The receiving side is gone (dropped or closed); the value is handed
/// back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed")
    }
}

impl<T> std::error::Error for SendError<T> {}
