//! Whether a thread in `block_on` spins before it sleeps, and the spin;
//! and the worker's side of the same exchange.
//!
//! Handing work to a sleeping thread costs the waker a futex wake and the
//! sleeper a wake-up latency before it runs; in a request/reply exchange
//! with a task that cost is paid on every message. So a thread whose last
//! wait ended within [`SPIN_LIMIT`] spins, for at most that long, before
//! its next sleep, while the caller's `may_spin` says a core is spare.
//! The same exchange seen from the worker: the reply it just delivered
//! will likely be answered by the next request, so a worker that has woken
//! a `block_on` thread which was awake searches for up to the same limit
//! before it parks ([`search_briefly`]), while no worker has a task to run.
//! Both sides spinning is what lets a round trip go without a sleep.
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
use std::time::{Duration, Instant};

/// The longest a thread spins before it sleeps: long enough for the waits
/// spinning is for, a reply from a task the caller just handed work to
/// (the worker's wake-up, the work, the reply: 2 to 6 us per round trip on
/// both hosts in `docs/benchmarks.md`), and short of the waits it is not,
/// a fan-out round of tens of microseconds, through which a spinning
/// thread holds a core the workers need. At 50 us the broadcast fan-out
/// rounds (35 to 45 us) were spun through on every round.
pub(crate) const SPIN_LIMIT: Duration = Duration::from_micros(20);

/// Spins between two looks at the clock (and two yields to the OS).
const SPINS_PER_YIELD: u32 = 32;

/// After this many more timed-out spins than working ones, a thread spins
/// before at most one wait in `2^MAX_PENALTY`.
const MAX_PENALTY: u8 = 6;

weft_base::loom::thread_local! {
    static HISTORY: Cell<History> = const { Cell::new(History::NEW) };
}

/// How a spin ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spin {
    /// `woken` said yes: the thread need not sleep.
    Woken,
    /// [`SPIN_LIMIT`] passed.
    TimedOut,
    /// `may_spin` said no.
    Refused,
}

/// Spins, if this thread's history says so, until `woken` says yes, the
/// limit passes or `may_spin` says no; then calls `sleep` unless woken, and
/// records how long the whole wait took.
pub(crate) fn spin_then_sleep(
    may_spin: impl Fn() -> bool,
    mut woken: impl FnMut() -> bool,
    sleep: impl FnOnce(),
) {
    let start = Instant::now();
    let mut history = HISTORY.get();
    let spin = history
        .should_spin()
        .then(|| spin(start, &may_spin, &mut woken));
    if spin != Some(Spin::Woken) {
        sleep();
    }
    // Timed from before the spin: a wait the spin could not cover (spin
    // plus a short sleep) counts as long.
    history.record(spin, start.elapsed());
    HISTORY.set(history);
}

/// Calls `search` until it finds something, [`SPIN_LIMIT`] passes or
/// `may_spin` says no. No history: what starts it (a worker has just woken
/// an awake `block_on` thread) already says a request is likely on its
/// way, and `may_spin` keeps it to cores no task wants.
pub(crate) fn search_briefly<T>(
    may_spin: impl Fn() -> bool,
    mut search: impl FnMut() -> Option<T>,
) -> Option<T> {
    let mut found = None;
    spin(Instant::now(), &may_spin, &mut || {
        found = search();
        found.is_some()
    });
    found
}

