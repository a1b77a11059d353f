//! One runtime's signal driver: its duplicate of the self-pipe's read end,
//! registered with its reactor, and the waker the reactor calls when a
//! signal handler wrote to the pipe.
//!
//! No task and no thread: the waker stored for the pipe's readiness *is*
//! the driver. When the reactor's turn wakes it, it drains the pipe (which
//! stores the waker again for the next event), takes the pending
//! signals, reaps orphaned children, and delivers the signals to their
//! listeners (`registry.rs`). It is made the first time something in the
//! runtime listens for a signal or orphans a child, and lives as long as
//! the runtime's `Services`. The waker holds
//! the driver weakly: the reactor holding it must not keep the driver (and
//! its registration in that same reactor) alive.
//!
//! When the runtime shuts down, the reactor wakes the driver one last
//! time; it finds the reactor gone, marks itself shut down and wakes every
//! listener, so those of this runtime end their streams.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use weft_base::coop;
use weft_reactor::AsyncFd;

use super::registry;
use crate::runtime::Handle;
use weft_base::loom::{AtomicBool, Mutex, Ordering};

pub(crate) struct SignalDriver {
    pipe: AsyncFd<UnixStream>,
    waker: Waker,
    is_shutdown: AtomicBool,
}

/// The runtime's driver, made on first use (a field of its `Services`).
#[derive(Default)]
pub(crate) struct Slot(Mutex<Option<Arc<SignalDriver>>>);

struct DriveOnWake(Weak<SignalDriver>);

impl Wake for DriveOnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(driver) = self.0.upgrade() {
            driver.drive();
        }
    }
}

impl SignalDriver {
    /// The driver of `handle`'s runtime, made (and armed) if this is the
    /// first use.
    pub(crate) fn of(handle: &Handle) -> io::Result<Arc<SignalDriver>> {
        let mut slot = handle.services.signal.0.lock();
        if let Some(driver) = slot.as_ref() {
            return Ok(driver.clone());
        }
        let pipe = {
            let _reactor = weft_base::context::enter(handle.services.io());
            // SAFETY: the stream owns its descriptor and keeps it open while
            // registered; `AsyncFd` deregisters it before dropping it.
            unsafe { AsyncFd::register(registry::receiver()?)? }
        };
        let driver = Arc::new_cyclic(|weak| SignalDriver {
            pipe,
            waker: Waker::from(Arc::new(DriveOnWake(weak.clone()))),
            is_shutdown: AtomicBool::new(false),
        });
        *slot = Some(driver.clone());
        drop(slot);
        // Stores the waker with the reactor, and delivers whatever the
        // pipe already holds.
        driver.drive();
        Ok(driver)
    }

    /// The driver of the current runtime.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub(crate) fn current() -> io::Result<Arc<SignalDriver>> {
        SignalDriver::of(&Handle::current())
    }

    /// True once the runtime's reactor is gone.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.is_shutdown.load(Ordering::Acquire)
    }

    /// Drains the pipe until it would block (leaving the waker with the
    /// reactor), then takes what is pending, reaps orphans, and delivers.
    fn drive(&self) {
        let mut cx = Context::from_waker(&self.waker);
        let mut buf = [0u8; 128];
        // The budget of whatever task we run inside is not ours to spend
        // (and running out would wake this waker, re-entering here).
        let drained = coop::unconstrained(|| loop {
            match self
                .pipe
                .poll_read_io(&mut cx, |mut pipe| pipe.read(&mut buf))
            {
                Poll::Ready(Ok(0)) => return false,
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(_)) => return false,
                Poll::Pending => return true,
            }
        });
        let pending = registry::take_pending();
        // Orphans after the flags are taken and before anyone is woken: a
        // SIGCHLD listener woken for a delivery finds every child that
        // exited before it already reaped.
        registry::reap_orphans();
        registry::deliver(pending);
        if !drained {
            // The reactor is gone (the write end never closes).
            self.is_shutdown.store(true, Ordering::Release);
            registry::wake_all();
        }
    }
}

impl std::fmt::Debug for SignalDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalDriver")
            .field("is_shutdown", &self.is_shutdown())
            .finish_non_exhaustive()
    }
}
