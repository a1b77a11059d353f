//! `Barrier`: `n` tasks wait until all `n` have arrived, then all go on.
//!
//! A mutex-guarded arrival count and generation, plus a [`Notify`] the last
//! arrival fires with `notify_waiters`. Invariant: a waiter registers its
//! `Notified` while holding the state lock, before the generation it waits
//! for can end, so the leader's `notify_waiters` always reaches it.

use std::fmt;
use std::pin::pin;

use crate::notify::Notify;
use weft_base::loom::Mutex;
use weft_base::wait::{SyncKind, WaitOn};

/// A reusable barrier for `n` tasks.
///
/// ```
/// use weft_sync::Barrier;
/// use futures::future::join;
///
/// let barrier = Barrier::new(2);
/// let (a, b) = futures::executor::block_on(join(barrier.wait(), barrier.wait()));
/// assert!(a.is_leader() != b.is_leader()); // exactly one leader
/// ```
pub struct Barrier {
    state: Mutex<BarrierState>,
    n: usize,
    notify: Notify,
}

struct BarrierState {
    arrived: usize,
    generation: u64,
}

/// What [`Barrier::wait`] returns: one task per generation is the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the last to arrive (one per generation).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks (`n = 0` behaves like `n = 1`).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            state: Mutex::new(BarrierState {
                arrived: 0,
                generation: 0,
            }),
            n: n.max(1),
            notify: Notify::new(),
        }
    }

    /// Waits until `n` tasks have called `wait`, then releases them all.
    ///
    /// Not cancel-safe in one respect, as with any barrier: a task that
    /// arrived and then dropped its future still counts as arrived.
    pub async fn wait(&self) -> BarrierWaitResult {
        let wait = WaitOn::sync(SyncKind::Barrier, self);
        let mut notified = pin!(self.notify.notified_noting(wait));
        let generation = {
            let mut state = self.state.lock();
            state.arrived += 1;
            if state.arrived == self.n {
                state.arrived = 0;
                state.generation += 1;
                drop(state);
                self.notify.notify_waiters();
                return BarrierWaitResult(true);
            }
            // Registered before the generation can end: the leader's
            // `notify_waiters` (after it takes this lock) reaches us.
            notified.as_mut().enable();
            state.generation
        };
        loop {
            notified.as_mut().await;
            if self.state.lock().generation != generation {
                return BarrierWaitResult(false);
            }
            notified.set(self.notify.notified_noting(wait));
            notified.as_mut().enable();
            if self.state.lock().generation != generation {
                return BarrierWaitResult(false);
            }
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}
