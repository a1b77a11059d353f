//! The lateness rows: how long after its deadline a sleep completes.
//!
//! A round spawns 1,000 tasks that each note a deadline 10 ms out and sleep
//! 10 ms with the runtime's `sleep`, then report how late they woke. Rounds
//! alternate between the runtimes in the same rotating order as the
//! workloads' samples; the table gives quantiles over every sleep of every
//! round.

use std::time::{Duration, Instant};

use crate::measure::{order, Config};
use crate::report::LatenessResult;
use crate::rt::{AnyRuntime, Runtime, Spawner, WithRuntime};
use crate::watchdog::Watchdog;

/// Concurrent sleeps per round, and how long each sleeps.
const SLEEPERS: usize = 1_000;
const SLEEP: Duration = Duration::from_millis(10);

/// The name `--filter` matches.
pub const NAME: &str = "timer_lateness";

pub fn measure(cfg: &Config, watchdog: &Watchdog, rounds: usize) -> LatenessResult {
    let runtimes: Vec<AnyRuntime> = cfg
        .kinds
        .iter()
        .map(|kind| {
            kind.build(cfg.workers)
                .unwrap_or_else(|e| panic!("building {}: {e}", kind.name()))
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds * SLEEPERS); runtimes.len()];
    // One round each first, unrecorded: threads started, caches warm.
    for rounds_left in [1, rounds] {
        for round in 0..rounds_left {
            for i in order(round, runtimes.len()) {
                let rt = &runtimes[i];
                watchdog.arm(format!("{NAME} on {}", rt.kind().name()));
                let lateness = rt.with(Round);
                watchdog.disarm();
                if rounds_left == rounds {
                    samples[i].extend(lateness);
                }
            }
        }
    }
    watchdog.arm(format!("shutting the runtimes down after {NAME}"));
    drop(runtimes);
    watchdog.disarm();
    LatenessResult {
        sleepers: SLEEPERS,
        sleep: SLEEP,
        rounds,
        per_runtime: cfg.kinds.iter().copied().zip(samples).collect(),
    }
}

/// One round on one runtime: the lateness of each sleep, in ns.
struct Round;

impl WithRuntime for Round {
    type Output = Vec<f64>;

    fn call<R: Runtime>(self, rt: &R) -> Vec<f64> {
        let sp = rt.spawner();
        rt.block_on(rt.spawn(async move {
            let sleepers: Vec<_> = (0..SLEEPERS)
                .map(|_| {
                    sp.spawn(async {
                        let deadline = Instant::now() + SLEEP;
                        R::sleep(SLEEP).await;
                        let woke = Instant::now();
                        assert!(woke >= deadline, "{NAME}: a sleep ended early");
                        (woke - deadline).as_nanos() as f64
                    })
                })
                .collect();
            let mut lateness = Vec::with_capacity(SLEEPERS);
            for sleeper in sleepers {
                lateness.push(sleeper.await);
            }
            lateness
        }))
    }
}
