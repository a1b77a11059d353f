//! The scheduler: what all workers of one runtime share, and how a task
//! gets onto a queue.
//!
//! A woken task goes to the current worker's LIFO slot when the waker runs
//! on a worker of the same runtime (the woken task runs next, with warm
//! caches), else to the injector. Pushing work that another worker could run
//! wakes a sleeper per the rules in `idle.rs`. The current-thread flavour is
//! the same scheduler with one worker whose thread is whoever calls
//! `block_on`.

pub(crate) mod current;
pub(crate) mod idle;
pub(crate) mod park;
pub(crate) mod queue;
#[cfg(not(any(loom, miri)))]
pub(crate) mod spin;
pub(crate) mod worker;

use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use crate::blocking::Spawner as BlockingSpawner;
use crate::context;
use crate::loom::{fence, AtomicBool, Mutex, Ordering::SeqCst};
use crate::runtime::Config;
use crate::task::{Notified, OwnedTasks};
use crate::threads::ThreadSet;
use idle::Idle;
use park::{DriverSlot, Unparker};
use queue::{Inject, Steal};
use worker::Core;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// What other threads can do to one worker.
pub(crate) struct Remote {
    pub(crate) steal: Steal,
    pub(crate) unpark: Unparker,
}

pub(crate) struct Shared {
    pub(crate) flavor: Flavor,
    pub(crate) remotes: Box<[Remote]>,
    pub(crate) inject: Inject,
    pub(crate) idle: Idle,
    pub(crate) owned: OwnedTasks,
    pub(crate) driver: Arc<DriverSlot>,
    /// The timers, which the driver fires.
    pub(crate) time: weft_timer::Handle,
    /// The reactor, which the driver waits in.
    pub(crate) io: weft_reactor::Handle,
    pub(crate) blocking: BlockingSpawner,
    pub(crate) config: Config,
    is_shutdown: AtomicBool,
    /// Set by the last core in, just before it drains the injector: from
    /// then on nobody else will, so a late push must drain itself.
    is_drained: AtomicBool,
    /// Cores handed back by exiting workers; the last one cleans up.
    shutdown_cores: Mutex<Vec<Core>>,
    /// The current-thread flavour's core while no `block_on` holds it.
    pub(crate) idle_core: Mutex<Option<Box<Core>>>,
    /// `block_on` callers waiting for `idle_core` (current-thread flavour).
    pub(crate) core_waiters: Mutex<Vec<std::task::Waker>>,
    /// The signal driver, made when something here first listens for a
    /// signal or orphans a child process.
    #[cfg(all(unix, not(loom)))]
    pub(crate) signal: crate::signal::Slot,
    threads: ThreadSet,
}

impl Shared {
    pub(crate) fn new(
        flavor: Flavor,
        num_workers: usize,
        io_backend: weft_reactor::IoBackend,
        config: Config,
        blocking: BlockingSpawner,
    ) -> std::io::Result<(Arc<Shared>, Vec<Core>)> {
        // The reactor runs host-name lookups on our blocking pool, through a
        // weak reference: the pool's owner owns the reactor.
        let owner: Arc<OnceLock<Weak<Shared>>> = Arc::default();
        let spawn_blocking = {
            let owner = owner.clone();
            move |f: Box<dyn FnOnce() + Send>| {
                let shared = owner
                    .get()
                    .and_then(Weak::upgrade)
                    .ok_or_else(|| std::io::Error::other("the weft runtime has shut down"))?;
                let handle = crate::runtime::Handle { shared };
                drop(crate::runtime::handle::spawn_blocking_on(&handle, f, None));
                Ok(())
            }
        };
        let driver = crate::driver::Driver::new(
            flavor == Flavor::CurrentThread,
            io_backend,
            spawn_blocking,
        )?;
        let time = driver.time().clone();
        let io = driver.io().clone();
        let driver = Arc::new(DriverSlot::new(driver));
        let mut remotes = Vec::with_capacity(num_workers);
        let mut cores = Vec::with_capacity(num_workers);
        for index in 0..num_workers {
            let (core, remote) = Core::new(index, driver.clone());
            cores.push(core);
            remotes.push(remote);
        }
        let shared = Arc::new(Shared {
            flavor,
            remotes: remotes.into_boxed_slice(),
            inject: Inject::new(),
            idle: Idle::new(num_workers),
            owned: OwnedTasks::new(num_workers),
            driver,
            time,
            io,
            blocking,
            config,
            is_shutdown: AtomicBool::new(false),
            is_drained: AtomicBool::new(false),
            shutdown_cores: Mutex::new(Vec::with_capacity(num_workers)),
            idle_core: Mutex::new(None),
            core_waiters: Mutex::new(Vec::new()),
            #[cfg(all(unix, not(loom)))]
            signal: Default::default(),
            threads: ThreadSet::new(),
        });
        let _ = owner.set(Arc::downgrade(&shared));
        Ok((shared, cores))
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.remotes.len()
    }

