//! The reactor of one runtime: one poller, the registered sources, and the
//! turn that waits for events and wakes the tasks they concern.
//!
//! There is no reactor thread: the runtime's worker that holds the driver
//! slot calls [`IoDriver::turn`] when it parks, so tasks woken here land on
//! that worker's queue. [`IoHandle::unpark`] wakes a turn in progress (or makes
//! the next one return at once).
//!
//! Unpark protocol: an unpark sets `notified`, and pokes the poller (an
//! eventfd write: a system call) only if the turn is inside its wait. A
//! turn that will block sets `waiting` and then reads `notified`; an unpark
//! sets `notified` and then reads `waiting`; a SeqCst fence sits between
//! the two steps on each side. So either the turn sees `notified` and does
//! not block, or the unpark sees `waiting` and pokes: never neither (the
//! loom model `loom_unpark_racing_a_turn_entering_or_leaving_its_wait`
//! checks this).
//! A poke that lands just after the wait ended makes the next wait return
//! at once: a spurious wake-up, which callers allow.
//!
//! Sources live in a slab whose keys carry a generation: the poller reports
//! events by key, and an event for a slot that was freed and reused since
//! is dropped instead of reaching the new owner. A source always leaves
//! the slab before its descriptor closes (`PollEvented`'s drop), and the
//! poller too unless closing takes it out by itself (epoll).
//!
//! Locks: `sources`, then a source's own waiter lock; never the reverse.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use crate::quiet::Quiet;
use crate::ready::Interest;
use crate::scheduled_io::ScheduledIo;
use crate::sys::{Events, IoBackend, Poller};
use weft_base::context::{self, Service};
use weft_base::loom::{fence, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering};

/// Bits of a key that hold the slot index; the rest hold its generation.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;

/// The runtime's side of the reactor: waits for events and dispatches them.
pub struct IoDriver {
    handle: IoHandle,
    events: Events,
    tick: u16,
    wakers: Vec<Waker>,
}

/// A reference to one runtime's reactor; every I/O source holds one.
#[derive(Clone)]
pub struct IoHandle {
    pub(crate) inner: Arc<Inner>,
}

impl Service for IoHandle {
    type Shared = Inner;
    const SLOT: context::Slot = context::Slot::Io;
    const MISSING: &'static str = "there is no weft runtime here, and sockets need one to wait \
                                   for readiness: create or convert them in a task, in \
                                   `#[weft::main]` or `#[weft::test]`, inside \
                                   `Runtime::block_on`, or while a `Runtime::enter()` / \
                                   `Handle::enter()` guard is alive";

    fn shared(&self) -> &Arc<Inner> {
        &self.inner
    }

    fn from_shared(inner: Arc<Inner>) -> IoHandle {
        IoHandle { inner }
    }
}

/// What every handle to one runtime's reactor shares.
pub struct Inner {
    pub(crate) poller: Poller,
    sources: Mutex<Sources>,
    /// Sources in `sources`; while zero, turns park in `quiet`.
    registered: AtomicUsize,
    quiet: Quiet,
    /// An unpark came that no turn has consumed yet.
    notified: AtomicBool,
    /// A turn is in, or about to enter, a blocking wait in the poller.
    waiting: AtomicBool,
    /// Marked on the way into and out of every turn (odd while a thread
    /// is inside one), ready events dispatched by the turns, and sources
    /// ever registered: metrics, and the watchdog's sign that the driver is
    /// being turned. The first two are written only by the turn's holder
    /// (one at a time: `turn` takes the driver by `&mut`), as a plain load
    /// and store.
    turn_marks: AtomicU64,
    ready_count: AtomicU64,
    registered_total: AtomicU64,
    spawn_blocking: Box<SpawnBlocking>,
}

// Sockets are `RefUnwindSafe` as tokio's are, so the reactor they share
// must be: the auto trait is lost only to the locks (`sources`, `quiet`)
// and the `spawn_blocking` closure. Neither lock runs foreign code while
// held (slab bookkeeping and a condvar flag; wakers are collected and woken
// after the lock is released), so a panic cannot leave them half-updated,
// and parking_lot releases a lock on unwind. `spawn_blocking` is the
// runtime's own `Fn`, which keeps no state a panic could break.
impl std::panic::RefUnwindSafe for Inner {}

/// How the reactor runs blocking work (host-name lookups) on the runtime's
/// blocking pool.
pub type SpawnBlocking = dyn Fn(Box<dyn FnOnce() + Send>) -> io::Result<()> + Send + Sync;

#[derive(Default)]
struct Sources {
    slots: Vec<Slot>,
    free: Vec<usize>,
    is_shutdown: bool,
    /// Set by [`IoHandle::refuse_sources`]: why this reactor takes no
    /// sources (a `weft::check` run, whose scheduling real I/O would
    /// escape).
    refused: Option<&'static str>,
}

struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
    /// The descriptor registered here while `io` is `Some`.
    fd: RawFd,
}

impl IoDriver {
    /// A new reactor with its own poller of kind `backend`, running
    /// blocking work (host-name lookups) with `spawn_blocking`.
    pub fn new(
        backend: IoBackend,
        spawn_blocking: impl Fn(Box<dyn FnOnce() + Send>) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<IoDriver> {
        let poller = Poller::new(backend)?;
        let events = poller.events();
        Ok(IoDriver {
            handle: IoHandle {
                inner: Arc::new(Inner {
                    poller,
                    sources: Mutex::new(Sources::default()),
                    registered: AtomicUsize::new(0),
                    quiet: Quiet::new(),
                    notified: AtomicBool::new(false),
                    waiting: AtomicBool::new(false),
                    turn_marks: AtomicU64::new(0),
                    ready_count: AtomicU64::new(0),
                    registered_total: AtomicU64::new(0),
                    spawn_blocking: Box::new(spawn_blocking),
                }),
            },
            events,
            tick: 0,
            wakers: Vec::new(),
        })
    }

    /// The handle sources and the runtime use to reach this reactor.
    pub fn handle(&self) -> &IoHandle {
        &self.handle
    }

    /// Waits for I/O events or an unpark, for at most `timeout` (`None`: no
    /// limit), and wakes the tasks whose sources became ready. True if
    /// anything came (events or an unpark) rather than the timeout.
    ///
    /// With no source registered there are no events to wait for, and the
    /// wait is a plain condvar park ([`Quiet`]), far cheaper than the
    /// poller's; a registration ends it.
    pub fn turn(&mut self, timeout: Option<Duration>) -> bool {
        let marks = &self.handle.inner.turn_marks;
        add(marks, 1);
        let anything = self.turn_marked(timeout);
        let marks = &self.handle.inner.turn_marks;
        add(marks, 1);
        anything
    }

    fn turn_marked(&mut self, timeout: Option<Duration>) -> bool {
        let inner = &*self.handle.inner;
        if inner.registered.load(Ordering::Acquire) == 0 {
            return inner
                .quiet
                .park(&inner.notified, &inner.registered, timeout);
        }
        let blocks = timeout != Some(Duration::ZERO);
        if blocks {
            inner.waiting.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
        }
        let timeout = if blocks && inner.notified.load(Ordering::Relaxed) {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        #[cfg(all(feature = "fault-injection", not(loom)))]
        if crate::fault::fire(crate::fault::Fault::SpuriousWakeup) {
            return self.spurious_wakeup(blocks);
        }
        // An error here (out of memory in the kernel, say) is a spurious
        // wake-up to the caller, which parks again.
        let _ = inner.poller.wait(&mut self.events, timeout);
        if blocks {
            inner.waiting.store(false, Ordering::Relaxed);
        }
        let unparked = inner.notified.swap(false, Ordering::AcqRel);
        let tick = self.tick.wrapping_add(1);
        let mut sources = None;
        let mut ready_events = 0;
        self.events.for_each(|key, ready| {
            ready_events += 1;
            let sources = sources.get_or_insert_with(|| inner.sources.lock());
            if let Some(io) = sources.get(key) {
                io.dispatch(tick, ready, &mut self.wakers);
            }
        });
        let any_events = sources.is_some();
        drop(sources);
        if any_events {
            self.tick = tick;
            add(&inner.ready_count, ready_events);
        }
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
        any_events || unparked
    }
}

#[cfg(all(feature = "fault-injection", not(loom)))]
impl IoDriver {
    /// An injected spurious wake-up, in place of the poller's wait: returns
    /// at once and reports every registered source readable and writable,
    /// ready or not, so each waiting task tries its operation, meets
    /// `WouldBlock` and waits again.
    fn spurious_wakeup(&mut self, blocked: bool) -> bool {
        use crate::scheduled_io::{READABLE, WRITABLE};
        let inner = &*self.handle.inner;
        if blocked {
            inner.waiting.store(false, Ordering::Relaxed);
        }
        inner.notified.swap(false, Ordering::AcqRel);
        self.tick = self.tick.wrapping_add(1);
        let mut ready_events = 0;
        {
            let sources = inner.sources.lock();
            for io in sources.slots.iter().filter_map(|slot| slot.io.as_ref()) {
                io.dispatch(self.tick, READABLE | WRITABLE, &mut self.wakers);
                ready_events += 1;
            }
        }
        add(&inner.ready_count, ready_events);
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
        true
    }
}

impl IoHandle {
    /// Wakes the thread in [`IoDriver::turn`], or makes the next turn return
    /// at once.
    pub fn unpark(&self) {
        let inner = &*self.inner;
        if inner.notified.swap(true, Ordering::AcqRel) || inner.quiet.wake() {
            return;
        }
        fence(Ordering::SeqCst);
        if inner.waiting.load(Ordering::Relaxed) {
            // Nothing to do about a failure: the eventfd write cannot fail
            // in practice, and the parked thread has a timeout if it does.
            let _ = inner.poller.notify();
        }
    }

    /// The backend this reactor's poller is ([`IoBackend::Native`] only
    /// where the platform has one).
    pub fn io_backend(&self) -> IoBackend {
        self.inner.poller.backend()
    }

    /// Whether a short read or write proves the socket drained or full:
    /// the poller reports read-closed, so a FIN that came with the data
    /// is not missed by a reader that stops after a short read.
    pub(crate) fn short_io_is_final(&self) -> bool {
        self.inner.poller.reports_closed()
    }

    /// Wakes every task waiting on a source and fails their I/O from now on
    /// (the runtime is gone); new registrations fail too.
    pub fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut sources = self.inner.sources.lock();
            sources.is_shutdown = true;
            for io in sources.slots.iter().filter_map(|slot| slot.io.as_ref()) {
                io.shutdown(&mut wakers);
            }
        }
        for waker in wakers {
            waker.wake();
        }
    }

