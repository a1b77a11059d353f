//! A fair, FIFO counting semaphore; the core of `Mutex`, `RwLock` and the
//! bounded channel's capacity.
//!
//! One atomic word holds `permits << 2 | WAITING | CLOSED`; waiters queue in
//! an intrusive [`WaitList`] under a mutex.
//!
//! Invariants, under the waiter lock:
//!
//! - `WAITING` is set exactly when the waiter list is non-empty, and while it
//!   is set the word holds zero permits: a release hands permits to the
//!   queued waiters in order (the head first, even when it wants more than is
//!   free, so a big request is not starved by small ones) and only what is
//!   left once the queue is empty goes back into the word.
//! - While `WAITING` is set, only a holder of the lock changes the word.
//!   The lock-free fast paths (try-acquire, release) CAS only when it is
//!   clear, which is what makes the fast paths fair: nobody can overtake a
//!   queued waiter.
//! - `CLOSED` is set under the lock; closing wakes every waiter with an
//!   error. A waiter that was handed part of its permits and then gives up
//!   (dropped, or woken by close) releases that part again.
//!
//! An acquire that returns `Pending` notes, for the task dump, what it
//! waits on: the semaphore, or the lock or channel built on it (its
//! [`WaitOn`] is given when the acquire is made). A lock built on a
//! semaphore records its holder in `weft_base::holders` (`took_lock`,
//! `release_lock`), keyed by the semaphore's address.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use pin_project_lite::pin_project;
use weft_base::wait::{SyncKind, WaitOn};

use std::sync::Arc;

use crate::waiters::{WaitList, Waiter};
use weft_base::coop;
use weft_base::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use weft_base::wake_list::WakeList;

const CLOSED: usize = 1;
const WAITING: usize = 2;
const SHIFT: usize = 2;

/// Takes `$n` permits of the semaphore `$sem` with no guard, evaluating to
/// `Result<(), AcquireError>` (on `Ok` the caller owns them): the lock-free
/// `take_now` first, and only when it fails the queued [`Acquire`], which
/// notes `$wait` while it waits (see the module doc). A macro, so that the
/// `Acquire` lives in the calling `async fn`'s own state: an `async fn`
/// around the two steps is a future moved whole into the caller's (about
/// 160 instructions more per six uncontended acquires, callgrind).
macro_rules! acquire_raw {
    ($sem:expr, $n:expr, $wait:expr) => {{
        let (sem, n): (&$crate::semaphore::Semaphore, usize) = ($sem, $n);
        if sem.take_now(n) {
            Ok(())
        } else {
            sem.queue_for(n, $wait).await
        }
    }};
}
pub(crate) use acquire_raw;

/// A counting semaphore: tasks [`acquire`](Semaphore::acquire) permits and
/// give them back by dropping the returned guard.
///
/// Fair: permits go to waiters in the order they started waiting, and a
/// waiter for many permits at the head of the queue holds back later,
/// smaller requests (so it is never starved). Cancel-safe: dropping a
/// pending acquire gives up its place and returns any permits it was already
/// handed.
///
/// ```
/// use weft_sync::Semaphore;
///
/// let sem = Semaphore::new(2);
/// futures::executor::block_on(async {
///     let a = sem.acquire().await.unwrap();
///     let _b = sem.acquire().await.unwrap();
///     assert!(sem.try_acquire().is_err());
///     drop(a);
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
pub struct Semaphore {
    state: AtomicUsize,
    waiters: Mutex<WaitList<Entry>>,
}

/// A queued acquire's state, in its node (guarded by the waiter lock).
struct Entry {
    /// Permits still to be handed to this waiter.
    needed: usize,
    waker: Option<Waker>,
    /// Woken by `close`, not served.
    closed: bool,
}

