//! The clock a runtime's timers read: the real monotonic clock, or, in
//! tests, a paused clock that moves only when told to.
//!
//! Times are offsets from `start`, the instant the clock was made; the wheel
//! counts whole ticks of 1/16 ms (`TICK_NANOS`) from the same origin. The conversions
//! round so that no timer fires early: a deadline maps to the first tick at
//! or after it, the current time to the last tick at or before it. A tick
//! finer than tokio's millisecond is what keeps a timer's lateness to tens
//! of microseconds, now that the reactor waits with nanosecond timeouts.
//!
//! Invariants:
//! - `now()` never goes backwards on one thread.
//! - A paused clock reads a whole number of milliseconds until advanced by
//!   a fraction of one (pausing rounds up to the next millisecond).
//! - Until the clock is first paused, `now()` is `std::time::Instant::now()`
//!   behind one atomic load; from then on it is computed under a mutex (a
//!   path only tests take).
//! - Only a clock made pausable (the current-thread runtime's) can pause.
//! - Readings stay at or below `start + END_OF_TIME`, so every instant the
//!   clock hands out is representable.
//! - Every deadline fires: one past the end of time (`sleep(Duration::MAX)`)
//!   is moved to it, as tokio moves its own to its "far future", so a paused
//!   clock that jumps to the end fires it (tokio's `time_sleep::exactly_max`).

use std::fmt;
use std::time::{Duration, Instant as StdInstant};

use weft_base::loom::{AtomicBool, AtomicUsize, Mutex, Ordering};

/// The wheel's grain, a tick: 62.5 µs.
const TICK_NANOS: u64 = 62_500;

/// Ticks in a millisecond, the unit of the task dump's timer notes.
pub(crate) const TICKS_PER_MS: u64 = 16;

/// Ticks in a second: a whole number, so a time's ticks are its seconds'
/// plus its nanoseconds', in `u64` arithmetic (no 128-bit division on the
/// poll path).
const TICKS_PER_SEC: u64 = 1_000_000_000 / TICK_NANOS;
const _: () = assert!(TICKS_PER_SEC * TICK_NANOS == 1_000_000_000);

/// The end of time: 2^40 ms (about 34.8 years) past the clock's start. No
/// reading goes past it, and later deadlines (`sleep(Duration::MAX)`) are
/// moved to it.
const END_OF_TIME: Duration = Duration::from_millis(1 << 40);
/// The wheel time of the end of time.
pub(crate) const END_OF_TIME_TICKS: u64 =
    END_OF_TIME.as_secs() * TICKS_PER_SEC + END_OF_TIME.subsec_nanos() as u64 / TICK_NANOS;

pub(crate) struct Clock {
    start: StdInstant,
    /// `start + END_OF_TIME`: where deadlines past the end point.
    end: StdInstant,
    pausable: bool,
    /// Set when the clock is first paused, never cleared: until then the
    /// reading is the real clock's.
    is_virtual: AtomicBool,
    state: Mutex<State>,
    /// Blocking tasks alive: while there are any, a paused clock does not
    /// jump ahead by itself (their work takes real time).
    inhibit: AtomicUsize,
}

struct State {
    /// The reading (as an offset from `start`) when paused, or at the last
    /// resume.
    base: Duration,
    /// Real time of the last resume; `None` while paused.
    resumed_at: Option<StdInstant>,
}

/// Why the clock refused to pause, resume or advance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockError {
    /// Only the current-thread runtime's clock can pause.
    NotPausable,
    /// `pause` on a clock that is paused already.
    AlreadyPaused,
    /// `resume` or `advance` on a clock that runs.
    NotPaused,
}

impl std::error::Error for ClockError {}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClockError::NotPausable => {
                "the clock can only be paused on the current-thread runtime \
                 (`Builder::new_current_thread()`, or `#[weft::test]`'s default flavor): \
                 on the multi-thread runtime, workers run in parallel in real time"
            }
            ClockError::AlreadyPaused => "the clock is already paused",
            ClockError::NotPaused => {
                "the clock is not paused: call `weft::time::pause()` first, \
                 or build the runtime with `start_paused(true)`"
            }
        })
    }
}

