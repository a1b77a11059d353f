//! The park the driver uses while no source is registered: a mutex and a
//! condvar instead of the poller.
//!
//! A wait in `polling` costs five system calls on Linux (it arms a timerfd,
//! re-arms it and the notifier with `epoll_ctl`, reads the notifier and
//! waits), against one futex call here. A runtime that does no I/O at
//! the moment (channel pipelines, CPU work, timers) parks and unparks its
//! driver-holder thousands of times a second, so it parks here instead.
//!
//! Protocol: `parked` lives under the lock, and both wakers take the lock
//! after publishing what they publish, so the mutex orders every pair (no
//! reasoning about fences needed, and loom checks it as written):
//!
//! - The parker, holding the lock, waits only if neither the driver's
//!   `notified` flag nor its count of registered sources says otherwise.
//! - An unpark sets `notified`, then takes the lock: if the parker is
//!   waiting it signals it; if not, the parker either has not checked yet
//!   (and will see `notified`) or is in the poller (which the caller then
//!   notifies).
//! - A registration increments the count, then does the same, so a
//!   driver-holder parked here leaves and waits in the poller, where the
//!   new source's events arrive.

use std::time::Duration;

use weft_base::loom::{wait_timeout, AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};

pub(crate) struct Quiet {
    /// Whether a thread waits on `condvar`.
    parked: Mutex<bool>,
    condvar: Condvar,
}

impl Quiet {
    pub(crate) fn new() -> Quiet {
        Quiet {
            parked: Mutex::new(false),
            condvar: Condvar::new(),
        }
    }

    /// Waits until `notified` is set, `registered` becomes non-zero, or
    /// `timeout` passes (`None`: no limit). Consumes the notification and
    /// says whether there was one.
    pub(crate) fn park(
        &self,
        notified: &AtomicBool,
        registered: &AtomicUsize,
        timeout: Option<Duration>,
    ) -> bool {
        if timeout != Some(Duration::ZERO) {
            let mut parked = self.parked.lock();
            if !notified.load(Ordering::Acquire) && registered.load(Ordering::Acquire) == 0 {
                *parked = true;
                wait_timeout(&self.condvar, &mut parked, timeout);
                *parked = false;
            }
        }
        notified.swap(false, Ordering::AcqRel)
    }

    /// Wakes the parked thread, if there is one; true if there was.
    pub(crate) fn wake(&self) -> bool {
        let parked = self.parked.lock();
        if *parked {
            self.condvar.notify_one();
        }
        *parked
    }
}
