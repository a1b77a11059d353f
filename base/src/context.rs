//! The thread's runtime context: what every weft crate reads to learn which
//! runtime this thread is in. It is the only per-thread runtime state in
//! weft, kept in one thread-local with no destructor, so that every look
//! (the budget's on every poll, the timers' on every `sleep`) is a bare
//! load.
//!
//! It holds one slot per runtime service, the current scheduler, reactor and
//! timer handles, each set by the runtime on every thread it runs code on
//! (workers, blocking threads, `block_on`, `enter`) and found by the crate
//! that owns the type ([`Service`]); the id of the task being polled, and
//! whether it has woken itself during the poll; whether the thread is
//! driving tasks; which runtime worker the thread was started as; and the
//! cooperative budget ([`coop`](crate::coop)).
//!
//! Ownership: a slot holds the address of a service's shared state and owns
//! nothing. Whoever makes services current keeps them alive for as long as
//! they can be found here: a [`ServiceGuard`] owns the references of the
//! set it entered, and [`ServiceSet::scope`] borrows its set for the length
//! of a call, which is what lets `block_on` enter a runtime without a
//! reference count changing. Each entering is a frame with a number no
//! other frame on the thread has; it remembers the slots it replaced.
//!
//! Invariants: every address in the slots, or in a live frame's
//! remembered slots, points to state whose owner has not released it.
//! - A scope puts back what it replaced when its call returns, whatever
//!   happened inside, so none of its borrowed addresses outlives it.
//! - A guard puts back what it replaced, and releases its references, only
//!   if its frame is still the current one (guards nest) and was not
//!   already there when a running [`with_current`] call lent out a service
//!   (a guard made during the loan owns only its own clones); otherwise
//!   its references are leaked, so its addresses stay good wherever later
//!   frames remembered them. A guard dropped out of order thus leaves its
//!   services current instead of restoring a stale frame.
//!
//! Nothing here is reachable from another thread.

use std::any::{Any, TypeId};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::coop::Budget;
use crate::wait::WaitOn;

/// A runtime service a thread can have a current one of: a handle to some
/// shared state. The type names its slot, and a [`ServiceSet`] holds an
/// `Arc` of that state, so entering a service costs at most a reference
/// count, not an allocation.
pub trait Service: Sized + 'static {
    /// What the handle shares.
    type Shared: Send + Sync + 'static;

    /// Which slot of the context holds the current one.
    const SLOT: Slot;

    /// What [`expect_current`] panics with where there is none: why the
    /// caller needs one, and how to get one.
    const MISSING: &'static str;

    /// The state this handle shares.
    fn shared(&self) -> &Arc<Self::Shared>;

    /// A handle to `shared`.
    fn from_shared(shared: Arc<Self::Shared>) -> Self;
}

/// The context's service slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The runtime: what spawns tasks and runs blocking work.
    Scheduler,
    /// The reactor: what sockets register with.
    Io,
    /// The timers: what `sleep` registers with, and the (pausable) clock.
    Time,
}

const SLOTS: usize = 3;

/// A service as a set owns it: its shared state, type-erased, with the id
/// of its type.
#[derive(Clone)]
struct Stored {
    type_id: TypeId,
    shared: Arc<dyn Any + Send + Sync>,
}

impl Stored {
    #[inline]
    fn new<T: Any + Send + Sync>(shared: Arc<T>) -> Stored {
        Stored {
            type_id: TypeId::of::<T>(),
            shared,
        }
    }

    /// The slot's view of it: the address of the state inside the `Arc`,
    /// from `Arc::as_ptr`, whose provenance spans the reference counts
    /// (`current` raises one through it).
    #[inline]
    fn entry(&self) -> Entry {
        let ptr = Arc::as_ptr(&self.shared).cast::<()>().cast_mut();
        Entry {
            type_id: self.type_id,
            ptr: NonNull::new(ptr).expect("an `Arc` is never null"),
        }
    }
}

/// A service as a slot holds it: the address of its shared state (the data
/// pointer of an `Arc<T>`) and the id of `T`. Lookups compare that id with
/// the one they want instead of asking a `dyn Any` through its vtable:
/// `sleep` and `Instant::now` look here every time.
#[derive(Clone, Copy)]
struct Entry {
    type_id: TypeId,
    ptr: NonNull<()>,
}

