//! Parking a thread until it is unparked (or a timeout passes).
//!
//! A worker's parker first tries the runtime's one driver slot: the thread
//! that gets it waits *in the driver* (I/O and timers, with the timeout of
//! the next deadline); every other parked worker waits on its own condvar.
//! `unpark` knows which of the two to poke from the state word. An unpark
//! that comes before the park is kept (`NOTIFIED`), so none is ever lost.
//!
//! The same type without a driver slot parks plain threads in `block_on`,
//! which may spin a little before they sleep ([`Parker::park_spinning`],
//! [`spin`](super::spin)). Each thread keeps one such parker between calls
//! ([`ThreadParker`]), so a `block_on` allocates none; a wake-up left over
//! from an earlier call only makes the next one poll once more.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::task::Wake;
use std::time::Duration;

use crate::driver::{Driver, DriverUnpark};
use weft_base::loom::{
    wait_timeout, AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// The runtime's one driver, and how to wake whoever waits in it.
///
/// The slot is claimed with a flag, and only the claimant locks the mutex,
/// which is therefore never contended. (A `try_lock` on the mutex would do
/// the same for real, but loom treats a pending `try_lock` like `lock` and
/// reports a deadlock when the holder is parked in the driver.)
pub(crate) struct DriverSlot {
    taken: AtomicBool,
    driver: Mutex<Driver>,
    unpark: DriverUnpark,
}

/// The claim on the driver slot; released on drop.
struct Claim<'a> {
    slot: &'a DriverSlot,
    driver: Option<MutexGuard<'a, Driver>>,
}

impl DriverSlot {
    pub(crate) fn new(driver: Driver) -> DriverSlot {
        let unpark = driver.unpark();
        DriverSlot {
            taken: AtomicBool::new(false),
            driver: Mutex::new(driver),
            unpark,
        }
    }

    fn try_claim(&self) -> Option<Claim<'_>> {
        self.taken
            .compare_exchange(false, true, Acquire, Relaxed)
            .ok()?;
        Some(Claim {
            slot: self,
            driver: Some(self.driver.lock()),
        })
    }

    /// Processes whatever the driver has ready without blocking, unless
    /// another thread holds it.
    pub(crate) fn poll(&self) {
        if let Some(mut claim) = self.try_claim() {
            claim.driver().park(Some(Duration::ZERO));
        }
    }
}

impl Claim<'_> {
    fn driver(&mut self) -> &mut Driver {
        self.driver.as_mut().expect("the guard lives until drop")
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        // Unlock before giving up the claim, so the next claimant's lock
        // finds the mutex free.
        drop(self.driver.take());
        self.slot.taken.store(false, Release);
    }
}

pub(crate) struct Parker {
    inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
    driver: Option<Arc<DriverSlot>>,
}

weft_base::loom::thread_local! {
    /// This thread's `block_on` parker while no call holds it.
    static CACHED: Cell<Option<Parker>> = const { Cell::new(None) };
}

weft_base::loom::thread_local! {
    /// Set when this thread unparks a `block_on` thread that is awake.
    static WOKE_AWAKE_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread has unparked a `block_on` thread that was awake
/// (spinning for the wake, or still running) since the last call; a worker
/// asks when it runs out of work (`worker.rs`, `search_for_request`).
pub(crate) fn take_woke_awake_thread() -> bool {
    WOKE_AWAKE_THREAD
        .try_with(|woke| woke.replace(false))
        .unwrap_or(false)
}

/// This thread's `block_on` parker, back in the cache when dropped; a call
/// nested in another (through `block_in_place`) makes its own.
pub(crate) struct ThreadParker(Option<Parker>);

impl ThreadParker {
    pub(crate) fn take() -> ThreadParker {
        let cached = CACHED.try_with(Cell::take).ok().flatten();
        ThreadParker(Some(cached.unwrap_or_else(|| Parker::new(None))))
    }
}

impl Deref for ThreadParker {
    type Target = Parker;
    fn deref(&self) -> &Parker {
        self.0.as_ref().expect("held until drop")
    }
}

impl DerefMut for ThreadParker {
    fn deref_mut(&mut self) -> &mut Parker {
        self.0.as_mut().expect("held until drop")
    }
}

impl Drop for ThreadParker {
    fn drop(&mut self) {
        let parker = self.0.take();
        let _ = CACHED.try_with(|cached| cached.set(parker));
    }
}

impl Parker {
    pub(crate) fn new(driver: Option<Arc<DriverSlot>>) -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
                driver,
            }),
        }
    }

    pub(crate) fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// A waker that unparks this thread.
    pub(crate) fn waker(&self) -> std::task::Waker {
        std::task::Waker::from(self.inner.clone())
    }

    /// Blocks until unparked, or until `timeout` passes (`None`: no limit).
    /// May return spuriously; callers re-check their condition.
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        let inner = &*self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        if let Some(slot) = &inner.driver {
            if let Some(mut claim) = slot.try_claim() {
                return inner.park_driver(claim.driver(), timeout);
            }
        }
        inner.park_condvar(timeout);
    }

    /// Parks a plain thread (one in `block_on`) with no timeout, spinning
    /// first when its recent waits were short and `may_spin` (asked between
    /// spins) says a core is spare: see [`spin`](super::spin) for when and
    /// why. `may_spin` keeps the spinner off the cores of workers that have
    /// tasks to run. No spinning under loom and miri.
    pub(crate) fn park_spinning(&mut self, may_spin: impl Fn() -> bool) {
        let inner = &*self.inner;
        debug_assert!(inner.driver.is_none(), "workers do not spin");
        #[cfg(not(any(loom, miri)))]
        super::spin::spin_then_sleep(
            may_spin,
            || inner.take_notification(),
            || inner.park_condvar(None),
        );
        #[cfg(any(loom, miri))]
        {
            let _ = may_spin;
            inner.park_condvar(None);
        }
    }
}

impl Inner {
    /// Consumes a pending unpark, if there is one.
    #[cfg(not(any(loom, miri)))]
    fn take_notification(&self) -> bool {
        self.state.load(Relaxed) == NOTIFIED
            && self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
    }

    fn park_condvar(&self, timeout: Option<Duration>) {
        let mut guard = self.mutex.lock();
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(actual) => unreachable!("inconsistent park state: {actual}"),
        }
        loop {
            wait_timeout(&self.condvar, &mut guard, timeout);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
            if timeout.is_some() {
                // Timed out (or spurious): leave; the caller loops if needed.
                self.state.swap(EMPTY, SeqCst);
                return;
            }
        }
    }

    fn park_driver(&self, driver: &mut Driver, timeout: Option<Duration>) {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(actual) => unreachable!("inconsistent park state: {actual}"),
        }
        driver.park(timeout);
        match self.state.swap(EMPTY, SeqCst) {
            NOTIFIED | PARKED_DRIVER => {}
            actual => unreachable!("inconsistent park state: {actual}"),
        }
    }

    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY => {
                // A plain thread (one in `block_on`) that is awake: it will
                // see the wake without a syscall and may answer at once.
                if self.driver.is_none() {
                    let _ = WOKE_AWAKE_THREAD.try_with(|woke| woke.set(true));
                }
            }
            NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders this notify after the parker's wait
                // began, so it cannot slip between its check and its wait.
                drop(self.mutex.lock());
                self.condvar.notify_one();
            }
            PARKED_DRIVER => match &self.driver {
                Some(slot) => slot.unpark.unpark(),
                None => unreachable!("parked in a driver without one"),
            },
            actual => unreachable!("inconsistent park state: {actual}"),
        }
    }
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        self.inner.unpark();
    }
}

impl Wake for Inner {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}
