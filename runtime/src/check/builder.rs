//! `Builder`: how many schedules, which strategy, which seed; and the
//! loop that runs the body once per schedule, stops at the first failure,
//! shrinks it and reports it.
//!
//! Every schedule is a fresh runtime and a fresh decider (`exec.rs`,
//! `strategy.rs`), so schedules share nothing but the body's code; the
//! seed of schedule `i` is derived from the run's seed and `i`, so a run
//! is the same run every time.

use std::fmt;
use std::future::Future;

use super::exec::{Outcome, Session};
use super::failure::{Details, Failure, FailureKind, Trace};
use super::schedule;
use super::strategy::{Decider, Plan};

/// Where the seed comes from when `Builder::seed` is not called.
pub const SEED_ENV: &str = "WEFT_CHECK_SEED";
/// Set to a schedule string, replays that schedule instead of exploring.
pub const REPLAY_ENV: &str = "WEFT_CHECK_REPLAY";

/// A poll may be preempted at one of its first this many budgeted
/// operations.
const SYNC_PREEMPTION_POINTS: u8 = 4;

/// At most this many extra runs go into shrinking one failure.
const SHRINK_RUNS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    Random,
    Pct { depth: u32 },
    Exhaustive { max_preemptions: usize },
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Random => f.write_str("random"),
            Strategy::Pct { depth } => write!(f, "pct(depth {depth})"),
            Strategy::Exhaustive { max_preemptions } => {
                write!(f, "exhaustive(at most {max_preemptions} preemptions)")
            }
        }
    }
}

/// Configures and runs a check: the body is run once per schedule on a
/// deterministic one-thread runtime whose every scheduling choice the
/// checker makes.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// weft_runtime::check::Builder::new().schedules(100).run(|| async {
///     let hits = Arc::new(AtomicUsize::new(0));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let hits = hits.clone();
///             weft_runtime::spawn(async move { hits.fetch_add(1, Ordering::SeqCst) })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(hits.load(Ordering::SeqCst), 3);
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    schedules: usize,
    seed: u64,
    strategy: Strategy,
    max_steps: usize,
    replay: Option<String>,
    shrink: bool,
    preempt_at_sync: bool,
    /// A malformed environment variable, reported when the check runs.
    env_error: Option<String>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

/// What a check run that found nothing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    schedules: usize,
    complete: bool,
    longest: usize,
}

impl Report {
    /// Schedules run.
    pub fn schedules(&self) -> usize {
        self.schedules
    }

    /// True when an exhaustive search ran every schedule within its
    /// preemption bound (never for the random strategies).
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The most task polls one schedule took.
    pub fn longest_schedule(&self) -> usize {
        self.longest
    }
}

impl Builder {
    /// 1,000 schedules of a seeded random walk, at most 100,000 polls per
    /// schedule, failures shrunk; the seed is `WEFT_CHECK_SEED` if set,
    /// else 0, and `WEFT_CHECK_REPLAY`, if set, replays that schedule
    /// instead.
    pub fn new() -> Builder {
        let mut builder = Builder {
            schedules: 1_000,
            seed: 0,
            strategy: Strategy::Random,
            max_steps: 100_000,
            replay: None,
            shrink: true,
            preempt_at_sync: true,
            env_error: None,
        };
        if let Ok(text) = std::env::var(SEED_ENV) {
            match text.trim().parse() {
                Ok(seed) => builder.seed = seed,
                Err(_) => {
                    builder.env_error = Some(format!(
                        "{SEED_ENV}={text:?} is not a seed (a number from 0 to {})",
                        u64::MAX
                    ))
                }
            }
        }
        if let Ok(text) = std::env::var(REPLAY_ENV) {
            if !text.trim().is_empty() {
                builder.replay = Some(text);
            }
        }
        builder
    }

    /// How many schedules to explore at most (at least 1).
    pub fn schedules(&mut self, n: usize) -> &mut Self {
        self.schedules = n;
        self
    }

    /// The seed of the random strategies.
    pub fn seed(&mut self, seed: u64) -> &mut Self {
        self.seed = seed;
        self
    }

    /// Seeded random walk: every choice uniform (the default).
    pub fn random(&mut self) -> &mut Self {
        self.strategy = Strategy::Random;
        self
    }

    /// Probabilistic concurrency testing with bug depth `depth` (at least
    /// 1): random task priorities with `depth - 1` priority change points,
    /// which finds a bug needing `depth` ordering constraints with a known
    /// probability per schedule.
    pub fn pct(&mut self, depth: u32) -> &mut Self {
        self.strategy = Strategy::Pct { depth };
        self
    }

