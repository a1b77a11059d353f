//! `Notify`: wake one task, the last task, or every waiting task.
//!
//! Waiters queue in two stages. A new waiter pushes itself, with one CAS and
//! no lock, onto a stack of *arrivals* whose top lives in `state`; whoever
//! next takes the lock moves the whole stack into the FIFO [`WaitList`]
//! (oldest first) before looking at the list. Registering is the hot path
//! of every `notified().await` loop, and with tasks on several workers a
//! mutex there is contended on every turn; the notifiers take the lock
//! anyway. The low bits of `state` are flags:
//!
//! - `WAITING`: the list is non-empty. Changed only by lock holders.
//! - `NOTIFIED`: the one stored permit. Set only when the word is exactly
//!   `EMPTY` (nobody stacked, nobody listed); a waiter that finds it takes
//!   it instead of pushing, so the two exclude each other.
//!
//! `generation` counts `notify_waiters` calls; a `Notified` records it when
//! created, and any later call notifies it. A waiter pushes first and reads
//! the generation after; `notify_waiters` bumps it first and reads `state`
//! after, with a SeqCst fence in between on both sides: so either the
//! notifier finds the waiter, or the waiter sees the bump and completes by
//! itself.
//!
//! Under the lock every other rule of [`WaitList`] holds: a waiter is
//! notified when a notifier unlinks it (marking how), and a dropped
//! `Notified` that was handed a `notify_one`/`notify_last` wakeup it never
//! reported passes it on, so no wakeup is lost.
//!
//! A pending `Notified` notes what it waits on for the task dump: the
//! `Notify`, or the primitive built on it (`Barrier`, `broadcast`, `watch`
//! give their own note through `notified_noting`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::waiters::{WaitList, Waiter};
use weft_base::coop;
use weft_base::loom::{fence, AtomicPtr, AtomicUsize, Mutex, MutexGuard, Ordering::SeqCst};
use weft_base::wait::{SyncKind, WaitOn};
use weft_base::wake_list::WakeList;

const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const FLAGS: usize = 3;

// The flags live in the low bits of a waiter's address.
const _: () = assert!(std::mem::align_of::<Waiter<Entry>>() > FLAGS);

/// The newest arrival in a `state` word, if any.
fn top(word: *mut Waiter<Entry>) -> Option<NonNull<Waiter<Entry>>> {
    NonNull::new(word.map_addr(|addr| addr & !FLAGS))
}

/// Whether generation `a` came before `b` (both read from the wrapping
/// `generation` counter, fewer than `isize::MAX` calls apart).
fn precedes(a: usize, b: usize) -> bool {
    (b.wrapping_sub(a) as isize) > 0
}