impl Entry {
    #[inline]
    fn downcast<T: Any>(self) -> Option<NonNull<T>> {
        (self.type_id == TypeId::of::<T>()).then(|| self.ptr.cast())
    }
}

/// The thread's context: plain data, so a look is one thread-local access
/// with no liveness check.
struct Context {
    /// The current services (see the module doc for who keeps them alive).
    slots: [Cell<Option<Entry>>; SLOTS],
    /// The number of the frame that set the slots; 0 before any.
    frame: Cell<u64>,
    /// The last frame number given out on this thread.
    frames: Cell<u64>,
    /// While [`with_current`] lends out a service: the newest frame that
    /// existed when the loan began (0: none). A guard of that frame or an
    /// older one may own what is lent, so it must not release its set; a
    /// guard made during the loan owns only its own clones.
    lent_up_to: Cell<u64>,
    task: Cell<Option<NonZeroU64>>,
    /// Whether `task` is being polled, and has woken itself.
    self_wake: Cell<SelfWake>,
    /// What the task being polled has noted it waits on, this poll.
    wait: Cell<WaitOn>,
    driving_tasks: Cell<bool>,
    /// The index of the runtime worker this thread was started as.
    worker_thread: Cell<Option<u32>>,
    budget: Cell<Budget>,
}

crate::loom::thread_local! {
    static CONTEXT: Context = const {
        Context {
            slots: [const { Cell::new(None) }; SLOTS],
            frame: Cell::new(0),
            frames: Cell::new(0),
            lent_up_to: Cell::new(0),
            task: Cell::new(None),
            self_wake: Cell::new(SelfWake::NotPolling),
            wait: Cell::new(WaitOn::NOTHING),
            driving_tasks: Cell::new(false),
            worker_thread: Cell::new(None),
            budget: Cell::new(Budget::UNLIMITED),
        }
    };
}

crate::loom::thread_local! {
    /// Only its destructor matters: once it has run, the thread is exiting
    /// ([`is_thread_exiting`]). Touched by every frame, so that a thread
    /// that ever entered a runtime has it.
    static ALIVE: Alive = const { Alive };
}

struct Alive;

impl Drop for Alive {
    fn drop(&mut self) {}
}

/// One entering of services: its number, and what it replaced.
struct Frame {
    id: u64,
    replaced: [Option<Entry>; SLOTS],
    replaced_frame: u64,
}

impl Frame {
    /// Makes the services of `set` current; the slots it leaves empty keep
    /// what they hold.
    #[inline]
    fn push(set: &ServiceSet) -> Frame {
        let _ = ALIVE.try_with(|_| ());
        CONTEXT
            .try_with(|cx| {
                let id = cx.frames.get() + 1;
                cx.frames.set(id);
                let replaced = std::array::from_fn(|i| cx.slots[i].get());
                for (slot, stored) in cx.slots.iter().zip(&set.slots) {
                    if let Some(stored) = stored {
                        slot.set(Some(stored.entry()));
                    }
                }
                Frame {
                    id,
                    replaced,
                    replaced_frame: cx.frame.replace(id),
                }
            })
            // Only where the thread-local is gone (loom's, as its thread
            // ends): nothing was entered, and `pop` finds nothing either.
            .unwrap_or(Frame {
                id: 0,
                replaced: [None; SLOTS],
                replaced_frame: 0,
            })
    }

    /// Puts back what the frame replaced, if it is the current frame or
    /// `always`. True if it was the current one and nothing it may own is
    /// lent out.
    #[inline]
    fn pop(&self, always: bool) -> bool {
        CONTEXT
            .try_with(|cx| {
                let current = cx.frame.get() == self.id;
                if current || always {
                    for (slot, entry) in cx.slots.iter().zip(self.replaced) {
                        slot.set(entry);
                    }
                    cx.frame.set(self.replaced_frame);
                }
                current && self.id > cx.lent_up_to.get()
            })
            .unwrap_or(false)
    }
}

/// Makes `service` the thread's current one of its kind until the guard
/// drops.
pub fn enter<S: Service>(service: &S) -> ServiceGuard {
    ServiceSet::new().with(service).enter()
}

/// Services to make current together, on whichever thread enters them (a
/// runtime hands one to each thread it starts).
#[derive(Clone, Default)]
pub struct ServiceSet {
    slots: [Option<Stored>; SLOTS],
}

impl ServiceSet {
    /// An empty set: entering it changes nothing.
    #[inline]
    pub fn new() -> ServiceSet {
        ServiceSet::default()
    }

