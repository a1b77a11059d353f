//! weft-runtime: task cells, the work-stealing scheduler, the blocking pool,
//! and `Runtime` / `Builder` / `Handle`.
//!
//! Most users reach this through the `weft` facade (`weft::spawn`,
//! `weft::runtime`, `weft::task`). The layout follows `DESIGN.md`: `task/`
//! is the unsafe core (one allocation per task, wakers that are the task),
//! `scheduler/` the workers, queues and idle/park protocol, `blocking/` the
//! blocking pool, and `loom.rs` the single door to synchronisation
//! primitives so that loom can model-check all of it. `fs/` (files and
//! directories) and `io/` (the standard streams) run on the blocking pool
//! through one batching adapter, `io/blocking.rs`.
//!
//! ```
//! let out = weft_runtime::run(async {
//!     let a = weft_runtime::spawn(async { 1 });
//!     let b = weft_runtime::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(out, 3);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod blocking;
mod context;
mod driver;
pub mod fs;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod io;
mod loom;
#[cfg(all(unix, not(loom)))]
pub mod process;
pub mod runtime;
mod scheduler;
#[cfg(all(unix, not(loom)))]
pub mod signal;
pub mod task;
mod threads;

pub use task::spawn;

use std::future::Future;

/// Builds a multi-thread runtime with the default configuration, runs
/// `future` to completion on it, and shuts it down: the `asyncio.run` of
/// weft.
///
/// # Panics
/// If the runtime cannot be built (the message says why), or when called
/// from inside a runtime.
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    match runtime::Builder::new_multi_thread().build() {
        Ok(rt) => rt.block_on(future),
        Err(err) => panic!("weft::run: failed to build the runtime: {err}"),
    }
}
