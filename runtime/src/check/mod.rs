//! `weft::check`: model checking of users' async code. A check runs a
//! body many times, each time on a deterministic one-thread runtime where
//! the checker makes every scheduling choice: which runnable task is polled
//! next, which branch a `select!` tries first, and so when a
//! `spawn_blocking` closure runs and completes relative to the tasks. Time
//! is a paused clock that jumps to the next timer when nothing can run.
//!
//! A schedule fails on a panic in any task (joined or not), a deadlock
//! (nothing runnable, no timer pending, tasks alive) or the step bound; the
//! report names the strategy, seed and a schedule string that
//! [`Builder::replay`] (or `WEFT_CHECK_REPLAY`) runs again exactly.
//!
//! The granularity is the await point: a task's poll runs to its next
//! `Pending` without interruption, so races inside one poll (between
//! threads, on atomics) are loom's job, not this module's.
//!
//! - `builder.rs`: the configuration and the loop over schedules,
//!   exhaustive search and shrinking;
//! - `exec.rs`: the executor one schedule runs on;
//! - `strategy.rs`: how choices are made (random, PCT, a given prefix);
//! - `schedule.rs`: the schedule string; `failure.rs`: the report;
//! - `quiet.rs`: panics inside a check run (silenced, recorded).

mod builder;
mod exec;
mod failure;
mod quiet;
mod schedule;
mod strategy;

pub use builder::{Builder, Report, REPLAY_ENV, SEED_ENV};
pub use failure::{Event, Failure, FailureKind, TaskInfo, Trace};
pub use schedule::ParseScheduleError;

pub(crate) use exec::Exec;

/// The checker's choice of a `select!`'s first branch among `n`, when a
/// check schedule runs on this thread.
pub(crate) fn choose(n: u32) -> Option<u32> {
    strategy::with_active(|decider| decider.choose_branch(n))
}

/// The error real I/O gets inside a check run.
pub(crate) fn real_io_refused() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::Unsupported, exec::REAL_IO)
}
