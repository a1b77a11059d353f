//! The lateness rows: how long after its deadline a sleep completes.
//!
//! A round spawns 1,000 tasks that each note a deadline 10 ms out and sleep
//! 10 ms with the runtime's `sleep`, then report how late they woke. Rounds
//! alternate between the runtimes in the same rotating order as the
//! workloads' samples; the table gives quantiles over every sleep of every
//! round.

use std::time::{Duration, Instant};

use crate::measure::{alternate_rounds, build_runtimes, Config};
use crate::report::LatenessResult;
use crate::rt::{Runtime, Spawner, WithRuntime};
use crate::watchdog::Watchdog;

/// Concurrent sleeps per round, and how long each sleeps.
const SLEEPERS: usize = 1_000;
const SLEEP: Duration = Duration::from_millis(10);

/// The name `--filter` matches.
pub const NAME: &str = "timer_lateness";

pub fn measure(cfg: &Config, watchdog: &Watchdog, rounds: usize) -> LatenessResult {
    let runtimes = build_runtimes(cfg);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds * SLEEPERS); runtimes.len()];
    alternate_rounds(
        watchdog,
        NAME,
        runtimes,
        rounds,
        |rt| rt.with(Round),
        |i, lateness| samples[i].extend(lateness),
    );
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
