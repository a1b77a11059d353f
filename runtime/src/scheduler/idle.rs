//! Which workers are parked or searching, and who wakes whom.
//!
//! One atomic packs the number of searching workers (low half) and of
//! unparked workers (high half); the list of sleepers sits under a mutex.
//! Rules, the same ones that keep tokio from losing wakeups:
//! - new work wakes a sleeper only if nobody is searching (a searcher will
//!   find the work) and someone is asleep;
//! - at most half of the workers search at once (stealing is contended);
//! - a woken worker starts out searching; a searcher that finds work stops,
//!   and if it was the last searcher it checks every queue and wakes
//!   another if any holds work (pushes that saw it searching asked nobody;
//!   tokio wakes one whether or not, in case more comes);
//! - every worker that registers as a sleeper checks every queue before it
//!   sleeps: a searcher that found work while this one was on its way to
//!   sleep could not wake it yet.
//!
//! All counter operations are `SeqCst`: each pairs with a queue push or
//! check on the other side (store-load), and only a total order makes
//! "push, then check sleepers" vs "register as sleeper, then check queues"
//! impossible to interleave badly.

use weft_base::loom::{fence, AtomicUsize, Mutex, Ordering::SeqCst};

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    /// If a worker should be woken for new work, takes it off the sleeper
    /// list (counting it as unparked and searching) and returns its index.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.notify_should_wakeup() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.notify_should_wakeup() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(1 | (1 << UNPARK_SHIFT), SeqCst);
        Some(worker)
    }

    fn notify_should_wakeup(&self) -> bool {
        // The fence pairs with the parking side's (a sleeper registers with
        // a SeqCst RMW, then fences and re-checks the queues): either this
        // load sees the registration, or that re-check sees the work pushed
        // before the fence. Without it the push (a release store) may still
        // sit in this core's store buffer while the load runs, and both
        // sides miss each other: the store-load pattern, as in tokio's
        // `notify_should_wakeup`. Loom does not catch its removal (its
        // SeqCst is stronger than the hardware's here: both
        // `last_searcher_parks_while_work_is_queued` models pass without the
        // fence), so this rests on the memory model, not on a model run.
        // A fence and a load, not an RMW: nearly every push asks, and an
        // RMW would write the line every worker reads.
        fence(SeqCst);
        let state = self.state.load(SeqCst);
        state & SEARCH_MASK == 0 && (state >> UNPARK_SHIFT) < self.num_workers
    }

    /// A worker out of local work asks to search; false means enough others
    /// already are.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * (state & SEARCH_MASK) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work. True when it was the last searcher.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(prev & SEARCH_MASK > 0);
        prev & SEARCH_MASK == 1
    }

    /// Registers the worker as a sleeper (the caller then checks the
    /// queues once more).
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) {
        let mut sleepers = self.sleepers.lock();
        let dec = (1 << UNPARK_SHIFT) | usize::from(is_searching);
        self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
    }

    /// Takes a worker that woke on its own (work arrived through the driver)
    /// off the sleeper list. False when a notifier already did, which means
    /// the worker was counted as searching.
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(1 << UNPARK_SHIFT, SeqCst);
                true
            }
            None => false,
        }
    }

    /// True while the worker is still on the sleeper list (a spurious wakeup).
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(&worker)
    }

    /// True while some worker runs no task (it sleeps or searches), so a
    /// core is spare (workers are as many as cores unless the user says).
    pub(crate) fn has_idle_worker(&self) -> bool {
        let state = self.state.load(SeqCst);
        (state >> UNPARK_SHIFT) - (state & SEARCH_MASK) < self.num_workers
    }

    /// True while no worker runs a task: each one sleeps or searches.
    pub(crate) fn no_worker_busy(&self) -> bool {
        let state = self.state.load(SeqCst);
        (state >> UNPARK_SHIFT) == (state & SEARCH_MASK)
    }

    pub(crate) fn num_searching(&self) -> usize {
        self.state.load(SeqCst) & SEARCH_MASK
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! The rules above, one transition at a time. The loom models check that
    //! the transitions race safely with the queues; these check that each
    //! one counts and answers as documented.

    use super::Idle;

    #[test]
    fn a_new_pool_counts_every_worker_unparked_and_none_searching() {
        let idle = Idle::new(4);
        assert_eq!(idle.num_searching(), 0);
        assert!(!idle.has_idle_worker(), "every worker runs");
        assert_eq!(idle.worker_to_notify(), None, "nobody sleeps");
    }

    #[test]
    fn new_work_wakes_a_sleeper_only_while_nobody_searches() {
        let idle = Idle::new(4);
        idle.transition_worker_to_parked(3, false);
        idle.transition_worker_to_parked(2, false);
        assert!(idle.is_parked(3) && idle.is_parked(2));

        let woken = idle.worker_to_notify().expect("a sleeper and no searcher");
        assert!(!idle.is_parked(woken));
        assert_eq!(
            idle.num_searching(),
            1,
            "a woken worker starts out searching"
        );
        assert_eq!(
            idle.worker_to_notify(),
            None,
            "the searcher will find the work"
        );

        assert!(
            idle.transition_worker_from_searching(),
            "it was the last searcher"
        );
        assert_eq!(idle.num_searching(), 0);
        let second = idle.worker_to_notify().expect("the other sleeper");
        assert_ne!(second, woken);
        assert_eq!(
            idle.worker_to_notify(),
            None,
            "a searcher again, and nobody left asleep"
        );
    }

    #[test]
    fn at_most_half_the_workers_search_and_only_the_last_one_out_says_so() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert_eq!(idle.num_searching(), 2);
        assert!(
            !idle.transition_worker_to_searching(),
            "two of four already search"
        );
        assert_eq!(idle.num_searching(), 2);

        assert!(
            !idle.transition_worker_from_searching(),
            "one still searches"
        );
        assert_eq!(idle.num_searching(), 1);
        assert!(idle.transition_worker_from_searching());
        assert_eq!(idle.num_searching(), 0);
    }

    #[test]
    fn a_searcher_that_parks_stops_searching() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        idle.transition_worker_to_parked(0, false);
        assert_eq!(idle.num_searching(), 2, "it was not searching");
        idle.transition_worker_to_parked(1, true);
        assert_eq!(idle.num_searching(), 1);
        idle.transition_worker_to_parked(2, true);
        assert_eq!(idle.num_searching(), 0);
        assert!(idle.is_parked(0) && idle.is_parked(1) && idle.is_parked(2));
        assert!(!idle.is_parked(3));
        let woken = idle
            .worker_to_notify()
            .expect("three sleepers, no searcher");
        assert!(!idle.is_parked(woken));
    }

    #[test]
    fn a_worker_woken_by_its_driver_leaves_the_sleepers_once() {
        let idle = Idle::new(2);
        idle.transition_worker_to_parked(1, false);
        assert!(idle.unpark_worker_by_id(1));
        assert!(!idle.is_parked(1));
        assert!(!idle.has_idle_worker(), "both count as running again");
        assert_eq!(idle.worker_to_notify(), None);
        assert!(!idle.unpark_worker_by_id(1), "already off the list");

        // A notifier took it off first: the worker learns it was counted as
        // searching, and nobody else is taken off the list by mistake.
        idle.transition_worker_to_parked(0, false);
        idle.transition_worker_to_parked(1, false);
        let woken = idle.worker_to_notify().expect("two sleepers");
        assert!(!idle.unpark_worker_by_id(woken));
        let other = 1 - woken;
        assert!(idle.is_parked(other), "the other sleeper stays asleep");
        assert!(idle.unpark_worker_by_id(other));
        assert_eq!(idle.num_searching(), 1);
    }

    #[test]
    fn a_worker_is_idle_while_it_sleeps_or_searches() {
        let idle = Idle::new(2);
        assert!(!idle.has_idle_worker());
        assert!(idle.transition_worker_to_searching());
        assert!(idle.has_idle_worker(), "a searcher runs no task");
        assert!(idle.transition_worker_from_searching());
        assert!(!idle.has_idle_worker());
        idle.transition_worker_to_parked(0, false);
        assert!(idle.has_idle_worker(), "a sleeper runs no task");
        assert!(idle.unpark_worker_by_id(0));
        assert!(!idle.has_idle_worker());
    }

    #[test]
    fn no_worker_is_busy_while_each_sleeps_or_searches() {
        let idle = Idle::new(2);
        assert!(!idle.no_worker_busy(), "both run");
        idle.transition_worker_to_parked(0, false);
        assert!(!idle.no_worker_busy(), "one still runs");
        assert!(idle.transition_worker_to_searching());
        assert!(idle.no_worker_busy(), "one sleeps, the other searches");
        assert!(idle.unpark_worker_by_id(0));
        assert!(!idle.no_worker_busy(), "the sleeper woke to run");
    }
}
