//! The run queues under loom and miri: [`locked`] ones, or under loom, when
//! a model asks (`Builder::loom_lock_free_queues`), [`ring`] ones whose
//! orderings are crossbeam's. One runtime's queues are all of one kind,
//! fixed when it is built.

use super::locked;
#[cfg(loom)]
use super::ring;
use crate::cell::Notified;
use crate::scheduler::config::Config;

/// Which queues a runtime built under loom or miri gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum QueueModel {
    /// A `Mutex<VecDeque>` per queue: fast to model, but its lock orders
    /// more than crossbeam's queues do.
    #[default]
    Locked,
    /// Lock-free rings with crossbeam's orderings (loom only).
    #[cfg(loom)]
    LockFree,
}

/// Calls `$op` on whichever kind of queue `$queue` is; with a `$dest`
/// (a worker queue to steal into), on the pair, which are of one kind.
macro_rules! either {
    ($queue:expr, $q:ident => $op:expr) => {
        match $queue {
            Self::Locked($q) => $op,
            #[cfg(loom)]
            Self::Ring($q) => $op,
        }
    };
    ($queue:expr, $dest:expr, $q:ident, $d:ident => $op:expr) => {
        match ($queue, $dest) {
            (Self::Locked($q), Local::Locked($d)) => $op,
            #[cfg(loom)]
            (Self::Ring($q), Local::Ring($d)) => $op,
            #[cfg(loom)]
            _ => mixed(),
        }
    };
}

/// The owner's end of a worker queue.
pub(crate) enum Local {
    Locked(locked::Local),
    #[cfg(loom)]
    Ring(ring::Local),
}

/// Another worker's way into a queue.
pub(crate) enum Steal {
    Locked(locked::Steal),
    #[cfg(loom)]
    Ring(ring::Steal),
}

/// The queue for tasks scheduled from outside the workers.
pub(crate) enum Inject {
    Locked(locked::Inject),
    #[cfg(loom)]
    Ring(ring::Inject),
}

/// A worker's queue, of the kind `config` asks for.
pub(crate) fn local(config: &Config) -> (Local, Steal) {
    match config.queues {
        QueueModel::Locked => {
            let (local, steal) = locked::local();
            (Local::Locked(local), Steal::Locked(steal))
        }
        #[cfg(loom)]
        QueueModel::LockFree => {
            let (local, steal) = ring::local();
            (Local::Ring(local), Steal::Ring(steal))
        }
    }
}

/// A runtime's queues are all of one kind: a steal between two kinds is a
/// bug in how the scheduler was built.
#[cfg(loom)]
fn mixed() -> ! {
    unreachable!("a runtime's run queues are all of one kind")
}

impl Local {
    pub(crate) fn push(&self, task: Notified) {
        either!(self, q => q.push(task))
    }

    pub(crate) fn pop(&self) -> Option<Notified> {
        either!(self, q => q.pop())
    }

    pub(crate) fn is_empty(&self) -> bool {
        either!(self, q => q.is_empty())
    }

    pub(crate) fn len(&self) -> usize {
        either!(self, q => q.len())
    }
}

impl Steal {
    /// Moves about half of the victim's tasks into `dest` and returns one.
    pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
        either!(self, dest, q, d => q.steal_into(d))
    }

    pub(crate) fn is_empty(&self) -> bool {
        either!(self, q => q.is_empty())
    }

    pub(crate) fn len(&self) -> usize {
        either!(self, q => q.len())
    }
}

impl Inject {
    pub(crate) fn new(config: &Config) -> Inject {
        match config.queues {
            QueueModel::Locked => Inject::Locked(locked::Inject::new()),
            #[cfg(loom)]
            QueueModel::LockFree => Inject::Ring(ring::Inject::new()),
        }
    }

    pub(crate) fn push(&self, task: Notified) {
        either!(self, q => q.push(task))
    }

    pub(crate) fn pop(&self) -> Option<Notified> {
        either!(self, q => q.pop())
    }

    /// Moves a batch into `dest` and returns one task.
    pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
        either!(self, dest, q, d => q.steal_into(d))
    }

    pub(crate) fn is_empty(&self) -> bool {
        either!(self, q => q.is_empty())
    }

    pub(crate) fn len(&self) -> usize {
        either!(self, q => q.len())
    }
}
