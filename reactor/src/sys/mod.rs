//! The OS poller behind the few calls the driver makes: weft's own epoll
//! backend on Linux ([`epoll`]), the `polling` crate everywhere else and on
//! Linux when chosen ([`portable`]), and under `cfg(loom)` or miri a
//! loom-visible fake with the same calls, whose events tests inject
//! ([`fake`]).
//!
//! Which backend a runtime gets is [`IoBackend`], fixed when its driver is
//! made. Events come out as `(key, ready bits)`, the bits of
//! `scheduled_io`.

use std::fmt;
use std::str::FromStr;

#[cfg(all(target_os = "linux", not(any(loom, miri))))]
mod epoll;
#[cfg(any(loom, miri))]
mod fake;
#[cfg(not(any(loom, miri)))]
mod portable;

/// Which poller a runtime's reactor waits in.
///
/// Chosen with `Builder::io_backend`, or for every runtime of a process
/// that does not choose, with the `WEFT_IO_BACKEND` environment variable
/// (`native` or `portable`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IoBackend {
    /// The platform's best: weft's own epoll backend on Linux (one system
    /// call per wait, read-closed events, nanosecond timeouts); elsewhere
    /// the same as [`Portable`](IoBackend::Portable).
    #[default]
    Native,
    /// The `polling` crate: epoll, kqueue, event ports or IOCP. Slower on
    /// Linux (five system calls per wait, no read-closed events, so every
    /// read burst ends in a read that would block); there to test and
    /// measure the code path every other platform runs.
    Portable,
}

impl IoBackend {
    /// The backend that actually runs when this one is asked for: on a
    /// platform without a native backend, [`Portable`](IoBackend::Portable).
    pub fn resolve(self) -> IoBackend {
        if cfg!(target_os = "linux") {
            self
        } else {
            IoBackend::Portable
        }
    }
}

impl FromStr for IoBackend {
    type Err = ParseIoBackendError;

    /// `native` or `portable` (any case, surrounding spaces ignored).
    fn from_str(s: &str) -> Result<IoBackend, ParseIoBackendError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "native" => Ok(IoBackend::Native),
            "portable" => Ok(IoBackend::Portable),
            _ => Err(ParseIoBackendError(s.to_string())),
        }
    }
}

/// A name that is not an [`IoBackend`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIoBackendError(String);

impl fmt::Display for ParseIoBackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown I/O backend {:?}: expected \"native\" or \"portable\"",
            self.0
        )
    }
}

impl std::error::Error for ParseIoBackendError {}

#[cfg(any(loom, miri))]
pub(crate) use fake::{Events, Poller};

/// Whether `fd` is readable now, by a `poll(2)` with a zero timeout: for an
/// epoll or kqueue descriptor, whether events wait in its ready list. Takes
/// nothing and never blocks. An error reads as "no" (the watchdog that asks
/// only loses one look).
#[cfg(all(unix, not(any(loom, miri))))]
pub(crate) fn readable_now(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    let mut entry = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `entry` is one valid, initialised `pollfd` that lives across
    // the call, and the count passed is 1; `fd` is borrowed, so it stays
    // open for the call; a zero timeout makes the call return at once.
    let n = unsafe { libc::poll(&mut entry, 1, 0) };
    n > 0 && entry.revents & libc::POLLIN != 0
}

#[cfg(not(any(loom, miri)))]
pub(crate) use real::{Events, Poller};

/// The backends behind one type: a `match` per call, which the branch
/// predictor takes for free next to the system call behind it.
#[cfg(not(any(loom, miri)))]
mod real {
    use std::io;
    use std::os::fd::BorrowedFd;
    use std::time::Duration;

    #[cfg(target_os = "linux")]
    use super::epoll;
    use super::{portable, IoBackend};
    use crate::ready::Interest;

    pub(crate) enum Poller {
        #[cfg(target_os = "linux")]
        Epoll(epoll::Poller),
        Portable(portable::Poller),
    }

    pub(crate) enum Events {
        #[cfg(target_os = "linux")]
        Epoll(epoll::Events),
        Portable(portable::Events),
    }

    /// Runs `$body` with `$p` bound to whichever backend `$poller` holds.
    macro_rules! each {
        ($poller:expr, $p:ident => $body:expr) => {
            match $poller {
                #[cfg(target_os = "linux")]
                Poller::Epoll($p) => $body,
                Poller::Portable($p) => $body,
            }
        };
    }