/// A `state` word with no arrivals and these flags.
fn flags_only(flags: usize) -> *mut Waiter<Entry> {
    ptr::null_mut::<Waiter<Entry>>().map_addr(|_| flags)
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
    /// The newest arrival (or null), tagged with `WAITING` / `NOTIFIED`.
    state: AtomicPtr<Waiter<Entry>>,
    /// How many `notify_waiters` calls there have been (wrapping).
    generation: AtomicUsize,
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
            state: AtomicPtr::new(flags_only(EMPTY)),
            generation: AtomicUsize::new(0),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// [`new`](Notify::new) usable in a `static` (not under loom, whose
    /// atomics and locks cannot be built in a constant).
    #[cfg(not(loom))]
    pub const fn const_new() -> Notify {
        Notify {
            // `EMPTY` is zero: no arrival, no flag.
            state: AtomicPtr::new(ptr::null_mut()),
            generation: AtomicUsize::new(0),
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
    #[inline]
    pub fn notified(&self) -> Notified<'_> {
        self.notified_noting(WaitOn::sync(SyncKind::Notify, self))
    }

    /// [`notified`](Notify::notified) for a primitive built on this
    /// `Notify`: a `Pending` poll notes `wait` (the primitive) for the task
    /// dump, not the `Notify`. Inlined (as are the other constructors of a
    /// `Notified`), so that the future is built in its awaiter's state
    /// rather than returned and copied in (see `Semaphore::queue_for`).
    #[inline]
    pub(crate) fn notified_noting(&self, wait: WaitOn) -> Notified<'_> {
        let generation = self.generation.load(SeqCst);
        Notified {
            notify: self,
            wait,
            state: NotifiedState::Init,
            generation,
            waiter: Waiter::new(Entry {
                notified: None,
                waker: None,
                generation,
            }),
        }
    }

    /// [`notified`](Notify::notified) for an `Arc`'d `Notify`: the future
    /// keeps the `Notify` alive and borrows nothing.
    #[inline]
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        let generation = self.generation.load(SeqCst);
        let wait = WaitOn::sync(SyncKind::Notify, &*self);
        OwnedNotified {
            notify: self,
            wait,
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
        if self.store_permit() {
            return;
        }
        let mut list = self.lock();
        let waker = self.notify_locked(&mut list, strategy);
        drop(list);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Stores the permit if nobody waits (stacked or listed); true if it is
    /// stored now, by us or before.
    fn store_permit(&self) -> bool {
        let mut cur = self.state.load(SeqCst);
        loop {
            match cur.addr() {
                NOTIFIED => return true,
                EMPTY => {}
                _ => return false,
            }
            match self
                .state
                .compare_exchange(cur, flags_only(NOTIFIED), SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Takes the lock and moves every arrival into the list: the only way
    /// to the list, so every waiter that pushed before the lock was taken
    /// is in the list (later pushes may land while it is held).
    fn lock(&self) -> MutexGuard<'_, WaitList<Entry>> {
        let mut list = self.waiters.lock();
        self.take_arrivals(&mut list);
        list
    }

    /// Under the lock: moves the stack of arrivals to the back of the list.
    fn take_arrivals(&self, list: &mut WaitList<Entry>) {
        if top(self.state.load(SeqCst)).is_none() {
            return;
        }
        // Under the lock only pushes change the word, so a swap takes the
        // stack whole; NOTIFIED is never set while a waiter is stacked.
        let word = self.state.swap(flags_only(WAITING), SeqCst);
        let top = top(word).expect("only lock holders empty the stack");
        // SAFETY: we took the stack whole (its pushes were SeqCst CASes, our
        // swap is SeqCst) under the list's lock, and every waiter on it was
        // readied by `prepare_push` for this list.
        unsafe { list.append_stack(top) };
    }

    /// Under the lock, after a pop: clears `WAITING` if the list is empty.
    fn update_waiting(&self, list: &WaitList<Entry>) {
        if !list.is_empty() {
            return;
        }
        // Only lock holders touch WAITING; pushes keep the flag bits.
        let mut cur = self.state.load(SeqCst);
        while let Err(actual) =
            self.state
                .compare_exchange(cur, cur.map_addr(|addr| addr & !WAITING), SeqCst, SeqCst)
        {
            cur = actual;
        }
    }

    /// Under the lock: unlinks one waiter and returns its waker, or stores
    /// the permit when nobody waits.
    fn notify_locked(&self, list: &mut WaitList<Entry>, strategy: Strategy) -> Option<Waker> {
        if list.is_empty() {
            if self.store_permit() {
                return None;
            }
            // A waiter arrived since we took the lock.
            self.take_arrivals(list);
        }
        let mark = |entry: &mut Entry| {
            entry.notified = Some(strategy);
            entry.waker.take()
        };
        let waker = match strategy {
            Strategy::Lifo => list.pop_back_with(mark),
            _ => list.pop_front_with(mark),
        };
        debug_assert!(waker.is_some(), "no waiter after an arrival");
        self.update_waiting(list);
        waker.flatten()
    }

    /// Wakes every task waiting now (every `Notified` created before this
    /// call, polled or not). Stores no permit.
    pub fn notify_waiters(&self) {
        let now = self.generation.fetch_add(1, SeqCst).wrapping_add(1);
        // Pairs with the fence between a waiter's push and its look at the
        // generation: either we see the push here, or it sees our bump and
        // completes by itself.
        fence(SeqCst);
        if matches!(self.state.load(SeqCst).addr(), EMPTY | NOTIFIED) {
            return;
        }
        let mut list = self.lock();
        let mut wakers = WakeList::new();
        loop {
            // Ours are the waiters created before our bump. They queued
            // before any created after it (a later call may have bumped
            // again before we got the lock), but for late pushers, which
            // see the bump and leave by themselves: so stop at the first
            // waiter that is not ours.
            let older =
                |list: &mut WaitList<Entry>| list.front_with(|e| precedes(e.generation, now));
            while !wakers.is_full() && older(&mut list) == Some(true) {
                let waker = list.pop_front_with(|entry| {
                    entry.notified = Some(Strategy::All);
                    entry.waker.take()
                });
                wakers.push(waker.flatten());
            }
            let more = older(&mut list) == Some(true);
            self.update_waiting(&list);
            drop(list);
            wakers.wake_all();
            if !more {
                return;
            }
            list = self.lock();
        }
    }
}
// As for `Semaphore`: wakers run only after every update is complete.
impl std::panic::RefUnwindSafe for Notify {}
impl std::panic::UnwindSafe for Notify {}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.state.load(SeqCst).addr();
        f.debug_struct("Notify")
            .field("waiting", &(word != EMPTY && word != NOTIFIED))
            .field("permit", &(word == NOTIFIED))
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
        // What a `Pending` poll notes for the task dump.
        wait: WaitOn,
        state: NotifiedState,
        generation: usize,
        #[pin]
        waiter: Waiter<Entry>,
    }

    impl<'a> PinnedDrop for Notified<'a> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.state == NotifiedState::Waiting {
                leave(this.notify, this.waiter.as_ref());
            }
        }
    }
}

