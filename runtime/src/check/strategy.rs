//! The choices of one schedule: which runnable task is polled next, which
//! branch a `select!` tries first. A [`Decider`] makes them per its
//! [`Plan`] and records each one that had more than one option.
//!
//! - `Random`: uniform at every choice (seeded random walk).
//! - `Pct`: probabilistic concurrency testing (Burckhardt et al., ASPLOS
//!   2010). Each task gets a random priority when first seen, above `depth`;
//!   the highest-priority runnable task always runs; at `depth - 1` steps
//!   chosen uniformly in the expected length of a schedule, the task just
//!   run drops to a priority below every initial one. A bug of depth `d`
//!   is then found by one schedule with probability at least
//!   `1 / (n * k^(d-1))` for `n` tasks and `k` steps. `select!` branches
//!   are chosen uniformly.
//! - `Prefix`: the given choices, then the default (0) for every later
//!   one: replays, the exhaustive search's next schedule, and shrinking.
//!
//! While a schedule runs its decider sits in a thread-local, so that
//! `select!` (through `crate::rand::thread_rng_n`) reaches it from inside a
//! task's poll. It is never borrowed across a poll.

use std::cell::RefCell;

use super::failure::Event;
use crate::rand::FastRand;

/// How a schedule's choices are made.
pub(crate) enum Plan {
    Random,
    Pct {
        depth: u32,
        /// Steps (1-based) after which the task just run is demoted; the
        /// `i`-th takes priority `i`, below every initial priority.
        change_points: Vec<usize>,
        /// Priority by task ordinal, made on first sight.
        priorities: Vec<Option<u64>>,
    },
    Prefix {
        choices: Vec<u32>,
        /// A replay: a choice out of range is a divergence, not a clamp.
        strict: bool,
    },
}

/// One recorded choice: `chosen` of `options` (always more than one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) options: u32,
    pub(crate) chosen: u32,
}

pub(crate) struct Decider {
    rng: FastRand,
    plan: Plan,
    pub(crate) decisions: Vec<Decision>,
    pub(crate) trace: Vec<Event>,
    /// Task polls so far.
    pub(crate) steps: usize,
    /// Where a strict replay left its schedule, if it did.
    pub(crate) diverged: Option<String>,
}

impl Decider {
    pub(crate) fn new(plan: Plan, seed: u64) -> Decider {
        Decider {
            rng: FastRand::new(seed),
            plan,
            decisions: Vec::new(),
            trace: Vec::new(),
            steps: 0,
            diverged: None,
        }
    }

    /// The PCT plan for one schedule of about `expected_steps` polls.
    pub(crate) fn pct(depth: u32, expected_steps: usize, seed: u64) -> Decider {
        let mut decider = Decider::new(Plan::Random, seed);
        let k = expected_steps.max(1);
        let change_points = (1..depth).map(|_| 1 + decider.rng.below(k)).collect();
        decider.plan = Plan::Pct {
            depth,
            change_points,
            priorities: Vec::new(),
        };
        decider
    }

    /// The next prefix choice among `options`, or the default past the end.
    fn next_in_prefix(&mut self, options: u32) -> u32 {
        let Plan::Prefix { choices, strict } = &self.plan else {
            unreachable!("next_in_prefix is called for prefix plans only")
        };
        let Some(&choice) = choices.get(self.decisions.len()) else {
            return 0;
        };
        if choice < options {
            return choice;
        }
        if *strict && self.diverged.is_none() {
            self.diverged = Some(format!(
                "choice {} of the schedule is {choice}, but only {options} options were there",
                self.decisions.len() + 1
            ));
        }
        0
    }

    fn record(&mut self, options: u32, chosen: u32) {
        if options > 1 {
            self.decisions.push(Decision { options, chosen });
        }
    }

    /// Picks which of the runnable tasks (their ordinals, in queue order)
    /// is polled next; returns its index in `runnable`.
    pub(crate) fn pick_task(&mut self, runnable: &[usize]) -> usize {
        self.steps += 1;
        let options = runnable.len() as u32;
        let chosen = if options == 1 {
            0
        } else {
            match &mut self.plan {
                Plan::Random => self.rng.below(runnable.len()) as u32,
                Plan::Pct {
                    depth, priorities, ..
                } => {
                    let depth = u64::from(*depth);
                    let mut best = 0;
                    let mut best_priority = 0;
                    for (i, &task) in runnable.iter().enumerate() {
                        if priorities.len() <= task {
                            priorities.resize(task + 1, None);
                        }
                        let priority = *priorities[task]
                            .get_or_insert_with(|| depth + 1 + self.rng.below(1 << 30) as u64);
                        if priority > best_priority {
                            best = i;
                            best_priority = priority;
                        }
                    }
                    best as u32
                }
                Plan::Prefix { .. } => self.next_in_prefix(options),
            }
        };
        if let Plan::Pct {
            change_points,
            priorities,
            ..
        } = &mut self.plan
        {
            let task = runnable[chosen as usize];
            for (i, &point) in change_points.iter().enumerate() {
                if point == self.steps {
                    if priorities.len() <= task {
                        priorities.resize(task + 1, None);
                    }
                    priorities[task] = Some(i as u64 + 1);
                }
            }
        }
        self.record(options, chosen);
        self.trace.push(Event::Poll(runnable[chosen as usize]));
        chosen as usize
    }