impl Clock {
    pub(crate) fn new(pausable: bool) -> Clock {
        let start = StdInstant::now();
        Clock {
            start,
            end: start + END_OF_TIME,
            pausable,
            is_virtual: AtomicBool::new(false),
            state: Mutex::new(State {
                base: Duration::ZERO,
                resumed_at: Some(start),
            }),
            inhibit: AtomicUsize::new(0),
        }
    }

    #[inline]
    pub(crate) fn now(&self) -> StdInstant {
        if !self.is_virtual.load(Ordering::Acquire) {
            return StdInstant::now();
        }
        self.virtual_now()
    }

    #[cold]
    fn virtual_now(&self) -> StdInstant {
        let state = self.state.lock();
        self.start + state.reading()
    }

    /// The current time in whole ticks since the start, rounded down.
    pub(crate) fn now_tick(&self) -> u64 {
        self.ticks_since_start(self.now())
    }

    fn ticks_since_start(&self, time: StdInstant) -> u64 {
        let offset = time.saturating_duration_since(self.start);
        offset.as_secs() * TICKS_PER_SEC + u64::from(offset.subsec_nanos()) / TICK_NANOS
    }

    /// The wheel time of `deadline`: the first tick at or after it, or the
    /// end of time's for deadlines past it.
    pub(crate) fn deadline_tick(&self, deadline: StdInstant) -> u64 {
        let offset = deadline
            .saturating_duration_since(self.start)
            .min(END_OF_TIME);
        offset.as_secs() * TICKS_PER_SEC + u64::from(offset.subsec_nanos()).div_ceil(TICK_NANOS)
    }

    /// The instant a wheel time stands for.
    pub(crate) fn instant_of_tick(&self, tick: u64) -> StdInstant {
        self.start + duration_of(tick)
    }

    /// `duration` from now, or the end of time if that is later.
    #[inline]
    pub(crate) fn deadline_in(&self, duration: Duration) -> StdInstant {
        self.deadline_after(self.now(), duration)
    }

