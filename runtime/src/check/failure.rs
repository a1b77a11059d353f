//! What a check run reports: the failure of one schedule (a panic, a
//! deadlock, the step bound), with the strategy, seed and schedule string
//! that reproduce it, and the trace of that schedule.
//!
//! Tasks are named by their ordinal in the schedule (`t0` is the body, then
//! in spawn order), which a replay gives back exactly; their runtime ids
//! count on across schedules and are printed only as a help.

use std::fmt;
use std::time::Duration;

use crate::runtime::dump::WaitsOn;

/// One task of the failing schedule, as the report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// Spawn order in the schedule: 0 is the body, then each task spawned.
    pub ordinal: usize,
    /// The task's runtime id (`weft::task::Id`), for matching logs.
    pub id: u64,
    /// The name given at spawn (`task::Builder::name`), `main` for the
    /// body, `spawn_blocking` for a blocking closure.
    pub name: Option<String>,
    /// How many times the task was polled in the schedule.
    pub polls: u64,
    /// In a deadlock report, what the task's last poll left it waiting on
    /// (as the task dump says it); `None` in other reports.
    pub waits_on: Option<WaitsOn>,
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.ordinal)?;
        if let Some(name) = &self.name {
            write!(f, " \"{name}\"")?;
        }
        let s = if self.polls == 1 { "" } else { "s" };
        write!(f, " (id {}, {} poll{s})", self.id, self.polls)?;
        match self.waits_on {
            Some(waits_on) => write!(f, " waits on {waits_on}"),
            None => Ok(()),
        }
    }
}

/// What went wrong in the failing schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// A task (joined or not, the body included) panicked.
    Panic {
        /// The task whose poll panicked.
        task: TaskInfo,
        /// The panic's message and, where known, its location.
        message: String,
    },
    /// Nothing could run, no timer was pending, and the body had not
    /// finished: every live task waits on something only another waiting
    /// task could give it.
    Deadlock {
        /// Every task still alive, each waiting.
        waiting: Vec<TaskInfo>,
    },
    /// The schedule took more polls than `Builder::max_steps` allows: a
    /// livelock, or a body too long for the bound.
    StepBound {
        /// The bound that was reached.
        max_steps: usize,
    },
    /// A replayed schedule asked for a choice the body did not offer: the
    /// body is not the one the string was recorded from, or it does
    /// something the checker does not control (threads, real time, I/O).
    ReplayDiverged {
        /// Where the replay left the recorded schedule.
        detail: String,
    },
    /// The check run itself could not start (the runtime could not be
    /// built, or `run` was called inside a runtime).
    Setup {
        /// Why.
        reason: String,
    },
}

impl FailureKind {
    /// Same kind of failure (a shrunk schedule must keep it).
    pub(crate) fn same_kind(&self, other: &FailureKind) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Panic { task, message } => write!(f, "task {task} panicked: {message}"),
            FailureKind::Deadlock { waiting } => {
                write!(
                    f,
                    "deadlock: nothing can run, no timer is pending, and {} task(s) wait:",
                    waiting.len()
                )?;
                for task in waiting {
                    write!(f, "\n    {task}")?;
                }
                Ok(())
            }
            FailureKind::StepBound { max_steps } => write!(
                f,
                "step bound exceeded: more than {max_steps} polls in one schedule \
                 (a livelock? raise `max_steps` if the body is just long)"
            ),
            FailureKind::ReplayDiverged { detail } => write!(f, "replay diverged: {detail}"),
            FailureKind::Setup { reason } => write!(f, "the check run could not start: {reason}"),
        }
    }
}

/// One step of a schedule, as a replay must repeat it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Task `t<ordinal>` was polled.
    Poll(usize),
    /// A `select!` chose which of `options` branches to try first.
    Branch {
        /// How many branches there were.
        options: u32,
        /// The first one tried.
        chosen: u32,
    },
    /// The poll that follows is preempted at its budgeted operation number
    /// `after + 1` (a lock, a channel operation, a join): it yields there
    /// as if a parallel worker had run in between.
    Preempt {
        /// Budgeted operations the poll completes first.
        after: u8,
    },
    /// Nothing could run: the virtual clock jumped to the next timer, now
    /// this far past the schedule's start.
    Advance(Duration),
}

/// The steps of one schedule in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    pub(crate) events: Vec<Event>,
}

impl Trace {
    /// The steps, first to last.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

/// A failing schedule: what failed, and how to get it back.
#[derive(Clone, Debug)]
pub struct Failure(Box<Details>);

/// A failure's contents, boxed so that `Result<_, Failure>` stays small.
#[derive(Clone, Debug)]
pub(crate) struct Details {
    pub(crate) kind: FailureKind,
    pub(crate) strategy: String,
    pub(crate) seed: u64,
    pub(crate) schedule: String,
    /// 1-based number of the schedule that failed first.
    pub(crate) found_at: usize,
    pub(crate) preemptions: usize,
    /// Preemptions before shrinking, when shrinking made fewer.
    pub(crate) shrunk_from: Option<usize>,
    pub(crate) trace: Trace,
}

impl Failure {
    pub(crate) fn new(details: Details) -> Failure {
        Failure(Box::new(details))
    }

    /// What went wrong.
    pub fn kind(&self) -> &FailureKind {
        &self.0.kind
    }

    /// The schedule string to give `Builder::replay` or `WEFT_CHECK_REPLAY`.
    pub fn schedule(&self) -> &str {
        &self.0.schedule
    }

    /// The strategy that found it, as the report prints it.
    pub fn strategy(&self) -> &str {
        &self.0.strategy
    }

    /// The seed of the run that found it.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }

    /// Which schedule (counting from 1) failed first: the schedules to
    /// first failure.
    pub fn found_at(&self) -> usize {
        self.0.found_at
    }

    /// How many choices of the reported schedule leave the default (the
    /// first runnable task in queue order, a `select!`'s first branch).
    pub fn preemptions(&self) -> usize {
        self.0.preemptions
    }

    /// The steps of the reported schedule.
    pub fn trace(&self) -> &Trace {
        &self.0.trace
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "weft::check: {}", self.0.kind)?;
        write!(
            f,
            "  strategy {}, seed {}, failed at schedule {}; {} preemption(s)",
            self.0.strategy, self.0.seed, self.0.found_at, self.0.preemptions
        )?;
        if let Some(from) = self.0.shrunk_from {
            write!(f, " (shrunk from {from})")?;
        }
        let polls = self
            .0
            .trace
            .events
            .iter()
            .filter(|e| matches!(e, Event::Poll(_)))
            .count();
        writeln!(f, ", {polls} polls")?;
        writeln!(f, "  schedule: {}", self.0.schedule)?;
        write!(
            f,
            "  replay:   {}='{}' cargo test <this test>   (or Builder::replay)",
            super::REPLAY_ENV,
            self.0.schedule
        )
    }
}

impl std::error::Error for Failure {}
