//! The current-thread flavour: one worker, whose thread is whoever calls
//! `block_on`. The calling thread takes the runtime's only core and is its
//! worker until the future completes.
//!
//! Between polls of the main future it runs up to `event_interval` queued
//! tasks (`config.rs`), so neither starves the other.
//! A second thread that calls `block_on` meanwhile polls its own future
//! without the core, and takes the core over when the first one returns it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::config::run_hook;
use super::park::{Parker, Unparker};
use super::worker::{BlockInPlace, Core, WorkerContext};
use super::Scheduler;
use weft_base::context::ServiceSet;
use weft_base::coop;
use weft_base::loom::{AtomicBool, Mutex, Ordering::AcqRel, Ordering::Acquire, Ordering::Release};

/// The flavour's state in the scheduler: the core, while no `block_on` holds
/// it, and the `block_on` callers waiting for it.
pub(crate) struct CurrentThread {
    slot: Mutex<Slot>,
    waiters: Mutex<Vec<Waker>>,
}

/// Behind one lock, which a `block_on` takes anyway to take the core.
struct Slot {
    core: Option<Box<Core>>,
    /// Where the `block_on` that took the core last was called, and its
    /// future's type: for the slow-poll watchdog's report.
    origin: Option<Origin>,
}

/// A `block_on` call: where it was made and the type of its future.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin {
    pub(crate) location: &'static std::panic::Location<'static>,
    pub(crate) type_name: &'static str,
}

impl CurrentThread {
    pub(crate) fn new() -> CurrentThread {
        CurrentThread {
            slot: Mutex::new(Slot {
                core: None,
                origin: None,
            }),
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// Parks the runtime's core here for the first `block_on` to take.
    pub(crate) fn put_core(&self, core: Core) {
        self.slot.lock().core = Some(Box::new(core));
    }

    /// Takes the core for good (shutdown), if no `block_on` holds it.
    pub(crate) fn take_core(&self) -> Option<Box<Core>> {
        self.slot.lock().core.take()
    }

    /// The `block_on` that took the core last.
    pub(crate) fn origin(&self) -> Option<Origin> {
        self.slot.lock().origin
    }
}

/// Runs `future` to completion, driving the runtime's tasks while this
/// thread holds the core; `block_in_place` says what a `block_in_place`
/// inside does meanwhile.
pub(crate) fn block_on<F: Future>(
    scheduler: &Arc<Scheduler>,
    mut future: Pin<&mut F>,
    block_in_place: BlockInPlace,
    origin: Origin,
) -> F::Output {
    let mut waiting: Option<(Parker, Waker)> = None;
    loop {
        let core = {
            let mut slot = scheduler.current_thread.slot.lock();
            let core = slot.core.take();
            if core.is_some() {
                slot.origin = Some(origin);
            }
            core
        };
        if let Some(core) = core {
            return run(scheduler, core, future, block_in_place);
        }
        // Someone else drives the runtime: poll our future, and wait for it
        // or for the core.
        let (park, waker) = waiting.get_or_insert_with(|| {
            let park = Parker::new(None);
            let waker = park.waker();
            (park, waker)
        });
        {
            let mut waiters = scheduler.current_thread.waiters.lock();
            if !waiters.iter().any(|w| w.will_wake(waker)) {
                waiters.push(waker.clone());
            }
        }
        if scheduler.current_thread.slot.lock().core.is_some() {
            continue;
        }
        let mut cx = Context::from_waker(waker);
        if let Poll::Ready(out) = coop::budget(|| future.as_mut().poll(&mut cx)) {
            return out;
        }
        park.park(None);
    }
}

struct MainWaker {
    woken: AtomicBool,
    unpark: Unparker,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Release);
        self.unpark.unpark();
    }
}

/// Returns the core to the runtime however `run` ends (a panic included).
struct CoreGuard<'a> {
    cx: &'a WorkerContext,
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        let Some(mut core) = self.cx.core.borrow_mut().take() else {
            return;
        };
        // The worker stops here until the next `block_on` takes the core.
        core.stats.end_busy(self.cx.metrics(&core));
        let scheduler = &self.cx.scheduler;
        // Decide under the lock: `Runtime::shutdown` closes first and then
        // takes the core under it, so one of the two always sees the other.
        let mut slot = scheduler.current_thread.slot.lock();
        if scheduler.is_shutdown() {
            drop(slot);
            scheduler.shutdown_core(*core);
        } else {
            slot.core = Some(core);
        }
        let waiters = std::mem::take(&mut *scheduler.current_thread.waiters.lock());
        for waiter in waiters {
            waiter.wake();
        }
    }
}

