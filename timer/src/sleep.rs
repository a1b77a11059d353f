//! `Sleep`: a future that completes once the runtime clock reaches its
//! deadline.
//!
//! Creating a Sleep only reads the clock: it takes no reference to the
//! runtime's timers until its first poll (or `now` / `after`), which takes
//! the current runtime's. So a Sleep made and dropped unpolled (a guard
//! timer that never ran) costs a clock read and nothing shared, and a Sleep
//! runs on the timers of the runtime that first polls it: the one it was
//! made in, in every ordinary use. Its first pending poll puts the
//! task's waker in the wheel; a later poll by the same task with the entry
//! still pending touches nothing shared. Moving the deadline later is a plain
//! store: the entry fires at the old time, the task polls, finds the deadline
//! ahead and re-registers (one extra wake-up per move, not one lock per
//! move). Moving it earlier moves the entry at once, so it fires on time
//! even if the task does not poll again first. A pending poll notes the
//! deadline (in the timer clock's milliseconds, rounded up) for the task
//! dump (`weft_base::wait`).
//!
//! Invariant: `entry` is `Some` only while `handle` is (the entry is in
//! that handle's wheel).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use weft_base::context::Service;

use crate::clock::TICKS_PER_MS;
use crate::time_driver::{Entry, TimeHandle};
use crate::trace::SleepTrace;
use crate::Instant;

/// Waits until `duration` has passed on the runtime clock.
///
/// The asyncio `await asyncio.sleep(d)` of weft. A duration past the
/// runtime clock's end of time (about 34.8 years after the runtime started;
/// `Duration::MAX`) ends there, as tokio's ends in its "far future": in real
/// time never, and on a paused clock when it jumps that far.
///
/// ```no_run
/// # async fn example() {
/// use std::time::Duration;
///
/// weft_timer::sleep(Duration::from_millis(100)).await;
/// # }
/// ```
///
/// # Panics
/// When called outside a weft runtime (the message says how to get one).
#[inline]
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = weft_base::context::with_current::<TimeHandle, _>(|timers| {
        timers.map(|timers| timers.clock.deadline_in(duration))
    });
    let Some(deadline) = deadline else {
        no_timers()
    };
    Sleep::new(None, Instant::from_std(deadline))
}

/// Waits until the runtime clock reaches `deadline`.
///
/// # Panics
/// When called outside a weft runtime.
#[inline]
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    if !has_timers() {
        no_timers()
    }
    Sleep::new(None, deadline)
}

/// Whether this thread has a current runtime with timers.
#[inline]
pub(crate) fn has_timers() -> bool {
    weft_base::context::with_current::<TimeHandle, _>(|timers| timers.is_some())
}

/// Panics as tokio does where a timer is made with no runtime about.
#[cold]
#[track_caller]
pub(crate) fn no_timers() -> ! {
    panic!("{}", <TimeHandle as Service>::MISSING)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It is `Unpin`: `select!` on `&mut sleep` needs no pinning.
/// [`reset`](Self::reset) takes `Pin<&mut Self>`, as tokio's does, so code
/// that pins a `Sleep` resets it the same way on both.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// The timers it runs on, from its first poll on (module doc).
    handle: Option<TimeHandle>,
    deadline: Instant,
    entry: Option<Entry>,
    /// Set when a poll finds the deadline reached; cleared by `reset`.
    completed: bool,
    /// Its `tracing` spans (feature `tracing`; zero-sized without).
    trace: SleepTrace,
}

impl Sleep {
    #[inline]
    #[track_caller]
    pub(crate) fn new(handle: Option<TimeHandle>, deadline: Instant) -> Sleep {
        Sleep::with_trace(handle, deadline, SleepTrace::new())
    }

    /// A Sleep whose spans were made earlier (a Timeout's, made at its
    /// first pending poll, reports where the Timeout was made).
    #[inline]
    pub(crate) fn with_trace(
        handle: Option<TimeHandle>,
        deadline: Instant,
        trace: SleepTrace,
    ) -> Sleep {
        Sleep {
            handle,
            deadline,
            entry: None,
            completed: false,
            trace,
        }
    }

    /// A Sleep on the timers of `handle` rather than the current runtime's
    /// (for tests of the timer itself).
    #[doc(hidden)]
    #[track_caller]
    pub fn new_in(handle: &TimeHandle, deadline: Instant) -> Sleep {
        Sleep::new(Some(handle.clone()), deadline)
    }

    /// The instant this Sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The reading of the clock this Sleep runs on.
    pub(crate) fn now(&mut self) -> Instant {
        Instant::from_std(timers(&mut self.handle).now())
    }

