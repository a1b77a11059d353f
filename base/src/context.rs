//! The thread's runtime context: the one thread-local every weft crate reads
//! to learn which runtime this thread is in.
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

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::sync::Arc;

use crate::coop::Budget;

/// A runtime service a thread can have a current one of: the type names its
/// slot, and only values of that type are stored there.
pub trait Service: Clone + Send + Sync + 'static {
    /// Which slot of the context holds the current one.
    const SLOT: Slot;

    /// What [`expect_current`] panics with where there is none: why the
    /// caller needs one, and how to get one.
    const MISSING: &'static str;
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

/// A service as a slot holds it.
type Stored = Arc<dyn Any + Send + Sync>;

struct Context {
    services: [RefCell<Option<Stored>>; SLOTS],
    task: Cell<Option<NonZeroU64>>,
    driving_tasks: Cell<bool>,
    budget: Cell<Budget>,
}

crate::loom::thread_local! {
    static CONTEXT: Context = const {
        Context {
            services: [const { RefCell::new(None) }; SLOTS],
            task: Cell::new(None),
            driving_tasks: Cell::new(false),
            budget: Cell::new(Budget::UNLIMITED),
        }
    };
}

/// Makes `service` the thread's current one of its kind until the guard
/// drops.
pub fn enter<S: Service>(service: &S) -> ServiceGuard {
    ServiceSet::new().with(service.clone()).enter()
}

/// Services to make current together, on whichever thread enters them (a
/// runtime hands one to each thread it starts).
#[derive(Clone, Default)]
pub struct ServiceSet {
    slots: [Option<Stored>; SLOTS],
}

impl ServiceSet {
    /// An empty set: entering it changes nothing.
    pub fn new() -> ServiceSet {
        ServiceSet::default()
    }

    /// The set with `service` in its slot (replacing what was there).
    pub fn with<S: Service>(mut self, service: S) -> ServiceSet {
        self.slots[S::SLOT as usize] = Some(Arc::new(service));
        self
    }

    /// Makes every service in the set current until the guard drops; the
    /// slots the set leaves empty keep what they hold.
    pub fn enter(&self) -> ServiceGuard {
        let prev = CONTEXT.with(|cx| {
            std::array::from_fn(|i| {
                let service = self.slots[i].clone()?;
                Some(cx.services[i].replace(Some(service)))
            })
        });
        ServiceGuard {
            prev,
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

/// Runs `f` with the thread's current `S`, if there is one, without cloning
/// it.
pub fn with_current<S: Service, R>(f: impl FnOnce(Option<&S>) -> R) -> R {
    let mut f = Some(f);
    let out = CONTEXT.try_with(|cx| {
        let slot = cx.services[S::SLOT as usize].borrow();
        let current = slot.as_deref().and_then(|any| any.downcast_ref::<S>());
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
    with_current(|current: Option<&S>| current.cloned())
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
    CONTEXT.try_with(|_| ()).is_err()
}

/// Restores what the slots it set held before, on drop. See [`enter`] and
/// [`ServiceSet::enter`].
#[must_use = "the services are current only while the guard lives"]
pub struct ServiceGuard {
    /// Per slot: `None` if the guard left it alone, else what it held.
    prev: [Option<Option<Stored>>; SLOTS],
    _not_send: PhantomData<*const ()>,
}

impl Drop for ServiceGuard {
    fn drop(&mut self) {
        let prev = std::mem::take(&mut self.prev);
        let _ = CONTEXT.try_with(|cx| {
            for (slot, prev) in cx.services.iter().zip(prev) {
                if let Some(prev) = prev {
                    *slot.borrow_mut() = prev;
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

/// Names `id` as the task being polled on this thread until the guard drops.
pub fn enter_task(id: NonZeroU64) -> TaskGuard {
    let prev = CONTEXT
        .try_with(|cx| cx.task.replace(Some(id)))
        .unwrap_or(None);
    TaskGuard {
        prev,
        _not_send: PhantomData,
    }
}

/// The id of the task being polled on this thread, if any.
pub fn current_task() -> Option<NonZeroU64> {
    CONTEXT.try_with(|cx| cx.task.get()).unwrap_or(None)
}

/// Restores the previous task id on drop. See [`enter_task`].
#[must_use = "the task is current only while the guard lives"]
pub struct TaskGuard {
    prev: Option<NonZeroU64>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CONTEXT.try_with(|cx| cx.task.set(prev));
    }
}

impl fmt::Debug for TaskGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGuard").finish_non_exhaustive()
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

/// Restores the previous "driving tasks" mark on drop. See
/// [`set_driving_tasks`].
#[must_use = "the mark holds only while the guard lives"]
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

impl fmt::Debug for DrivingGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DrivingGuard").finish_non_exhaustive()
    }
}

/// This thread's budget (unlimited while the thread is exiting).
pub(crate) fn budget() -> Budget {
    CONTEXT
        .try_with(|cx| cx.budget.get())
        .unwrap_or(Budget::UNLIMITED)
}

/// Replaces this thread's budget.
pub(crate) fn set_budget(budget: Budget) {
    let _ = CONTEXT.try_with(|cx| cx.budget.set(budget));
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Io(u32);
    impl Service for Io {
        const SLOT: Slot = Slot::Io;
        const MISSING: &'static str = "no Io here";
    }

    #[derive(Clone, Debug, PartialEq)]
    struct Time(u32);
    impl Service for Time {
        const SLOT: Slot = Slot::Time;
        const MISSING: &'static str = "no Time here";
    }

    #[test]
    fn guards_nest_and_restore_per_slot() {
        assert_eq!(current::<Io>(), None);
        let outer = enter(&Io(1));
        let time = enter(&Time(7));
        {
            let _inner = enter(&Io(2));
            assert_eq!(current::<Io>(), Some(Io(2)));
            assert_eq!(current::<Time>(), Some(Time(7)));
        }
        assert_eq!(current::<Io>(), Some(Io(1)));
        drop(time);
        assert_eq!(current::<Time>(), None);
        drop(outer);
        assert_eq!(current::<Io>(), None);
    }

    #[test]
    fn a_set_enters_its_slots_together_on_another_thread() {
        let _time = enter(&Time(1));
        let set = ServiceSet::new().with(Io(5));
        std::thread::spawn(move || {
            let guard = set.enter();
            assert_eq!(current::<Io>(), Some(Io(5)));
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
        assert_eq!(current::<Time>(), Some(Time(1)));
    }

    #[test]
    #[should_panic(expected = "no Time here")]
    fn expect_current_says_what_is_missing() {
        let _io = enter(&Io(1));
        expect_current::<Time>();
    }

    #[test]
    fn a_slot_answers_only_for_its_own_type() {
        #[derive(Clone)]
        struct OtherIo;
        impl Service for OtherIo {
            const SLOT: Slot = Slot::Io;
            const MISSING: &'static str = "no OtherIo here";
        }
        let _io = enter(&Io(3));
        assert!(current::<OtherIo>().is_none());
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
