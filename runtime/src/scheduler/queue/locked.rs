//! Run queues as a `Mutex<VecDeque>` each, on the shim's lock: what miri
//! runs and what most loom models run. Loom interleaves a lock's
//! acquisition, not every index of a lock-free queue, so models over these
//! stay fast; the price is that the lock's acquire/release edges also order
//! what the scheduler's own fences should (the models that check those use
//! [`super::ring`]).

use crate::cell::Notified;
use std::collections::VecDeque;
use std::sync::Arc;
use weft_base::loom::Mutex;

/// The owner's end of a worker queue.
pub(crate) struct Local(Arc<Mutex<VecDeque<Notified>>>);
/// Another worker's way into a queue.
pub(crate) struct Steal(Arc<Mutex<VecDeque<Notified>>>);
/// The queue for tasks scheduled from outside the workers.
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