    /// The set with `service` in its slot (replacing what was there).
    #[inline]
    pub fn with<S: Service>(mut self, service: &S) -> ServiceSet {
        self.slots[S::SLOT as usize] = Some(Stored::new(service.shared().clone()));
        self
    }

    /// Makes every service in the set current until the guard drops; the
    /// slots the set leaves empty keep what they hold. The guard owns the
    /// set's references (a set kept for another thread is cloned first).
    #[inline]
    pub fn enter(self) -> ServiceGuard {
        ServiceGuard {
            frame: Frame::push(&self),
            set: ManuallyDrop::new(self),
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with every service in the set current, borrowing the set:
    /// no reference count changes. Whatever `f` entered and did not leave
    /// is left when it returns (or unwinds).
    #[inline]
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        /// Leaves the scope's frame, also when `f` unwinds.
        struct Leave(Frame);
        impl Drop for Leave {
            #[inline]
            fn drop(&mut self) {
                self.0.pop(true);
            }
        }
        let _leave = Leave(Frame::push(self));
        f()
    }
}

impl fmt::Debug for ServiceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held: Vec<Slot> = [Slot::Scheduler, Slot::Io, Slot::Time]
            .into_iter()
            .filter(|slot| self.slots[*slot as usize].is_some())
            .collect();
        f.debug_struct("ServiceSet").field("slots", &held).finish()
    }
}

/// Runs `f` with what the thread's current `S` shares, if there is one,
/// without touching its reference count.
#[inline]
pub fn with_current<S: Service, R>(f: impl FnOnce(Option<&S::Shared>) -> R) -> R {
    /// Ends a loan: puts back the bound the loan raised.
    struct Loan(u64);
    impl Drop for Loan {
        #[inline]
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.lent_up_to.set(self.0));
        }
    }
    let lent = CONTEXT.try_with(|cx| {
        let entry = cx.slots[S::SLOT as usize].get()?.downcast::<S::Shared>()?;
        let before = cx.lent_up_to.get();
        cx.lent_up_to.set(before.max(cx.frame.get()));
        Some((entry, Loan(before)))
    });
    let Some((shared, _loan)) = lent.ok().flatten() else {
        return f(None);
    };
    // SAFETY: an `S::Shared` (the ids matched), current, so not released
    // (module invariant); during the loan no guard that may own it releases
    // anything, and a scope that began before this call ends after it.
    f(Some(unsafe { shared.as_ref() }))
}

/// The thread's current `S`, if there is one.
pub fn current<S: Service>() -> Option<S> {
    let shared = CONTEXT
        .try_with(|cx| cx.slots[S::SLOT as usize].get())
        .ok()??
        .downcast::<S::Shared>()?;
    // The entry is current, so its owner holds a reference on the
    // `Arc<S::Shared>` whose data this is (module invariant; `Stored::new`
    // took an `Arc<T>` with `T` this type, as the ids say).
    // SAFETY: as above; the count goes up before `from_raw` takes one.
    let shared = unsafe {
        Arc::increment_strong_count(shared.as_ptr());
        Arc::from_raw(shared.as_ptr())
    };
    Some(S::from_shared(shared))
}

/// The thread's current `S`.
///
/// # Panics
/// Where there is none, with [`S::MISSING`](Service::MISSING).
#[track_caller]
pub fn expect_current<S: Service>() -> S {
    match current() {
        Some(service) => service,
        None => panic!("{}", S::MISSING),
    }
}

/// True while the thread is exiting, once weft's thread-locals have been
/// destroyed (on a thread that ever entered services).
pub fn is_thread_exiting() -> bool {
    ALIVE.try_with(|_| ()).is_err()
}

/// Leaves the frame its [`ServiceSet::enter`] (or [`enter`]) made and
/// releases the set's references, on drop; see the module doc for a guard
/// dropped out of order.
#[must_use = "the services are current only while the guard lives"]
pub struct ServiceGuard {
    frame: Frame,
    set: ManuallyDrop<ServiceSet>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ServiceGuard {
    #[inline]
    fn drop(&mut self) {
        if self.frame.pop(false) {
            // SAFETY: dropped once, here; no slot or live frame holds the
            // set's addresses any more (module invariant).
            unsafe { ManuallyDrop::drop(&mut self.set) };
        }
    }
}

impl fmt::Debug for ServiceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceGuard").finish_non_exhaustive()
    }
}

