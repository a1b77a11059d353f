//! Run queues behind one small interface.
//!
//! Normally: a `crossbeam_deque::Worker` per worker (FIFO, so the owner and
//! the thieves both take the oldest task), its `Stealer`s scheduler by all, and
//! one `Injector` for tasks that come from outside the workers.
//!
//! Under `cfg(loom)` and miri: the same operations on queues written on the
//! shim's atomics and locks ([`model`]), since crossbeam's atomics are
//! invisible to loom and crossbeam-epoch's global collector
//! (process-lifetime allocations, tagged pointers) would force miri's leak
//! checking off for everything.

pub(crate) use imp::{local, Inject, Local, Steal};
#[cfg(any(loom, miri))]
pub(crate) use model::QueueModel;

#[cfg(any(loom, miri))]
mod locked;
#[cfg(any(loom, miri))]
mod model;
#[cfg(any(loom, miri))]
use model as imp;
#[cfg(loom)]
mod ring;

#[cfg(not(any(loom, miri)))]
mod imp {
    use crate::cell::Notified;
    use crate::scheduler::config::Config;
    use crossbeam_deque::{Injector, Steal as Attempt, Stealer, Worker};

    /// Repeats a steal that lost a race until it succeeds or finds nothing.
    fn retry(mut attempt: impl FnMut() -> Attempt<Notified>) -> Option<Notified> {
        loop {
            match attempt() {
                Attempt::Success(task) => return Some(task),
                Attempt::Empty => return None,
                Attempt::Retry => std::hint::spin_loop(),
            }
        }
    }

    /// The owner's end of a worker queue.
    pub(crate) struct Local(Worker<Notified>);

    /// Another worker's way into a queue.
    pub(crate) struct Steal(Stealer<Notified>);

    /// The queue for tasks scheduled from outside the workers.
    pub(crate) struct Inject(Injector<Notified>);

    /// A worker's queue (the config chooses only under loom and miri).
    pub(crate) fn local(_: &Config) -> (Local, Steal) {
        let worker = Worker::new_fifo();
        let stealer = worker.stealer();
        (Local(worker), Steal(stealer))
    }

    impl Local {
        pub(crate) fn push(&self, task: Notified) {
            self.0.push(task);
        }

        pub(crate) fn pop(&self) -> Option<Notified> {
            self.0.pop()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    impl Steal {
        /// Moves about half of the victim's tasks into `dest` and returns one.
        pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
            retry(|| self.0.steal_batch_and_pop(&dest.0))
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// Tasks in the queue now (racy: the owner and thieves move on).
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    impl Inject {
        pub(crate) fn new(_: &Config) -> Inject {
            Inject(Injector::new())
        }

        pub(crate) fn push(&self, task: Notified) {
            self.0.push(task);
        }

        pub(crate) fn pop(&self) -> Option<Notified> {
            retry(|| self.0.steal())
        }

        /// Moves a batch into `dest` and returns one task.
        pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
            retry(|| self.0.steal_batch_and_pop(&dest.0))
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }
}
