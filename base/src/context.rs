//! The thread's runtime context: what every weft crate reads to learn which
//! runtime this thread is in. It is the only per-thread runtime state in
//! weft, kept in two thread-locals for speed: the service slots, which hold
//! references and so need a destructor, and the plain marks, which need
//! none, so that the budget's look on every poll is a bare load.
//!
//! It holds one slot per runtime service, the current scheduler, reactor and
//! timer handles, each set by the runtime on every thread it runs code on
//! (workers, blocking threads, `block_on`, `enter`) and found by the crate
//! that owns the type ([`Service`]); the id of the task being polled;
//! whether the thread is driving tasks; and the cooperative budget
//! ([`coop`](crate::coop)).
//!
//! Invariants: every setter returns a guard that restores what was there
//! before, so guards nest; nothing here is reachable from another thread.
//! While the thread is exiting and its locals are gone, every getter answers
//! as if no runtime were current.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::sync::Arc;

use crate::coop::Budget;
use crate::wait::WaitOn;

/// A runtime service a thread can have a current one of: a handle to some
/// shared state. The type names its slot, and the slot holds an `Arc` of
/// that state, so entering a service costs a reference count, not an
/// allocation.
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

/// A service as a slot holds it: its shared state, type-erased, with the
/// id of its type. Lookups compare that id with the one they want, instead
/// of asking the `dyn Any` through its vtable: `sleep` and `Instant::now`
/// look here every time.
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

    #[inline]
    fn downcast_ref<T: Any>(&self) -> Option<&T> {
        if self.type_id != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: `type_id` is the id of the type `shared` was made from
        // (`new` is the only constructor), so the data pointer of the
        // `dyn Any` points to a live `T`, borrowed for as long as `self`.
        Some(unsafe { &*Arc::as_ptr(&self.shared).cast::<T>() })
    }

    #[inline]
    fn downcast<T: Any>(self) -> Option<Arc<T>> {
        if self.type_id != TypeId::of::<T>() {
            return None;
        }
        let raw = Arc::into_raw(self.shared).cast::<T>();
        // SAFETY: as in `downcast_ref`, the pointee is a `T`; the `Arc<dyn
        // Any>` was made from an `Arc<T>` by unsized coercion, which is what
        // `Arc::from_raw` allows, and the count moves over unchanged.
        Some(unsafe { Arc::from_raw(raw) })
    }
}

/// The context's plain data: no destructor, so a look is one thread-local
/// access with no liveness check (the budget is looked at on every poll).
struct Marks {
    task: Cell<Option<NonZeroU64>>,
    /// What the task being polled has noted it waits on, this poll.
    wait: Cell<WaitOn>,
    driving_tasks: Cell<bool>,
    budget: Cell<Budget>,
}

crate::loom::thread_local! {
    /// The service slots: they hold references, so they need a destructor.
    static SERVICES: [RefCell<Option<Stored>>; SLOTS] = const {
        [const { RefCell::new(None) }; SLOTS]
    };
}

