//! weft-reactor: the shared reactor of a runtime, I/O readiness, the
//! network types, re-exported as `weft::net`, and the I/O utilities that
//! need no runtime, re-exported as `weft::io`.
//!
//! One poller per runtime (weft's own epoll backend on Linux, the
//! `polling` crate elsewhere: [`IoBackend`]) and no reactor thread: the
//! worker that parks in the runtime's driver slot waits in the poller (with
//! the timeout of the next timer) and wakes the tasks whose sources became
//! ready ([`IoDriver`]). Sources register once, edge-triggered where the
//! platform allows, with a reader and a writer waker each; the slab key of
//! a registration carries a generation, so a late event for a closed source
//! never reaches the one that reused its slot.
//!
//! The crate knows nothing of the scheduler: the runtime makes its
//! [`IoHandle`] current on its threads and hands it a way to run blocking
//! work (host-name lookups).

#![warn(missing_docs)]

#[cfg(unix)]
pub(crate) mod async_fd;
#[cfg(all(feature = "fault-injection", not(loom)))]
pub mod fault;
pub mod io;
mod io_driver;
#[cfg(all(test, loom))]
mod loom_tests;
pub mod net;
mod poll_evented;
mod quiet;
mod ready;
mod registration;
mod scheduled_io;
mod sys;

/// The same type as `io::unix::AsyncFd`, at the path weft's own crates
/// (child pipes, the signal pipe) have always used.
#[cfg(unix)]
#[doc(hidden)]
pub use async_fd::AsyncFd;
#[doc(hidden)]
pub use io_driver::{IoDriver, IoHandle, SpawnBlocking};
pub use sys::{IoBackend, ParseIoBackendError};
