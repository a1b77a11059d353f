//! The cooperative budget: a task may make this many units of progress
//! (e.g. ready `JoinHandle`s) per poll; after that every budgeted operation
//! returns `Pending` and wakes the task, so a task that always finds work
//! ready still yields to the others on its worker.

use std::task::{Context, Poll};

use crate::context;

/// Units of progress per task poll (tokio's number).
const INITIAL: u8 = 128;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget(Option<u8>);

impl Budget {
    pub(crate) const fn unconstrained() -> Budget {
        Budget(None)
    }
}

/// Runs `f` with a fresh budget, restoring the previous one afterwards.
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(Budget);
    impl Drop for Reset {
        fn drop(&mut self) {
            context::set_budget(self.0);
        }
    }
    let _reset = Reset(context::budget());
    context::set_budget(Budget(Some(INITIAL)));
    f()
}

pub(crate) fn has_budget_remaining() -> bool {
    !matches!(context::budget(), Budget(Some(0)))
}

/// Spends one unit, or asks the task to yield when none is left. Dropping
/// the returned guard without `made_progress` refunds the unit.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let budget = context::budget();
    match budget.0 {
        None => Poll::Ready(RestoreOnPending(None)),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            context::set_budget(Budget(Some(n - 1)));
            Poll::Ready(RestoreOnPending(Some(budget)))
        }
    }
}

pub(crate) struct RestoreOnPending(Option<Budget>);

impl RestoreOnPending {
    pub(crate) fn made_progress(mut self) {
        self.0 = None;
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(budget) = self.0 {
            context::set_budget(budget);
        }
    }
}
