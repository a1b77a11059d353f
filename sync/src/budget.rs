//! The cooperative budget as weft-sync spends it (`weft_base::coop`).
//!
//! Every wait a task can find always ready (a receive, an acquire, a
//! `closed()`, a `Notified`) spends one unit of the task's budget when it
//! completes, and once the budget is used up returns `Pending` (waking the
//! task) without looking, so a task looping on it still yields to the
//! others on its worker. A wait that returns `Pending` gives its unit back.
//! Poll-shaped operations call `coop::poll_proceed` themselves; `async fn`
//! ones are wrapped in [`cooperative`]. Outside a runtime's task poll the
//! budget is unlimited, so under another executor none of this yields.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use weft_base::coop;

pin_project! {
    /// `future`, polled only while the task has budget, spending a unit when
    /// it completes. See [`cooperative`].
    pub(crate) struct Cooperative<F> {
        #[pin]
        future: F,
    }
}

/// Wraps `future` so that each poll first checks the task's budget (see the
/// module doc).
pub(crate) fn cooperative<F: Future>(future: F) -> Cooperative<F> {
    Cooperative { future }
}

impl<F: Future> Future for Cooperative<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let unit = ready!(coop::poll_proceed(cx));
        let out = ready!(self.project().future.poll(cx));
        unit.made_progress();
        Poll::Ready(out)
    }
}
