//! The send error of the channels whose senders outlive their receivers'
//! interest ([`broadcast`](crate::broadcast), [`watch`](crate::watch)).

use std::fmt;

/// Every receiver is gone; the value is handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: no receivers")
    }
}

impl<T> std::error::Error for SendError<T> {}
