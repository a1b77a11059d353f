//! The process's standard streams as async handles, and the blocking
//! adapter they share with `fs::File`.
//!
//! [`stdin`], [`stdout`] and [`stderr`] run their blocking reads and writes
//! on the runtime's blocking pool, batched by one adapter (`pool_io.rs`)
//! that `fs::File` uses too.

pub(crate) mod pool_io;
mod stdio;

pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
