//! Whether a thread in `block_on` spins before it sleeps, and the spin.
//!
//! Handing work to a sleeping thread costs the waker a futex wake and the
//! sleeper a wake-up latency before it runs; in a request/reply exchange
//! with a task that cost is paid on every message. So a thread whose last
//! wait was short spins, for at most its spin limit, before its next sleep,
//! while the caller's `may_spin` says a core is spare.
//!
//! The limit is measured, not set: a spin is worth it while it costs less
//! than the sleeps and wake-ups it saves, and what those cost is the host's
//! own. Each time a sleeping `block_on` thread is unparked, the unparker
//! stamps the time ([`now_nanos`]), and the thread, once running, keeps a
//! moving average of the difference: its wake-up latency. The limit is
//! [`WAKES_PER_SPIN`] of those, between [`MIN_SPIN`] and [`MAX_SPIN`];
//! until a first wake-up is measured it is [`MAX_SPIN`]. A wait that
//! needed a worker woken first (the common case: `block_on` hands work to
//! a task) takes a wake-up, the work and the wake-up back, so a limit of
//! one wake-up would time out on exactly the waits spinning is for.
//!
//! A spin that runs out of time is pure loss: a core burned, and the sleep
//! still to come. Waits just longer than the limit would pay it every other
//! time (short wait, spin, time out, sleep, short wait...), so each timed-out
//! spin doubles the number of waits that sleep straight away before the next
//! spin (up to `2^MAX_PENALTY`), and each spin that works halves it back.
//!
//! The history is per thread, not per parker: `block_on` makes a parker per
//! call, and a thread that calls it in a loop keeps its history. It counts
//! waits, not time: a thread back from a quiet spell still skips as many
//! waits as its last timed-out spin set (at most 64 short sleeps). Not
//! built under loom and miri, where time and yields mean nothing.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The shortest spin limit, whatever the wake-ups measure: below it a spin
/// is a handful of looks at the clock.
pub(crate) const MIN_SPIN: Duration = Duration::from_micros(2);

/// The longest: past a few tens of microseconds a spinning thread holds a
/// core that a worker could run on for longer than any wake-up takes.
pub(crate) const MAX_SPIN: Duration = Duration::from_micros(50);

/// The spin limit, in measured wake-up latencies (see the module doc).
const WAKES_PER_SPIN: u32 = 4;

/// How much of each new wake-up latency the average takes (1 in 8).
const LATENCY_WEIGHT_SHIFT: u32 = 3;

/// Spins between two looks at the clock (and two yields to the OS).
const SPINS_PER_YIELD: u32 = 32;

/// After this many more timed-out spins than working ones, a thread spins
/// before at most one wait in `2^MAX_PENALTY`.
const MAX_PENALTY: u8 = 6;

weft_base::loom::thread_local! {
    static HISTORY: Cell<History> = const { Cell::new(History::NEW) };
}

/// Nanoseconds since the first call in this process, never 0: the unpark
/// stamp a sleeping thread measures its wake-up latency against.
pub(crate) fn now_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// How a spin ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spin {
    /// `woken` said yes: the thread need not sleep.
    Woken,
    /// The limit passed.
    TimedOut,
    /// `may_spin` said no.
    Refused,
}

/// Spins, if this thread's history says so, until `woken` says yes, the
/// limit passes or `may_spin` says no; then calls `sleep` unless woken, and
/// records how long the whole wait took and the wake-up latency `sleep`
/// measured, if it did.
pub(crate) fn spin_then_sleep(
    may_spin: impl Fn() -> bool,
    woken: impl Fn() -> bool,
    sleep: impl FnOnce() -> Option<Duration>,
) {
    let start = Instant::now();
    let mut history = HISTORY.get();
    let limit = history.limit();
    let spin = history
        .should_spin()
        .then(|| spin(start, limit, &may_spin, &woken));
    let latency = if spin != Some(Spin::Woken) {
        sleep()
    } else {
        None
    };
    // Timed from before the spin: a wait the spin could not cover (spin
    // plus a short sleep) counts as long.
    history.record(spin, start.elapsed(), latency);
    HISTORY.set(history);
}

