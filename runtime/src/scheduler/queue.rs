//! Run queues behind one small interface.
//!
//! Normally: a `crossbeam_deque::Worker` per worker (FIFO, so the owner and
//! the thieves both take the oldest task), its `Stealer`s scheduler by all, and
//! one `Injector` for tasks that come from outside the workers.
//!
//! Under `cfg(loom)`: the same operations on a loom-visible
//! `Mutex<VecDeque>`. crossbeam's atomics are invisible to loom, so modelling
//! through them would check nothing; this way loom checks *our* protocol
//! (wake, park, steal hand-off, shutdown) around the queues.
//!
//! Under `cfg(miri)` too: miri is there to check our unsafe task core, and
//! crossbeam-epoch's global collector (process-lifetime allocations, tagged
//! pointers) would otherwise force leak checking off for everything.

use crate::cell::Notified;

pub(crate) use imp::{local, Inject, Local, Steal};

#[cfg(not(any(loom, miri)))]
mod imp {
    use super::Notified;
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

    pub(crate) fn local() -> (Local, Steal) {
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
        pub(crate) fn new() -> Inject {
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

#[cfg(any(loom, miri))]
mod imp {
    use super::Notified;
    use std::collections::VecDeque;
    use std::sync::Arc;
    use weft_base::loom::Mutex;

    pub(crate) struct Local(Arc<Mutex<VecDeque<Notified>>>);
    pub(crate) struct Steal(Arc<Mutex<VecDeque<Notified>>>);
    pub(crate) struct Inject(Mutex<VecDeque<Notified>>);

    /// Moves the older half of `src` into `dest` and returns the first.
    fn steal_half(src: &Mutex<VecDeque<Notified>>, dest: &Local) -> Option<Notified> {
        let mut batch: VecDeque<Notified> = {
            let mut src = src.lock();
            let n = src.len().div_ceil(2);
            src.drain(..n).collect()
        };
        let first = batch.pop_front();
        dest.0.lock().extend(batch);
        first
    }

    pub(crate) fn local() -> (Local, Steal) {
        let q = Arc::new(Mutex::new(VecDeque::new()));
        (Local(q.clone()), Steal(q))
    }

    impl Local {
        pub(crate) fn push(&self, task: Notified) {
            self.0.lock().push_back(task);
        }
        pub(crate) fn pop(&self) -> Option<Notified> {
            self.0.lock().pop_front()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    impl Steal {
        pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
            steal_half(&self.0, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    impl Inject {
        pub(crate) fn new() -> Inject {
            Inject(Mutex::new(VecDeque::new()))
        }
        pub(crate) fn push(&self, task: Notified) {
            self.0.lock().push_back(task);
        }
        pub(crate) fn pop(&self) -> Option<Notified> {
            self.0.lock().pop_front()
        }
        pub(crate) fn steal_into(&self, dest: &Local) -> Option<Notified> {
            steal_half(&self.0, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }
}