    /// Every schedule, depth first, whose choices leave the default (the
    /// first runnable task in queue order, a `select!`'s first branch) at
    /// most `max_preemptions` times, up to `schedules`; the report says
    /// whether that covered them all.
    pub fn exhaustive(&mut self, max_preemptions: usize) -> &mut Self {
        self.strategy = Strategy::Exhaustive { max_preemptions };
        self
    }

    /// The most task polls one schedule may take before it fails as a
    /// livelock (at least 1).
    pub fn max_steps(&mut self, n: usize) -> &mut Self {
        self.max_steps = n;
        self
    }

    /// Replays the schedule a failure report printed, once, instead of
    /// exploring.
    pub fn replay(&mut self, schedule: impl Into<String>) -> &mut Self {
        self.replay = Some(schedule.into());
        self
    }

    /// Whether a failure is shrunk to fewer preemptions before it is
    /// reported (default true).
    pub fn shrink(&mut self, shrink: bool) -> &mut Self {
        self.shrink = shrink;
        self
    }

    /// Whether a task's poll may also be preempted at a lock acquisition,
    /// a channel operation or a join that completes without waiting
    /// (default true): what another worker of a multi-thread runtime could
    /// do between two such operations. Without it a poll runs uninterrupted
    /// to its next `Pending`, as on the current-thread runtime, and a
    /// deadlock between `a.lock().await; b.lock().await` and the reverse
    /// order is found only if something in between waits.
    pub fn preempt_at_sync(&mut self, preempt: bool) -> &mut Self {
        self.preempt_at_sync = preempt;
        self
    }

    /// The most budgeted operations a poll completes before a preemption
    /// the checker places; `None` when it places none.
    fn preemption(&self) -> Option<u8> {
        self.preempt_at_sync.then_some(SYNC_PREEMPTION_POINTS - 1)
    }