    /// `now + duration`, or the end of time if that is later.
    pub(crate) fn deadline_after(&self, now: StdInstant, duration: Duration) -> StdInstant {
        match now.checked_add(duration) {
            Some(deadline) if deadline < self.end => deadline,
            _ => self.end,
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.is_virtual.load(Ordering::Acquire) && self.state.lock().resumed_at.is_none()
    }

    pub(crate) fn pause(&self) -> Result<(), ClockError> {
        if !self.pausable {
            return Err(ClockError::NotPausable);
        }
        let mut state = self.state.lock();
        let Some(resumed_at) = state.resumed_at.take() else {
            return Err(ClockError::AlreadyPaused);
        };
        // Up to a whole millisecond (16 of the wheel's ticks): a paused test that
        // sleeps whole milliseconds then sees exactly the times it asked for.
        let reading = state.base + resumed_at.elapsed();
        let ms = reading.as_nanos().div_ceil(1_000_000) as u64;
        state.base = Duration::from_millis(ms).min(END_OF_TIME);
        self.is_virtual.store(true, Ordering::Release);
        Ok(())
    }

    pub(crate) fn resume(&self) -> Result<(), ClockError> {
        let mut state = self.state.lock();
        if state.resumed_at.is_some() {
            return Err(ClockError::NotPaused);
        }
        state.resumed_at = Some(StdInstant::now());
        Ok(())
    }

    /// Moves a paused clock `duration` ahead (capped at the end of time).
    pub(crate) fn advance(&self, duration: Duration) -> Result<(), ClockError> {
        let mut state = self.state.lock();
        if state.resumed_at.is_some() {
            return Err(ClockError::NotPaused);
        }
        state.base = state.base.saturating_add(duration).min(END_OF_TIME);
        Ok(())
    }

    /// Moves a paused clock to wheel time `tick`, unless it is already
    /// later.
    pub(crate) fn advance_to_tick(&self, tick: u64) {
        let mut state = self.state.lock();
        debug_assert!(
            state.resumed_at.is_none(),
            "auto-advance of a running clock"
        );
        state.base = state.base.max(duration_of(tick));
    }

    /// Whether a paused clock may jump to the next timer by itself now.
    pub(crate) fn can_auto_advance(&self) -> bool {
        self.inhibit.load(Ordering::Acquire) == 0 && self.is_paused()
    }

    pub(crate) fn inhibit_auto_advance(&self) {
        self.inhibit.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends one inhibition; true when it was the last.
    pub(crate) fn allow_auto_advance(&self) -> bool {
        self.inhibit.fetch_sub(1, Ordering::AcqRel) == 1
    }
}

/// The offset from the start that wheel time `tick` stands for.
fn duration_of(tick: u64) -> Duration {
    Duration::from_nanos(tick.saturating_mul(TICK_NANOS)).min(END_OF_TIME)
}

impl State {
    fn reading(&self) -> Duration {
        let running = self.resumed_at.map_or(Duration::ZERO, |r| r.elapsed());
        (self.base + running).min(END_OF_TIME)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_now_rounds_down() {
        let clock = Clock::new(true);
        clock.pause().unwrap();
        let start = clock.start;
        assert_eq!(clock.deadline_tick(start), 0);
        assert_eq!(clock.deadline_tick(start + Duration::from_nanos(1)), 1);
        assert_eq!(
            clock.deadline_tick(start + Duration::from_nanos(TICK_NANOS)),
            1
        );
        assert_eq!(clock.deadline_tick(start + Duration::from_millis(5)), 80);
        assert_eq!(
            clock.deadline_tick(start + Duration::from_micros(5_001)),
            81
        );
        let paused_at = clock.now_tick();
        assert_eq!(clock.now(), clock.instant_of_tick(paused_at), "whole ticks");
        assert_eq!(paused_at % 16, 0, "pausing rounds up to a whole ms");
        clock.advance(Duration::from_micros(5_999)).unwrap();
        assert_eq!(clock.now_tick(), paused_at + 95);
        assert_eq!(clock.instant_of_tick(u64::MAX), clock.start + END_OF_TIME);
    }

    #[test]
    fn far_deadlines_meet_at_the_end_of_time_and_never_overflow() {
        let clock = Clock::new(true);
        let last = clock.deadline_tick(clock.start + END_OF_TIME);
        let far = clock.deadline_in(Duration::MAX);
        assert_eq!(far, clock.start + END_OF_TIME);
        assert_eq!(clock.deadline_tick(far), last);
        assert_eq!(clock.deadline_tick(clock.start + END_OF_TIME * 2), last);
        clock.pause().unwrap();
        assert!(clock.now_tick() < last);
        clock.advance(Duration::MAX).unwrap();
        clock.advance(Duration::MAX).unwrap();
        assert_eq!(clock.now(), clock.start + END_OF_TIME);
        assert_eq!(clock.now_tick(), last, "the end of time is reached");
    }

    #[test]
    fn paused_clock_moves_only_when_told_and_resumes_from_there() {
        let clock = Clock::new(true);
        clock.pause().unwrap();
        let frozen = clock.now();
        assert_eq!(clock.now(), frozen);
        clock.advance(Duration::from_secs(3600)).unwrap();
        assert_eq!(clock.now(), frozen + Duration::from_secs(3600));
        clock.resume().unwrap();
        assert!(clock.now() >= frozen + Duration::from_secs(3600));
        assert_eq!(clock.resume(), Err(ClockError::NotPaused));
        assert_eq!(clock.advance(Duration::ZERO), Err(ClockError::NotPaused));
        clock.pause().unwrap();
        assert_eq!(clock.pause(), Err(ClockError::AlreadyPaused));
    }

    #[test]
    fn only_a_pausable_clock_pauses() {
        let clock = Clock::new(false);
        assert_eq!(clock.pause(), Err(ClockError::NotPausable));
        assert!(!clock.is_paused());
    }

    #[test]
    fn blocking_work_inhibits_auto_advance() {
        let clock = Clock::new(true);
        clock.pause().unwrap();
        assert!(clock.can_auto_advance());
        clock.inhibit_auto_advance();
        clock.inhibit_auto_advance();
        assert!(!clock.can_auto_advance());
        assert!(!clock.allow_auto_advance());
        assert!(clock.allow_auto_advance());
        assert!(clock.can_auto_advance());
    }
}
