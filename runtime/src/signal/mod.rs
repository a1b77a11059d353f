//! Signals, delivered through the runtime's reactor: [`ctrl_c`], and on
//! Unix any signal as a stream ([`unix::signal`]).
//!
//! A handler installed with signal-hook-registry only sets a flag and
//! writes a byte to a self-pipe; each runtime that listens has the pipe's
//! read end registered with its reactor, and the reactor's wake-up of that
//! registration drains the pipe and wakes the listeners. No thread waits
//! for signals. `registry.rs` is the process-wide half (handlers, pipe,
//! per-signal generations), `driver.rs` the per-runtime half.

pub(crate) mod registry;
pub(crate) mod signal_driver;
pub mod unix;

use std::future::Future;
use std::io;

/// Completes at the next Ctrl-C (`SIGINT`) after this call.
///
/// The listener is set up when `ctrl_c()` is called, not when the future
/// is first polled, so a `SIGINT` that arrives in between is not missed.
/// As with [`unix::signal`], weft's handler then stays installed: later
/// Ctrl-Cs no longer terminate the process by default.
///
/// # Errors
/// The future fails if the handler cannot be installed.
///
/// # Panics
/// Outside a weft runtime.
///
/// ```no_run
/// # weft_runtime::run(async {
/// weft_runtime::signal::ctrl_c().await.unwrap();
/// println!("interrupted: shutting down");
/// # });
/// ```
#[track_caller]
pub fn ctrl_c() -> impl Future<Output = io::Result<()>> + Send + 'static {
    let listener = unix::signal(unix::SignalKind::interrupt());
    async move {
        match listener?.recv().await {
            Some(()) => Ok(()),
            None => Err(weft_base::gone::RuntimeGone::error(
                "the weft runtime that was listening for Ctrl-C has shut down",
            )),
        }
    }
}

pub(crate) use signal_driver::Slot;
