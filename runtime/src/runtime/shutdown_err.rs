//! `is_rt_shutdown_err`: telling "the runtime is gone" apart from every
//! other I/O error.
//!
//! weft's I/O reports a shut-down runtime as `ErrorKind::Other` with one of
//! the messages below and no source. The messages are matched whole, so an
//! error that only quotes one (with a prefix or a suffix) is not mistaken
//! for it. Invariant: every place in weft that fails I/O because its
//! runtime has shut down uses one of these messages verbatim.

use std::io;

/// The message of I/O on a runtime that has shut down, from this crate.
pub(crate) const RUNTIME_SHUT_DOWN: &str = "the weft runtime has shut down";

/// Every message weft gives an I/O error caused by a shut-down runtime:
/// this crate's, the reactor's (a socket whose runtime is gone), the
/// signal listener's and the child process's.
const SHUTDOWN_MESSAGES: [&str; 4] = [
    RUNTIME_SHUT_DOWN,
    "the weft runtime this I/O source belongs to has shut down",
    "the weft runtime that was listening for Ctrl-C has shut down",
    "the weft runtime this child was spawned on has shut down",
];

/// True when `err` says the operation failed because its runtime has shut
/// down (say, `accept` on a listener made on a runtime since dropped), as
/// opposed to an error of the operation itself.
///
/// ```
/// let err = std::io::Error::other("connection reset");
/// assert!(!weft_runtime::runtime::is_rt_shutdown_err(&err));
/// ```
pub fn is_rt_shutdown_err(err: &io::Error) -> bool {
    let Some(inner) = err.get_ref() else {
        return false;
    };
    err.kind() == io::ErrorKind::Other
        && inner.source().is_none()
        && SHUTDOWN_MESSAGES.contains(&inner.to_string().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_message_counts() {
        for message in SHUTDOWN_MESSAGES {
            assert!(is_rt_shutdown_err(&io::Error::other(message)));
            assert!(!is_rt_shutdown_err(&io::Error::other(format!(
                "x {message}"
            ))));
            assert!(!is_rt_shutdown_err(&io::Error::new(
                io::ErrorKind::NotFound,
                message
            )));
        }
        assert!(!is_rt_shutdown_err(&io::Error::from(io::ErrorKind::Other)));
    }
}
