//! The driver slot's occupant: what a parked worker waits in.
//!
//! `park(timeout)` waits until `Unpark::unpark`, the timeout, or the next
//! timer deadline, then fires the timers that are due (their tasks land on
//! the parked worker's own queue); `park(Some(ZERO))` fires without
//! blocking. The wait itself is a plain event until the reactor lands, when
//! it becomes the poller's wait.

use std::sync::Arc;
use std::time::Duration;

use crate::loom::{wait_timeout, Condvar, Mutex};

pub(crate) struct Driver {
    event: Arc<Event>,
    time: weft_timer::Driver,
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
    /// A driver whose clock can be paused if `pausable`.
    pub(crate) fn new(pausable: bool) -> Driver {
        let event = Arc::new(Event {
            notified: Mutex::new(false),
            condvar: Condvar::new(),
        });
        let unpark = Unpark {
            event: event.clone(),
        };
        Driver {
            event,
            time: weft_timer::Driver::new(pausable, move || unpark.unpark()),
        }
    }

    pub(crate) fn unpark(&self) -> Unpark {
        Unpark {
            event: self.event.clone(),
        }
    }

    pub(crate) fn time(&self) -> &weft_timer::Handle {
        self.time.handle()
    }

    /// Waits until unparked, `timeout` passes or a timer is due, then fires
    /// the due timers.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        self.time.park(timeout, |timeout| self.event.wait(timeout));
    }
}

impl Event {
    /// Waits for a notification for at most `timeout`; true if one came.
    fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut notified = self.notified.lock();
        if !*notified && timeout != Some(Duration::ZERO) {
            wait_timeout(&self.condvar, &mut notified, timeout);
        }
        std::mem::replace(&mut *notified, false)
    }
}

impl Unpark {
    pub(crate) fn unpark(&self) {
        *self.event.notified.lock() = true;
        self.event.condvar.notify_one();
    }
}