fn spin(
    start: Instant,
    limit: Duration,
    may_spin: &impl Fn() -> bool,
    woken: &impl Fn() -> bool,
) -> Spin {
    loop {
        if !may_spin() {
            return Spin::Refused;
        }
        if start.elapsed() >= limit {
            return Spin::TimedOut;
        }
        for _ in 0..SPINS_PER_YIELD {
            if woken() {
                return Spin::Woken;
            }
            std::hint::spin_loop();
        }
        // On a machine with fewer cores than runnable threads, let the
        // thread we are waiting for have this one.
        std::thread::yield_now();
    }
}

/// What decides whether a thread's next wait spins, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct History {
    /// The last wait ended within the limit.
    last_short: bool,
    /// Timed-out spins less working ones, kept between 0 and
    /// [`MAX_PENALTY`].
    penalty: u8,
    /// Waits still to sleep without spinning.
    skip: u32,
    /// The moving average of this thread's wake-up latency, in
    /// nanoseconds; 0 until one is measured.
    latency_ns: u32,
}

impl History {
    const NEW: History = History {
        last_short: false,
        penalty: 0,
        skip: 0,
        latency_ns: 0,
    };

    /// How long this thread spins at most.
    fn limit(&self) -> Duration {
        if self.latency_ns == 0 {
            return MAX_SPIN;
        }
        (Duration::from_nanos(u64::from(self.latency_ns)) * WAKES_PER_SPIN)
            .clamp(MIN_SPIN, MAX_SPIN)
    }

    /// Whether this wait should spin; a wait that may not counts down the
    /// skip.
    fn should_spin(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        self.last_short
    }