fn run<F: Future>(
    scheduler: &Arc<Scheduler>,
    core: Box<Core>,
    mut future: Pin<&mut F>,
    block_in_place: BlockInPlace,
) -> F::Output {
    // No core is handed off here, so no thread to hand services to.
    let cx = WorkerContext::new(scheduler.clone(), ServiceSet::new());
    let _worker = super::worker::set_current(&cx);
    let mut core = core;
    scheduler.remotes[0].metrics.set_thread();
    core.stats.start_busy(&scheduler.remotes[0].metrics);
    *cx.core.borrow_mut() = Some(core);
    let _guard = CoreGuard { cx: &cx };

    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        unpark: scheduler.remotes[0].unpark.clone(),
    });
    let waker = Waker::from(main.clone());
    let mut task_cx = Context::from_waker(&waker);

    loop {
        // The main future woke itself while it ran (`yield_now`, a spent
        // budget): as for a task that yields, the driver is looked at
        // before it runs again, so what it yields for (an event) can land.
        let mut main_yielded = false;
        if main.woken.swap(false, AcqRel) {
            // The core stays in the context while the main future runs, so
            // tasks it spawns or wakes go to the local queue.
            // Only the `block_on`'s own future may `block_in_place` (when
            // the caller allows it), never a task.
            cx.block_in_place.set(block_in_place);
            let metrics = &scheduler.remotes[0].metrics;
            metrics.block_on_poll_started();
            let poll = coop::budget(|| future.as_mut().poll(&mut task_cx));
            metrics.poll_ended(None);
            cx.block_in_place.set(BlockInPlace::Refuse);
            if let Poll::Ready(out) = poll {
                return out;
            }
            main_yielded = main.woken.load(Acquire);
        }
        let mut core = cx.core.borrow_mut().take().expect("core in context");
        let mut ran = 0;
        let batch = scheduler.config.event_interval;
        // A full batch even when the main future is already woken: a main
        // future that keeps waking itself must not starve the tasks.
        while ran < batch {
            core.tick = core.tick.wrapping_add(1);
            core = cx.maintenance(core);
            // A remote push that races this look is found by the check a
            // worker makes after registering as a sleeper (`idle.rs`).
            let task = core
                .next_task(scheduler)
                .or_else(|| core.steal_work(scheduler));
            let Some(task) = task else {
                if !core.has_deferred() {
                    break;
                }
                // Only tasks that yielded are left: they run again after a
                // look at the driver (see `worker.rs`). A main future woken
                // meanwhile (one that spent its budget) goes first, as a
                // yielded task would: so each yield of the main future lets
                // the others run once, not for a whole batch.
                core = cx.park_yield(core);
                if main.woken.load(Acquire) {
                    break;
                }
                continue;
            };
            core = cx
                .run_task(task, core)
                .expect("the current-thread core is never handed off");
            ran += 1;
        }
        if main_yielded {
            core = cx.park_yield(core);
        } else if ran == 0 && !main.woken.load(Acquire) {
            core = park(&cx, &main, core);
        }
        *cx.core.borrow_mut() = Some(core);
    }
}

fn park(cx: &WorkerContext, main: &MainWaker, mut core: Box<Core>) -> Box<Core> {
    let scheduler = &*cx.scheduler;
    if let Some(hook) = &scheduler.config.before_park {
        // The hook may spawn a task or wake the main future: then there is
        // work, and no park.
        core = cx.with_core_stored(core, || run_hook(hook));
        if main.woken.load(Acquire) || core.has_tasks() {
            return core;
        }
    }
    core = park_until_woken(cx, main, core);
    if let Some(hook) = &scheduler.config.after_unpark {
        core = cx.with_core_stored(core, || run_hook(hook));
    }
    core
}

fn park_until_woken(cx: &WorkerContext, main: &MainWaker, mut core: Box<Core>) -> Box<Core> {
    let scheduler = &*cx.scheduler;
    if !core.transition_to_parked(scheduler) {
        return core;
    }
    loop {
        if main.woken.load(Acquire) {
            core.leave_park(scheduler);
            return core;
        }
        core = cx.park_counted(core);
        if core.transition_from_parked(scheduler) {
            return core;
        }
    }
}
