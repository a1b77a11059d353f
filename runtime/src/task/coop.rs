//! Cooperative scheduling, as code calls it: each task poll has a budget of
//! units of progress, spent by weft's own resources (sockets, channels,
//! locks, timers, `JoinHandle`s); once it is spent they return `Pending`
//! and wake the task, so a task that always finds its work ready still
//! yields to the others on its worker.
//!
//! This module is how code outside weft takes part: [`consume_budget`] in
//! a loop that finds its work ready without awaiting a weft resource,
//! [`cooperative`] around a future to make it spend a unit per poll,
//! [`poll_proceed`] in a hand-written `poll`, and [`unconstrained`] to opt
//! a future out. The budget itself lives in `weft_base::coop`.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

pub use weft_base::coop::{has_budget_remaining, poll_proceed, RestoreOnPending};

/// Spends one unit of the task's budget, yielding first if it is spent.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut sum = 0u64;
/// for i in 0..10_000u64 {
///     // A busy loop with no await of its own still lets other tasks run.
///     weft_runtime::task::consume_budget().await;
///     sum += i;
/// }
/// assert_eq!(sum, 49_995_000);
/// # });
/// ```
pub async fn consume_budget() {
    let mut spent = false;
    std::future::poll_fn(move |cx| {
        if spent {
            return Poll::Ready(());
        }
        let restore = ready!(poll_proceed(cx));
        restore.made_progress();
        spent = true;
        Poll::Ready(())
    })
    .await
}

pin_project! {
    /// A future that runs without a budget; see [`unconstrained`].
    #[must_use = "Unconstrained does nothing unless polled"]
    #[derive(Debug)]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        weft_base::coop::unconstrained(|| inner.poll(cx))
    }
}

/// Runs `inner` outside the cooperative budget: weft's resources it awaits
/// never make it yield. A task that loops on such a future can starve the
/// other tasks of its worker, so keep it to code that yields by itself.
pub fn unconstrained<F>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

pin_project! {
    /// A future that spends a unit of budget per poll; see [`cooperative`].
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Coop<F: Future> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Coop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let restore = ready!(poll_proceed(cx));
        let out = self.project().fut.poll(cx);
        if out.is_ready() {
            restore.made_progress();
        }
        out
    }
}

/// Makes `fut` take part in the budget: each poll spends a unit (given back
/// if the poll is `Pending`), and a spent budget makes it yield.
pub fn cooperative<F: Future>(fut: F) -> Coop<F> {
    Coop { fut }
}