/// The semaphore was closed; no permit can be acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free now (or others are queued for them).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore holds at most {} permits",
            Self::MAX_PERMITS
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// [`new`](Semaphore::new) usable in a `static` (not under loom, whose
    /// atomics and locks cannot be built in a constant).
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`] (at compile time in a
    /// constant).
    #[cfg(not(loom))]
    pub const fn const_new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore holds at most MAX_PERMITS permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// How many permits are free now (zero while tasks are queued).
    pub fn available_permits(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Whether acquires are queued (`WAITING`).
    pub(crate) fn has_waiters(&self) -> bool {
        self.state.load(Ordering::Acquire) & WAITING != 0
    }

    /// Adds `n` permits, handing them to queued waiters first.
    ///
    /// # Panics
    ///
    /// If the total would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Removes up to `n` free permits for good; returns how many it removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            let take = n.min(cur >> SHIFT);
            if take == 0 {
                return 0;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur - (take << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return take,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Closes the semaphore: every queued and future acquire fails with
    /// [`AcquireError`]. Permits already held stay valid.
    pub fn close(&self) {
        let mut list = self.waiters.lock();
        self.state.fetch_or(CLOSED, Ordering::Release);
        let mut wakers = WakeList::new();
        loop {
            while !wakers.is_full() {
                let popped = list.pop_front_with(|entry| {
                    entry.closed = true;
                    entry.waker.take()
                });
                match popped {
                    Some(waker) => wakers.push(waker),
                    None => break,
                }
            }
            if list.is_empty() {
                self.state.fetch_and(!WAITING, Ordering::Release);
                drop(list);
                wakers.wake_all();
                return;
            }
            drop(list);
            wakers.wake_all();
            list = self.waiters.lock();
        }
    }

    /// Takes one permit if one is free now and nobody is queued.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free now and nobody is queued.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// [`try_acquire`](Semaphore::try_acquire) for an `Arc`'d semaphore.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) for an `Arc`'d semaphore.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Waits for one permit. Fails only if the semaphore is closed.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        // Not `acquire_many(1)`: with the count a constant the future holds
        // the semaphore alone, and the permit is built from a register, not
        // reloaded whole from the future's state, where two separate stores
        // made it a load that waits for store forwarding to fail.
        acquire_raw!(self, 1, WaitOn::sync(SyncKind::Semaphore, self))?;
        Ok(SemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Waits for `n` permits at once, in FIFO order with other waiters.
    pub fn acquire_many(
        &self,
        n: u32,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + Send + '_ {
        let permits = n as usize;
        async move {
            acquire_raw!(self, permits, WaitOn::sync(SyncKind::Semaphore, self))?;
            Ok(SemaphorePermit { sem: self, permits })
        }
    }

    /// [`acquire`](Semaphore::acquire) from synchronous code: blocks this
    /// thread.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::blocking::block_on(self.acquire())
    }

    /// [`acquire_many`](Semaphore::acquire_many) from synchronous code.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::blocking::block_on(self.acquire_many(n))
    }

    /// [`acquire_owned`](Semaphore::acquire_owned) from synchronous code.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        crate::blocking::block_on(self.acquire_owned())
    }

    /// [`acquire_many_owned`](Semaphore::acquire_many_owned) from
    /// synchronous code.
    ///
    /// # Panics
    ///
    /// If called on a thread that drives asynchronous tasks.
    #[track_caller]
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        crate::blocking::block_on(self.acquire_many_owned(n))
    }

    /// [`acquire`](Semaphore::acquire) for an `Arc`'d semaphore: the permit
    /// keeps the semaphore alive and borrows nothing.
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// [`acquire_many`](Semaphore::acquire_many) for an `Arc`'d semaphore.
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        acquire_raw!(&self, n as usize, WaitOn::sync(SyncKind::Semaphore, &*self))?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// The queued acquire of `n` permits, noting `wait` while it waits:
    /// the slow path of [`acquire_raw!`]. Inlined, so that the `Acquire` is
    /// built in the awaiting future's state: returned from a call, it came
    /// back through the stack and was copied in, 16 bytes at a time from
    /// 8-byte stores not yet retired (a store-forwarding stall on every
    /// contended lock).
    #[inline]
    pub(crate) fn queue_for(&self, n: usize, wait: WaitOn) -> Acquire<'_> {
        assert!(
            n <= Self::MAX_PERMITS,
            "cannot acquire more than MAX_PERMITS permits"
        );
        Acquire {
            sem: self,
            num: n,
            wait,
            state: AcquireState::Idle,
            waiter: Waiter::new(Entry {
                needed: n,
                waker: None,
                closed: false,
            }),
        }
    }

    /// The fast path of [`acquire_raw!`]: the lock-free take of `n`
    /// permits for one unit of the task's budget; `true` once the caller
    /// owns them. `false` (no permits free, others queued, closed, or the
    /// budget spent) leaves the rest, waiting or failing, to an [`Acquire`]:
    /// an uncontended caller never builds one, nor its waiter node. Out of
    /// budget the `Acquire` takes the permits or a place in the queue and
    /// then yields, keeping them, as tokio's does; this path would have to
    /// do the same, which is what the `Acquire` is for.
    #[inline]
    pub(crate) fn take_now(&self, n: usize) -> bool {
        let Some(unit) = coop::try_proceed() else {
            return false;
        };
        let taken = self.try_take(n).is_ok();
        if taken {
            unit.made_progress();
        }
        taken
    }

    /// The lock-free path: takes `n` permits if free and nobody is queued.
    #[inline]
    pub(crate) fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if n == 0 {
                return Ok(());
            }
            if cur & WAITING != 0 || cur >> SHIFT < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.state.compare_exchange_weak(
                cur,
                cur - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Records the task being polled as the holder of the lock this
    /// semaphore is the core of (it has just taken all of it).
    #[inline]
    pub(crate) fn took_lock(&self) {
        weft_base::holders::locked(self);
    }

    /// Clears the lock's holder record, then gives back `n` permits.
    #[inline]
    pub(crate) fn release_lock(&self, n: usize) {
        weft_base::holders::unlocked(self);
        self.release(n);
    }

    /// Gives back `n` permits: to the queue in order, the rest to the word.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut cur = self.state.load(Ordering::Relaxed);
        while cur & WAITING == 0 {
            let next = Self::add_to_word(cur, n);
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        self.release_to_queue(n);
    }

    /// Someone is queued: hands the permits over under the lock. Out of
    /// line, so that the inlined fast path of [`release`](Self::release)
    /// stays small.
    #[cold]
    fn release_to_queue(&self, n: usize) {
        self.release_locked(n, self.waiters.lock());
    }

    fn add_to_word(word: usize, n: usize) -> usize {
        let total = (word >> SHIFT)
            .checked_add(n)
            .filter(|&t| t <= Self::MAX_PERMITS)
            .expect("semaphore permits would exceed MAX_PERMITS");
        (total << SHIFT) | (word & (CLOSED | WAITING))
    }

    /// Hands `rem` permits to the queue in FIFO order; whatever is left once
    /// the queue is empty goes into the word (clearing `WAITING`). Wakers run
    /// after the lock is released, in batches.
    fn release_locked<'a>(&'a self, mut rem: usize, mut list: MutexGuard<'a, WaitList<Entry>>) {
        let mut wakers = WakeList::new();
        loop {
            while rem > 0 && !wakers.is_full() {
                let served = list.front_with(|entry| {
                    let give = rem.min(entry.needed);
                    entry.needed -= give;
                    rem -= give;
                    entry.needed == 0
                });
                match served {
                    Some(true) => {
                        let waker = list.pop_front_with(|entry| entry.waker.take());
                        wakers.push(waker.flatten());
                    }
                    // The head still wants more: `rem` is spent.
                    Some(false) | None => break,
                }
            }
            if list.is_empty() {
                self.return_to_word(rem);
                rem = 0;
            }
            drop(list);
            wakers.wake_all();
            if rem == 0 {
                return;
            }
            list = self.waiters.lock();
        }
    }

    /// Under the lock with the queue empty: clears `WAITING`, adds `n`.
    fn return_to_word(&self, n: usize) {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let next = Self::add_to_word(cur, n) & !WAITING;
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}

// Every change to the word and the queue is complete before a waker (user
// code) runs, so a panic leaves nothing half-done for a caller to see.
impl std::panic::RefUnwindSafe for Semaphore {}
impl std::panic::UnwindSafe for Semaphore {}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcquireState {
    /// Not queued yet.
    Idle,
    /// Linked into the wait list.
    Waiting,
    /// Holds all `num` permits but has not reported them: the task was out
    /// of budget. The next poll reports them; a drop gives them back.
    Acquired,
    /// Returned `Ready`: owns nothing, touches nothing.
    Done,
}

pin_project! {
    /// The future of a raw acquire of `num` permits.
    pub(crate) struct Acquire<'a> {
        sem: &'a Semaphore,
        num: usize,
        // What a `Pending` poll notes for the task dump.
        wait: WaitOn,
        state: AcquireState,
        #[pin]
        waiter: Waiter<Entry>,
    }

    impl<'a> PinnedDrop for Acquire<'a> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.state == AcquireState::Acquired {
                this.sem.release(*this.num);
                return;
            }
            if *this.state != AcquireState::Waiting {
                return;
            }
            let waiter = this.waiter.as_ref();
            if waiter.is_served() {
                // Served and never reported: every permit is ours to give
                // back, and the node is ours again (no lock needed).
                // SAFETY: served, and we own the waiter.
                let needed = unsafe { waiter.with_value_served(|entry| entry.needed) };
                this.sem.release(*this.num - needed);
                return;
            }
            let mut list = this.sem.waiters.lock();
            // SAFETY: our waiter is only ever linked into `sem.waiters`,
            // whose lock we hold.
            let was_linked = unsafe { list.remove(waiter) };
            // SAFETY: as above; unlinked now, and we hold the lock.
            let needed = unsafe { waiter.with_value(&mut list, |entry| entry.needed) };
            // Hand on whatever we were given: all of it if we were served
            // but never saw it, part of it if we were still queued.
            let acquired = *this.num - needed;
            if acquired > 0 {
                this.sem.release_locked(acquired, list);
            } else if was_linked && list.is_empty() {
                this.sem.return_to_word(0);
            }
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.state {
            AcquireState::Done => panic!("acquire future polled after completion"),
            AcquireState::Acquired => {}
            // Take the permits (or a place in the queue) before looking at
            // the budget, as tokio does: a task out of budget still keeps
            // its turn in the FIFO queue, and never loses one it was given.
            AcquireState::Idle | AcquireState::Waiting => {
                ready!(self.as_mut().poll_acquire(cx))?;
            }
        }
        // The task's budget (see `crate::budget`): spent when the permits
        // are reported. Out of budget, they are kept (`Acquired`) for the
        // next poll, which the budget check has already asked for.
        let unit = ready!(coop::poll_proceed(cx));
        unit.made_progress();
        *self.project().state = AcquireState::Done;
        Poll::Ready(Ok(()))
    }
}

impl Acquire<'_> {
    fn poll_acquire(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        let this = self.project();
        let sem = *this.sem;
        let n = *this.num;
        let waiter = this.waiter.as_ref();
        match *this.state {
            AcquireState::Idle => {
                // Straight to the lock: `take_now` has just tried the
                // lock-free path (or the budget is spent), and a second
                // look at a contended word costs a cache miss. Under the
                // lock, permits that came free meanwhile are still taken.
                let mut list = sem.waiters.lock();
                let mut cur = sem.state.load(Ordering::Acquire);
                loop {
                    if cur & CLOSED != 0 {
                        *this.state = AcquireState::Done;
                        return Poll::Ready(Err(AcquireError(())));
                    }
                    // Take what is free (all of it if it is enough) and
                    // queue for the rest; queued means `WAITING`, zero free.
                    let free = if cur & WAITING == 0 { cur >> SHIFT } else { 0 };
                    let take = free.min(n);
                    let next = if take == n {
                        cur - (n << SHIFT)
                    } else {
                        (cur & CLOSED) | WAITING
                    };
                    match sem.state.compare_exchange_weak(
                        cur,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) if take == n => {
                            *this.state = AcquireState::Acquired;
                            return Poll::Ready(Ok(()));
                        }
                        Ok(_) => {
                            // SAFETY: never linked yet; we hold the lock.
                            unsafe {
                                waiter.with_value(&mut list, |entry| {
                                    entry.needed = n - take;
                                    entry.waker = Some(cx.waker().clone());
                                });
                            }
                            // SAFETY: pinned in this future, whose drop (`PinnedDrop`)
                            // unlinks it under this lock unless it saw it unlinked;
                            // every access to it is under the lock.
                            unsafe { list.push_back(waiter) };
                            *this.state = AcquireState::Waiting;
                            weft_base::wait::note(*this.wait);
                            return Poll::Pending;
                        }
                        Err(actual) => cur = actual,
                    }
                }
            }
            AcquireState::Waiting => {
                let served = waiter.is_served();
                let mut list = if served {
                    None
                } else {
                    let mut list = sem.waiters.lock();
                    // SAFETY: linked (if at all) into `sem.waiters`, locked.
                    if unsafe { waiter.is_linked(&mut list) } {
                        // SAFETY: as above.
                        let old = unsafe {
                            waiter.with_value(&mut list, |entry| match &mut entry.waker {
                                Some(w) if w.will_wake(cx.waker()) => None,
                                slot => slot.replace(cx.waker().clone()),
                            })
                        };
                        // The old waker drops outside the lock: its drop may
                        // run any code, this semaphore's included.
                        drop(list);
                        drop(old);
                        weft_base::wait::note(*this.wait);
                        return Poll::Pending;
                    }
                    Some(list)
                };
                // Unlinked: served (or closed). The node is ours again.
                // SAFETY: either served (no lock needed) or unlinked under
                // the lock we still hold.
                let (closed, needed) = unsafe {
                    match &mut list {
                        None => waiter.with_value_served(|e| (e.closed, e.needed)),
                        Some(list) => waiter.with_value(list, |e| (e.closed, e.needed)),
                    }
                };
                if closed {
                    *this.state = AcquireState::Done;
                    drop(list);
                    sem.release(n - needed);
                    Poll::Ready(Err(AcquireError(())))
                } else {
                    *this.state = AcquireState::Acquired;
                    Poll::Ready(Ok(()))
                }
            }
            AcquireState::Acquired | AcquireState::Done => {
                unreachable!("poll_acquire after the permits were taken")
            }
        }
    }
}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back.
#[must_use = "the permits are released as soon as the permit is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Takes `other`'s permits into this guard.
    ///
    /// # Panics
    ///
    /// If `other` is from another semaphore.
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Moves `n` of this guard's permits into a new guard; `None` if it
    /// holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits from an `Arc<Semaphore>`; dropping it gives them back.
#[must_use = "the permits are released as soon as the permit is dropped"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Takes `other`'s permits into this guard.
    ///
    /// # Panics
    ///
    /// If `other` is from another semaphore.
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Moves `n` of this guard's permits into a new guard; `None` if it
    /// holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.permits = self.permits.checked_sub(n)?;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
        })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
