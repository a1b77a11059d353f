//! The scheduler: what all workers of one runtime share, and how a task
//! gets onto a queue.
//!
//! A woken task goes to the current worker's LIFO slot when the waker runs
//! on a worker of the same runtime (the woken task runs next, with warm
//! caches), else to the injector. Pushing work that another worker could run
//! wakes a sleeper per the rules in `idle.rs`. The current-thread flavour is
//! the same scheduler with one worker whose thread is whoever calls
//! `block_on`.
//!
//! The scheduler knows no runtime: tasks reach it through the cell layer's
//! `Schedule` trait, and the runtime's services reach its worker threads as
//! a `ServiceSet` they enter.

pub(crate) mod config;
pub(crate) mod current_thread;
pub(crate) mod histogram;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod queue;
#[cfg(not(any(loom, miri)))]
pub(crate) mod spin;
pub(crate) mod stats;
pub(crate) mod worker;

use std::sync::Arc;
use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::cell::{Header, Notified, OwnedTasks, Schedule};
use crate::driver::{Driver, DriverHandles};
use crate::threads::{ThreadConfig, ThreadSet};
use config::Config;
use current_thread::CurrentThread;
use idle::Idle;
use park::{DriverSlot, Unparker};
use queue::{Inject, Steal};
use weft_base::loom::{
    fence, AtomicBool, AtomicUsize,
    Ordering::{AcqRel, SeqCst},
    Stat,
};
use worker::Core;

/// Which scheduler a runtime uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// All tasks run on the thread that calls `block_on`.
    CurrentThread,
    /// Tasks run on a pool of work-stealing worker threads.
    MultiThread,
}

/// What other threads can do to one worker.
pub(crate) struct Remote {
    pub(crate) steal: Steal,
    pub(crate) unpark: Unparker,
    /// The worker's counters, for `RuntimeMetrics` and the watchdog; on a
    /// line of their own, as the worker writes them on every poll and other
    /// threads read `steal` and `unpark`.
    pub(crate) metrics: CachePadded<stats::WorkerMetrics>,
}

/// The state every worker of one runtime shares: the queues, the idle
/// bookkeeping, the owned tasks, the driver slot, and shutdown.
pub(crate) struct Scheduler {
    pub(crate) flavor: RuntimeFlavor,
    pub(crate) remotes: Box<[Remote]>,
    pub(crate) inject: Inject,
    pub(crate) idle: Idle,
    pub(crate) owned: OwnedTasks,
    pub(crate) driver: Arc<DriverSlot>,
    /// The timers' and the reactor's handles: the runtime's services reach
    /// them here, and shutdown wakes them for good.
    pub(crate) drivers: DriverHandles,
    is_shutdown: AtomicBool,
    /// Tasks pushed to the injector (scheduled from outside the workers):
    /// `RuntimeMetrics::remote_schedule_count`. A shared counter, but only
    /// on the injector's path, which writes shared lines anyway.
    remote_schedule_count: CachePadded<Stat>,
    /// Set by the last core in, just before it drains the injector: from
    /// then on nobody else will, so a late push must drain itself.
    is_drained: AtomicBool,
    /// How many exiting workers have handed in their core; the last one
    /// cleans up.
    cores_handed_in: AtomicUsize,
    /// The current-thread flavour's core, while no `block_on` holds it.
    pub(crate) current_thread: CurrentThread,
    /// The tunables `Builder` set.
    pub(crate) config: Config,
    /// The worker threads, and how to start them.
    threads: ThreadSet,
    thread_config: ThreadConfig,
}

