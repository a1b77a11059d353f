//! `Notify`: wake one task, the last task, or every waiting task.
//!
//! One atomic word holds `generation << 2 | EMPTY/WAITING/NOTIFIED`, where
//! `generation` counts `notify_waiters` calls. Waiters queue in an intrusive
//! [`WaitList`] under a mutex.
//!
//! Invariants, under the waiter lock:
//!
//! - `WAITING` is set exactly when the list is non-empty; while it is set
//!   only a holder of the lock changes the word. `NOTIFIED` (the one stored
//!   permit) is only ever set while nobody waits.
//! - A waiter is notified when the waker side unlinks it (marking how). A
//!   dropped `Notified` that was handed a `notify_one`/`notify_last` wakeup
//!   but never returned `Ready` passes it on, so no wakeup is lost.
//! - A `Notified` records the generation when it is created: any later
//!   `notify_waiters` call notifies it, queued or not yet polled.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::loom::{AtomicUsize, Mutex, Ordering::SeqCst};
use crate::waiters::{WaitList, Waiter, WakeList};

const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const STATE_MASK: usize = 3;
const GEN_ONE: usize = 4;

fn generation(word: usize) -> usize {
    word >> 2
}

/// Wakes tasks waiting on it, without carrying data.
///
/// [`notify_one`](Notify::notify_one) wakes the longest-waiting task, or, if
/// none waits, stores one permit that the next
/// [`notified().await`](Notify::notified) consumes at once (permits do not
/// add up: at most one is stored). [`notify_waiters`](Notify::notify_waiters)
/// wakes every task waiting now and stores nothing.
///
/// ```
/// use weft_sync::Notify;
///
/// let notify = Notify::new();
/// notify.notify_one(); // stored: nobody waits yet
/// futures::executor::block_on(notify.notified()); // consumes it at once
/// ```
pub struct Notify {
    state: AtomicUsize,
    waiters: Mutex<WaitList<Entry>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    /// `notify_one`: the longest waiter.
    Fifo,
    /// `notify_last`: the newest waiter.
    Lifo,
    /// `notify_waiters`: everyone.
    All,
}

