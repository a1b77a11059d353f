//! `Timeout`: a future raced against a deadline.
//!
//! The inner future is polled first, so one that is ready at once wins even
//! with a deadline already past, and its Sleep never touches the wheel.
//! The Sleep is made only when the future first stays pending: most guard
//! timeouts wrap futures that are ready at once, and for them a clock read
//! and a reference to the runtime's timers were the whole cost (smol's
//! idiom, racing the future against a `Timer` built inside a lazy block,
//! pays neither). So [`timeout`]'s time runs from that poll, and the
//! Sleep is on the timers of the runtime that polls it then.
//! Dropping a Timeout drops the future and cancels the timer.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use weft_base::coop;

use crate::error::Elapsed;
use crate::sleep::{has_timers, no_timers};
use crate::time_driver::TimeHandle;
use crate::trace::SleepTrace;
use crate::{Instant, Sleep};

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
#[inline]
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), Due::After(duration))
}

/// Runs `future` until `deadline` at most; see [`timeout`].
///
/// # Panics
/// When called outside a weft runtime.
#[inline]
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(future.into_future(), Due::At(deadline))
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        delay: Delay,
    }
}

/// A Timeout's timer: until the future first stays pending, when it will
/// be due (and the spans of the call that made the Timeout); then the
/// Sleep.
enum Delay {
    Unmade(Due, SleepTrace),
    Made(Sleep),
}

/// When an unmade Sleep will be due.
#[derive(Debug)]
enum Due {
    /// `duration` after the clock reading when it is made.
    After(Duration),
    At(Instant),
}

impl<F> Timeout<F> {
    #[inline]
    #[track_caller]
    fn new(value: F, due: Due) -> Timeout<F> {
        // As tokio's: a timeout made where there are no timers fails here,
        // not at some later poll.
        if !has_timers() {
            no_timers()
        }
        Timeout {
            value,
            delay: Delay::Unmade(due, SleepTrace::new()),
        }
    }

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

impl Delay {
    /// The Sleep, made on the current runtime's timers if not yet.
    fn sleep(&mut self) -> &mut Sleep {
        if let Delay::Unmade(due, trace) = self {
            let handle = weft_base::context::expect_current::<TimeHandle>();
            let deadline = match *due {
                Due::After(duration) => Instant::from_std(handle.inner.clock.deadline_in(duration)),
                Due::At(deadline) => deadline,
            };
            *self = Delay::Made(Sleep::with_trace(Some(handle), deadline, trace.take()));
        }
        match self {
            Delay::Made(sleep) => sleep,
            Delay::Unmade(..) => unreachable!("made above"),
        }
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
        let sleep = this.delay.sleep();
        let mut poll_delay = || Pin::new(&mut *sleep).poll(cx).map(|()| Err(Elapsed::new()));
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
        let mut out = f.debug_struct("Timeout");
        out.field("value", &self.value);
        match &self.delay {
            Delay::Unmade(due, _) => out.field("due", due),
            Delay::Made(sleep) => out.field("deadline", &sleep.deadline()),
        };
        out.finish()
    }
}
