//! The process-wide half of signal handling: one handler per signal
//! number, installed on first use for the life of the process, one
//! self-pipe, and per signal a generation and the wakers of its listeners.
//!
//! The handler does only async-signal-safe work: it marks its signal
//! pending (an atomic store) and writes one byte to the non-blocking write
//! end of a socket pair; when the pipe is full it already holds a wake-up,
//! so a failed write loses nothing (signal-hook-registry saves and restores
//! `errno` around it). Every runtime with listeners registers its own
//! duplicate of the read end with its reactor (`driver.rs`); whichever
//! wakes first drains the pipe, swaps the pending flags off
//! ([`take_pending`]) and [`deliver`]s what it took: each taken signal's
//! generation goes up and its listeners' wakers are woken, in whatever
//! runtime they live.
//!
//! Why nothing is lost: the handler sets the flag before it writes, and a
//! driver drains before it swaps flags, so a flag set after a drain comes
//! with a byte written after it, which is a new readiness event. Why
//! nothing piles up: deliveries between two drains are one flag, and a
//! listener compares generations, so however many deliveries it missed it
//! sees one event (coalescing, as the OS does for standard signals).
//!
//! These are process-wide statics, which loom cannot model; the signal
//! and process modules are not built under loom.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use weft_base::loom::{AtomicBool, AtomicUsize, Mutex, Ordering};

/// The highest signal number we keep a slot for (Linux's `SIGRTMAX`).
const MAX_SIGNAL: usize = 64;

/// Signals whose handler cannot be replaced (`SIGKILL`, `SIGSTOP`) or
/// whose default action must not be (faults: returning from the handler
/// would re-run the faulting instruction forever).
const FORBIDDEN: [libc::c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGBUS,
];

struct Slot {
    /// Set by the handler, swapped off by `take_pending`.
    pending: AtomicBool,
    /// Deliveries so far; a listener remembers the last one it saw.
    generation: AtomicUsize,
    /// Whether our handler is installed; held while installing it.
    installed: Mutex<bool>,
    /// Listeners waiting, by listener id.
    waiters: Mutex<Vec<(usize, Waker)>>,
}

static SLOTS: [Slot; MAX_SIGNAL + 1] = [const {
    Slot {
        pending: AtomicBool::new(false),
        generation: AtomicUsize::new(0),
        installed: Mutex::new(false),
        waiters: Mutex::new(Vec::new()),
    }
}; MAX_SIGNAL + 1];

/// The self-pipe, made on first use and never closed (the handlers write
/// to it for the life of the process).
static PIPE: Mutex<Option<(UnixStream, UnixStream)>> = Mutex::new(None);