pin_project! {
    /// The future returned by [`Notify::notified_owned`]: a [`Notified`]
    /// that holds its `Notify` by `Arc`, so it borrows nothing (it can be
    /// stored, or moved into a spawned task).
    #[must_use = "futures do nothing unless polled"]
    pub struct OwnedNotified {
        notify: Arc<Notify>,
        // What a `Pending` poll notes for the task dump.
        wait: WaitOn,
        state: NotifiedState,
        generation: usize,
        #[pin]
        waiter: Waiter<Entry>,
    }

    impl PinnedDrop for OwnedNotified {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.state == NotifiedState::Waiting {
                leave(this.notify, this.waiter.as_ref());
            }
        }
    }
}

/// Takes a queued waiter out of `notify` (or finds it already notified:
/// then a `notify_one`/`notify_last` wakeup it holds is passed on, since its
/// owner is not going to report it).
fn leave(notify: &Notify, waiter: Pin<&Waiter<Entry>>) {
    let how = if waiter.is_served() {
        // SAFETY: served, and the caller owns the waiter.
        unsafe { waiter.with_value_served(|e| e.notified) }
    } else {
        let mut list = notify.lock();
        // SAFETY: the waiter was pushed for `notify.waiters`, and `lock`
        // moved every arrival into the list, whose lock we hold.
        if unsafe { list.remove(waiter) } {
            notify.update_waiting(&list);
            return;
        }
        // Unlinked by a notifier, which marks it served before it lets go
        // of the lock.
        // SAFETY: unlinked, and we hold the lock that guarded it.
        unsafe { waiter.with_value(&mut list, |e| e.notified) }
    };
    if let Some(strategy @ (Strategy::Fifo | Strategy::Lifo)) = how {
        notify.notify(strategy);
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
        let this = self.project();
        poll_notified(
            this.notify,
            this.state,
            *this.generation,
            this.waiter.as_ref(),
            None,
        )
        .is_ready()
    }
}

impl OwnedNotified {
    /// As [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.project();
        poll_notified(
            this.notify,
            this.state,
            *this.generation,
            this.waiter.as_ref(),
            None,
        )
        .is_ready()
    }
}

/// The one poll of [`Notified`] and [`OwnedNotified`]: `waker` is `None`
/// for `enable`.
fn poll_notified(
    notify: &Notify,
    state: &mut NotifiedState,
    generation: usize,
    waiter: Pin<&Waiter<Entry>>,
    waker: Option<&Waker>,
) -> Poll<()> {
    match *state {
        NotifiedState::Init => {
            if notify.generation.load(SeqCst) != generation {
                *state = NotifiedState::Done;
                return Poll::Ready(());
            }
            // SAFETY: never linked, and ours.
            unsafe { waiter.with_value_served(|e| e.waker = waker.cloned()) };
            let mut cur = notify.state.load(SeqCst);
            loop {
                if cur.addr() == NOTIFIED {
                    // Take the stored permit instead of queueing.
                    match notify
                        .state
                        .compare_exchange(cur, flags_only(EMPTY), SeqCst, SeqCst)
                    {
                        Ok(_) => {
                            *state = NotifiedState::Done;
                            return Poll::Ready(());
                        }
                        Err(actual) => {
                            cur = actual;
                            continue;
                        }
                    }
                }
                // SAFETY: unlinked and ours; published by the CAS below
                // or withdrawn.
                unsafe { waiter.prepare_push(top(cur)) };
                let me = NonNull::from(&*waiter).as_ptr();
                let next = me.map_addr(|addr| addr | (cur.addr() & FLAGS));
                match notify.state.compare_exchange(cur, next, SeqCst, SeqCst) {
                    Ok(_) => break,
                    Err(actual) => {
                        // SAFETY: the CAS failed: nobody saw the waiter.
                        unsafe { waiter.withdraw_push() };
                        cur = actual;
                    }
                }
            }
            // Queued, for `notify.waiters`: from here the waiter stays
            // put until `leave` or a notifier takes it out.
            *state = NotifiedState::Waiting;
            // Pairs with the fence in `notify_waiters`. The SeqCst
            // accesses alone would order the two words in the C++
            // model, but loom models SeqCst accesses as AcqRel: the
            // fences make the proof one that loom checks.
            fence(SeqCst);
            if notify.generation.load(SeqCst) != generation {
                // A `notify_waiters` call since our creation may have
                // looked before we pushed: it counts, and we leave.
                leave(notify, waiter);
                *state = NotifiedState::Done;
                return Poll::Ready(());
            }
            Poll::Pending
        }
        NotifiedState::Waiting => {
            if waiter.is_served() {
                // Notified: the node is ours again, no lock needed.
                *state = NotifiedState::Done;
                return Poll::Ready(());
            }
            let mut list = notify.lock();
            // SAFETY: pushed for `notify.waiters`, whose lock we hold
            // (and `lock` moved it into the list if it was stacked).
            if unsafe { waiter.is_linked(&mut list) } {
                if notify.generation.load(SeqCst) != generation {
                    // A `notify_waiters` call is still working through
                    // the queue and has not reached us: it counts.
                    // SAFETY: linked into this list, whose lock we hold.
                    unsafe { list.remove(waiter) };
                    notify.update_waiting(&list);
                    *state = NotifiedState::Done;
                    return Poll::Ready(());
                }
                if let Some(waker) = waker {
                    // SAFETY: linked into this list, whose lock we hold.
                    let old = unsafe {
                        waiter.with_value(&mut list, |e| match &mut e.waker {
                            Some(w) if w.will_wake(waker) => None,
                            slot => slot.replace(waker.clone()),
                        })
                    };
                    // The old waker drops outside the lock: its drop may
                    // run any code, this `Notify`'s included.
                    drop(list);
                    drop(old);
                }
                return Poll::Pending;
            }
            *state = NotifiedState::Done;
            Poll::Ready(())
        }
        NotifiedState::Done => Poll::Ready(()),
    }
}

