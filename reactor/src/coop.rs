//! The cooperative budget: a task may make this many units of progress
//! (ready sockets, ready `JoinHandle`s) per poll; after that every budgeted
//! operation returns `Pending` and wakes the task, so a task that always
//! finds its socket ready still yields to the others on its worker.
//!
//! It lives here, in the lowest crate whose operations spend it; the
//! runtime sets a fresh budget around every task poll and spends it on
//! joins. Outside a budgeted poll (a plain thread, a foreign executor) the
//! budget is unlimited.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Units of progress per task poll (tokio's number).
const INITIAL: u8 = 128;

#[derive(Clone, Copy, Debug)]
struct Budget(Option<u8>);

crate::loom::thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(Budget(None)) };
}

fn current() -> Budget {
    BUDGET.try_with(Cell::get).unwrap_or(Budget(None))
}

fn set(budget: Budget) {
    let _ = BUDGET.try_with(|cell| cell.set(budget));
}

/// Runs `f` with a fresh budget, restoring the previous one afterwards.
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget(Some(INITIAL)), f)
}

/// Runs `f` with no budget (restoring the previous one afterwards): for
/// the runtime's own drivers, which run inside whatever poll woke them and
/// must not be told to yield.
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget(None), f)
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
pub fn has_budget_remaining() -> bool {
    !matches!(current(), Budget(Some(0)))
}

/// Spends one unit, or asks the task to yield when none is left. Dropping
/// the returned guard without `made_progress` refunds the unit.
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let budget = current();
    match budget.0 {
        None => Poll::Ready(RestoreOnPending(None)),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            set(Budget(Some(n - 1)));
            Poll::Ready(RestoreOnPending(Some(budget)))
        }
    }
}

/// One unit spent; given back on drop unless
/// [`made_progress`](Self::made_progress).
#[must_use]
pub struct RestoreOnPending(Option<Budget>);

impl RestoreOnPending {
    /// Keeps the unit spent: the operation made progress.
    pub fn made_progress(mut self) {
        self.0 = None;
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(budget) = self.0 {
            set(budget);
        }
    }
}