    fn record(&mut self, spin: Option<Spin>, wait: Duration, latency: Option<Duration>) {
        match spin {
            Some(Spin::Woken) => self.penalty = self.penalty.saturating_sub(1),
            Some(Spin::TimedOut) => {
                self.penalty = (self.penalty + 1).min(MAX_PENALTY);
                self.skip = 1 << self.penalty;
            }
            Some(Spin::Refused) | None => {}
        }
        if let Some(latency) = latency {
            // Capped where it stops mattering, so one descheduled wake-up
            // does not hold the average up for long.
            let sample = latency.min(MAX_SPIN).as_nanos() as u32;
            self.latency_ns = if self.latency_ns == 0 {
                sample
            } else {
                let old = self.latency_ns as i64;
                (old + ((sample as i64 - old) >> LATENCY_WEIGHT_SHIFT)) as u32
            };
            self.latency_ns = self.latency_ns.max(1);
        }
        self.last_short = wait < self.limit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_micros(10);
    const LONG: Duration = Duration::from_millis(1);

    /// How many of `waits` waits spin when every spin times out and every
    /// wait that sleeps is short (the pattern of waits just over the limit).
    fn spins_when_every_spin_times_out(history: &mut History, waits: usize) -> usize {
        (0..waits)
            .filter(|_| {
                let spun = history.should_spin();
                if spun {
                    history.record(Some(Spin::TimedOut), LONG, None);
                } else {
                    history.record(None, SHORT, None);
                }
                spun
            })
            .count()
    }

    #[test]
    fn a_short_wait_turns_spinning_on_and_a_long_one_off() {
        let mut history = History::NEW;
        assert!(!history.should_spin(), "no history, no spin");
        history.record(None, SHORT, None);
        assert!(history.should_spin());
        history.record(Some(Spin::Woken), SHORT, None);
        assert!(history.should_spin());
        history.record(None, LONG, None);
        assert!(!history.should_spin());
    }

    #[test]
    fn timed_out_spins_space_out_exponentially_up_to_a_bound() {
        let mut history = History::NEW;
        history.record(None, SHORT, None);
        // Spins at waits 0, 3 (after skipping 2), 8 (after 4), 17 (after
        // 8), 34, 67, then one in 65 waits.
        assert_eq!(spins_when_every_spin_times_out(&mut history, 67), 5);
        assert_eq!(history.penalty, 5);
        assert_eq!(spins_when_every_spin_times_out(&mut history, 1), 1);
        assert_eq!(history.penalty, MAX_PENALTY);
        assert_eq!(spins_when_every_spin_times_out(&mut history, 650), 10);
        assert_eq!(history.penalty, MAX_PENALTY);
    }

    #[test]
    fn spins_that_work_earn_back_what_timed_out_spins_cost() {
        let mut history = History::NEW;
        history.record(None, SHORT, None);
        spins_when_every_spin_times_out(&mut history, 8);
        assert_eq!(history.penalty, 2);
        // Sleep out the skip, then spin successfully twice.
        while !history.should_spin() {
            history.record(None, SHORT, None);
        }
        history.record(Some(Spin::Woken), SHORT, None);
        assert_eq!(history.penalty, 1);
        assert!(history.should_spin(), "a spin that worked skips nothing");
        history.record(Some(Spin::Woken), SHORT, None);
        assert_eq!(history.penalty, 0);
        assert!(history.should_spin());
        history.record(Some(Spin::TimedOut), LONG, None);
        assert_eq!(history.skip, 2, "back to the first step");
    }

    #[test]
    fn a_refused_spin_changes_nothing_but_the_last_wait() {
        let mut history = History::NEW;
        history.record(None, SHORT, None);
        spins_when_every_spin_times_out(&mut history, 1);
        let before = history;
        history.record(Some(Spin::Refused), SHORT, None);
        assert_eq!(history.penalty, before.penalty);
        assert_eq!(history.skip, before.skip);
    }

    #[test]
    fn the_spin_ends_when_woken_refused_or_out_of_time() {
        // A start in the future never runs out of time, however long this
        // thread is descheduled.
        let never = Instant::now() + Duration::from_secs(3600);
        assert_eq!(spin(never, MAX_SPIN, &|| true, &|| true), Spin::Woken);
        assert_eq!(spin(never, MAX_SPIN, &|| false, &|| true), Spin::Refused);
        let start = Instant::now();
        assert_eq!(spin(start, MIN_SPIN, &|| true, &|| false), Spin::TimedOut);
        assert!(start.elapsed() >= MIN_SPIN);
    }

    #[test]
    fn the_limit_is_a_few_measured_wake_ups_within_bounds() {
        let mut history = History::NEW;
        assert_eq!(history.limit(), MAX_SPIN, "nothing measured yet");
        history.record(None, SHORT, Some(Duration::from_micros(3)));
        assert_eq!(history.limit(), Duration::from_micros(3) * WAKES_PER_SPIN);
        // The average moves an eighth of the way to each new sample.
        history.record(None, SHORT, Some(Duration::from_micros(11)));
        assert_eq!(history.latency_ns, 4_000);
        for _ in 0..200 {
            history.record(None, SHORT, Some(Duration::from_nanos(50)));
        }
        assert_eq!(history.limit(), MIN_SPIN);
        for _ in 0..200 {
            history.record(None, SHORT, Some(Duration::from_secs(1)));
        }
        assert_eq!(history.limit(), MAX_SPIN);
        assert!(
            history.latency_ns <= MAX_SPIN.as_nanos() as u32,
            "samples are capped"
        );
    }

    #[test]
    fn a_wait_is_short_against_the_measured_limit() {
        let mut history = History::NEW;
        history.record(None, Duration::from_micros(30), None);
        assert!(history.should_spin(), "30 us is under the unmeasured limit");
        history.record(
            None,
            Duration::from_micros(30),
            Some(Duration::from_micros(4)),
        );
        assert!(!history.should_spin(), "but over four 4-us wake-ups");
        history.record(None, Duration::from_micros(10), None);
        assert!(history.should_spin());
    }
}
