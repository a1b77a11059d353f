//! The OS poller behind the few calls the driver makes, and under `cfg(loom)`
//! a loom-visible fake with the same calls, whose events tests inject. Miri
//! runs with the fake too: it cannot run the real poller's `timerfd`.
//!
//! Sources are registered for both directions in edge-triggered mode where
//! the platform has it (Linux, the BSDs, macOS); elsewhere in oneshot mode,
//! re-armed each time a task finds its source not ready.

#[cfg(not(any(loom, miri)))]
mod imp {
    use std::io;
    use std::num::NonZeroUsize;
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::time::Duration;

    use polling::{Event, PollMode};

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

        /// Registers `fd` for both directions under `key`.
        ///
        /// # Safety
        /// `fd` must be [`delete`](Self::delete)d before it is closed.
        pub(crate) unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
            // SAFETY: the caller deletes `fd` before closing it.
            unsafe {
                self.poller
                    .add_with_mode(fd.as_raw_fd(), Event::all(key), self.mode)
            }
        }

        /// Whether a source must be re-armed after each event (oneshot mode).
        pub(crate) fn needs_rearm(&self) -> bool {
            self.mode == PollMode::Oneshot
        }

        pub(crate) fn rearm(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
            self.poller.modify_with_mode(fd, Event::all(key), self.mode)
        }

        pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
            self.poller.delete(fd)
        }

        pub(crate) fn wait(
            &self,
            events: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<()> {
            events.0.clear();
            self.poller.wait(&mut events.0, timeout).map(drop)
        }

        pub(crate) fn notify(&self) -> io::Result<()> {
            self.poller.notify()
        }
    }

    impl Events {
        pub(crate) fn new() -> Events {
            let capacity = NonZeroUsize::new(EVENTS_CAPACITY).expect("non-zero");
            Events(polling::Events::with_capacity(capacity))
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
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
}

#[cfg(any(loom, miri))]
mod imp {
    use std::io;
    use std::os::fd::BorrowedFd;
    use std::time::Duration;

    use crate::loom::{wait_timeout, Condvar, Mutex};

    /// A poller whose events come from [`Poller::inject`], with the shim's
    /// lock and condvar, so loom models see every interleaving of an event
    /// with the tasks and the driver. Under loom, timeouts other than zero
    /// are untimed waits.
    pub(crate) struct Poller {
        state: Mutex<Fake>,
        condvar: Condvar,
    }

    #[derive(Default)]
    struct Fake {
        notified: bool,
        pending: Vec<(usize, usize)>,
    }

    pub(crate) struct Events(Vec<(usize, usize)>);

    impl Poller {
        pub(crate) fn new() -> io::Result<Poller> {
            Ok(Poller {
                state: Mutex::new(Fake::default()),
                condvar: Condvar::new(),
            })
        }

        /// # Safety
        /// None needed by the fake; kept for the real poller's contract.
        pub(crate) unsafe fn add(&self, _fd: BorrowedFd<'_>, _key: usize) -> io::Result<()> {
            Ok(())
        }

        pub(crate) fn needs_rearm(&self) -> bool {
            false
        }

        pub(crate) fn rearm(&self, _fd: BorrowedFd<'_>, _key: usize) -> io::Result<()> {
            Ok(())
        }

        pub(crate) fn delete(&self, _fd: BorrowedFd<'_>) -> io::Result<()> {
            Ok(())
        }

        /// Delivers `ready` for `key` at the next wait, waking a waiting one.
        #[cfg(loom)]
        pub(crate) fn inject(&self, key: usize, ready: usize) {
            self.state.lock().pending.push((key, ready));
            self.condvar.notify_one();
        }

        pub(crate) fn wait(
            &self,
            events: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<()> {
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
        pub(crate) fn new() -> Events {
            Events(Vec::new())
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
            self.0.iter().copied()
        }
    }
}

pub(crate) use imp::*;
