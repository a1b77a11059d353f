//! The driver slot's occupant: what a parked worker waits in.
//!
//! This is the hook the reactor and the timer plug into: `park(timeout)`
//! waits until `Unpark::unpark` or the timeout (later: I/O readiness and the
//! next timer deadline), and processes what is ready; `park(Some(ZERO))`
//! processes without blocking. Until those crates land it is a plain event.

use std::sync::Arc;
use std::time::Duration;

use crate::loom::{wait_timeout, Condvar, Mutex};

pub(crate) struct Driver {
    event: Arc<Event>,
}

/// Wakes the thread waiting in the driver.
#[derive(Clone)]
pub(crate) struct Unpark {
    event: Arc<Event>,
}

struct Event {
    notified: Mutex<bool>,
    condvar: Condvar,
}

impl Driver {
    pub(crate) fn new() -> Driver {
        Driver {
            event: Arc::new(Event {
                notified: Mutex::new(false),
                condvar: Condvar::new(),
            }),
        }
    }

    pub(crate) fn unpark(&self) -> Unpark {
        Unpark {
            event: self.event.clone(),
        }
    }

    /// Waits until unparked or `timeout` passes, then processes ready events.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        let mut notified = self.event.notified.lock();
        if !*notified && timeout != Some(Duration::ZERO) {
            wait_timeout(&self.event.condvar, &mut notified, timeout);
        }
        *notified = false;
    }
}

impl Unpark {
    pub(crate) fn unpark(&self) {
        *self.event.notified.lock() = true;
        self.event.condvar.notify_one();
    }
}