    /// How many budgeted operations (lock acquisitions, channel sends and
    /// receives, joins, fired timers) the task about to be polled may
    /// complete before it is preempted at the next one, up to `max`; `None`
    /// runs the poll unpreempted, the default. Random plans preempt half
    /// the polls, at a uniform point.
    pub(crate) fn choose_preemption(&mut self, max: u8) -> Option<u8> {
        let options = u32::from(max) + 2;
        let chosen = match &self.plan {
            Plan::Random | Plan::Pct { .. } => {
                if self.rng.below(2) == 0 {
                    0
                } else {
                    1 + self.rng.below(usize::from(max) + 1) as u32
                }
            }
            Plan::Prefix { .. } => self.next_in_prefix(options),
        };
        self.record(options, chosen);
        let units = chosen.checked_sub(1).map(|units| units as u8);
        if let Some(after) = units {
            self.trace.push(Event::Preempt { after });
        }
        units
    }

    /// Which of `options` branches a `select!` tries first.
    pub(crate) fn choose_branch(&mut self, options: u32) -> u32 {
        let chosen = if options <= 1 {
            0
        } else {
            match &self.plan {
                Plan::Random | Plan::Pct { .. } => self.rng.below(options as usize) as u32,
                Plan::Prefix { .. } => self.next_in_prefix(options),
            }
        };
        self.record(options, chosen);
        self.trace.push(Event::Branch { options, chosen });
        chosen
    }

    /// The chosen indices, in order.
    pub(crate) fn choices(&self) -> Vec<u32> {
        self.decisions.iter().map(|d| d.chosen).collect()
    }

    /// Choices that leave the default.
    pub(crate) fn preemptions(&self) -> usize {
        self.decisions.iter().filter(|d| d.chosen != 0).count()
    }
}

weft_base::loom::thread_local! {
    /// The decider of the schedule running on this thread.
    static ACTIVE: RefCell<Option<Box<Decider>>> = const { RefCell::new(None) };
}

/// Makes `decider` this thread's until [`deactivate`].
pub(crate) fn activate(decider: Box<Decider>) {
    ACTIVE.with(|active| *active.borrow_mut() = Some(decider));
}

/// Takes this thread's decider back.
pub(crate) fn deactivate() -> Option<Box<Decider>> {
    ACTIVE.with(|active| active.borrow_mut().take())
}

/// Runs `f` with this thread's decider, if a schedule runs here.
pub(crate) fn with_active<R>(f: impl FnOnce(&mut Decider) -> R) -> Option<R> {
    ACTIVE.with(|active| {
        let mut active = active.try_borrow_mut().ok()?;
        active.as_deref_mut().map(f)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_replays_then_defaults() {
        let plan = Plan::Prefix {
            choices: vec![1, 2],
            strict: true,
        };
        let mut d = Decider::new(plan, 1);
        assert_eq!(d.pick_task(&[0, 1]), 1);
        assert_eq!(d.pick_task(&[0]), 0, "one option is no decision");
        assert_eq!(d.choose_branch(3), 2);
        assert_eq!(d.pick_task(&[0, 1, 2]), 0, "past the prefix: the default");
        assert_eq!(d.choices(), vec![1, 2, 0]);
        assert!(d.diverged.is_none());
    }

    #[test]
    fn strict_replay_reports_an_out_of_range_choice() {
        let plan = Plan::Prefix {
            choices: vec![3],
            strict: true,
        };
        let mut d = Decider::new(plan, 1);
        assert_eq!(d.pick_task(&[0, 1]), 0);
        assert!(d.diverged.unwrap().contains("only 2 options"));
    }

    #[test]
    fn pct_runs_the_highest_priority_task_until_demoted() {
        // With no change point the same task wins every step it is runnable.
        let mut d = Decider::pct(1, 10, 7);
        let first = d.pick_task(&[0, 1, 2]);
        for _ in 0..5 {
            assert_eq!(d.pick_task(&[0, 1, 2]), first);
        }
        // A change point at step 1 demotes the first winner at once.
        let mut d = Decider::pct(2, 1, 7);
        let first = d.pick_task(&[0, 1, 2]);
        assert_ne!(d.pick_task(&[0, 1, 2]), first);
    }
}
