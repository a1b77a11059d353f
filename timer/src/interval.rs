//! `Interval`: ticks at a fixed period, with a choice of what to do about
//! ticks missed while the task was busy.
//!
//! It is one [`Sleep`] reset after each tick. A tick is *missed* when it is
//! noticed more than `MISSED_SLACK` after its deadline; the next deadline
//! then follows the interval's [`MissedTickBehavior`].

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::{sleep_until, Instant, Sleep};

/// How late a tick may be noticed and still count as on time (scheduling
/// jitter is not a missed tick).
const MISSED_SLACK: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first tick at once.
///
/// ```no_run
/// # async fn example() {
/// use std::time::Duration;
///
/// let mut every_second = weft_timer::interval(Duration::from_secs(1));
/// every_second.tick().await; // at once
/// every_second.tick().await; // one second later
/// # }
/// ```
///
/// # Panics
/// If `period` is zero, or when called outside a weft runtime.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero, or when called outside a weft runtime.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "weft::time::interval: the period must be non-zero"
    );
    Interval {
        delay: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed.
///
/// Say the period is 10 ms, ticks are due at 10, 20, 30, ... and the task
/// only gets to tick again at 35 (after the tick due at 10, the ones at 20
/// and 30 were missed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Ticks as fast as possible until caught up: 20 and 30 complete at once
    /// (at 35), then 40, 50, ... on schedule. The default, as in tokio.
    #[default]
    Burst,
    /// Starts the schedule over from now: the late tick completes at 35,
    /// then 45, 55, ...
    Delay,
    /// Skips the missed ticks and stays on the original grid: the late tick
    /// completes at 35, then 40, 50, ...
    Skip,
}

impl MissedTickBehavior {
    /// When the tick after one due at `due` and noticed at `now` is due, as
    /// a time and a wait from it.
    fn next(self, due: Instant, now: Instant, period: Duration) -> (Instant, Duration) {
        match self {
            MissedTickBehavior::Burst => (due, period),
            MissedTickBehavior::Delay => (now, period),
            MissedTickBehavior::Skip => {
                let behind = now.duration_since(due);
                let into_period = behind.as_nanos() % period.as_nanos();
                // `into_period < period`, so it fits in a Duration.
                (now, period - Duration::from_nanos(into_period as u64))
            }
        }
    }
}

/// Ticks at a fixed period; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due.
    ///
    /// Cancel-safe: dropping the future loses no tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; `Ready` with the instant it was due.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.delay.deadline();
        let now = self.delay.now();
        let (from, wait) = if now > self.delay.after(due, MISSED_SLACK) {
            self.missed_tick_behavior.next(due, now, self.period)
        } else {
            (due, self.period)
        };
        let next = self.delay.after(from, wait);
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(due)
    }

    /// Starts over: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_after(self.period);
    }

    /// Starts over: the next tick is now.
    pub fn reset_immediately(&mut self) {
        let now = self.delay.now();
        self.reset_at(now);
    }

    /// Starts over: the next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        let now = self.delay.now();
        let deadline = self.delay.after(now, after);
        self.reset_at(deadline);
    }

    /// Starts over: the next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}