    /// Refuses every registration (and host-name lookup) from now on with
    /// an `Unsupported` error carrying `reason`: sockets, pipes and child
    /// processes cannot be made on this reactor. `weft::check` runs set it, since real I/O
    /// completes in real time, outside the schedule the checker chooses.
    #[doc(hidden)]
    pub fn refuse_sources(&self, reason: &'static str) {
        self.inner.sources.lock().refused = Some(reason);
    }

    /// Registers `fd` for both directions (a socket); returns its
    /// readiness record and key.
    ///
    /// # Safety
    /// As [`register_with`](Self::register_with).
    #[cfg(test)]
    pub(crate) unsafe fn register(
        &self,
        fd: BorrowedFd<'_>,
    ) -> io::Result<(Arc<ScheduledIo>, usize)> {
        // SAFETY: passed on to our caller.
        unsafe { self.register_with(fd, Interest::READABLE.add(Interest::WRITABLE)) }
    }

    /// Registers `fd` for `interest`; returns its readiness record and key.
    ///
    /// # Safety
    /// `fd` must be [`deregister`](Self::deregister)ed, or
    /// [`deregister_closing`](Self::deregister_closing)ed just before it
    /// closes, before it is closed.
    pub(crate) unsafe fn register_with(
        &self,
        fd: BorrowedFd<'_>,
        interest: Interest,
    ) -> io::Result<(Arc<ScheduledIo>, usize)> {
        let io = Arc::new(ScheduledIo::new());
        let key = {
            let mut sources = self.inner.sources.lock();
            if sources.is_shutdown {
                return Err(gone());
            }
            if let Some(reason) = sources.refused {
                return Err(io::Error::new(io::ErrorKind::Unsupported, reason));
            }
            sources.insert(io.clone(), fd.as_raw_fd())?
        };
        self.inner.registered.fetch_add(1, Ordering::Release);
        self.inner.registered_total.fetch_add(1, Ordering::Relaxed);
        self.inner.quiet.wake();
        // SAFETY: passed on to our caller.
        let added = match unsafe { self.inner.poller.add(fd, key, interest) } {
            // A registration a closed descriptor left behind (its file
            // lives on in a `dup`) is taken over; a live source's is not
            // (the same descriptor registered twice stays an error).
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) => {
                let live = self.inner.sources.lock().has_other(fd.as_raw_fd(), key);
                if live {
                    Err(err)
                } else {
                    self.inner.poller.take_over(fd, key, interest)
                }
            }
            added => added,
        };
        if let Err(err) = added {
            self.remove(key);
            return Err(err);
        }
        Ok((io, key))
    }

    /// Removes `fd`, registered under `key`, from the poller and frees its
    /// slot; events still in flight for it are dropped by the generation.
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        let deleted = self.inner.poller.delete(fd);
        self.remove(key);
        deleted
    }

    /// [`deregister`](Self::deregister) for a descriptor the caller closes
    /// next: where the close takes it out of the poller (epoll), the delete,
    /// a system call per socket, is left to it. A registration a `dup`
    /// keeps alive reports under a freed key, and the slab drops those.
    pub(crate) fn deregister_closing(&self, fd: BorrowedFd<'_>, key: usize) {
        if !self.inner.poller.close_deletes() {
            // A failed delete leaves nothing to undo: the close follows.
            let _ = self.inner.poller.delete(fd);
        }
        self.remove(key);
    }

    fn remove(&self, key: usize) {
        // Dropped outside the lock: its wakers may hold the last reference
        // to a task that owns another source.
        let removed = self.inner.sources.lock().remove(key);
        if removed.is_some() {
            self.inner.registered.fetch_sub(1, Ordering::Release);
        }
        drop(removed);
    }

    /// Re-arms `fd`, registered for `interest`, where the poller delivers
    /// one event per registration.
    pub(crate) fn rearm(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
    ) -> io::Result<()> {
        if self.inner.poller.needs_rearm() {
            self.inner.poller.rearm(fd, key, interest)?;
        }
        Ok(())
    }

    /// Runs `f` on the runtime's blocking pool.
    pub(crate) fn spawn_blocking(&self, f: Box<dyn FnOnce() + Send>) -> io::Result<()> {
        // Host-name lookups are real I/O too.
        if let Some(reason) = self.inner.sources.lock().refused {
            return Err(io::Error::new(io::ErrorKind::Unsupported, reason));
        }
        (self.inner.spawn_blocking)(f)
    }

    /// Sources registered now (sockets, listeners, pipes).
    pub fn num_sources(&self) -> usize {
        self.inner.registered.load(Ordering::Relaxed)
    }

    /// Sources registered since the reactor was made.
    pub fn registered_count(&self) -> u64 {
        self.inner.registered_total.load(Ordering::Relaxed)
    }

    /// Sources deregistered since the reactor was made.
    pub fn deregistered_count(&self) -> u64 {
        // The total first: a deregistration between the two loads then
        // cannot make the difference wrap.
        let total = self.registered_count();
        total.saturating_sub(self.num_sources() as u64)
    }

    /// Ready events the reactor has dispatched to sources.
    pub fn ready_count(&self) -> u64 {
        self.inner.ready_count.load(Ordering::Relaxed)
    }

    /// A count marked on the way into and out of every turn (a wait, or a
    /// look without waiting): odd while a thread is inside a turn. A count
    /// that is even and stands still while
    /// [`has_pending_events`](Self::has_pending_events) says events wait
    /// means no thread is driving I/O.
    pub fn turn_marks(&self) -> u64 {
        self.inner.turn_marks.load(Ordering::Relaxed)
    }

    /// Whether events (or an unpark) wait in the poller for the next turn,
    /// without taking them: a system call, for the watchdog only. Always
    /// false while no source is registered (then nothing can be ready).
    pub fn has_pending_events(&self) -> bool {
        self.num_sources() > 0 && self.inner.poller.has_pending_events()
    }

    /// Delivers `ready` for `key` at the next turn (loom's fake poller).
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn inject(&self, key: usize, ready: usize) {
        self.inner.poller.inject(key, ready);
    }
}