/// Whether the current task is being polled, and has woken itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SelfWake {
    /// The current task (if any) is not being polled: it is being dropped,
    /// or its output is.
    NotPolling,
    /// Its poll is running, and it has not woken itself.
    Polling,
    /// Its poll is running, and it has woken itself ([`note_self_wake`]).
    Woken,
}

/// Names `id` as the current task on this thread, while something other
/// than its poll runs as it (its future or output being dropped), until the
/// guard drops.
#[inline]
pub fn enter_task(id: NonZeroU64) -> TaskGuard {
    make_current(id, SelfWake::NotPolling)
}

/// Names `id` as the task being polled on this thread until the guard
/// drops, with nothing noted yet of what it waits on, and not yet woken by
/// itself ([`note_self_wake`]).
#[inline]
pub fn enter_poll(id: NonZeroU64) -> TaskGuard {
    make_current(id, SelfWake::Polling)
}

#[inline]
fn make_current(id: NonZeroU64, self_wake: SelfWake) -> TaskGuard {
    let prev = CONTEXT
        .try_with(|cx| {
            (
                cx.task.replace(Some(id)),
                cx.self_wake.replace(self_wake),
                cx.wait.replace(WaitOn::NOTHING),
            )
        })
        .unwrap_or((None, SelfWake::NotPolling, WaitOn::NOTHING));
    TaskGuard {
        prev,
        _not_send: PhantomData,
    }
}

/// The id of the task being polled on this thread, if any.
pub fn current_task() -> Option<NonZeroU64> {
    CONTEXT.try_with(|cx| cx.task.get()).unwrap_or(None)
}

/// A task's waker wakes task `id`: if that is the task being polled on this
/// thread, notes it and returns true, and the wake is the poller's to act on
/// when the poll returns ([`woke_itself`]); otherwise returns false.
#[inline]
pub fn note_self_wake(id: NonZeroU64) -> bool {
    CONTEXT
        .try_with(|cx| {
            let polling_it =
                cx.task.get() == Some(id) && cx.self_wake.get() != SelfWake::NotPolling;
            if polling_it {
                cx.self_wake.set(SelfWake::Woken);
            }
            polling_it
        })
        .unwrap_or(false)
}

/// Whether the task being polled has woken itself since its poll began
/// ([`enter_poll`]).
#[inline]
pub fn woke_itself() -> bool {
    CONTEXT
        .try_with(|cx| cx.self_wake.get() == SelfWake::Woken)
        .unwrap_or(false)
}

/// Notes what the task being polled waits on (see [`crate::wait`]).
#[inline]
pub(crate) fn note_wait(what: WaitOn) {
    let _ = CONTEXT.try_with(|cx| {
        if cx.task.get().is_some() {
            cx.wait.set(cx.wait.get().then(what));
        }
    });
}

/// What the task being polled has noted it waits on since its poll began
/// ([`enter_task`] clears the note).
#[inline]
pub fn noted_wait() -> WaitOn {
    CONTEXT
        .try_with(|cx| cx.wait.get())
        .unwrap_or(WaitOn::NOTHING)
}

/// Restores the previous current task (whether it was being polled, had
/// woken itself, and what it had noted it waits on) on drop. See
/// [`enter_task`] and [`enter_poll`].
#[must_use = "the task is current only while the guard lives"]
#[derive(Debug)]
pub struct TaskGuard {
    prev: (Option<NonZeroU64>, SelfWake, WaitOn),
    _not_send: PhantomData<*const ()>,
}

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        let (task, self_wake, wait) = self.prev;
        let _ = CONTEXT.try_with(|cx| {
            cx.task.set(task);
            cx.self_wake.set(self_wake);
            cx.wait.set(wait);
        });
    }
}

/// Sets whether this thread is driving tasks (a worker, a `block_on`) until
/// the guard drops; returns the guard and what it was before. Blocking such
/// a thread on a future stalls every task it drives.
pub fn set_driving_tasks(driving: bool) -> (DrivingGuard, bool) {
    let was = CONTEXT
        .try_with(|cx| cx.driving_tasks.replace(driving))
        .unwrap_or(false);
    let guard = DrivingGuard {
        was,
        _not_send: PhantomData,
    };
    (guard, was)
}

/// True on a thread that is driving tasks.
pub fn is_driving_tasks() -> bool {
    CONTEXT
        .try_with(|cx| cx.driving_tasks.get())
        .unwrap_or(false)
}

