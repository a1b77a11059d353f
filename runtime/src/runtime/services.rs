//! What one runtime is made of, behind every `Handle`: its scheduler, the
//! handles of its timers and reactor (whose driver the scheduler's parked
//! worker turns), its blocking pool, and its signal driver once something
//! listens for a signal.
//!
//! Tasks hold only the scheduler; `Handle`s, and the service sets made
//! current on the runtime's threads, hold all of it.

use std::io;
use std::sync::{Arc, OnceLock, Weak};

use super::{Handle, RuntimeFlavor};
use crate::blocking::Spawner as BlockingSpawner;
use crate::driver::Driver;
use crate::scheduler::worker::Core;
use crate::scheduler::Scheduler;
use crate::threads::ThreadConfig;

/// What every handle to one runtime shares.
pub struct Services {
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) time: weft_timer::TimeHandle,
    pub(crate) io: weft_reactor::IoHandle,
    pub(crate) blocking: BlockingSpawner,
    /// The signal driver, made when something here first listens for a
    /// signal or orphans a child process.
    #[cfg(all(unix, not(loom)))]
    pub(crate) signal: crate::signal::Slot,
}

impl Services {
    /// A runtime's services, and its scheduler's cores for the caller to
    /// start.
    pub(crate) fn new(
        flavor: RuntimeFlavor,
        num_workers: usize,
        io_backend: weft_reactor::IoBackend,
        thread_config: ThreadConfig,
        blocking: BlockingSpawner,
    ) -> io::Result<(Arc<Services>, Vec<Core>)> {
        // The reactor runs host-name lookups on our blocking pool, through a
        // weak reference: the pool's owner owns the reactor.
        let owner: Arc<OnceLock<Weak<Services>>> = Arc::default();
        let spawn_blocking = {
            let owner = owner.clone();
            move |f: Box<dyn FnOnce() + Send>| {
                let services = owner
                    .get()
                    .and_then(Weak::upgrade)
                    .ok_or_else(|| io::Error::other("the weft runtime has shut down"))?;
                drop(Handle::new(services).spawn_blocking_named(f, None));
                Ok(())
            }
        };
        let pausable = flavor == RuntimeFlavor::CurrentThread;
        let driver = Driver::new(pausable, io_backend, spawn_blocking)?;
        let drivers = driver.handles();
        let (scheduler, cores) = Scheduler::new(flavor, num_workers, driver, thread_config);
        let services = Arc::new(Services {
            scheduler,
            time: drivers.time,
            io: drivers.io,
            blocking,
            #[cfg(all(unix, not(loom)))]
            signal: Default::default(),
        });
        let _ = owner.set(Arc::downgrade(&services));
        Ok((services, cores))
    }
}
