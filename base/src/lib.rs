//! The floor under every weft crate: what the runtime, the reactor, the
//! timers and the sync primitives all stand on, and nothing else.
//!
//! - [`loom`]: the one door to atomics, cells, locks, condvars, threads and
//!   thread-locals: `std` / `parking_lot` normally, loom's model-checked
//!   versions under `--cfg loom`, `std`'s locks under miri. It also holds the
//!   `model` helper (under `--cfg loom`) every loom suite runs its models with.
//! - [`context`]: the one thread-local that says which runtime this thread is
//!   in: its scheduler, reactor and timer handles (each crate stores and finds
//!   its own), the task being polled, whether the thread drives tasks, and the
//!   cooperative budget.
//! - [`gone`]: the one error type for "the runtime this needed has shut
//!   down", so it is told apart by type rather than by message.
//! - [`coarse`]: a millisecond clock cheap enough to read on every poll,
//!   for the ages the task dump reports.
//! - [`wait`]: what a task waits on, noted by the weft future that returns
//!   `Pending`, for the task dump.
//! - [`holders`]: which task holds a lock, for the dump's deadlock hints.
//! - [`wake_list`]: wakers gathered under a lock, woken after it, without
//!   allocating or touching unfilled slots.
//! - [`coop`]: that budget: how much progress a task may make per poll
//!   before every budgeted operation (sockets, joins, channels, locks, timers)
//!   asks it to yield.
//!
//! Invariant: this crate knows no other weft crate. Each one above it names
//! its own handle type as a [`context::Service`]; the context only keeps the
//! slots.

#![warn(missing_docs)]

pub mod coarse;
pub mod context;
pub mod coop;
pub mod gone;
pub mod holders;
pub mod loom;
pub mod wait;
pub mod wake_list;
