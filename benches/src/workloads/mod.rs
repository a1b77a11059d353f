//! The workloads, each written once and generic over [`Runtime`].
//!
//! A workload is a type implementing [`Workload`]. Each module of workloads
//! (scheduler, timer, net, fs, sync) has a `register` function that
//! hands its workloads to a [`Visitor`]; [`visit_all`] calls every module's.
//! Adding a module is: write it, add `mod x;` and `x::register(v);` here.
//!
//! Every iteration checks its own result (task counts, values received) and
//! panics if it is wrong, so a broken runtime cannot win by doing nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_channel::oneshot;

use crate::cpu;
use crate::rt::Runtime;

pub mod fs;
pub mod net;
pub mod scheduler;
mod sync;
pub mod timer;

/// One benchmark workload.
pub trait Workload {
    /// The row name in the report; `--filter` matches against it.
    fn name(&self) -> &'static str;

    /// Runs `iters` iterations of the workload on `rt` and returns what
    /// the iterations cost. Setup a sample needs (background load, say) and
    /// its teardown happen here too, outside the returned time; every
    /// workload times its iterations with [`time_iters`].
    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing;

    /// Why the row's wall time says nothing about the runtime, if it does
    /// not (a row whose time is its own deadlines): the report then points
    /// at its CPU time, and the chart shows its CPU ratios.
    fn wall_is_fixed(&self) -> Option<&'static str> {
        None
    }
}

/// Receives workloads, each with its own type.
pub trait Visitor {
    fn visit<W: Workload>(&mut self, workload: W);
}

/// Hands every workload to `v`, in report order, the network rows with
/// `net`'s sizes.
pub fn visit_all(v: &mut impl Visitor, net: net::Shape) {
    scheduler::register(v);
    timer::register(v);
    net::register(v, net);
    fs::register(v);
    sync::register(v);
}

/// What a batch of iterations cost.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Wall time, start to end.
    pub wall: Duration,
    /// The process's CPU time (user + system, all threads) over the same
    /// span, where the platform has a CPU clock (see [`crate::cpu`]).
    pub cpu: Option<Duration>,
}

impl Timing {
    /// Runs `f` and returns what it cost (the CPU clock is read just
    /// outside the wall clock) and its output.
    pub fn of<T>(f: impl FnOnce() -> T) -> (Timing, T) {
        let cpu_before = cpu::process_time();
        let start = Instant::now();
        let output = f();
        let wall = start.elapsed();
        let cpu_after = cpu::process_time();
        let cpu = cpu_before
            .zip(cpu_after)
            .map(|(before, after)| after.saturating_sub(before));
        (Timing { wall, cpu }, output)
    }
}

/// Times `iters` calls of `f` (see [`Timing::of`]).
pub fn time_iters(iters: u64, mut f: impl FnMut()) -> Timing {
    Timing::of(|| {
        for _ in 0..iters {
            f();
        }
    })
    .0
}

/// Counts tasks down; the task that brings it to zero sends the signal.
pub struct Countdown {
    left: AtomicUsize,
    done: Mutex<Option<oneshot::Sender<()>>>,
}

impl Countdown {
    /// A countdown from `n` and the receiver that fires when it reaches zero.
    pub fn new(n: usize) -> (Countdown, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let countdown = Countdown {
            left: AtomicUsize::new(n),
            done: Mutex::new(Some(tx)),
        };
        (countdown, rx)
    }

    /// Counts one task as finished.
    pub fn tick(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let tx = self.done.lock().unwrap().take();
            let _ = tx.expect("countdown went below zero").send(());
        }
    }

    /// How many ticks are still missing.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::{Kind, WithRuntime};

    /// Runs every workload for two iterations on one runtime.
    struct RunAll<'a, R> {
        rt: &'a R,
        ran: Vec<&'static str>,
    }

    impl<R: Runtime> Visitor for RunAll<'_, R> {
        fn visit<W: Workload>(&mut self, workload: W) {
            workload.sample(self.rt, 2);
            self.ran.push(workload.name());
        }
    }

    struct Smoke;

    impl WithRuntime for Smoke {
        type Output = Vec<&'static str>;

        fn call<R: Runtime>(self, rt: &R) -> Vec<&'static str> {
            let mut v = RunAll {
                rt,
                ran: Vec::new(),
            };
            visit_all(&mut v, net::Shape::QUICK);
            v.ran
        }
    }

    #[test]
    fn every_workload_runs_and_checks_itself_on_every_runtime() {
        for kind in Kind::ALL {
            let rt = kind.build(2).unwrap();
            let ran = rt.with(Smoke);
            assert!(ran.len() >= 6, "{}: only {ran:?}", kind.name());
        }
    }

    #[test]
    fn countdown_signals_once_at_zero() {
        let (c, mut rx) = Countdown::new(2);
        c.tick();
        assert_eq!(rx.try_recv(), Ok(None));
        c.tick();
        assert_eq!(rx.try_recv(), Ok(Some(())));
        assert_eq!(c.left(), 0);
    }
}
