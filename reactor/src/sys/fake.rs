//! The poller under `cfg(loom)` and miri: events come from
//! [`Poller::inject`] and an unpark is a flag, behind the shim's lock and
//! condvar, so loom models see every interleaving of an event or an unpark
//! with the tasks and the driver. Miri runs with it too: it cannot run the
//! real pollers' system calls.
//!
//! Like the eventfd it stands for, a notification is kept until a wait
//! takes it, and a wait that finds one or an event does not block.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use super::IoBackend;
use crate::ready::Interest;
use weft_base::loom::{wait_timeout, Condvar, Mutex};

/// A poller whose events come from [`Poller::inject`]. Under loom,
/// timeouts other than zero are untimed waits, so an unpark the protocol
/// loses is a deadlock the model reports.
pub(crate) struct Poller {
    state: Mutex<Fake>,
    condvar: Condvar,
    backend: IoBackend,
}

#[derive(Default)]
struct Fake {
    notified: bool,
    pending: Vec<(usize, usize)>,
}

pub(crate) struct Events(Vec<(usize, usize)>);

impl Poller {
    pub(crate) fn new(backend: IoBackend) -> io::Result<Poller> {
        Ok(Poller {
            state: Mutex::new(Fake::default()),
            condvar: Condvar::new(),
            backend,
        })
    }

    /// The backend asked for (the fake stands in for either).
    pub(crate) fn backend(&self) -> IoBackend {
        self.backend
    }

    pub(crate) fn events(&self) -> Events {
        Events(Vec::new())
    }

    /// Whether injected events or an unpark wait for the next wait.
    pub(crate) fn has_pending_events(&self) -> bool {
        let state = self.state.lock();
        state.notified || !state.pending.is_empty()
    }

    /// The fake's events carry no closed bits.
    pub(crate) fn reports_closed(&self) -> bool {
        false
    }

    /// # Safety
    /// None needed by the fake; kept for the real poller's contract.
    pub(crate) unsafe fn add(
        &self,
        _fd: BorrowedFd<'_>,
        _key: usize,
        _interest: Interest,
    ) -> io::Result<()> {
        Ok(())
    }

    pub(crate) fn needs_rearm(&self) -> bool {
        false
    }

    pub(crate) fn rearm(
        &self,
        _fd: BorrowedFd<'_>,
        _key: usize,
        _interest: Interest,
    ) -> io::Result<()> {
        Ok(())
    }

    pub(crate) fn delete(&self, _fd: BorrowedFd<'_>) -> io::Result<()> {
        Ok(())
    }

    pub(crate) fn take_over(
        &self,
        _fd: BorrowedFd<'_>,
        _key: usize,
        _interest: Interest,
    ) -> io::Result<()> {
        Ok(())
    }

    /// No: the models run the delete path.
    pub(crate) fn close_deletes(&self) -> bool {
        false
    }

    /// Delivers `ready` for `key` at the next wait, waking a waiting one.
    #[cfg(loom)]
    pub(crate) fn inject(&self, key: usize, ready: usize) {
        self.state.lock().pending.push((key, ready));
        self.condvar.notify_one();
    }

    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.0.clear();
        let mut state = self.state.lock();
        if timeout != Some(Duration::ZERO) && !state.notified && state.pending.is_empty() {
            wait_timeout(&self.condvar, &mut state, timeout);
        }
        state.notified = false;
        events.0.append(&mut state.pending);
        Ok(())
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.state.lock().notified = true;
        self.condvar.notify_one();
        Ok(())
    }
}

impl Events {
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, usize)) {
        self.0.iter().for_each(|&(key, ready)| f(key, ready));
    }
}
