//! Running workloads: warm-up, calibration, and alternating samples.
//!
//! For each workload, every selected runtime is built (outside any timed
//! region) and warmed up; the warm-up also estimates the time per iteration,
//! from which one iteration count per sample is chosen for all runtimes (so
//! a sample takes about `--sample-ms` on a typical runtime, and each runtime
//! does the same work). Then `reps` repetitions each take one sample from
//! every runtime, in an order that changes every repetition (see [`order`]),
//! so no runtime always runs first, or always right after the same other
//! runtime. Before each sample the bench waits for the process to go idle
//! ([`crate::cpu::wait_idle`]), so what the previous runtime left running
//! (workers spinning before they park, tasks being dropped) neither takes
//! cores from the sample nor lands in its CPU time.

use std::time::{Duration, Instant};

use crate::cpu;
use crate::rt::{AnyRuntime, Kind, Runtime, WithRuntime};
use crate::stats;
use crate::watchdog::Watchdog;
use crate::workloads::{Timing, Visitor, Workload};

/// How workloads are measured.
pub struct Config {
    pub workers: usize,
    pub reps: usize,
    /// The wall time one sample should take.
    pub sample_target: Duration,
    /// How long each runtime is warmed up per workload (at least one
    /// iteration is always run).
    pub warmup: Duration,
    /// Substrings; a workload runs if its name contains any (all if empty).
    pub filters: Vec<String>,
    pub kinds: Vec<Kind>,
}

impl Config {
    /// Whether the workload called `name` was selected with `--filter`.
    pub fn selected(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }
}

/// Largest number of iterations in one sample.
const MAX_ITERS: u64 = 1_000_000;

/// How long the bench waits, at most, for the process to go idle before a
/// sample (see [`cpu::wait_idle`]).
const SETTLE_LIMIT: Duration = Duration::from_millis(50);

/// The samples of one workload.
pub struct WorkloadResult {
    pub name: &'static str,
    pub iters_per_sample: u64,
    /// Per runtime, in `Config::kinds` order: nanoseconds of wall time per
    /// iteration, one value per repetition.
    pub samples: Vec<(Kind, Vec<f64>)>,
    /// Per runtime, in the same order: nanoseconds of the process's CPU
    /// time per iteration, one value per repetition (empty where there is
    /// no CPU clock).
    pub cpu_samples: Vec<(Kind, Vec<f64>)>,
    /// Samples that started before the process had gone idle (the wait
    /// gave up after [`SETTLE_LIMIT`]): their CPU time may hold someone
    /// else's.
    pub unsettled: usize,
    /// Why the row's wall time means nothing, if it does not
    /// ([`Workload::wall_is_fixed`]).
    pub wall_is_fixed: Option<&'static str>,
}

impl WorkloadResult {
    /// The wall-time samples of `kind`, if it ran.
    pub fn samples_of(&self, kind: Kind) -> Option<&[f64]> {
        find(&self.samples, kind)
    }

    /// The CPU-time samples of `kind`, if it ran and there is a CPU clock.
    pub fn cpu_samples_of(&self, kind: Kind) -> Option<&[f64]> {
        find(&self.cpu_samples, kind).filter(|s| !s.is_empty())
    }
}

fn find(per_runtime: &[(Kind, Vec<f64>)], kind: Kind) -> Option<&[f64]> {
    per_runtime
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, s)| s.as_slice())
}

/// Runs every selected workload and collects the results.
pub struct Runner<'a> {
    cfg: &'a Config,
    watchdog: &'a Watchdog,
    pub results: Vec<WorkloadResult>,
}

impl<'a> Runner<'a> {
    pub fn new(cfg: &'a Config, watchdog: &'a Watchdog) -> Runner<'a> {
        Runner {
            cfg,
            watchdog,
            results: Vec::new(),
        }
    }
}

impl Visitor for Runner<'_> {
    fn visit<W: Workload>(&mut self, workload: W) {
        if self.cfg.selected(workload.name()) {
            let result = run_workload(self.cfg, self.watchdog, &workload);
            self.results.push(result);
        }
    }
}

/// One sample of `workload` on whichever runtime it is given.
struct Sample<'w, W> {
    workload: &'w W,
    iters: u64,
}

impl<W: Workload> WithRuntime for Sample<'_, W> {
    type Output = Timing;

    fn call<R: Runtime>(self, rt: &R) -> Timing {
        self.workload.sample(rt, self.iters)
    }
}

/// Every selected runtime, built with the configured worker count.
pub fn build_runtimes(cfg: &Config) -> Vec<AnyRuntime> {
    cfg.kinds
        .iter()
        .map(|kind| {
            kind.build(cfg.workers)
                .unwrap_or_else(|e| panic!("building {}: {e}", kind.name()))
        })
        .collect()
}

