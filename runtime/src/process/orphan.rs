//! Children whose `Child` was dropped before they exited: kept here until
//! they have, then reaped, so that none stays a zombie.
//!
//! Reaping is driven by `SIGCHLD`: pushing an orphan installs weft's
//! handler for it and makes sure the current runtime has a signal driver,
//! and every wake-up of any runtime's signal driver reaps the queue after
//! it takes the pending signals and before it wakes their listeners. A
//! push also reaps the queue once, right away, for a child that exited
//! before the handler was there. An orphan dropped outside any runtime is
//! reaped by the next runtime whose signal driver wakes.
//!
//! The queue is a process-wide static, which loom cannot model; the
//! process module is not built under loom.

use crate::runtime::Handle;
use crate::signal;
use weft_base::loom::Mutex;

static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// Keeps `child` until it has exited, then reaps it.
pub(crate) fn push(child: std::process::Child) {
    ORPHANS.lock().push(child);
    signal::registry::set_orphan_reaper(reap);
    // Errors here leave the child to the next SIGCHLD some other runtime
    // sees; there is nobody to report them to (this runs in a drop).
    let _ = signal::registry::install(libc::SIGCHLD);
    if let Ok(handle) = Handle::try_current() {
        let _ = signal::signal_driver::SignalDriver::of(&handle);
    }
    reap();
}

/// Reaps every orphan that has exited.
pub(crate) fn reap() {
    let mut orphans = ORPHANS.lock();
    if !orphans.is_empty() {
        // An error (`ECHILD`: someone else reaped it) also ends the wait.
        orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    }
}