/// A poll from an executor: budgeted (see `crate::budget`); a `Pending`
/// one notes `wait` for the task dump.
fn poll_budgeted(
    notify: &Notify,
    wait: WaitOn,
    state: &mut NotifiedState,
    generation: usize,
    waiter: Pin<&Waiter<Entry>>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    if *state == NotifiedState::Done {
        return Poll::Ready(());
    }
    let unit = ready!(coop::poll_proceed(cx));
    if poll_notified(notify, state, generation, waiter, Some(cx.waker())).is_pending() {
        weft_base::wait::note(wait);
        return Poll::Pending;
    }
    unit.made_progress();
    Poll::Ready(())
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        poll_budgeted(
            this.notify,
            *this.wait,
            this.state,
            *this.generation,
            this.waiter.as_ref(),
            cx,
        )
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        poll_budgeted(
            this.notify,
            *this.wait,
            this.state,
            *this.generation,
            this.waiter.as_ref(),
            cx,
        )
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified")
            .field("state", &self.state)
            .finish()
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
/// receivers (watch, broadcast): receivers fill shards of `PER_SHARD` in
/// turn, then go round robin, so registering does not make hundreds of
/// receivers contend on one lock, while a channel with a few receivers
/// pays for one shard on each send rather than for all of them (each shard
/// costs the sender a read-modify-write of a line the receivers read).
/// Under loom two shards of one receiver each: a model's second receiver
/// is the first on a new shard, which is the race worth checking.
///
/// Invariant: a receiver picks its shard before its first look at the
/// channel, and `notify_waiters` covers every shard picked before its load
/// of `picked`; with a SeqCst fence after the pick and one before that load,
/// either the call sees the pick, or the receiver's look sees whatever was
/// published before the call.
pub(crate) struct BigNotify {
    shards: [Notify; BigNotify::SHARDS],
    /// How many receivers ever picked a shard (never decremented: a shard
    /// once in use stays in use).
    picked: AtomicUsize,
}

impl BigNotify {
    #[cfg(not(loom))]
    const SHARDS: usize = 8;
    #[cfg(not(loom))]
    const PER_SHARD: usize = 16;
    #[cfg(loom)]
    const SHARDS: usize = 2;
    #[cfg(loom)]
    const PER_SHARD: usize = 1;

    pub(crate) fn new() -> BigNotify {
        BigNotify {
            shards: std::array::from_fn(|_| Notify::new()),
            picked: AtomicUsize::new(0),
        }
    }

    /// A shard for a new receiver.
    pub(crate) fn pick_shard(&self) -> usize {
        let nth = self.picked.fetch_add(1, SeqCst);
        // Pairs with the fence in `notify_waiters`: either that call sees
        // this pick, or this receiver's first look at the channel (after
        // this) sees the change made before that call.
        fence(SeqCst);
        (nth / Self::PER_SHARD) % Self::SHARDS
    }

    /// A wait on `shard`, noting `wait` while it is pending.
    #[inline]
    pub(crate) fn notified(&self, shard: usize, wait: WaitOn) -> Notified<'_> {
        self.shards[shard].notified_noting(wait)
    }

    /// `notify_waiters` on every shard in use.
    pub(crate) fn notify_waiters(&self) {
        fence(SeqCst);
        let in_use = self
            .picked
            .load(SeqCst)
            .div_ceil(Self::PER_SHARD)
            .min(Self::SHARDS);
        for shard in &self.shards[..in_use] {
            shard.notify_waiters();
        }
    }
}
