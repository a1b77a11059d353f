//! The portable backend: the `polling` crate (epoll, kqueue, event ports,
//! IOCP). Every platform but Linux runs it; on Linux it is chosen with
//! [`IoBackend::Portable`](super::IoBackend), so CI tests it there too.
//!
//! Sources are registered for both directions in edge-triggered mode where
//! the platform has it (Linux, the BSDs, macOS); elsewhere in oneshot mode,
//! re-armed each time a task finds its source not ready. `polling` reports
//! no read-closed bit, so a short read says nothing here: a reader reads
//! until `WouldBlock` before it waits.

use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use polling::{Event, PollMode};

use crate::ready::Interest;
use crate::scheduled_io::{ERROR, READABLE, WRITABLE};

/// Events taken per wait.
const EVENTS_CAPACITY: usize = 1024;

pub(crate) struct Poller {
    poller: polling::Poller,
    mode: PollMode,
}

pub(crate) struct Events(polling::Events);

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let poller = polling::Poller::new()?;
        let mode = if poller.supports_edge() {
            PollMode::Edge
        } else {
            PollMode::Oneshot
        };
        Ok(Poller { poller, mode })
    }

    /// Registers `fd` for `interest` under `key` (priority events are not
    /// among what `polling` reports; an interest in errors alone registers
    /// for reading, as some event must be asked for).
    ///
    /// # Safety
    /// `fd` must be [`delete`](Self::delete)d before it is closed.
    pub(crate) unsafe fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
    ) -> io::Result<()> {
        #[cfg(all(feature = "fault-injection", not(loom)))]
        crate::fault::fail_register()?;
        // SAFETY: the caller deletes `fd` before closing it.
        unsafe {
            self.poller
                .add_with_mode(fd.as_raw_fd(), event(key, interest), self.mode)
        }
    }

    /// Whether a source must be re-armed after each event (oneshot mode).
    pub(crate) fn needs_rearm(&self) -> bool {
        self.mode == PollMode::Oneshot
    }

    pub(crate) fn rearm(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
    ) -> io::Result<()> {
        self.poller
            .modify_with_mode(fd, event(key, interest), self.mode)
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.poller.delete(fd)
    }

    /// Moves `fd`'s registration to `key` (never needed: sources are
    /// always deleted before they close here).
    pub(crate) fn take_over(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
    ) -> io::Result<()> {
        self.rearm(fd, key, interest)
    }

    /// No: `polling` requires every source deleted before it closes.
    pub(crate) fn close_deletes(&self) -> bool {
        false
    }

    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.0.clear();
        #[cfg(all(feature = "fault-injection", not(loom)))]
        crate::fault::fail(crate::fault::Fault::WaitInterrupted)?;
        self.poller.wait(&mut events.0, timeout).map(drop)
    }

    /// Whether events wait in the OS poller's ready list (see
    /// [`readable_now`](super::readable_now)).
    pub(crate) fn has_pending_events(&self) -> bool {
        super::readable_now(self.poller.as_fd())
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }
}

/// The `polling` event a source with `interest` registers for.
fn event(key: usize, interest: Interest) -> Event {
    let writable = interest.is_writable();
    Event::new(key, interest.is_readable() || !writable, writable)
}

impl Events {
    pub(crate) fn new() -> Events {
        let capacity = NonZeroUsize::new(EVENTS_CAPACITY).expect("non-zero");
        Events(polling::Events::with_capacity(capacity))
    }

    /// `(key, ready bits)` of each event.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.0.iter().map(|event| {
            let mut ready = 0;
            if event.readable {
                ready |= READABLE;
            }
            if event.writable {
                ready |= WRITABLE;
            }
            if event.is_err() == Some(true) {
                ready |= ERROR;
            }
            (event.key, ready)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn pending_events_are_seen_without_being_taken() {
        let poller = Poller::new().unwrap();
        assert!(!poller.has_pending_events(), "a new poller has none");
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        // SAFETY: `a` is deleted before it closes.
        unsafe {
            poller
                .add(a.as_fd(), 5, Interest::READABLE.add(Interest::WRITABLE))
                .unwrap()
        };
        let mut events = Events::new();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        (&b).write_all(b"x").unwrap();
        assert!(poller.has_pending_events());
        // Looking took nothing: the wait still gets the event.
        assert!(poller.has_pending_events());
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events
            .iter()
            .any(|(key, ready)| key == 5 && ready & READABLE != 0));
        poller.delete(a.as_fd()).unwrap();
    }
}
