//! weft-sync: runtime-agnostic async synchronisation primitives and channels.
//!
//! Every primitive here works under any executor (weft's, tokio's,
//! `futures::executor::block_on`) and allocates nothing per wait beyond what
//! the waiting future itself holds: waiters are nodes of intrusive lists
//! embedded in the pinned wait futures (the private `waiters` module).
//!
//! - Locks: [`Mutex`] (FIFO-fair), [`RwLock`] (fair, writers not starved),
//!   [`Semaphore`] (FIFO, batch acquires), [`Notify`], [`Barrier`].
//! - Channels: [`oneshot`], [`mpsc`] (bounded and unbounded), [`broadcast`],
//!   [`watch`].
//! - Cells: [`OnceCell`] (initialised once, by an async initialiser),
//!   [`SetOnce`] (set once, awaited).
//! - [`WorkQueue`]: an asyncio-style queue with `task_done` / `join`.
//!
//! Failures are error types with `Display` and `std::error::Error`: a send
//! on a closed channel hands the value back, a receive on a closed, drained
//! channel says closed, an acquire on a closed semaphore says closed.
//!
//! `mpsc::Sender::send_timeout` needs a timer: it is behind the `time`
//! feature (on in the `weft` facade), the one place weft-sync uses another
//! weft crate. Under another executor, race [`mpsc::Sender::reserve`], which
//! is cancel-safe and leaves the value with the caller, against that
//! executor's timer and then [`mpsc::Permit::send`].
//!
//! Waits spend the cooperative budget of a weft task (see the private
//! `budget` module), and the `blocking_*` methods (for synchronous code)
//! refuse to run on a thread that drives tasks. Error types live where
//! tokio's do: `mpsc::error`, `broadcast::error`, `oneshot::error`,
//! `watch::error`, and the lock and cell errors at this crate's root.
//!
//! Every wait future is cancel-safe: dropping it gives up its place, and a
//! permit or wakeup it was already handed is passed on to the next waiter.
//!
//! Unsafe code is confined to the waiter list (`waiters.rs`), the futures
//! that link themselves into it (`semaphore.rs`, `notify.rs`), the oneshot
//! cells (`oneshot.rs`), the set-once cells (`once_cell.rs`, `set_once.rs`),
//! the guards that reach lock-protected data (`mutex.rs`, `rwlock/`), and
//! the `Sync` of an mpsc receiver's private batch (`mpsc/chan.rs`); each
//! block states why it holds. Every atomic, cell and lock comes through
//! `weft_base::loom`, so the loom suite (`sync/tests/loom.rs`)
//! model-checks the protocols.

#![warn(missing_docs)]

mod waiters;

mod barrier;
mod blocking;
pub mod broadcast;
mod budget;
/// The named futures of the primitives, where tokio has them
/// (`weft::sync::futures::Notified`); the same types are at the crate root.
pub mod futures {
    pub use crate::notify::{Notified, OwnedNotified};
}
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod semaphore;
mod send_error;
mod set_once;
pub mod watch;
mod work_queue;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};
pub use work_queue::{QueueFull, WorkQueue};