fn spin(start: Instant, may_spin: &impl Fn() -> bool, woken: &mut impl FnMut() -> bool) -> Spin {
    loop {
        if !may_spin() {
            return Spin::Refused;
        }
        if start.elapsed() >= SPIN_LIMIT {
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

/// What decides whether a thread's next wait spins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct History {
    /// The last wait ended within [`SPIN_LIMIT`].
    last_short: bool,
    /// Timed-out spins less working ones, kept between 0 and
    /// [`MAX_PENALTY`].
    penalty: u8,
    /// Waits still to sleep without spinning.
    skip: u32,
}

impl History {
    const NEW: History = History {
        last_short: false,
        penalty: 0,
        skip: 0,
    };

    /// Whether this wait should spin; a wait that may not counts down the
    /// skip.
    fn should_spin(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        self.last_short
    }

    fn record(&mut self, spin: Option<Spin>, wait: Duration) {
        match spin {
            Some(Spin::Woken) => self.penalty = self.penalty.saturating_sub(1),
            Some(Spin::TimedOut) => {
                self.penalty = (self.penalty + 1).min(MAX_PENALTY);
                self.skip = 1 << self.penalty;
            }
            Some(Spin::Refused) | None => {}
        }
        self.last_short = wait < SPIN_LIMIT;
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
                    history.record(Some(Spin::TimedOut), LONG);
                } else {
                    history.record(None, SHORT);
                }
                spun
            })
            .count()
    }

    #[test]
    fn a_short_wait_turns_spinning_on_and_a_long_one_off() {
        let mut history = History::NEW;
        assert!(!history.should_spin(), "no history, no spin");
        history.record(None, SHORT);
        assert!(history.should_spin());
        history.record(Some(Spin::Woken), SHORT);
        assert!(history.should_spin());
        history.record(None, LONG);
        assert!(!history.should_spin());
    }

    #[test]
    fn timed_out_spins_space_out_exponentially_up_to_a_bound() {
        let mut history = History::NEW;
        history.record(None, SHORT);
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
        history.record(None, SHORT);
        spins_when_every_spin_times_out(&mut history, 8);
        assert_eq!(history.penalty, 2);
        // Sleep out the skip, then spin successfully twice.
        while !history.should_spin() {
            history.record(None, SHORT);
        }
        history.record(Some(Spin::Woken), SHORT);
        assert_eq!(history.penalty, 1);
        assert!(history.should_spin(), "a spin that worked skips nothing");
        history.record(Some(Spin::Woken), SHORT);
        assert_eq!(history.penalty, 0);
        assert!(history.should_spin());
        history.record(Some(Spin::TimedOut), LONG);
        assert_eq!(history.skip, 2, "back to the first step");
    }

    #[test]
    fn a_refused_spin_changes_nothing_but_the_last_wait() {
        let mut history = History::NEW;
        history.record(None, SHORT);
        spins_when_every_spin_times_out(&mut history, 1);
        let before = history;
        history.record(Some(Spin::Refused), SHORT);
        assert_eq!(history.penalty, before.penalty);
        assert_eq!(history.skip, before.skip);
    }

    #[test]
    fn the_spin_ends_when_woken_refused_or_out_of_time() {
        // A start in the future never runs out of time, however long this
        // thread is descheduled.
        let never = Instant::now() + Duration::from_secs(3600);
        assert_eq!(spin(never, &|| true, &mut || true), Spin::Woken);
        assert_eq!(spin(never, &|| false, &mut || true), Spin::Refused);
        let start = Instant::now();
        assert_eq!(spin(start, &|| true, &mut || false), Spin::TimedOut);
        assert!(start.elapsed() >= SPIN_LIMIT);
    }

    #[test]
    fn a_brief_search_returns_what_it_finds_or_gives_up() {
        let mut calls = 0;
        let found = search_briefly(
            || true,
            || {
                calls += 1;
                (calls == 3).then_some(calls)
            },
        );
        assert_eq!(found, Some(3), "the third look finds it");

        let start = Instant::now();
        assert_eq!(search_briefly(|| true, || None::<()>), None);
        assert!(
            start.elapsed() >= SPIN_LIMIT,
            "searched for the whole limit"
        );

        let mut calls = 0;
        let refused = search_briefly(
            || false,
            || {
                calls += 1;
                Some(())
            },
        );
        assert_eq!(
            (refused, calls),
            (None, 0),
            "a refusal comes before any look"
        );
    }
}
