//! Unix signals as streams: [`signal`] installs weft's handler for a
//! [`SignalKind`] (once per process) and returns a [`Signal`] that yields
//! one item per delivery it observes.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::registry::{self, Listener};
use super::signal_driver::SignalDriver;

/// A kind of Unix signal: a signal number, with constructors for the
/// common ones.
///
/// ```
/// use weft_runtime::signal::unix::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// The signal with this number. Whether it can be listened for is
    /// checked by [`signal`].
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// `SIGALRM`: a timer set with `alarm(2)` expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process stopped or exited.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal hung up; daemons take it as "reload".
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: interrupt from the keyboard (Ctrl-C).
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGIO`: I/O is possible on a descriptor set up for it.
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// `SIGPIPE`: a write to a pipe with no reader.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`: quit from the keyboard (Ctrl-\\).
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: a polite request to terminate.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`: user-defined.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`: user-defined.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

/// Listens for `kind`: from now on, each delivery of the signal to the
/// process wakes this listener (and every other listener of it, in any
/// runtime).
///
/// The first call for a signal installs weft's handler for it, for the
/// rest of the process's life: the signal's default action (terminating
/// the process, for most) does not happen any more, even once every
/// listener is dropped.
///
/// Deliveries are coalesced: several that arrive before the listener
/// looks count as one, as the OS does for a standard signal that is
/// already pending. A [`Signal`] therefore tells "at least one since the
/// last time", never how many.
///
/// # Errors
/// `InvalidInput` for a signal that cannot be listened for (`SIGKILL`,
/// `SIGSTOP`, the faults `SIGSEGV`, `SIGILL`, `SIGFPE`, `SIGBUS`, and on
/// Linux the real-time signals below `SIGRTMIN()`, which the C library
/// keeps for itself) or a number that is not a signal; what the OS reports when installing the
/// handler or registering with the reactor fails.
///
/// # Panics
/// Outside a weft runtime.
///
/// ```
/// use weft_runtime::signal::unix::{signal, SignalKind};
///
/// weft_runtime::run(async {
///     let mut hangups = signal(SignalKind::hangup()).unwrap();
///     // SAFETY: `kill` and `getpid` have no preconditions.
///     unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
///     assert_eq!(hangups.recv().await, Some(()));
///
///     let forbidden = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
///     assert_eq!(forbidden.kind(), std::io::ErrorKind::InvalidInput);
/// });
/// ```
#[track_caller]
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let driver = SignalDriver::current()?;
    registry::install(kind.0)?;
    Ok(Signal {
        listener: Listener::new(kind.0)?,
        driver,
    })
}

/// A stream of deliveries of one signal, made by [`signal`]. Implements
/// `futures_core::Stream` (items `()`).
#[derive(Debug)]
pub struct Signal {
    listener: Listener,
    driver: Arc<SignalDriver>,
}

impl Signal {
    /// Waits for the next delivery; `None` once the runtime that made
    /// this listener has shut down (none can come any more).
    ///
    /// Cancel-safe: dropping the future loses no delivery.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery; see [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.listener.poll(cx).is_ready() {
            return Poll::Ready(Some(()));
        }
        if self.driver.is_shutdown() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// Which signal this listens for.
    pub fn kind(&self) -> SignalKind {
        SignalKind(self.listener.signum())
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}
