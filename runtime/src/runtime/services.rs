//! What one runtime is made of, behind every `Handle`: its scheduler (which
//! also holds the timer and reactor handles, to wake them at shutdown), its
//! blocking pool, and its signal driver once something listens for a
//! signal; and `spawn`, where every task is made.
//!
//! Tasks hold only the scheduler; `Handle`s, and the service sets made
//! current on the runtime's threads, hold all of it.

use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::{Arc, OnceLock, Weak};

use super::{Handle, RuntimeFlavor};
use crate::blocking::Spawner as BlockingSpawner;
use crate::cell::{self, Id, JoinHandle, Meta, Notified, Schedule, Task};
use crate::driver::Driver;
use crate::scheduler::config::Config as SchedulerConfig;
use crate::scheduler::worker::Core;
use crate::scheduler::Scheduler;
use crate::threads::ThreadConfig;
use crate::trace;

/// What every handle to one runtime shares.
pub struct Services {
    /// The scheduler, and through it (`drivers`) the timers and reactor.
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) blocking: BlockingSpawner,
    /// The runtime's id, unique in the process.
    pub(crate) id: super::Id,
    /// The name `Builder::name` gave the runtime.
    pub(crate) name: Option<String>,
    /// A `LocalRuntime`'s local set and the thread that owns it.
    pub(crate) local: OnceLock<crate::task::LocalOwner>,
    /// The signal driver, made when something here first listens for a
    /// signal or orphans a child process.
    #[cfg(all(unix, not(loom)))]
    pub(crate) signal: crate::signal::Slot,
    /// Set on a `weft::check` run's runtime: its tasks go to the checker's
    /// executor, which chooses every scheduling step (`check/exec.rs`).
    #[cfg(not(loom))]
    pub(crate) check: OnceLock<Arc<crate::check::Exec>>,
}

impl Services {
    /// A runtime's services, and its scheduler's cores for the caller to
    /// start.
    pub(crate) fn new(
        flavor: RuntimeFlavor,
        num_workers: usize,
        io_backend: weft_reactor::IoBackend,
        thread_config: ThreadConfig,
        config: SchedulerConfig,
        blocking: BlockingSpawner,
        name: Option<String>,
    ) -> io::Result<(Arc<Services>, Vec<Core>)> {
        // The reactor runs host-name lookups on our blocking pool, through a
        // weak reference: the pool's owner owns the reactor.
        let owner: Arc<OnceLock<Weak<Services>>> = Arc::default();
        let spawn_blocking = {
            let owner = owner.clone();
            move |f: Box<dyn FnOnce() + Send>| {
                let services = owner.get().and_then(Weak::upgrade).ok_or_else(|| {
                    weft_base::gone::RuntimeGone::error("the weft runtime has shut down")
                })?;
                drop(Handle::new(services).spawn_blocking_named(f, None));
                Ok(())
            }
        };
        let pausable = flavor == RuntimeFlavor::CurrentThread;
        let driver = Driver::new(pausable, num_workers, io_backend, spawn_blocking)?;
        let (scheduler, cores) = Scheduler::new(flavor, num_workers, driver, thread_config, config);
        let services = Arc::new(Services {
            scheduler,
            blocking,
            id: super::Id::next(),
            name,
            local: OnceLock::new(),
            #[cfg(all(unix, not(loom)))]
            signal: Default::default(),
            #[cfg(not(loom))]
            check: OnceLock::new(),
        });
        let _ = owner.set(Arc::downgrade(&services));
        Ok((services, cores))
    }

    pub(crate) fn time(&self) -> &weft_timer::TimeHandle {
        &self.scheduler.drivers.time
    }

    pub(crate) fn io(&self) -> &weft_reactor::IoHandle {
        &self.scheduler.drivers.io
    }

    /// Spawns `future` onto this runtime: where every task is made (a
    /// blocking one through `Handle::spawn_blocking_named`, which also
    /// needs the handle for the pool thread it may start). Through a
    /// borrow, so `task::spawn` spawns without a count on the services.
    /// `location` is where the user's code spawned it.
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        name: Option<Arc<String>>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        #[cfg(not(loom))]
        if let Some(check) = self.check.get() {
            return check.spawn(future, name, location);
        }
        let scheduler = &self.scheduler;
        let (task, notified, join) = make_task(future, scheduler.clone(), name, location, false);
        if let Some(notified) = scheduler.owned.bind(task, notified) {
            scheduler.schedule_spawned(notified);
        }
        join
    }
}

/// Makes the cell of a task (or, with `blocking`, of a `spawn_blocking`
/// job) spawned at `location`: its id, its `tracing` span, its meta. The
/// one recipe every `Send` spawn path follows before it queues the task.
pub(crate) fn make_task<F, S>(
    future: F,
    scheduler: Arc<S>,
    name: Option<Arc<String>>,
    location: &'static Location<'static>,
    blocking: bool,
) -> (Task, Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let id = Id::next();
    let kind = if blocking { "blocking" } else { "task" };
    let (future, span_id) = trace::task(future, kind, id, &name, location);
    let meta = if blocking {
        Meta::blocking(name, location)
    } else {
        Meta::new(name, location)
    };
    cell::new(future, scheduler, id, meta, span_id)
}