    /// Queues a woken task: into the LIFO slot when woken on one of our
    /// workers. The caller holds a reference to the task for the whole call,
    /// which keeps `self` alive too.
    pub(crate) fn schedule(self: &Arc<Self>, task: Notified) {
        if let Some(task) = self.schedule_local(task, true) {
            self.push_remote(task);
        }
    }

    /// Queues a new task at the back of the queue, so that tasks start in
    /// the order they were spawned. The caller holds a `JoinHandle`.
    pub(crate) fn schedule_spawned(self: &Arc<Self>, task: Notified) {
        if let Some(task) = self.schedule_local(task, false) {
            self.push_remote(task);
        }
    }

    /// Queues a task that was woken while it ran: deferred on this worker
    /// (see `worker.rs`), or pushed remotely from any other thread.
    ///
    /// Takes the scheduler as a raw pointer because it lives in the task's
    /// header, and the task may be freed by another thread as soon as it is
    /// pushed: no reference into the header may be live across the push.
    ///
    /// # Safety
    /// `this` is the scheduler of `task`, kept alive by `task`'s reference.
    pub(crate) unsafe fn yield_task(this: *const Shared, task: Notified) {
        let Some(task) = Self::with_local_core(this, task, |core, _, task| core.defer(task)) else {
            return;
        };
        // SAFETY: `task` still holds its reference, so the `Arc` in its
        // header is alive; we take a strong count of our own before the push.
        let shared = unsafe {
            Arc::increment_strong_count(this);
            Arc::from_raw(this)
        };
        shared.push_remote(task);
    }

    /// Hands the task to the current worker if this thread is one of ours
    /// with its core in hand; gives it back otherwise.
    fn schedule_local(self: &Arc<Self>, task: Notified, lifo: bool) -> Option<Notified> {
        Self::with_local_core(Arc::as_ptr(self), task, |core, shared, task| {
            core.schedule_local(shared, task, lifo)
        })
    }

    /// Runs `f` with this thread's core if the thread is a worker of the
    /// scheduler `this` with its core in hand (`f` gets the worker's own
    /// `Arc`, not the task's); gives the task back otherwise.
    fn with_local_core(
        this: *const Shared,
        task: Notified,
        f: impl FnOnce(&mut Core, &Shared, Notified),
    ) -> Option<Notified> {
        context::with_worker(|cx| match cx {
            Some(cx) if Arc::as_ptr(&cx.shared) == this => match cx.core.borrow_mut().as_mut() {
                Some(core) => {
                    f(core, &cx.shared, task);
                    None
                }
                None => Some(task),
            },
            _ => Some(task),
        })
    }

    pub(crate) fn push_remote(&self, task: Notified) {
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

    /// Called by the last searcher before it sleeps.
    pub(crate) fn notify_if_work_pending(&self) {
        fence(SeqCst);
        let pending = !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty());
        if pending {
            self.notify_parked();
        }
    }

    /// Removes a finished task from the owned list. True when the list's
    /// reference is now the caller's to drop.
    pub(crate) fn release(&self, header: &crate::task::Header) -> bool {
        self.owned.remove(header)
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

    /// A worker leaves for good: cancel tasks, hand in the core; the last
    /// core in drops every queued entry.
    pub(crate) fn shutdown_core(&self, core: Core) {
        self.owned.close_and_shutdown_all(core.index);
        let collected = {
            let mut cores = self.shutdown_cores.lock();
            cores.push(core);
            if cores.len() < self.num_workers() {
                return;
            }
            std::mem::take(&mut *cores)
        };
        // Outside the lock: dropping a queue entry may free its task.
        let mut collected = collected;
        for core in &mut collected {
            core.drain_queues();
        }
        self.is_drained.store(true, SeqCst);
        fence(SeqCst);
        self.drain_inject();
        // Every task is gone: wake whatever still waits on a timer or a
        // socket (a blocking thread, say) rather than leave it hanging.
        self.time.shutdown();
        self.io.shutdown();
    }

    fn drain_inject(&self) {
        while let Some(task) = self.inject.pop() {
            drop(task);
        }
    }

    /// Spawns a runtime thread that runs `f`, counted for shutdown.
    pub(crate) fn spawn_thread(&self, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        self.threads.spawn(self.config.clone(), f)
    }

    /// Waits for every runtime thread to exit, until `deadline` at most.
    pub(crate) fn join_threads(&self, deadline: Option<Instant>) {
        self.threads.join(deadline);
    }
}
