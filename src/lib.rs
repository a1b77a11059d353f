//! weft: a multi-threaded, work-stealing async runtime.
//!
//! Per-core worker threads run tasks and steal from each other; a blocking
//! pool runs the code that must block. This crate is the facade: one
//! coherent API over the `weft-*` crates.
//!
//! ```
//! #[weft::main(flavor = "multi_thread", worker_threads = 2)]
//! async fn main() {
//!     let mut set = weft::task::JoinSet::new();
//!     for i in 0..4u32 {
//!         set.spawn(async move { i * 10 });
//!     }
//!     let mut total = 0;
//!     while let Some(res) = set.join_next().await {
//!         total += res.unwrap();
//!     }
//!     assert_eq!(total, 60);
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use weft_runtime::{pin, run, runtime, spawn, task, task_local};

/// Model checking of your own async code: run a body under many
/// schedules (random, PCT, or every one within a preemption bound), each
/// on a deterministic one-thread runtime where the checker makes every
/// scheduling choice; a failure (a panic in any task, a deadlock, a
/// livelock) is reported with a schedule string that replays it exactly.
/// See `docs/checking.md`.
///
/// ```
/// use std::sync::Arc;
///
/// let failure = weft::check::Builder::new()
///     .schedules(1_000)
///     .check(|| async {
///         // Check-then-act across an await: a lost update.
///         let balance = Arc::new(weft::sync::Mutex::new(100));
///         let withdraw = |balance: Arc<weft::sync::Mutex<i32>>| async move {
///             let seen = *balance.lock().await;
///             weft::task::yield_now().await;
///             if seen >= 60 {
///                 *balance.lock().await -= 60;
///             }
///         };
///         let a = weft::spawn(withdraw(balance.clone()));
///         let b = weft::spawn(withdraw(balance.clone()));
///         let _ = weft::join!(a, b);
///         assert!(*balance.lock().await >= 0, "overdrawn");
///     })
///     .unwrap_err();
/// assert!(failure.to_string().contains("overdrawn"));
/// ```
///
/// Not built under `--cfg loom`, where thread-level checking with loom
/// takes its place (`docs/checking.md`).
#[cfg(not(loom))]
pub use weft_runtime::check;

/// Time: `sleep`, `timeout` (asyncio's `wait_for`), `interval`, `Instant`,
/// and a clock that tests can pause and advance.
pub use weft_timer as time;

/// Async synchronisation primitives and channels, runtime-agnostic:
/// `Mutex`, `RwLock`, `Semaphore`, `Notify`, `Barrier`, `WorkQueue`,
/// `oneshot`, `mpsc`, `broadcast`, `watch`.
pub use weft_sync as sync;

pub use weft_reactor::net;

/// Files and directories, async (the `aiofiles` of weft): `File` with
/// batched reads and writes, `OpenOptions`, `read_dir`, and one-hop
/// functions such as `read`, `write`, `copy`, `rename`, `metadata`.
pub use weft_runtime::fs;

/// Async I/O: the `futures-io` traits (`AsyncRead`, `AsyncWrite`, ...) and
/// their extension traits (`read_to_end`, `read_line`, `write_all`, ...),
/// `BufReader`, `BufWriter`, `copy`, `split`, `copy_bidirectional`, and
/// `duplex`, an in-memory pipe for tests (all runtime-agnostic), and the
/// process's `stdin` / `stdout` / `stderr` (on the blocking pool).
///
/// ```
/// use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
/// use weft::net::{TcpListener, TcpStream};
///
/// #[weft::main]
/// async fn main() -> weft::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     client.write_all(b"first line\nsecond line\n").await?;
///     drop(client);
///
///     let (server, _) = listener.accept().await?;
///     let mut reader = BufReader::new(server);
///     let mut line = String::new();
///     let mut count = 0;
///     while reader.read_line(&mut line).await? > 0 {
///         count += 1;
///     }
///     assert_eq!((count, line.as_str()), (2, "first line\nsecond line\n"));
///     Ok(())
/// }
/// ```
pub mod io {
    pub use weft_reactor::io::*;
    pub use weft_runtime::io::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
}

/// Child processes: `Command` spawns a `Child` whose piped streams and
/// exit are driven by the runtime's reactor (no thread per child, no
/// zombies).
#[cfg(all(unix, not(loom)))]
pub use weft_runtime::process;

/// Signals through the runtime's reactor: `ctrl_c()`, and on Unix any
/// signal as a stream (`signal::unix::signal`).
#[cfg(all(unix, not(loom)))]
pub use weft_runtime::signal;

#[cfg(feature = "hyper")]
pub mod hyper;

/// Fault injection (feature `fault-injection`): arm failures of the
/// runtime's system calls ([`fault::Fault`]) for the next `n` times they
/// are made, to test that a program survives them. See the guide's
/// section on testing.
#[cfg(all(feature = "fault-injection", not(loom)))]
pub use weft_reactor::fault;

#[cfg(feature = "macros")]
pub use weft_macros::{check, main, test};

#[cfg(feature = "macros")]
pub use weft_runtime::{join, select, try_join};

/// `docs/guide.md`, compiled: every snippet in the guide is a doctest.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
pub struct Guide;