crate::loom::thread_local! {
    static MARKS: Marks = const {
        Marks {
            task: Cell::new(None),
            wait: Cell::new(WaitOn::NOTHING),
            driving_tasks: Cell::new(false),
            budget: Cell::new(Budget::UNLIMITED),
        }
    };
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
    /// slots the set leaves empty keep what they hold. The set's references
    /// move into the slots (a set kept for another thread is cloned first).
    #[inline]
    pub fn enter(self) -> ServiceGuard {
        // The set's array becomes the guard's: each entered slot's previous
        // occupant takes the place of the service that went in.
        let mut slots = self.slots;
        let mut entered = 0;
        SERVICES.with(|services| {
            for (i, slot) in slots.iter_mut().enumerate() {
                if let Some(service) = slot.take() {
                    *slot = services[i].replace(Some(service));
                    entered |= 1 << i;
                }
            }
        });
        ServiceGuard {
            prev: slots,
            entered,
            _not_send: PhantomData,
        }
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
pub fn with_current<S: Service, R>(f: impl FnOnce(Option<&S::Shared>) -> R) -> R {
    let mut f = Some(f);
    let out = SERVICES.try_with(|services| {
        let slot = services[S::SLOT as usize].borrow();
        let current = slot
            .as_ref()
            .and_then(|stored| stored.downcast_ref::<S::Shared>());
        (f.take().expect("called once"))(current)
    });
    match out {
        Ok(out) => out,
        // The thread is exiting and its locals are gone.
        Err(_) => (f.take().expect("not called yet"))(None),
    }
}

/// The thread's current `S`, if there is one.
pub fn current<S: Service>() -> Option<S> {
    let shared = SERVICES
        .try_with(|services| {
            let slot = services[S::SLOT as usize].borrow();
            slot.as_ref()?.clone().downcast::<S::Shared>()
        })
        .ok()
        .flatten()?;
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

/// True while the thread is exiting and its locals are gone: then every
/// getter answers as if no runtime were current, whatever was entered.
pub fn is_thread_exiting() -> bool {
    SERVICES.try_with(|_| ()).is_err()
}

/// Restores what the slots it set held before, on drop. See [`enter`] and
/// [`ServiceSet::enter`].
#[must_use = "the services are current only while the guard lives"]
pub struct ServiceGuard {
    /// What the slots the guard entered held before.
    prev: [Option<Stored>; SLOTS],
    /// Bit `i` set: the guard entered slot `i`.
    entered: u8,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ServiceGuard {
    #[inline]
    fn drop(&mut self) {
        let entered = self.entered;
        let prev = &mut self.prev;
        let _ = SERVICES.try_with(|services| {
            for (i, prev) in prev.iter_mut().enumerate() {
                if entered & (1 << i) != 0 {
                    // Ours comes out and drops once the slot is released.
                    drop(services[i].replace(prev.take()));
                }
            }
        });
    }
}

impl fmt::Debug for ServiceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceGuard").finish_non_exhaustive()
    }
}

/// Names `id` as the task being polled on this thread until the guard
/// drops, with nothing noted yet of what it waits on.
#[inline]
pub fn enter_task(id: NonZeroU64) -> TaskGuard {
    let prev = MARKS
        .try_with(|cx| {
            cx.wait.set(WaitOn::NOTHING);
            cx.task.replace(Some(id))
        })
        .unwrap_or(None);
    TaskGuard {
        prev,
        _not_send: PhantomData,
    }
}

/// The id of the task being polled on this thread, if any.
pub fn current_task() -> Option<NonZeroU64> {
    MARKS.try_with(|cx| cx.task.get()).unwrap_or(None)
}

/// Notes what the task being polled waits on (see [`crate::wait`]).
#[inline]
pub(crate) fn note_wait(what: WaitOn) {
    let _ = MARKS.try_with(|cx| {
        if cx.task.get().is_some() {
            cx.wait.set(cx.wait.get().then(what));
        }
    });
}

/// What the task being polled has noted it waits on since its poll began
/// ([`enter_task`] clears the note).
#[inline]
pub fn noted_wait() -> WaitOn {
    MARKS
        .try_with(|cx| cx.wait.get())
        .unwrap_or(WaitOn::NOTHING)
}

/// Restores the previous task id on drop. See [`enter_task`].
#[must_use = "the task is current only while the guard lives"]
#[derive(Debug)]
pub struct TaskGuard {
    prev: Option<NonZeroU64>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = MARKS.try_with(|cx| cx.task.set(prev));
    }
}

/// Sets whether this thread is driving tasks (a worker, a `block_on`) until
/// the guard drops; returns the guard and what it was before. Blocking such
/// a thread on a future stalls every task it drives.
pub fn set_driving_tasks(driving: bool) -> (DrivingGuard, bool) {
    let was = MARKS
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
    MARKS.try_with(|cx| cx.driving_tasks.get()).unwrap_or(false)
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
        let _ = MARKS.try_with(|cx| cx.driving_tasks.set(was));
    }
}

/// This thread's budget (unlimited while the thread is exiting).
#[inline]
pub(crate) fn budget() -> Budget {
    MARKS
        .try_with(|cx| cx.budget.get())
        .unwrap_or(Budget::UNLIMITED)
}

/// Replaces this thread's budget.
#[inline]
pub(crate) fn set_budget(budget: Budget) {
    let _ = MARKS.try_with(|cx| cx.budget.set(budget));
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