/// Adds `by` to a counter only the turn's holder writes.
fn add(counter: &AtomicU64, by: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(by),
        Ordering::Relaxed,
    );
}

/// The error of I/O on a source whose runtime has shut down.
pub(crate) fn gone() -> io::Error {
    weft_base::gone::RuntimeGone::error("the weft runtime this I/O source belongs to has shut down")
}

impl Sources {
    fn insert(&mut self, io: Arc<ScheduledIo>, fd: RawFd) -> io::Result<usize> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                if self.slots.len() > INDEX_MASK {
                    return Err(io::Error::other(
                        "weft reactor: too many registered sources",
                    ));
                }
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                    fd,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.io = Some(io);
        slot.fd = fd;
        Ok(index | (slot.generation << INDEX_BITS))
    }

    /// Whether a live source other than `key` has descriptor `fd`. A scan,
    /// for the rare add that finds `fd` registered already.
    fn has_other(&self, fd: RawFd, key: usize) -> bool {
        self.slots
            .iter()
            .enumerate()
            .any(|(index, slot)| index != key & INDEX_MASK && slot.io.is_some() && slot.fd == fd)
    }

    fn get(&self, key: usize) -> Option<&Arc<ScheduledIo>> {
        let slot = self.slots.get(key & INDEX_MASK)?;
        if slot.generation != key >> INDEX_BITS {
            return None;
        }
        slot.io.as_ref()
    }

    fn remove(&mut self, key: usize) -> Option<Arc<ScheduledIo>> {
        let index = key & INDEX_MASK;
        self.get(key)?;
        let slot = &mut self.slots[index];
        let io = slot.io.take();
        // Wraps within the key's generation bits, never into the key
        // polling reserves (`usize::MAX`).
        slot.generation = (slot.generation + 1) & (INDEX_MASK >> 1);
        self.free.push(index);
        io
    }
}

impl std::fmt::Debug for IoHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoHandle").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for IoDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoDriver").finish_non_exhaustive()
    }
}
