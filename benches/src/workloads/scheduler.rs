//! Scheduler workloads: tokio's own `rt_multi_threaded` benchmark shapes and
//! parameters (spawning, yielding, ping-pong, chained spawns), run on every
//! runtime.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use futures_channel::oneshot;

use super::{time_iters, Countdown, Timing, Visitor, Workload};
use crate::rt::{Runtime, Spawner};

/// Tasks spawned by the spawn_many workloads.
const NUM_SPAWN: usize = 10_000;
/// Tasks in yield_many, and the yields each makes.
const YIELD_TASKS: usize = 200;
const NUM_YIELD: usize = 1_000;
/// Ping-pong pairs.
const NUM_PINGS: usize = 1_000;
/// Length of the chain in chained_spawn.
const CHAIN_DEPTH: usize = 1_000;
/// Background tasks that keep the workers busy in spawn_many_remote_busy.
const BUSY_TASKS: usize = 8;

pub fn register(v: &mut impl Visitor) {
    v.visit(SpawnManyLocal);
    v.visit(SpawnManyRemoteIdle);
    v.visit(SpawnManyRemoteBusy);
    v.visit(YieldMany);
    v.visit(PingPong);
    v.visit(ChainedSpawn);
}

/// One task spawns 10,000 tasks from inside the runtime; each counts down,
/// the last one signals completion.
pub struct SpawnManyLocal;

impl Workload for SpawnManyLocal {
    fn name(&self) -> &'static str {
        "spawn_many_local"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || {
            let (countdown, done) = Countdown::new(NUM_SPAWN);
            let countdown = Arc::new(countdown);
            let sp = rt.spawner();
            let check = countdown.clone();
            rt.spawn_detached(async move {
                for _ in 0..NUM_SPAWN {
                    let countdown = countdown.clone();
                    sp.spawn_detached(async move { countdown.tick() });
                }
            });
            rt.block_on(done)
                .expect("spawn_many_local: completion signal lost");
            assert_eq!(check.left(), 0, "spawn_many_local: tasks missing");
        })
    }
}

/// The bench thread spawns 10,000 tasks from outside, then awaits every
/// handle; the outputs must add up.
pub struct SpawnManyRemoteIdle;

impl Workload for SpawnManyRemoteIdle {
    fn name(&self) -> &'static str {
        "spawn_many_remote_idle"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || spawn_many_remote(rt))
    }
}

fn spawn_many_remote<R: Runtime>(rt: &R) {
    let handles: Vec<_> = (0..NUM_SPAWN)
        .map(|i| rt.spawn(async move { black_box(i) + 1 - i }))
        .collect();
    let total = rt.block_on(async move {
        let mut total = 0;
        for handle in handles {
            total += handle.await;
        }
        total
    });
    assert_eq!(total, NUM_SPAWN, "spawn_many_remote: outputs missing");
}

/// As spawn_many_remote_idle, while 8 background tasks keep every worker
/// busy with `yield_now` loops. They are started (and seen running) before
/// the timed iterations and stopped after them.
pub struct SpawnManyRemoteBusy;

impl Workload for SpawnManyRemoteBusy {
    fn name(&self) -> &'static str {
        "spawn_many_remote_busy"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicUsize::new(0));
        let busy: Vec<_> = (0..BUSY_TASKS)
            .map(|_| {
                let stop = stop.clone();
                let started = started.clone();
                rt.spawn(async move {
                    started.fetch_add(1, Ordering::Release);
                    while !stop.load(Ordering::Relaxed) {
                        R::yield_now().await;
                    }
                })
            })
            .collect();
        while started.load(Ordering::Acquire) < BUSY_TASKS {
            thread::sleep(Duration::from_micros(50));
        }

        let elapsed = time_iters(iters, || spawn_many_remote(rt));

        stop.store(true, Ordering::Relaxed);
        rt.block_on(async move {
            for handle in busy {
                handle.await;
            }
        });
        elapsed
    }
}

/// 200 tasks, spawned from outside, each yielding 1,000 times.
pub struct YieldMany;

impl Workload for YieldMany {
    fn name(&self) -> &'static str {
        "yield_many"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || {
            let handles: Vec<_> = (0..YIELD_TASKS)
                .map(|_| {
                    rt.spawn(async {
                        let mut yields = 0;
                        for _ in 0..NUM_YIELD {
                            R::yield_now().await;
                            yields += 1;
                        }
                        yields
                    })
                })
                .collect();
            let total = rt.block_on(async move {
                let mut total = 0;
                for handle in handles {
                    total += handle.await;
                }
                total
            });
            assert_eq!(total, YIELD_TASKS * NUM_YIELD, "yield_many: yields missing");
        })
    }
}

/// A task spawns 1,000 tasks; each spawns a partner and plays one round of
/// ping-pong with it over two oneshot channels; the last pair to finish
/// signals completion.
pub struct PingPong;

impl Workload for PingPong {
    fn name(&self) -> &'static str {
        "ping_pong"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || {
            let (countdown, done) = Countdown::new(NUM_PINGS);
            let countdown = Arc::new(countdown);
            let check = countdown.clone();
            let sp = rt.spawner();
            rt.spawn_detached(async move {
                for _ in 0..NUM_PINGS {
                    let countdown = countdown.clone();
                    let partner_sp = sp.clone();
                    sp.spawn_detached(async move {
                        let (ping_tx, ping_rx) = oneshot::channel::<()>();
                        let (pong_tx, pong_rx) = oneshot::channel::<()>();
                        partner_sp.spawn_detached(async move {
                            ping_rx.await.expect("ping_pong: ping lost");
                            pong_tx.send(()).expect("ping_pong: pinger gone");
                        });
                        ping_tx.send(()).expect("ping_pong: partner gone");
                        pong_rx.await.expect("ping_pong: pong lost");
                        countdown.tick();
                    });
                }
            });
            rt.block_on(done)
                .expect("ping_pong: completion signal lost");
            assert_eq!(check.left(), 0, "ping_pong: pairs missing");
        })
    }
}

/// A chain of 1,000 tasks, each spawning the next from inside the runtime;
/// the last one reports how many links ran.
pub struct ChainedSpawn;

impl Workload for ChainedSpawn {
    fn name(&self) -> &'static str {
        "chained_spawn"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        time_iters(iters, || {
            let (tx, rx) = oneshot::channel();
            let sp = rt.spawner();
            rt.spawn_detached(async move { link(sp, 0, tx) });
            let links = rt.block_on(rx).expect("chained_spawn: chain broken");
            assert_eq!(links, CHAIN_DEPTH, "chained_spawn: links missing");
        })
    }
}

/// One link of the chain: spawns the next link, or reports at the end.
fn link<S: Spawner>(sp: S, done: usize, tx: oneshot::Sender<usize>) {
    if done == CHAIN_DEPTH {
        let _ = tx.send(done);
    } else {
        let next = sp.clone();
        sp.spawn_detached(async move { link(next, done + 1, tx) });
    }
}