static NEXT_LISTENER: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` on the self-pipe (read end, write end), making it first if
/// this is the first use.
fn with_pipe<R>(f: impl FnOnce(&UnixStream, &UnixStream) -> io::Result<R>) -> io::Result<R> {
    let mut pipe = PIPE.lock();
    if pipe.is_none() {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        *pipe = Some((read, write));
    }
    let (read, write) = pipe.as_ref().expect("made above");
    f(read, write)
}

/// A duplicate of the pipe's read end (non-blocking: the flag belongs to
/// the shared open file), for one runtime's reactor to wait on.
pub(crate) fn receiver() -> io::Result<UnixStream> {
    with_pipe(|read, _| read.try_clone())
}

/// The slot of `signum`, or why there is none.
fn slot(signum: libc::c_int) -> io::Result<&'static Slot> {
    if FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be listened for (it cannot be caught, or is a fault)"),
        ));
    }
    // Linux reserves the real-time signals below `SIGRTMIN()` for the C
    // library's threads (glibc's cancellation and set-id signals).
    #[cfg(target_os = "linux")]
    if (32..libc::SIGRTMIN()).contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} is reserved for the C library"),
        ));
    }
    usize::try_from(signum)
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| SLOTS.get(n))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{signum} is not a signal number"),
            )
        })
}

/// Installs our handler for `signum` unless it is already there.
///
/// # Errors
/// `InvalidInput` for a signal that cannot or must not be caught, or a
/// number that is not a signal.
pub(crate) fn install(signum: libc::c_int) -> io::Result<()> {
    let slot = slot(signum)?;
    let mut installed = slot.installed.lock();
    if *installed {
        return Ok(());
    }
    let write_fd: RawFd = with_pipe(|_, write| Ok(write.as_raw_fd()))?;
    let action = move || {
        slot.pending.store(true, Ordering::Release);
        // The result does not matter: a full pipe already holds a wake-up.
        // SAFETY: `write_fd` stays open for the process's life (its pipe
        // lives in a static); `write(2)` of one valid byte is signal-safe.
        let _ = unsafe { libc::write(write_fd, [1u8].as_ptr().cast(), 1) };
    };
    // `signum` is not one of signal-hook-registry's forbidden signals
    // (`slot` checked it), so `register` does not panic.
    // SAFETY: `action` does only async-signal-safe work (an atomic store
    // and `write(2)`); it allocates nothing and takes no lock.
    unsafe { signal_hook_registry::register(signum, action) }?;
    *installed = true;
    Ok(())
}

/// What reaps orphaned children (the process module's), once one was
/// orphaned: the signal driver runs it on every wake, between taking the
/// pending signals and delivering them.
static ORPHAN_REAPER: OnceLock<fn()> = OnceLock::new();

/// Registers `reap` as the orphan reaper (the first registration wins;
/// there is one reaper per process).
pub(crate) fn set_orphan_reaper(reap: fn()) {
    let _ = ORPHAN_REAPER.get_or_init(|| reap);
}

/// Runs the orphan reaper, if one was registered.
pub(crate) fn reap_orphans() {
    if let Some(reap) = ORPHAN_REAPER.get() {
        reap();
    }
}

/// Signals taken off the pending flags, to [`deliver`].
#[derive(Clone, Copy)]
pub(crate) struct Pending(u128);

/// Swaps every pending flag off; what was set is to be [`deliver`]ed.
pub(crate) fn take_pending() -> Pending {
    let mut taken = 0u128;
    for (signum, slot) in SLOTS.iter().enumerate() {
        if slot.pending.swap(false, Ordering::AcqRel) {
            taken |= 1 << signum;
        }
    }
    Pending(taken)
}

/// Delivers `pending` to the listeners: each signal's generation goes up
/// and its listeners' wakers are woken (outside the lock).
pub(crate) fn deliver(pending: Pending) {
    for (signum, slot) in SLOTS.iter().enumerate() {
        if pending.0 & (1 << signum) != 0 {
            slot.generation.fetch_add(1, Ordering::AcqRel);
            let waiters = std::mem::take(&mut *slot.waiters.lock());
            for (_, waker) in waiters {
                waker.wake();
            }
        }
    }
}

/// Wakes every listener of every signal without a delivery, so each looks
/// at whether its runtime is still there.
pub(crate) fn wake_all() {
    for slot in &SLOTS {
        let waiters = std::mem::take(&mut *slot.waiters.lock());
        for (_, waker) in waiters {
            waker.wake();
        }
    }
}

/// One listener's view of one signal: the generation it saw last.
pub(crate) struct Listener {
    signum: libc::c_int,
    slot: &'static Slot,
    id: usize,
    seen: usize,
}

impl Listener {
    /// A listener that sees deliveries from now on (the handler
    /// must be installed: [`install`]).
    pub(crate) fn new(signum: libc::c_int) -> io::Result<Listener> {
        let slot = slot(signum)?;
        Ok(Listener {
            signum,
            slot,
            id: NEXT_LISTENER.fetch_add(1, Ordering::Relaxed),
            seen: slot.generation.load(Ordering::Acquire),
        })
    }

    /// Ready once a delivery came since the last one this listener saw;
    /// several count as one.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.take() {
            return Poll::Ready(());
        }
        let replaced = {
            let mut waiters = self.slot.waiters.lock();
            match waiters.iter_mut().find(|(id, _)| *id == self.id) {
                Some((_, waker)) if waker.will_wake(cx.waker()) => None,
                Some((_, waker)) => Some(std::mem::replace(waker, cx.waker().clone())),
                None => {
                    waiters.push((self.id, cx.waker().clone()));
                    None
                }
            }
        };
        drop(replaced);
        // Again, after the waker is stored: a delivery bumps the
        // generation before it takes the wakers, so one that raced the
        // store is seen here or wakes us.
        if self.take() {
            Poll::Ready(())
        } else {
            // For the task dump.
            weft_base::wait::note(weft_base::wait::WaitOn::signal(self.signum as u64));
            Poll::Pending
        }
    }

    fn take(&mut self) -> bool {
        let now = self.slot.generation.load(Ordering::Acquire);
        if now == self.seen {
            return false;
        }
        self.seen = now;
        true
    }

    pub(crate) fn signum(&self) -> libc::c_int {
        self.signum
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let removed = {
            let mut waiters = self.slot.waiters.lock();
            waiters
                .iter()
                .position(|(id, _)| *id == self.id)
                .map(|i| waiters.swap_remove(i))
        };
        drop(removed);
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("signum", &self.signum)
            .finish_non_exhaustive()
    }
}
