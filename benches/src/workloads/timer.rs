//! Timer workloads: what servers do with timers, on every runtime's own
//! timer API (weft's and tokio's `sleep` / `timeout`, smol's `Timer`).
//!
//! - `timer_churn`: timeouts around futures that are ready at once and
//!   sleeps dropped unpolled (a request handler's guard timers, most of
//!   which never fire).
//! - `timer_fire`: many concurrent sleeps with deadlines spread over 100 ms,
//!   all awaited. Its wall time is that spread (about 1.00 by
//!   construction), so its CPU time is the row's measure
//!   ([`Workload::wall_is_fixed`]).
//! - `timer_reset`: a registered sleep pushed back again and again (a
//!   keep-alive timer reset on every request, as hyper does).
//!
//! Lateness (how long after its deadline a sleep completes) is measured
//! apart, in `crate::lateness`.

use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::{time_iters, Countdown, Timing, Visitor, Workload};
use crate::rt::{Runtime, Spawner};

/// Timeouts, and sleeps, per timer_churn iteration.
const CHURN: u64 = 100_000;
/// Sleeps per timer_fire iteration, and the span of their deadlines.
const FIRE: u32 = 100_000;
const FIRE_SPREAD: Duration = Duration::from_millis(100);
/// Tasks in timer_reset, and the resets each does.
const RESET_TASKS: usize = 10_000;
const RESETS: usize = 100;

pub fn register(v: &mut impl Visitor) {
    v.visit(TimerChurn);
    v.visit(TimerFire);
    v.visit(TimerReset);
}

/// One task awaits 100,000 `timeout(1 s, ready)` and creates and drops
/// 100,000 `sleep(1 s)` without polling them.
pub struct TimerChurn;

impl Workload for TimerChurn {
    fn name(&self) -> &'static str {
        "timer_churn"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || {
            let sum = rt.block_on(rt.spawn(async {
                let mut sum = 0;
                for i in 0..CHURN {
                    let ready = async move { i };
                    sum += R::timeout(Duration::from_secs(1), ready)
                        .await
                        .expect("timer_churn: a ready future timed out");
                }
                for _ in 0..CHURN {
                    drop(black_box(R::sleep(Duration::from_secs(1))));
                }
                sum
            }));
            assert_eq!(sum, CHURN * (CHURN - 1) / 2, "timer_churn: wrong sum");
        })
    }
}

/// 100,000 tasks, spawned from inside the runtime, each sleep until a
/// deadline spread uniformly over the next 100 ms; the last to wake signals.
pub struct TimerFire;

impl Workload for TimerFire {
    fn name(&self) -> &'static str {
        "timer_fire"
    }

    fn wall_is_fixed(&self) -> Option<&'static str> {
        Some("its wall time is its own 100 ms spread of deadlines, about 1.00 by construction")
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || {
            let (countdown, done) = Countdown::new(FIRE as usize);
            let countdown = Arc::new(countdown);
            let sp = rt.spawner();
            let start = Instant::now();
            rt.spawn_detached(async move {
                for i in 0..FIRE {
                    let deadline = start + FIRE_SPREAD * i / FIRE;
                    let countdown = countdown.clone();
                    sp.spawn_detached(async move {
                        R::sleep_until(deadline).await;
                        assert!(Instant::now() >= deadline, "timer_fire: woke early");
                        countdown.tick();
                    });
                }
            });
            rt.block_on(done)
                .expect("timer_fire: completion signal lost");
        })
    }
}

/// 10,000 tasks each register a 1 s sleep, then 100 times push its deadline
/// back by a second and poll it again (still pending); then drop it.
pub struct TimerReset;

impl Workload for TimerReset {
    fn name(&self) -> &'static str {
        "timer_reset"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || {
            let (countdown, done) = Countdown::new(RESET_TASKS);
            let countdown = Arc::new(countdown);
            let sp = rt.spawner();
            rt.spawn_detached(async move {
                for _ in 0..RESET_TASKS {
                    let countdown = countdown.clone();
                    sp.spawn_detached(async move {
                        let mut sleep = pin!(R::sleep(Duration::from_secs(1)));
                        poll_pending(sleep.as_mut()).await;
                        for _ in 0..RESETS {
                            R::reset(sleep.as_mut(), Instant::now() + Duration::from_secs(1));
                            poll_pending(sleep.as_mut()).await;
                        }
                        countdown.tick();
                    });
                }
            });
            rt.block_on(done)
                .expect("timer_reset: completion signal lost");
        })
    }
}

/// Polls `future` once with the task's waker and checks it is pending.
async fn poll_pending<F: Future>(mut future: std::pin::Pin<&mut F>) {
    poll_fn(|cx| {
        assert!(
            future.as_mut().poll(cx).is_pending(),
            "timer_reset: a sleep a second out completed"
        );
        Poll::Ready(())
    })
    .await
}
