//! The cooperative budget: a task may make this many units of progress
//! (ready sockets, ready `JoinHandle`s, messages, permits, fired timers) per
//! poll; after that every budgeted operation returns `Pending` and wakes the
//! task, so a task that always finds its work ready still yields to the
//! others on its worker.
//!
//! The budget lives in the thread's [`context`](crate::context), below every
//! crate that spends it. The runtime sets a fresh budget around every task
//! poll; outside a budgeted poll (a plain thread, a foreign executor) the
//! budget is unlimited.

use std::cell::Cell;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use crate::context::{budget as current, set_budget as set};

/// Units of progress per task poll (tokio's number).
const INITIAL: u8 = 128;

/// What is left of this poll's budget; `None` is unlimited.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget(Option<u8>);

impl Budget {
    pub(crate) const UNLIMITED: Budget = Budget(None);
}

/// Runs `f` with a fresh budget, restoring the previous one afterwards.
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget(Some(INITIAL)), f)
}

/// Runs `f` with a budget of `units` (restoring the previous one
/// afterwards): `weft::check` runs a task poll so to preempt it at its
/// `units + 1`-th budgeted operation, as a parallel worker could.
#[doc(hidden)]
pub fn budget_of<R>(units: u8, f: impl FnOnce() -> R) -> R {
    with_budget(Budget(Some(units)), f)
}

/// Runs `f` with no budget (restoring the previous one afterwards): for
/// the runtime's own drivers, which run inside whatever poll woke them and
/// must not be told to yield.
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::UNLIMITED, f)
}

fn with_budget<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    struct Reset(Budget);
    impl Drop for Reset {
        fn drop(&mut self) {
            set(self.0);
        }
    }
    let _reset = Reset(current());
    set(budget);
    f()
}

/// Whether the running task may still make progress this poll.
#[inline]
pub fn has_budget_remaining() -> bool {
    !matches!(current(), Budget(Some(0)))
}

/// Spends one unit, or asks the task to yield when none is left. Dropping
/// the returned guard without `made_progress` refunds the unit.
///
/// Inlined into every budgeted operation (a channel receive, a lock, a
/// socket read): with the guard's `made_progress` and drop beside it, the
/// refund path folds away and what is left is one thread-local read and
/// one write.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    match try_proceed() {
        Some(unit) => Poll::Ready(unit),
        None => out_of_budget(cx),
    }
}

/// Spends one unit if one is left; `None`, asking nothing of the task,
/// when the budget is spent. For a fast path that leaves the spent case to
/// a slower one which then calls [`poll_proceed`] (a semaphore's lock-free
/// take, whose queued acquire yields for it).
#[inline]
pub fn try_proceed() -> Option<RestoreOnPending> {
    let budget = current();
    match budget.0 {
        None => Some(RestoreOnPending::new(None)),
        Some(0) => None,
        Some(n) => {
            set(Budget(Some(n - 1)));
            Some(RestoreOnPending::new(Some(budget)))
        }
    }
}

/// The budget is spent: the task is asked to run again later.
#[cold]
fn out_of_budget(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    FORCED_YIELDS.with(|n| n.set(n.get().wrapping_add(1)));
    cx.waker().wake_by_ref();
    Poll::Pending
}

crate::loom::thread_local! {
    /// Operations refused for want of budget on this thread since the last
    /// [`take_forced_yields`]: counted on the refusal's own cold path, so
    /// the budget's hot path pays nothing for the count.
    static FORCED_YIELDS: Cell<u64> = const { Cell::new(0) };
}

/// How many times a spent budget made an operation on this thread return
/// `Pending` (and so forced its task to yield) since the last call; resets
/// the count. A worker adds it to its metrics where it reads the clock
/// anyway (parking, its periodic maintenance), so the count lags by at
/// most that much.
pub fn take_forced_yields() -> u64 {
    FORCED_YIELDS.try_with(|n| n.replace(0)).unwrap_or(0)
}

/// One unit spent; given back on drop unless
/// [`made_progress`](Self::made_progress). Bound to its thread, like the
/// budget it restores.
#[must_use]
#[derive(Debug)]
pub struct RestoreOnPending(Cell<Option<Budget>>, PhantomData<*mut ()>);

impl RestoreOnPending {
    #[inline]
    fn new(budget: Option<Budget>) -> RestoreOnPending {
        RestoreOnPending(Cell::new(budget), PhantomData)
    }

    /// Keeps the unit spent: the operation made progress.
    #[inline]
    pub fn made_progress(&self) {
        self.0.set(None);
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        if let Some(budget) = self.0.get() {
            set(budget);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_budget_runs_out_and_an_unspent_unit_is_refunded() {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(poll_proceed(&mut cx).is_ready(), "unlimited outside a poll");
        budget(|| {
            for _ in 0..INITIAL {
                let Poll::Ready(unit) = poll_proceed(&mut cx) else {
                    panic!("budget ran out early");
                };
                unit.made_progress();
            }
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            unconstrained(|| assert!(poll_proceed(&mut cx).is_ready()));
            assert!(!has_budget_remaining(), "unconstrained restores the budget");
        });
        budget(|| {
            drop(poll_proceed(&mut cx));
            // Refunded: a whole budget's worth still passes.
            for _ in 0..INITIAL {
                let Poll::Ready(unit) = poll_proceed(&mut cx) else {
                    panic!("the refund was lost");
                };
                unit.made_progress();
            }
            assert!(!has_budget_remaining());
        });
    }
}
