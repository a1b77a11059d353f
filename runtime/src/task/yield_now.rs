//! `yield_now`: let the other tasks run.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to the scheduler: every task that is runnable on this worker
/// now, including those this task has just woken, runs before it resumes
/// (it waits until the worker's queue is empty, or at most 61 scheduler
/// ticks).
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// for _ in 0..3 {
///     weft_runtime::task::yield_now().await;
/// }
/// # });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Woken while running, the task is queued again at the back when
        // this poll ends (see `harness::poll`).
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
