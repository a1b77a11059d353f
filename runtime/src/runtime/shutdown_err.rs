//! `is_rt_shutdown_err`: telling "the runtime is gone" apart from every
//! other I/O error. Every place in weft that fails I/O because its runtime
//! has shut down builds the error from `weft_base::gone::RuntimeGone`, so
//! it is recognised by that type, not by its message.

use std::io;

/// True when `err` says the operation failed because its runtime has shut
/// down (say, `accept` on a listener made on a runtime since dropped), as
/// opposed to an error of the operation itself.
///
/// ```
/// let err = std::io::Error::other("connection reset");
/// assert!(!weft_runtime::runtime::is_rt_shutdown_err(&err));
/// ```
pub fn is_rt_shutdown_err(err: &io::Error) -> bool {
    weft_base::gone::RuntimeGone::is(err)
}
