//! `Timeout`: a future raced against a deadline.
//!
//! The inner future is polled first, so one that is ready at once wins even
//! with a deadline already past, and its Sleep never touches the wheel.
//! [`timeout`] reads the clock only when the future first stays pending:
//! most guard timeouts wrap futures that are ready at once, and for them
//! the clock read was the whole cost (smol's idiom, racing the future
//! against a `Timer` built inside a lazy block, reads nothing either).
//! Dropping a Timeout drops the future and cancels the timer.
//!
//! Invariant: `duration` is `Some` exactly while the clock has not been
//! read, and then `delay`'s deadline is not used.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use weft_base::coop;

use crate::error::Elapsed;
use crate::time_driver::TimeHandle;
use crate::{sleep_until, Instant, Sleep};

/// Runs `future` for at most `duration`: its output, or [`Elapsed`] if the
/// time runs out first (the future is then dropped).
///
/// The asyncio `wait_for` of weft. The time runs from the end of the first
/// poll that leaves the future pending: a Timeout built and awaited at once
/// (the usual `timeout(d, f).await`) has tokio's deadline; one built and
/// polled much later waits its full `duration` from then; one whose future
/// is ready at its first poll never reads the clock.
///
/// ```no_run
/// # async fn example() {
/// use std::time::Duration;
/// use weft_timer::timeout;
///
/// let slow = std::future::pending::<()>();
/// assert!(timeout(Duration::from_millis(10), slow).await.is_err());
/// assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// # }
/// ```
///
/// # Panics
/// When called outside a weft runtime.
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let handle = weft_base::context::expect_current::<TimeHandle>();
    let not_yet = handle.inner.clock.epoch();
    Timeout {
        value: future.into_future(),
        delay: Sleep::new(handle, Instant::from_std(not_yet)),
        duration: Some(duration),
    }
}

/// Runs `future` until `deadline` at most; see [`timeout`].
///
/// # Panics
/// When called outside a weft runtime.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: sleep_until(deadline),
        duration: None,
    }
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        delay: Sleep,
        // `timeout`'s duration until the clock is read (module invariant).
        duration: Option<Duration>,
    }
}

impl<F> Timeout<F> {
    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The inner future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// The inner future, without its deadline.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(out) = this.value.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if let Some(duration) = this.duration.take() {
            let deadline = this.delay.after(this.delay.now(), duration);
            this.delay.start_at(deadline);
        }
        let mut poll_delay = || {
            Pin::new(&mut *this.delay)
                .poll(cx)
                .map(|()| Err(Elapsed::new()))
        };
        if had_budget && !coop::has_budget_remaining() {
            // The inner future spent the budget: the deadline must still be
            // seen, or a future that is always ready would never time out.
            coop::unconstrained(poll_delay)
        } else {
            poll_delay()
        }
    }
}

impl<F: std::fmt::Debug> std::fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let deadline = self.duration.is_none().then(|| self.delay.deadline());
        f.debug_struct("Timeout")
            .field("value", &self.value)
            .field("deadline", &deadline)
            .finish()
    }
}
