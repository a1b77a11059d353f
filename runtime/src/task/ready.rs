//! A ready list: which members of a group (a `JoinSet`'s tasks, a
//! `join_all`'s futures) asked to be polled again, so that the group polls
//! those and not every member on every wake-up.
//!
//! Each member has a waker of its own, made once, that queues the member's
//! index and wakes whoever polls the group. An index already queued is not
//! queued again, so the queue never outgrows the group and each wake-up
//! costs at most one poll. The queue, the queued flags and the group's
//! waker sit under one lock.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::task::{Wake, Waker};

use weft_base::loom::{Mutex, MutexGuard};

pub(crate) struct ReadyList {
    inner: Mutex<Inner>,
}

struct Inner {
    queue: VecDeque<usize>,
    /// `queued[i]`: `i` is in `queue`.
    queued: Vec<bool>,
    /// Who polls the group, woken when the queue gains an index.
    waiter: Option<Waker>,
}

/// Member `index`'s waker.
struct MemberWaker {
    index: usize,
    list: Arc<ReadyList>,
}

impl Wake for MemberWaker {
    fn wake(self: Arc<Self>) {
        self.list.schedule(self.index);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.list.schedule(self.index);
    }
}

impl ReadyList {
    pub(crate) fn new() -> Arc<ReadyList> {
        Arc::new(ReadyList {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                queued: Vec::new(),
                waiter: None,
            }),
        })
    }

    /// A waker that schedules member `index`; make one per member and keep
    /// it (a member's later occupants can reuse it).
    pub(crate) fn waker(self: &Arc<Self>, index: usize) -> Waker {
        Waker::from(Arc::new(MemberWaker {
            index,
            list: self.clone(),
        }))
    }

    /// Queues member `index` unless it is queued already, and wakes the
    /// group's poller.
    pub(crate) fn schedule(&self, index: usize) {
        let waiter = {
            let mut inner = self.inner.lock();
            if inner.queued.len() <= index {
                inner.queued.resize(index + 1, false);
            }
            if inner.queued[index] {
                return;
            }
            inner.queued[index] = true;
            inner.queue.push_back(index);
            inner.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }

    /// Calls `poll_member` with each index queued when called, unqueuing it
    /// first (so that a wake-up during the poll queues it again), until
    /// `poll_member` breaks. Indices queued meanwhile wait for the next
    /// call, so a member that keeps waking itself cannot keep the caller
    /// here: when some are left, `waiter` is woken so that the group is
    /// polled again; when none are, `waiter` is kept to be woken by the
    /// next `schedule`. A `None` waiter only drains.
    pub(crate) fn drain<B>(
        &self,
        waiter: Option<&Waker>,
        mut poll_member: impl FnMut(usize) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let mut budget = self.inner.lock().queue.len();
        loop {
            let index = {
                let mut inner = self.inner.lock();
                match inner.queue.front().copied() {
                    Some(index) if budget > 0 => {
                        inner.queue.pop_front();
                        inner.queued[index] = false;
                        index
                    }
                    _ => {
                        Self::wait(inner, waiter);
                        return ControlFlow::Continue(());
                    }
                }
            };
            budget -= 1;
            poll_member(index)?;
        }
    }

    /// The end of `drain` without a break: keep `waiter` for the next
    /// `schedule`, or wake it now if indices are left.
    ///
    /// A waker it replaces is dropped after the lock is released: dropping
    /// a waker runs arbitrary code (it may drive a runtime that completes a
    /// member, whose wake-up takes this lock).
    fn wait(mut inner: MutexGuard<'_, Inner>, waiter: Option<&Waker>) {
        let Some(waiter) = waiter else { return };
        if inner.queue.is_empty() {
            let replaced = match &inner.waiter {
                Some(old) if old.will_wake(waiter) => None,
                _ => inner.waiter.replace(waiter.clone()),
            };
            drop(inner);
            drop(replaced);
        } else {
            drop(inner);
            waiter.wake_by_ref();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use weft_base::loom::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn drained(list: &ReadyList, waiter: &Waker) -> Vec<usize> {
        let mut seen = Vec::new();
        let flow: ControlFlow<()> = list.drain(Some(waiter), |index| {
            seen.push(index);
            ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        seen
    }

    #[test]
    fn a_member_woken_twice_is_polled_once() {
        let list = ReadyList::new();
        let wakers: Vec<Waker> = (0..3).map(|i| list.waker(i)).collect();
        wakers[2].wake_by_ref();
        wakers[0].wake_by_ref();
        wakers[2].wake_by_ref();
        let waiter = Waker::from(Arc::new(CountWakes::default()));
        assert_eq!(drained(&list, &waiter), [2, 0]);
        assert_eq!(drained(&list, &waiter), Vec::<usize>::new());
    }

    #[test]
    fn a_parked_poller_is_woken_by_the_next_schedule() {
        let list = ReadyList::new();
        let count = Arc::new(CountWakes::default());
        let waiter = Waker::from(count.clone());
        assert!(drained(&list, &waiter).is_empty());
        list.waker(5).wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(drained(&list, &waiter), [5]);
    }

    #[test]
    fn a_member_that_wakes_itself_waits_for_the_next_drain() {
        let list = ReadyList::new();
        let member = list.waker(0);
        member.wake_by_ref();
        let count = Arc::new(CountWakes::default());
        let waiter = Waker::from(count.clone());
        let mut polls = 0;
        let flow: ControlFlow<()> = list.drain(Some(&waiter), |_| {
            polls += 1;
            member.wake_by_ref(); // yield_now-style
            ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        assert_eq!(polls, 1);
        // Left queued, so the poller was asked to come back.
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(drained(&list, &waiter), [0]);
    }

    #[test]
    fn a_break_stops_the_drain_and_keeps_the_rest_queued() {
        let list = ReadyList::new();
        (0..4).for_each(|i| list.schedule(i));
        let waiter = Waker::from(Arc::new(CountWakes::default()));
        let flow = list.drain(Some(&waiter), |index| {
            if index == 1 {
                ControlFlow::Break(index)
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(flow, ControlFlow::Break(1));
        assert_eq!(drained(&list, &waiter), [2, 3]);
    }
}