/// Marks this thread as the runtime's worker number `index`, from then on.
/// Per-worker state of other crates (the timer wheel's shards) is picked by
/// it, so that workers do not share it. It is a hint, not an identity: a
/// thread that handed its worker to another in `block_in_place` keeps the
/// mark, which costs that state a second user, nothing more.
pub fn set_worker_thread(index: usize) {
    let index = u32::try_from(index).ok();
    let _ = CONTEXT.try_with(|cx| cx.worker_thread.set(index));
}

/// The index this thread was marked with by [`set_worker_thread`]; `None`
/// on any other thread.
#[inline]
pub fn worker_thread() -> Option<usize> {
    CONTEXT
        .try_with(|cx| cx.worker_thread.get())
        .ok()
        .flatten()
        .map(|index| index as usize)
}

/// Restores the previous "driving tasks" mark on drop. See
/// [`set_driving_tasks`].
#[must_use = "the mark holds only while the guard lives"]
#[derive(Debug)]
pub struct DrivingGuard {
    was: bool,
    _not_send: PhantomData<*const ()>,
}

impl Drop for DrivingGuard {
    fn drop(&mut self) {
        let was = self.was;
        let _ = CONTEXT.try_with(|cx| cx.driving_tasks.set(was));
    }
}

/// This thread's budget (unlimited while the thread is exiting).
#[inline]
pub(crate) fn budget() -> Budget {
    CONTEXT
        .try_with(|cx| cx.budget.get())
        .unwrap_or(Budget::UNLIMITED)
}

