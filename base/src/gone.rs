//! The error of an operation whose runtime has shut down.
//!
//! Every weft crate builds that `io::Error` from [`RuntimeGone`], so
//! `weft::runtime::is_rt_shutdown_err` recognises it by its type, whatever
//! its message says (and an error that only quotes such a message is not
//! mistaken for one).

use std::error::Error;
use std::fmt;
use std::io;

/// The cause of an `io::Error` (kind `Other`) from an operation that needed
/// a runtime which has shut down; the message says which.
#[derive(Debug)]
pub struct RuntimeGone(&'static str);

impl RuntimeGone {
    /// The `io::Error` to return: kind `Other`, this as its cause.
    pub fn error(message: &'static str) -> io::Error {
        io::Error::other(RuntimeGone(message))
    }

    /// Whether `err` was made by [`error`](Self::error).
    pub fn is(err: &io::Error) -> bool {
        err.get_ref().is_some_and(|inner| inner.is::<RuntimeGone>())
    }
}

impl fmt::Display for RuntimeGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Error for RuntimeGone {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognised_by_type_not_by_message() {
        let gone = RuntimeGone::error("the weft runtime has shut down");
        assert!(RuntimeGone::is(&gone));
        assert_eq!(gone.kind(), io::ErrorKind::Other);
        assert_eq!(gone.to_string(), "the weft runtime has shut down");
        let quoted = io::Error::other("the weft runtime has shut down");
        assert!(!RuntimeGone::is(&quoted));
        assert!(!RuntimeGone::is(&io::Error::from(io::ErrorKind::Other)));
    }
}