    /// `from + duration`, or the clock's end of time if that is later.
    pub(crate) fn after(&mut self, from: Instant, duration: Duration) -> Instant {
        let clock = &timers(&mut self.handle).inner.clock;
        Instant::from_std(clock.deadline_after(from.into_std(), duration))
    }

    /// Whether this Sleep has elapsed: a poll found its deadline reached,
    /// or the runtime fired its timer (as tokio's: a Sleep that was never
    /// polled has not elapsed, whatever the clock says).
    pub fn is_elapsed(&self) -> bool {
        if self.completed {
            return true;
        }
        let (Some(entry), Some(handle)) = (&self.entry, &self.handle) else {
            return false;
        };
        handle.inner.has_fired(entry) && handle.now() >= self.deadline.into_std()
    }

    /// Moves the deadline, earlier or later, whether or not the Sleep has
    /// completed; it then completes at the new deadline.
    ///
    /// ```no_run
    /// # async fn example(mut requests: impl Iterator<Item = ()>) {
    /// use std::time::Duration;
    /// use weft_timer::{sleep, Instant};
    ///
    /// // A keep-alive timer pushed back on each request.
    /// let mut idle = std::pin::pin!(sleep(Duration::from_secs(30)));
    /// while let Some(()) = requests.next() {
    ///     idle.as_mut().reset(Instant::now() + Duration::from_secs(30));
    /// }
    /// idle.await;
    /// # }
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.completed = false;
        this.trace
            .reset(|| deadline.saturating_duration_since(Instant::now()));
        let (Some(entry), Some(handle)) = (&this.entry, &this.handle) else {
            return;
        };
        let inner = &*handle.inner;
        let at_tick = inner.clock.deadline_tick(deadline.into_std());
        if at_tick < entry.at_tick() {
            inner.move_earlier(&mut this.entry, at_tick);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let _entered = this.trace.enter();
        let poll = this.poll_elapsed(cx);
        this.trace.poll_op(poll.is_ready());
        poll
    }
}

impl Sleep {
    /// The poll itself (`poll` wraps it in the Sleep's spans).
    #[inline]
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // A fired timer is a unit of progress: a task looping on elapsed
        // sleeps still yields once its budget is spent.
        let restore = ready!(weft_base::coop::poll_proceed(cx));
        let this = self;
        let inner = &*timers(&mut this.handle).inner;
        let deadline = this.deadline.into_std();
        let at_tick = inner.clock.deadline_tick(deadline);
        if let Some(entry) = &this.entry {
            // Registered no later than the deadline and still in the wheel:
            // the wake-up will come (the deadline may have moved later
            // since), and until it does the deadline has not passed as far
            // as the wheel knows, so this poll reads no clock (as tokio's).
            if entry.at_tick() <= at_tick
                && !inner.may_have_fired(entry)
                && entry.waker.will_wake(cx.waker())
            {
                note_deadline(at_tick);
                return Poll::Pending;
            }
        }
        // The wheel's clock only moves to ticks the clock has reached, so a
        // deadline at or before it has passed: the re-poll of a fired timer
        // reads no clock.
        if inner.has_passed(at_tick) || inner.clock.now() >= deadline {
            inner.cancel(&mut this.entry);
            restore.made_progress();
            this.completed = true;
            return Poll::Ready(());
        }
        if this.entry.is_none() {
            let left = || deadline.saturating_duration_since(inner.clock.now());
            this.trace.state_update(left);
        }
        let poll = inner.register(&mut this.entry, at_tick, cx.waker());
        if poll.is_pending() {
            note_deadline(at_tick);
        }
        poll
    }
}

/// The timers a Sleep runs on (its `handle`): the current runtime's, if it
/// has none yet.
///
/// # Panics
/// Where it has none and there is no runtime.
#[inline]
fn timers(handle: &mut Option<TimeHandle>) -> &TimeHandle {
    handle.get_or_insert_with(weft_base::context::expect_current::<TimeHandle>)
}

/// Notes, for the task dump, that the task waits on a timer due at wheel
/// time `at_tick` (in the clock's milliseconds, rounded up).
#[inline]
fn note_deadline(at_tick: u64) {
    weft_base::wait::note(weft_base::wait::WaitOn::timer(
        at_tick.div_ceil(TICKS_PER_MS),
    ));
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(_), Some(handle)) = (&self.entry, &self.handle) {
            handle.inner.cancel(&mut self.entry);
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.entry.is_some())
            .finish()
    }
}
