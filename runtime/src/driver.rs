//! The driver slot's occupant: what a parked worker waits in.
//!
//! `park(timeout)` waits in the reactor's poller until I/O is ready, an
//! `DriverUnpark::unpark`, the timeout, or the next timer deadline, then fires the
//! timers that are due; the tasks that either wakes land on the parked
//! worker's own queue. `park(Some(ZERO))` looks without blocking.

use std::io;
use std::time::Duration;

use weft_reactor::SpawnBlocking;

pub(crate) struct Driver {
    io: weft_reactor::IoDriver,
    time: weft_timer::TimeDriver,
}

/// The timers' and the reactor's handles, for what is done to both at once.
#[derive(Clone)]
pub(crate) struct DriverHandles {
    pub(crate) time: weft_timer::TimeHandle,
    pub(crate) io: weft_reactor::IoHandle,
}

impl DriverHandles {
    /// Wakes every timer and socket for good: the runtime has shut down.
    pub(crate) fn shutdown(&self) {
        self.time.shutdown();
        self.io.shutdown();
    }
}

/// Wakes the thread waiting in the driver.
#[derive(Clone)]
pub(crate) struct DriverUnpark {
    io: weft_reactor::IoHandle,
}

impl Driver {
    /// A driver whose clock can be paused if `pausable`, with a timer wheel
    /// per worker (`workers`), whose reactor waits in a poller of kind
    /// `io_backend` and runs blocking work (host-name lookups) with
    /// `spawn_blocking`.
    pub(crate) fn new(
        pausable: bool,
        workers: usize,
        io_backend: weft_reactor::IoBackend,
        spawn_blocking: impl Fn(Box<dyn FnOnce() + Send>) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<Driver> {
        let spawn_blocking: Box<SpawnBlocking> = Box::new(spawn_blocking);
        let io = weft_reactor::IoDriver::new(io_backend, spawn_blocking)?;
        let unpark = io.handle().clone();
        Ok(Driver {
            io,
            time: weft_timer::TimeDriver::new(pausable, workers, move || unpark.unpark()),
        })
    }

    pub(crate) fn unpark(&self) -> DriverUnpark {
        DriverUnpark {
            io: self.io.handle().clone(),
        }
    }

    pub(crate) fn handles(&self) -> DriverHandles {
        DriverHandles {
            time: self.time.handle().clone(),
            io: self.io.handle().clone(),
        }
    }

    /// Waits until unparked, I/O is ready, `timeout` passes or a timer is
    /// due, then wakes what is ready and fires the due timers.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        let io = &mut self.io;
        self.time.park(timeout, |timeout| io.turn(timeout));
    }
}

impl DriverUnpark {
    pub(crate) fn unpark(&self) {
        self.io.unpark();
    }
}