impl Scheduler {
    /// A scheduler of `num_workers` workers around `driver`, and its cores
    /// (the caller starts the threads that run them, or, on the
    /// current-thread flavour, parks the one core in `current_thread`).
    pub(crate) fn new(
        flavor: RuntimeFlavor,
        num_workers: usize,
        driver: Driver,
        thread_config: ThreadConfig,
        config: Config,
    ) -> (Arc<Scheduler>, Vec<Core>) {
        let drivers = driver.handles();
        let driver = Arc::new(DriverSlot::new(driver));
        let mut remotes = Vec::with_capacity(num_workers);
        let mut cores = Vec::with_capacity(num_workers);
        for index in 0..num_workers {
            let (core, remote) = Core::new(index, driver.clone(), &config);
            cores.push(core);
            remotes.push(remote);
        }
        let scheduler = Arc::new(Scheduler {
            flavor,
            remotes: remotes.into_boxed_slice(),
            inject: Inject::new(&config),
            idle: Idle::new(num_workers),
            owned: OwnedTasks::new(num_workers),
            driver,
            drivers,
            is_shutdown: AtomicBool::new(false),
            remote_schedule_count: CachePadded::new(Stat::new(0)),
            is_drained: AtomicBool::new(false),
            cores_handed_in: AtomicUsize::new(0),
            current_thread: CurrentThread::new(),
            config,
            threads: ThreadSet::new(),
            thread_config,
        });
        (scheduler, cores)
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    /// Tasks scheduled from outside the workers (through the injector).
    pub(crate) fn remote_schedule_count(&self) -> u64 {
        self.remote_schedule_count.load()
    }

    /// Queues a new task at the back of the queue, so that tasks start in
    /// the order they were spawned. The caller holds a `JoinHandle`.
    pub(crate) fn schedule_spawned(&self, task: Notified) {
        if let Some(task) = self.schedule_local(task, false) {
            self.push_remote(task);
        }
    }

    /// Hands the task to the current worker if this thread is one of ours
    /// with its core in hand; gives it back otherwise.
    fn schedule_local(&self, task: Notified, lifo: bool) -> Option<Notified> {
        self.with_local_core(task, |core, scheduler, task| {
            core.schedule_local(scheduler, task, lifo)
        })
    }

    /// Runs `f` with this thread's core if the thread is one of our workers
    /// with its core in hand; gives the task back otherwise.
    fn with_local_core(
        &self,
        task: Notified,
        f: impl FnOnce(&mut Core, &Scheduler, Notified),
    ) -> Option<Notified> {
        worker::with_current(|cx| match cx {
            Some(cx) if std::ptr::eq(Arc::as_ptr(&cx.scheduler), self) => {
                match cx.core.borrow_mut().as_mut() {
                    Some(core) => {
                        f(core, &cx.scheduler, task);
                        None
                    }
                    None => Some(task),
                }
            }
            _ => Some(task),
        })
    }

    pub(crate) fn push_remote(&self, task: Notified) {
        self.remote_schedule_count.add_shared(1);
        self.inject.push(task);
        // Orders the push before reading the drained flag and the idle
        // state: pairs with the fence in `shutdown_core` and in `idle.rs`.
        fence(SeqCst);
        if self.is_drained.load(SeqCst) {
            // The final drain may have missed this entry: drain again.
            self.drain_inject();
            return;
        }
        self.notify_parked();
    }

    /// Wakes a sleeping worker if the idle rules say one is needed.
    pub(crate) fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.remotes[worker].unpark.unpark();
        }
    }

    /// Wakes a sleeper if any queue holds work: called by a worker that
    /// just registered as a sleeper, or left the searchers as the last one.
    /// The fence pairs with the one a push makes before it reads the idle
    /// state (either the push sees the registration or the searcher count
    /// drop, or this sees the push).
    pub(crate) fn notify_if_work_pending(&self) {
        fence(SeqCst);
        let pending = !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.is_shutdown.load(SeqCst)
    }

    /// Starts shutdown: no new tasks, every worker woken to exit.
    pub(crate) fn close(&self) {
        if self.is_shutdown.swap(true, SeqCst) {
            return;
        }
        fence(SeqCst);
        for remote in self.remotes.iter() {
            remote.unpark.unpark();
        }
    }

    /// A worker leaves for good: cancel tasks, drop its queued entries,
    /// hand in the core; the last core in drains the injector.
    pub(crate) fn shutdown_core(&self, mut core: Core) {
        core.stats.end_busy(&self.remotes[core.index].metrics);
        self.owned.close_and_shutdown_all(core.index);
        // Now, not when the last worker is in: a carried entry (a task that
        // woke itself) owns its task, which only dropping the entry
        // cancels, and a worker stuck in a poll would keep the last core
        // out, and those tasks' handles waiting, for as long as it is
        // stuck.
        core.drain_queues();
        drop(core);
        // AcqRel: the last one in sees every other core's cleanup.
        if self.cores_handed_in.fetch_add(1, AcqRel) + 1 < self.num_workers() {
            return;
        }
        self.is_drained.store(true, SeqCst);
        fence(SeqCst);
        self.drain_inject();
        // Every task is gone: wake whatever still waits on a timer or a
        // socket (a blocking thread, say) rather than leave it hanging.
        self.drivers.shutdown();
    }

    fn drain_inject(&self) {
        while let Some(task) = self.inject.pop() {
            drop(task);
        }
    }

    /// Starts a worker thread that runs `f`, counted for shutdown. The
    /// scheduler's address stands for its runtime (`threads::is_thread_of`).
    pub(crate) fn spawn_thread(&self, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let owner = (self as *const Scheduler).cast();
        self.threads.spawn(self.thread_config.clone(), owner, f)
    }

    /// Waits for every runtime thread to exit, until `deadline` at most.
    pub(crate) fn join_threads(&self, deadline: Option<Instant>) {
        self.threads.join(deadline);
    }
}

impl Schedule for Scheduler {
    /// Into the LIFO slot when woken on one of our workers, else the
    /// injector.
    fn schedule(&self, task: Notified) {
        if let Some(task) = self.schedule_local(task, true) {
            self.push_remote(task);
        }
    }

    /// Deferred on this worker (see `worker.rs`) when this thread is one.
    fn defer(&self, task: Notified) -> Result<(), Notified> {
        match self.with_local_core(task, |core, _, task| core.defer(task)) {
            None => Ok(()),
            Some(task) => Err(task),
        }
    }

    fn release(&self, task: &Header) -> bool {
        self.owned.remove(task)
    }
}