struct Entry {
    /// How the waker side notified us (set when it unlinked us).
    notified: Option<Strategy>,
    waker: Option<Waker>,
    /// The generation the `Notified` was created in.
    generation: usize,
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// A future that completes when this `Notify` is notified.
    ///
    /// It takes part in [`notify_waiters`](Notify::notify_waiters) calls made
    /// from the moment it is created; it joins the queue for
    /// [`notify_one`](Notify::notify_one) when first polled or
    /// [`enable`](Notified::enable)d. Dropping it gives up its place, and
    /// passes on a `notify_one` wakeup it was handed but did not report.
    pub fn notified(&self) -> Notified<'_> {
        let generation = generation(self.state.load(SeqCst));
        Notified {
            notify: self,
            state: NotifiedState::Init,
            generation,
            waiter: Waiter::new(Entry {
                notified: None,
                waker: None,
                generation,
            }),
        }
    }

    /// Wakes the longest-waiting task; with none waiting, stores a permit
    /// for the next `notified()` (if one is not stored already).
    pub fn notify_one(&self) {
        self.notify(Strategy::Fifo);
    }

    /// Wakes the most recently queued task; with none waiting, stores a
    /// permit like [`notify_one`](Notify::notify_one).
    pub fn notify_last(&self) {
        self.notify(Strategy::Lifo);
    }

    fn notify(&self, strategy: Strategy) {
        let mut cur = self.state.load(SeqCst);
        // Nobody waits: store the permit without the lock.
        while cur & STATE_MASK != WAITING {
            let next = (cur & !STATE_MASK) | NOTIFIED;
            match self.state.compare_exchange(cur, next, SeqCst, SeqCst) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        let mut list = self.waiters.lock();
        let waker = self.notify_locked(&mut list, strategy);
        drop(list);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Under the lock: unlinks one waiter and returns its waker, or stores
    /// the permit when nobody waits.
    fn notify_locked(&self, list: &mut WaitList<Entry>, strategy: Strategy) -> Option<Waker> {
        let mut cur = self.state.load(SeqCst);
        loop {
            if cur & STATE_MASK != WAITING {
                let next = (cur & !STATE_MASK) | NOTIFIED;
                match self.state.compare_exchange(cur, next, SeqCst, SeqCst) {
                    Ok(_) => return None,
                    Err(actual) => {
                        cur = actual;
                        continue;
                    }
                }
            }
            let mark = |entry: &mut Entry| {
                entry.notified = Some(strategy);
                entry.waker.take()
            };
            let waker = match strategy {
                Strategy::Lifo => list.pop_back_with(mark),
                _ => list.pop_front_with(mark),
            };
            debug_assert!(waker.is_some(), "WAITING with an empty list");
            if list.is_empty() {
                // WAITING is set and we hold the lock: nobody else writes.
                self.state.store(cur & !STATE_MASK, SeqCst);
            }
            return waker.flatten();
        }
    }

    /// Wakes every task waiting now (every `Notified` created before this
    /// call, polled or not). Stores no permit.
    pub fn notify_waiters(&self) {
        // Nobody queued: bumping the generation is all there is to do, and
        // it needs no lock. A waiter about to queue CASes the whole word
        // (generation included) under the lock, so it sees the bump and
        // completes instead of queueing.
        let mut cur = self.state.load(SeqCst);
        while cur & STATE_MASK != WAITING {
            match self
                .state
                .compare_exchange(cur, cur.wrapping_add(GEN_ONE), SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
        let mut list = self.waiters.lock();
        // Bump the generation (under the lock, so no waiter queues halfway).
        let cur = self.state.fetch_add(GEN_ONE, SeqCst).wrapping_add(GEN_ONE);
        if cur & STATE_MASK != WAITING {
            return;
        }
        let mut wakers = WakeList::new();
        loop {
            // Every queued waiter from an older generation is notified.
            // They sit before any newer one (the list is FIFO), so stop at
            // the first waiter of the current generation.
            let now = generation(self.state.load(SeqCst));
            while !wakers.is_full() {
                if list.front_with(|e| e.generation != now) != Some(true) {
                    break;
                }
                let waker = list.pop_front_with(|entry| {
                    entry.notified = Some(Strategy::All);
                    entry.waker.take()
                });
                wakers.push(waker.flatten());
            }
            let more = list.front_with(|e| e.generation != now) == Some(true);
            if list.is_empty() {
                let word = self.state.load(SeqCst);
                self.state.store(word & !STATE_MASK, SeqCst);
            }
            drop(list);
            wakers.wake_all();
            if !more {
                return;
            }
            list = self.waiters.lock();
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.state.load(SeqCst);
        f.debug_struct("Notify")
            .field("waiting", &(word & STATE_MASK == WAITING))
            .field("permit", &(word & STATE_MASK == NOTIFIED))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotifiedState {
    Init,
    Waiting,
    Done,
}

pin_project! {
    /// The future returned by [`Notify::notified`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Notified<'a> {
        notify: &'a Notify,
        state: NotifiedState,
        generation: usize,
        #[pin]
        waiter: Waiter<Entry>,
    }

    impl<'a> PinnedDrop for Notified<'a> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.state != NotifiedState::Waiting {
                return;
            }
            let notify = *this.notify;
            let waiter = this.waiter.as_ref();
            if waiter.is_served() {
                // Notified and never reported: pass a single wakeup on.
                // SAFETY: served, and we own the waiter.
                let how = unsafe { waiter.with_value_served(|e| e.notified) };
                if let Some(strategy @ (Strategy::Fifo | Strategy::Lifo)) = how {
                    notify.notify(strategy);
                }
                return;
            }
            let mut list = notify.waiters.lock();
            // SAFETY: our waiter is only ever linked into `notify.waiters`,
            // whose lock we hold.
            if unsafe { list.remove(waiter) } {
                if list.is_empty() {
                    let word = notify.state.load(SeqCst);
                    // WAITING is set (we were queued) and we hold the lock.
                    notify.state.store(word & !STATE_MASK, SeqCst);
                }
                return;
            }
            // Unlinked by a notifier and never reported: pass a single
            // wakeup on (a `notify_waiters` one concerns everyone anyway).
            // SAFETY: unlinked, and we hold the lock that guarded it.
            let how = unsafe { waiter.with_value(&mut list, |e| e.notified) };
            if let Some(strategy @ (Strategy::Fifo | Strategy::Lifo)) = how {
                let waker = notify.notify_locked(&mut list, strategy);
                drop(list);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }
}

impl Notified<'_> {
    /// Registers for `notify_one` without waiting: after this, a
    /// `notify_one` call wakes (is counted for) this future even before it
    /// is polled. True if it is already notified.
    ///
    /// The usual pattern: create, `enable`, then check the condition, then
    /// await, so that a notification between the check and the await is
    /// not missed.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.poll_inner(None).is_ready()
    }

    fn poll_inner(self: Pin<&mut Self>, waker: Option<&Waker>) -> Poll<()> {
        let this = self.project();
        let notify = *this.notify;
        let waiter = this.waiter.as_ref();
        match *this.state {
            NotifiedState::Init => {
                let mut cur = notify.state.load(SeqCst);
                loop {
                    if generation(cur) != *this.generation {
                        *this.state = NotifiedState::Done;
                        return Poll::Ready(());
                    }
                    if cur & STATE_MASK != NOTIFIED {
                        break;
                    }
                    // Consume the stored permit.
                    match notify
                        .state
                        .compare_exchange(cur, cur & !STATE_MASK, SeqCst, SeqCst)
                    {
                        Ok(_) => {
                            *this.state = NotifiedState::Done;
                            return Poll::Ready(());
                        }
                        Err(actual) => cur = actual,
                    }
                }
                let mut list = notify.waiters.lock();
                let mut cur = notify.state.load(SeqCst);
                loop {
                    if generation(cur) != *this.generation {
                        *this.state = NotifiedState::Done;
                        return Poll::Ready(());
                    }
                    let next = match cur & STATE_MASK {
                        NOTIFIED => cur & !STATE_MASK,
                        // Already WAITING: under the lock nobody else can
                        // change the word now (module invariant), so queue
                        // without writing it: a no-op CAS would still
                        // bounce its cache line between cores.
                        WAITING => break,
                        _ => cur | WAITING,
                    };
                    match notify.state.compare_exchange(cur, next, SeqCst, SeqCst) {
                        Ok(_) if cur & STATE_MASK == NOTIFIED => {
                            *this.state = NotifiedState::Done;
                            return Poll::Ready(());
                        }
                        Ok(_) => break,
                        Err(actual) => cur = actual,
                    }
                }
                // SAFETY: never linked yet, and we hold the lock.
                unsafe {
                    waiter.with_value(&mut list, |e| e.waker = waker.cloned());
                }
                // SAFETY: the waiter is pinned in this future, whose drop
                // unlinks it under this lock unless it has seen it unlinked
                // (`PinnedDrop` above); all access to it is under the lock.
                unsafe { list.push_back(waiter) };
                *this.state = NotifiedState::Waiting;
                Poll::Pending
            }
            NotifiedState::Waiting => {
                if waiter.is_served() {
                    // Notified: the node is ours again, no lock needed.
                    *this.state = NotifiedState::Done;
                    return Poll::Ready(());
                }
                let mut list = notify.waiters.lock();
                // SAFETY: linked (if at all) into `notify.waiters`, locked.
                if unsafe { waiter.is_linked(&mut list) } {
                    let word = notify.state.load(SeqCst);
                    if generation(word) != *this.generation {
                        // A `notify_waiters` call is still working through
                        // the queue and has not reached us: it counts.
                        // SAFETY: linked into this list, whose lock we hold.
                        unsafe { list.remove(waiter) };
                        if list.is_empty() {
                            notify.state.store(word & !STATE_MASK, SeqCst);
                        }
                        *this.state = NotifiedState::Done;
                        return Poll::Ready(());
                    }
                    if let Some(waker) = waker {
                        // SAFETY: linked into this list, whose lock we hold.
                        unsafe {
                            waiter.with_value(&mut list, |e| match &mut e.waker {
                                Some(w) if w.will_wake(waker) => {}
                                slot => *slot = Some(waker.clone()),
                            });
                        }
                    }
                    return Poll::Pending;
                }
                *this.state = NotifiedState::Done;
                Poll::Ready(())
            }
            NotifiedState::Done => Poll::Ready(()),
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_inner(Some(cx.waker()))
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.state)
            .finish()
    }
}

/// Several [`Notify`]s behind one `notify_waiters`, for channels with many
/// receivers (watch, broadcast): each receiver waits on its own shard, so
/// registering does not make every receiver contend on one lock. Under
/// loom one shard keeps the models small.
pub(crate) struct BigNotify {
    shards: [Notify; BigNotify::SHARDS],
    next: AtomicUsize,
}

impl BigNotify {
    #[cfg(not(loom))]
    const SHARDS: usize = 8;
    #[cfg(loom)]
    const SHARDS: usize = 1;

    pub(crate) fn new() -> BigNotify {
        BigNotify {
            shards: std::array::from_fn(|_| Notify::new()),
            next: AtomicUsize::new(0),
        }
    }

    /// A shard for a new receiver (round robin).
    pub(crate) fn pick_shard(&self) -> usize {
        self.next.fetch_add(1, SeqCst) % Self::SHARDS
    }

    pub(crate) fn notified(&self, shard: usize) -> Notified<'_> {
        self.shards[shard % Self::SHARDS].notified()
    }

    /// `notify_waiters` on every shard.
    pub(crate) fn notify_waiters(&self) {
        for shard in &self.shards {
            shard.notify_waiters();
        }
    }
}