/// Replaces this thread's budget.
#[inline]
pub(crate) fn set_budget(budget: Budget) {
    let _ = CONTEXT.try_with(|cx| cx.budget.set(budget));
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A test service per slot kind, sharing a number.
    macro_rules! service {
        ($name:ident, $slot:expr) => {
            #[derive(Clone, Debug, PartialEq)]
            struct $name(Arc<u32>);
            impl Service for $name {
                type Shared = u32;
                const SLOT: Slot = $slot;
                const MISSING: &'static str = concat!("no ", stringify!($name), " here");
                fn shared(&self) -> &Arc<u32> {
                    &self.0
                }
                fn from_shared(shared: Arc<u32>) -> Self {
                    $name(shared)
                }
            }
        };
    }
    service!(Io, Slot::Io);
    service!(Time, Slot::Time);

    fn io(n: u32) -> Io {
        Io(Arc::new(n))
    }

    fn time(n: u32) -> Time {
        Time(Arc::new(n))
    }

    #[test]
    fn guards_nest_and_restore_per_slot() {
        assert_eq!(current::<Io>(), None);
        let outer = enter(&io(1));
        let time_guard = enter(&time(7));
        {
            let _inner = enter(&io(2));
            assert_eq!(current::<Io>(), Some(io(2)));
            assert_eq!(current::<Time>(), Some(time(7)));
        }
        assert_eq!(current::<Io>(), Some(io(1)));
        drop(time_guard);
        assert_eq!(current::<Time>(), None);
        drop(outer);
        assert_eq!(current::<Io>(), None);
    }

    #[test]
    fn a_set_enters_its_slots_together_on_another_thread() {
        let _time = enter(&time(1));
        let set = ServiceSet::new().with(&io(5));
        std::thread::spawn(move || {
            let guard = set.enter();
            assert_eq!(current::<Io>(), Some(io(5)));
            assert_eq!(
                current::<Time>(),
                None,
                "a slot the set lacks is left alone"
            );
            drop(guard);
            assert_eq!(current::<Io>(), None);
        })
        .join()
        .unwrap();
        assert_eq!(current::<Time>(), Some(time(1)));
    }

    #[test]
    #[should_panic(expected = "no Time here")]
    fn expect_current_says_what_is_missing() {
        let _io = enter(&io(1));
        expect_current::<Time>();
    }

    #[test]
    fn a_slot_answers_only_for_its_own_type() {
        #[derive(Clone)]
        struct OtherIo(Arc<String>);
        impl Service for OtherIo {
            type Shared = String;
            const SLOT: Slot = Slot::Io;
            const MISSING: &'static str = "no OtherIo here";
            fn shared(&self) -> &Arc<String> {
                &self.0
            }
            fn from_shared(shared: Arc<String>) -> Self {
                OtherIo(shared)
            }
        }
        let _io = enter(&io(3));
        assert!(current::<OtherIo>().is_none());
        assert_eq!(with_current::<Io, _>(|n| n.copied()), Some(3));
    }

    #[test]
    fn a_scope_borrows_its_set_and_leaves_it_when_it_returns_or_unwinds() {
        let shared = Arc::new(9u32);
        let set = ServiceSet::new().with(&Io(shared.clone()));
        let _time = enter(&time(1));
        let seen = set.scope(|| {
            assert_eq!(Arc::strong_count(&shared), 2, "entering took no reference");
            let lent = with_current::<Io, _>(|n| n.copied());
            (current::<Io>(), lent, current::<Time>())
        });
        assert_eq!(seen, (Some(io(9)), Some(9), Some(time(1))));
        assert_eq!(current::<Io>(), None);
        assert_eq!(
            Arc::strong_count(&shared),
            3,
            "`current` took one of its own"
        );
        drop(seen);

        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            set.scope(|| {
                let _inner = enter(&io(3));
                panic!("inside");
            })
        }));
        assert!(unwound.is_err());
        assert_eq!(current::<Io>(), None);
        assert_eq!(current::<Time>(), Some(time(1)));
    }

    /// A guard made and dropped while `with_current` lends a service out
    /// (an I/O object dropped inside a spawn, say) owns only its own
    /// clones, and releases them.
    #[test]
    fn a_guard_made_during_a_loan_releases_what_it_owns() {
        let _io = enter(&io(1));
        let seven = Arc::new(7u32);
        with_current::<Io, _>(|lent| {
            assert_eq!(lent.copied(), Some(1));
            let guard = enter(&Time(seven.clone()));
            assert_eq!(current::<Time>(), Some(time(7)));
            drop(guard);
            assert_eq!(Arc::strong_count(&seven), 1, "released, not leaked");
            assert_eq!(lent.copied(), Some(1));
        });
        assert_eq!(current::<Time>(), None);
    }

    /// Guards dropped out of order, and a guard carried out of the scope it
    /// was entered in: nothing is freed that a slot or a frame still names
    /// (miri checks the addresses), at the price of a leak. On a thread of
    /// its own, which gives the leaked references back as its last act.
    #[test]
    fn a_guard_dropped_out_of_order_keeps_what_it_entered_alive() {
        std::thread::spawn(|| {
            let (one, two, five) = (Arc::new(1u32), Arc::new(2u32), Arc::new(5u32));
            let a = enter(&Io(one.clone()));
            let b = enter(&Io(two.clone()));
            drop(a);
            assert_eq!(current::<Io>(), Some(io(2)), "a was not the current frame");
            assert_eq!(Arc::strong_count(&one), 2, "b's frame still names it");
            drop(b);
            assert_eq!(current::<Io>(), Some(io(1)), "b put back what it replaced");
            assert_eq!(Arc::strong_count(&two), 1, "b released its own");

            let set = ServiceSet::new().with(&Io(two.clone()));
            let carried = set.scope(|| enter(&Time(five.clone())));
            assert_eq!(current::<Time>(), None, "the scope left what it held");
            assert_eq!(current::<Io>(), Some(io(1)));
            drop(set);
            // Its frame is gone: it must not put back the scope's entries,
            // whose state was just freed.
            drop(carried);
            assert_eq!(current::<Io>(), Some(io(1)));
            assert_eq!(current::<Time>(), None);
            assert_eq!((Arc::strong_count(&one), Arc::strong_count(&five)), (2, 2));

            // SAFETY: each leaked one reference (counted above); the slot
            // still names `one`, but nothing on this thread looks again.
            unsafe {
                Arc::decrement_strong_count(Arc::as_ptr(&one));
                Arc::decrement_strong_count(Arc::as_ptr(&five));
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn task_and_driving_marks_nest() {
        let one = NonZeroU64::new(1).unwrap();
        let two = NonZeroU64::new(2).unwrap();
        let outer = enter_task(one);
        {
            let _inner = enter_task(two);
            assert_eq!(current_task(), Some(two));
        }
        assert_eq!(current_task(), Some(one));
        drop(outer);
        assert_eq!(current_task(), None);

        let (guard, was) = set_driving_tasks(true);
        assert!(!was && is_driving_tasks());
        let (lifted, was) = set_driving_tasks(false);
        assert!(was && !is_driving_tasks());
        drop(lifted);
        assert!(is_driving_tasks());
        drop(guard);
        assert!(!is_driving_tasks());
    }
}