/// The rows measured in whole rounds (lateness, many clients): one
/// unrecorded round on each runtime (threads started, caches warm), then
/// `rounds` rounds in [`order`], `round(i, runtime)` each time; `record`
/// gets runtime `i`'s result of each recorded round. The runtimes are shut
/// down at the end, under the watchdog.
pub fn alternate_rounds<T>(
    watchdog: &Watchdog,
    name: &str,
    runtimes: Vec<AnyRuntime>,
    rounds: usize,
    mut round: impl FnMut(&AnyRuntime) -> T,
    mut record: impl FnMut(usize, T),
) {
    for rounds_left in [1, rounds] {
        for r in 0..rounds_left {
            for i in order(r, runtimes.len()) {
                let rt = &runtimes[i];
                watchdog.arm(format!("{name} on {}", rt.kind().name()));
                let result = round(rt);
                watchdog.disarm();
                if rounds_left == rounds {
                    record(i, result);
                }
            }
        }
    }
    watchdog.arm(format!("shutting the runtimes down after {name}"));
    drop(runtimes);
    watchdog.disarm();
}

fn run_workload<W: Workload>(cfg: &Config, watchdog: &Watchdog, workload: &W) -> WorkloadResult {
    let name = workload.name();
    let runtimes = build_runtimes(cfg);

    let sample = |rt: &AnyRuntime, iters: u64| -> Timing {
        watchdog.arm(format!(
            "{name} on {} ({iters} iterations)",
            rt.kind().name()
        ));
        let elapsed = rt.with(Sample { workload, iters });
        watchdog.disarm();
        elapsed
    };

    // Warm up each runtime, doubling the batch, and keep its last estimate
    // of the time per iteration.
    let estimates: Vec<f64> = runtimes
        .iter()
        .map(|rt| {
            let start = Instant::now();
            let mut iters = 1;
            loop {
                let per_iter = sample(rt, iters).wall.as_nanos() as f64 / iters as f64;
                if start.elapsed() >= cfg.warmup || iters >= MAX_ITERS {
                    break per_iter;
                }
                iters *= 2;
            }
        })
        .collect();
    let typical = stats::median(&estimates).max(1.0);
    let iters =
        ((cfg.sample_target.as_nanos() as f64 / typical).round() as u64).clamp(1, MAX_ITERS);
    eprintln!("  {name}: {iters} iterations per sample");

    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.reps); runtimes.len()];
    let mut cpu_samples: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.reps); runtimes.len()];
    let mut unsettled = 0;
    for rep in 0..cfg.reps {
        for i in order(rep, runtimes.len()) {
            if !cpu::wait_idle(SETTLE_LIMIT) {
                unsettled += 1;
            }
            let timing = sample(&runtimes[i], iters);
            samples[i].push(timing.wall.as_nanos() as f64 / iters as f64);
            if let Some(cpu) = timing.cpu {
                cpu_samples[i].push(cpu.as_nanos() as f64 / iters as f64);
            }
        }
    }
    watchdog.arm(format!("shutting the runtimes down after {name}"));
    drop(runtimes);
    watchdog.disarm();

    if unsettled > 0 {
        eprintln!(
            "  {name}: {unsettled} samples started before the process was idle \
             (something kept running between samples); their CPU times may be high"
        );
    }
    WorkloadResult {
        name,
        iters_per_sample: iters,
        samples: cfg.kinds.iter().copied().zip(samples).collect(),
        cpu_samples: cfg.kinds.iter().copied().zip(cpu_samples).collect(),
        unsettled,
        wall_is_fixed: workload.wall_is_fixed(),
    }
}

/// The order in which `n` runtimes take their samples in repetition `rep`:
/// the `n` rotations of `0..n`, then the same reversed, and again. Every `n`
/// repetitions each runtime has been in each position once; every `2n`, each
/// runtime has also followed each other runtime equally often.
pub fn order(rep: usize, n: usize) -> Vec<usize> {
    let shift = rep % n;
    let mut order: Vec<usize> = (0..n).map(|t| (shift + t) % n).collect();
    if (rep / n) % 2 == 1 {
        order.reverse();
    }
    order
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn orders_balance_positions_and_predecessors() {
        let n = 3;
        let orders: Vec<Vec<usize>> = (0..2 * n).map(|rep| order(rep, n)).collect();
        assert_eq!(orders[0], [0, 1, 2]);
        assert_eq!(orders[3], [2, 1, 0]);
        for chunk in orders.chunks(n) {
            for pos in 0..n {
                let mut at_pos: Vec<usize> = chunk.iter().map(|o| o[pos]).collect();
                at_pos.sort();
                assert_eq!(at_pos, [0, 1, 2], "position {pos} in {chunk:?}");
            }
        }
        let mut pairs = vec![vec![0; n]; n];
        for o in &orders {
            for w in o.windows(2) {
                pairs[w[0]][w[1]] += 1;
            }
        }
        for (a, row) in pairs.iter().enumerate() {
            for (b, &count) in row.iter().enumerate() {
                assert_eq!(count, if a == b { 0 } else { 2 }, "{a} then {b}");
            }
        }
        assert_eq!(order(5, 1), [0]);
    }
}
