//! weft-reactor: the shared reactor of a runtime, I/O readiness, the
//! network types, re-exported as `weft::net`, and the I/O utilities that
//! need no runtime, re-exported as `weft::io`.
//!
//! One poller per runtime (weft's own epoll backend on Linux, the
//! `polling` crate elsewhere: [`IoBackend`]) and no reactor thread: the
//! worker that parks in the runtime's driver slot waits in the poller (with
//! the timeout of the next timer) and wakes the tasks whose sources became
//! ready ([`Driver`]). Sources register once, edge-triggered where the
//! platform allows, with a reader and a writer waker each; the slab key of
//! a registration carries a generation, so a late event for a closed source
//! never reaches the one that reused its slot.
//!
//! The crate knows nothing of the scheduler: the runtime makes its
//! [`Handle`] current on its threads and hands it a way to run blocking
//! work (host-name lookups).

#![warn(missing_docs)]

#[cfg(unix)]
mod async_fd;
mod context;
#[doc(hidden)]
pub mod coop;
mod driver;
pub mod io;
mod loom;
#[cfg(all(test, loom))]
mod loom_tests;
pub mod net;
mod poll_evented;
mod quiet;
mod scheduled_io;
mod sys;

#[cfg(unix)]
#[doc(hidden)]
pub use async_fd::AsyncFd;
#[doc(hidden)]
pub use context::EnterGuard;
#[doc(hidden)]
pub use driver::{Driver, Handle, SpawnBlocking};
pub use sys::{IoBackend, ParseIoBackendError};