    /// Runs the check, panicking with the failure report if a schedule
    /// fails: the form for `#[test]`s.
    ///
    /// # Panics
    /// With the report (what failed, strategy, seed, schedule string) when
    /// a schedule fails, or the configuration is invalid.
    #[track_caller]
    pub fn run<B, Fut>(&self, body: B) -> Report
    where
        B: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        match self.check(body) {
            Ok(report) => report,
            Err(failure) => panic!("{failure}"),
        }
    }

    /// Runs the check and returns the first failure (shrunk) instead of
    /// panicking.
    pub fn check<B, Fut>(&self, body: B) -> Result<Report, Failure>
    where
        B: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if let Some(reason) = self.invalid() {
            return Err(self.setup_failure(reason));
        }
        let session = Session::new().map_err(|kind| match kind {
            FailureKind::Setup { reason } => self.setup_failure(reason),
            other => self.setup_failure(other.to_string()),
        })?;
        let session = &session;
        if let Some(text) = &self.replay {
            let choices =
                schedule::decode(text).map_err(|err| self.setup_failure(err.to_string()))?;
            let plan = Plan::Prefix {
                choices,
                strict: true,
            };
            let outcome = session.run_schedule(
                &body,
                Box::new(Decider::new(plan, 0)),
                self.max_steps,
                self.preemption(),
            );
            return self.conclude(session, &body, outcome, 1, "replay".to_string(), false);
        }
        let label = self.strategy.to_string();
        let mut longest = 0;
        match self.strategy {
            Strategy::Random | Strategy::Pct { .. } => {
                for i in 0..self.schedules {
                    let seed = schedule_seed(self.seed, i);
                    let decider = match self.strategy {
                        Strategy::Pct { depth } => Decider::pct(depth, longest, seed),
                        _ => Decider::new(Plan::Random, seed),
                    };
                    let outcome = session.run_schedule(
                        &body,
                        Box::new(decider),
                        self.max_steps,
                        self.preemption(),
                    );
                    longest = longest.max(outcome.decider.steps);
                    self.conclude(session, &body, outcome, i + 1, label.clone(), self.shrink)?;
                }
                Ok(Report {
                    schedules: self.schedules,
                    complete: false,
                    longest,
                })
            }
            Strategy::Exhaustive { max_preemptions } => {
                self.explore(session, &body, max_preemptions, label)
            }
        }
    }

    /// The depth-first search of `exhaustive`.
    fn explore<B, Fut>(
        &self,
        session: &Session,
        body: &B,
        bound: usize,
        label: String,
    ) -> Result<Report, Failure>
    where
        B: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut prefix = Vec::new();
        let mut longest = 0;
        for run in 1..=self.schedules {
            // Strict: the same body under the same choices must offer the
            // same choices again, or the search is not sound.
            let plan = Plan::Prefix {
                choices: std::mem::take(&mut prefix),
                strict: true,
            };
            let outcome = session.run_schedule(
                body,
                Box::new(Decider::new(plan, 0)),
                self.max_steps,
                self.preemption(),
            );
            longest = longest.max(outcome.decider.steps);
            let decisions = outcome.decider.decisions.clone();
            self.conclude(session, body, outcome, run, label.clone(), self.shrink)?;
            // Backtrack: the deepest choice with an untried option whose
            // choosing keeps within the bound.
            let mut before = Vec::with_capacity(decisions.len());
            let mut count = 0;
            for d in &decisions {
                before.push(count);
                count += usize::from(d.chosen != 0);
            }
            let next = (0..decisions.len())
                .rev()
                .find(|&j| decisions[j].chosen + 1 < decisions[j].options && before[j] < bound);
            let Some(j) = next else {
                return Ok(Report {
                    schedules: run,
                    complete: true,
                    longest,
                });
            };
            prefix = decisions[..j].iter().map(|d| d.chosen).collect();
            prefix.push(decisions[j].chosen + 1);
        }
        Ok(Report {
            schedules: self.schedules,
            complete: false,
            longest,
        })
    }

    /// `Ok` for a passing schedule; the failure, shrunk if asked, else.
    fn conclude<B, Fut>(
        &self,
        session: &Session,
        body: &B,
        outcome: Outcome,
        found_at: usize,
        strategy: String,
        shrink: bool,
    ) -> Result<Report, Failure>
    where
        B: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(kind) = outcome.failure else {
            return Ok(Report {
                schedules: found_at,
                complete: false,
                longest: outcome.decider.steps,
            });
        };
        let first = outcome.decider.preemptions();
        let (kind, decider) = if shrink && !matches!(kind, FailureKind::ReplayDiverged { .. }) {
            self.shrink_failure(session, body, kind, outcome.decider)
        } else {
            (kind, outcome.decider)
        };
        let preemptions = decider.preemptions();
        Err(Failure::new(Details {
            kind,
            strategy,
            seed: self.seed,
            schedule: schedule::encode(&decider.choices()),
            found_at,
            preemptions,
            shrunk_from: (preemptions < first).then_some(first),
            trace: Trace {
                events: decider.trace,
            },
        }))
    }

    /// Tries schedules with fewer preemptions that fail the same way: the
    /// failing schedule cut short (every later choice the default), then
    /// with single choices put back to the default.
    fn shrink_failure<B, Fut>(
        &self,
        session: &Session,
        body: &B,
        mut kind: FailureKind,
        mut best: Box<Decider>,
    ) -> (FailureKind, Box<Decider>)
    where
        B: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut runs = 0;
        'search: while runs < SHRINK_RUNS {
            let choices = best.choices();
            let nonzero: Vec<usize> = (0..choices.len()).filter(|&i| choices[i] != 0).collect();
            let cuts = nonzero.iter().map(|&j| choices[..=j].to_vec());
            let zeroed = nonzero.iter().rev().map(|&j| {
                let mut candidate = choices.clone();
                candidate[j] = 0;
                candidate
            });
            for candidate in cuts.chain(zeroed) {
                if runs >= SHRINK_RUNS {
                    break 'search;
                }
                runs += 1;
                let plan = Plan::Prefix {
                    choices: candidate,
                    strict: false,
                };
                let outcome = session.run_schedule(
                    body,
                    Box::new(Decider::new(plan, 0)),
                    self.max_steps,
                    self.preemption(),
                );
                match outcome.failure {
                    Some(found)
                        if found.same_kind(&kind)
                            && outcome.decider.preemptions() < best.preemptions() =>
                    {
                        kind = found;
                        best = outcome.decider;
                        continue 'search;
                    }
                    _ => {}
                }
            }
            break;
        }
        (kind, best)
    }

    fn invalid(&self) -> Option<String> {
        if let Some(err) = &self.env_error {
            return Some(err.clone());
        }
        if self.schedules == 0 {
            return Some("schedules(0): a check needs at least one schedule".to_string());
        }
        if self.max_steps == 0 {
            return Some("max_steps(0): a schedule needs at least one step".to_string());
        }
        if self.strategy == (Strategy::Pct { depth: 0 }) {
            return Some("pct(0): the bug depth is at least 1".to_string());
        }
        None
    }

    fn setup_failure(&self, reason: String) -> Failure {
        Failure::new(Details {
            kind: FailureKind::Setup { reason },
            strategy: self.strategy.to_string(),
            seed: self.seed,
            schedule: schedule::encode(&[]),
            found_at: 0,
            preemptions: 0,
            shrunk_from: None,
            trace: Trace::default(),
        })
    }
}

/// Schedule `i`'s seed: splitmix64 of the run's seed and `i`.
fn schedule_seed(seed: u64, i: usize) -> u64 {
    let mut z = seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