    impl Poller {
        pub(crate) fn new(backend: IoBackend) -> io::Result<Poller> {
            Ok(match backend.resolve() {
                #[cfg(target_os = "linux")]
                IoBackend::Native => Poller::Epoll(epoll::Poller::new()?),
                _ => Poller::Portable(portable::Poller::new()?),
            })
        }

        /// The backend this poller is.
        pub(crate) fn backend(&self) -> IoBackend {
            match self {
                #[cfg(target_os = "linux")]
                Poller::Epoll(_) => IoBackend::Native,
                Poller::Portable(_) => IoBackend::Portable,
            }
        }

        /// An event buffer for this poller's waits.
        pub(crate) fn events(&self) -> Events {
            match self {
                #[cfg(target_os = "linux")]
                Poller::Epoll(_) => Events::Epoll(epoll::Events::new()),
                Poller::Portable(_) => Events::Portable(portable::Events::new()),
            }
        }

        /// Whether events carry `READ_CLOSED`, so that a short read or
        /// write proves the socket drained (or full) without a call that
        /// fails with `WouldBlock`.
        pub(crate) fn reports_closed(&self) -> bool {
            match self {
                #[cfg(target_os = "linux")]
                Poller::Epoll(_) => true,
                Poller::Portable(_) => false,
            }
        }

        /// Registers `fd` for `interest` under `key`.
        ///
        /// # Safety
        /// `fd` must be [`delete`](Self::delete)d before it is closed,
        /// unless [`close_deletes`](Self::close_deletes).
        pub(crate) unsafe fn add(
            &self,
            fd: BorrowedFd<'_>,
            key: usize,
            interest: Interest,
        ) -> io::Result<()> {
            // SAFETY: passed on from our caller.
            each!(self, p => unsafe { p.add(fd, key, interest) })
        }

        /// Whether a source must be re-armed after each event (oneshot
        /// mode).
        pub(crate) fn needs_rearm(&self) -> bool {
            each!(self, p => p.needs_rearm())
        }

        pub(crate) fn rearm(
            &self,
            fd: BorrowedFd<'_>,
            key: usize,
            interest: Interest,
        ) -> io::Result<()> {
            match self {
                #[cfg(target_os = "linux")]
                Poller::Epoll(_) => Ok(()),
                Poller::Portable(p) => p.rearm(fd, key, interest),
            }
        }

        pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
            each!(self, p => p.delete(fd))
        }

        /// Moves the registration `fd` already has (`EEXIST` from
        /// [`add`](Self::add)) to `key`.
        pub(crate) fn take_over(
            &self,
            fd: BorrowedFd<'_>,
            key: usize,
            interest: Interest,
        ) -> io::Result<()> {
            each!(self, p => p.take_over(fd, key, interest))
        }

        /// Whether closing a descriptor takes it out of the poller, so a
        /// source about to close need not be deleted first.
        pub(crate) fn close_deletes(&self) -> bool {
            each!(self, p => p.close_deletes())
        }

        /// Waits for events or a [`notify`](Self::notify) for at most
        /// `timeout` (`None`: no limit). `events` must come from
        /// [`events`](Self::events) of this poller.
        pub(crate) fn wait(
            &self,
            events: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<()> {
            match (self, events) {
                #[cfg(target_os = "linux")]
                (Poller::Epoll(p), Events::Epoll(e)) => p.wait(e, timeout),
                (Poller::Portable(p), Events::Portable(e)) => p.wait(e, timeout),
                #[cfg(target_os = "linux")]
                (_, events) => {
                    *events = self.events();
                    self.wait(events, timeout)
                }
            }
        }

        /// Makes the wait in progress, or the next one, return.
        pub(crate) fn notify(&self) -> io::Result<()> {
            each!(self, p => p.notify())
        }

        /// Whether events (or an unpark) wait to be taken by the next
        /// wait, without taking them. For the watchdog, off the hot path.
        pub(crate) fn has_pending_events(&self) -> bool {
            each!(self, p => p.has_pending_events())
        }
    }

    impl Events {
        /// `(key, ready bits)` of each source's event.
        pub(crate) fn for_each(&self, mut f: impl FnMut(usize, usize)) {
            match self {
                #[cfg(target_os = "linux")]
                Events::Epoll(events) => events.iter().for_each(|(key, ready)| f(key, ready)),
                Events::Portable(events) => events.iter().for_each(|(key, ready)| f(key, ready)),
            }
        }
    }
}
