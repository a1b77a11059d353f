//! A worker: its core (queue, LIFO slot, counters) and the loop that runs it.
//!
//! Each tick the worker runs one task (plus a bounded chain of LIFO
//! successors). Every `global_queue_interval` ticks it looks at the injector
//! first so remote work is not starved by local work; every `event_interval`
//! ticks it polls the driver without blocking and checks for shutdown (both
//! in `config.rs`, set by `Builder`). Out
//! of local work it steals half of a random victim's queue (if the idle
//! rules let it search), then parks.
//!
//! A task that wakes itself while it runs (`yield_now`, a spent cooperative
//! budget) is deferred: it waits in `deferred` until the worker runs out of
//! other work (its queues, the injector, stealing), or the next
//! `DEFER_INTERVAL` tick, whichever is first. Out of work, the worker first
//! looks at the driver without blocking (`park_yield`), as tokio's parks
//! with a zero timeout, and then queues the deferred tasks: so a task that
//! yields waiting on I/O or a timer sees it after one yield, not after
//! spinning through its yields with the driver unlooked at (tokio's
//! `yield_defers_until_park`). At the `DEFER_INTERVAL` tick the oldest
//! deferred task runs next and the others go to the back of the queue. So a
//! yield lets what is already runnable here run first, including tasks the
//! yielder has just woken, rather than racing them; but a task that yields
//! in a loop, waiting on others' progress, still gets a turn every
//! `DEFER_INTERVAL` ticks however long the queue, rather than once per
//! queue.
//!
//! The core lives in `WorkerContext::core` while a task runs, so wakes on
//! this thread can reach the LIFO slot; `block_in_place` may take it from
//! there and move it to another thread, after which this thread's loop ends.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::Arc;

use super::config::{run_hook, Config};
use super::park::{self, DriverSlot, Parker};
use super::queue::{self, Local};
use super::stats::{WorkerMetrics, WorkerStats};
use super::{Remote, RuntimeFlavor, Scheduler};
use crate::cell::Notified;
use crate::rand::FastRand;
use crossbeam_utils::CachePadded;
use weft_base::context::{self, ServiceSet};
use weft_base::{coarse, coop};

/// Release the deferred tasks every this many ticks. tokio releases its own
/// at the event interval; a yield loop waiting on what it woke (a notifier
/// that wakes hundreds of tasks, yields and checks a count) then learns of
/// their progress 61 polls late while its wakeups pile up. 16 keeps the
/// share of ticks that a released yielder takes ahead of the queue small
/// (`docs/benchmarks.md` has the measurements behind the number).
const DEFER_INTERVAL: u32 = 16;
/// LIFO successors polled in a row before the slot is switched off for the
/// rest of the tick, so two tasks waking each other cannot starve the queue.
const MAX_LIFO_POLLS_PER_TICK: usize = 3;

/// Counts ticks down to the next one at which a periodic duty is due: a
/// decrement and a test per tick, where `tick % interval` with an interval
/// known only at run time is a division on every tick.
struct Every {
    left: u32,
}

impl Every {
    fn new(interval: u32) -> Every {
        Every { left: interval }
    }

    /// True on every `interval`-th call (`interval` > 0, as `Builder`
    /// checks).
    fn due(&mut self, interval: u32) -> bool {
        self.left -= 1;
        if self.left > 0 {
            return false;
        }
        self.left = interval;
        true
    }
}

pub(crate) struct Core {
    pub(crate) index: usize,
    pub(crate) tick: u32,
    /// When the injector is looked at first (`global_queue_interval`).
    inject_first: Every,
    /// When the driver is polled and shutdown checked (`event_interval`).
    events: Every,
    lifo_slot: Option<Notified>,
    lifo_enabled: bool,
    run_queue: Local,
    /// Tasks that woke themselves while running; see the module doc.
    deferred: Vec<Notified>,
    is_searching: bool,
    pub(crate) is_shutdown: bool,
    park: Option<Parker>,
    rand: FastRand,
    /// This worker's side of its counters (`stats.rs`).
    pub(crate) stats: WorkerStats,
}

weft_base::loom::thread_local! {
    /// The worker this thread is, while its loop runs.
    static CURRENT: Cell<*const WorkerContext> = const { Cell::new(std::ptr::null()) };
}

/// Makes `worker` this thread's worker until the guard drops.
pub(crate) fn set_current(worker: &WorkerContext) -> CurrentGuard<'_> {
    let prev = CURRENT.with(|c| c.replace(worker));
    CurrentGuard {
        prev,
        _worker: PhantomData,
    }
}

pub(crate) struct CurrentGuard<'a> {
    prev: *const WorkerContext,
    _worker: PhantomData<&'a WorkerContext>,
}

impl Drop for CurrentGuard<'_> {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

/// The index of the worker this thread is, while it holds its core.
pub(crate) fn current_index() -> Option<usize> {
    with_current(|cx| {
        let core = cx?.core.try_borrow().ok()?;
        core.as_ref().map(|core| core.index)
    })
}

/// Runs `f` with this thread's worker, if it is one.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&WorkerContext>) -> R) -> R {
    let ptr = CURRENT.try_with(Cell::get).unwrap_or(std::ptr::null());
    // SAFETY: the pointer is set only by `set_current`, whose guard restores
    // the previous one before the `WorkerContext` it borrows goes away, and
    // it is only read on its own thread.
    f(unsafe { ptr.as_ref() })
}

/// The thread-local view of the worker that runs on this thread.
pub(crate) struct WorkerContext {
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) core: RefCell<Option<Box<Core>>>,
    /// The runtime's services, for a thread this worker hands its core to.
    services: ServiceSet,
    /// What `block_in_place` does here when the core cannot be handed off
    /// (the current-thread flavour): set while a `block_on`'s own future is
    /// polled, `Refuse` while tasks run.
    pub(crate) block_in_place: Cell<BlockInPlace>,
}

/// What `block_in_place` does on a current-thread runtime's worker, which
/// has no other thread to hand its core to. As tokio's: inside
/// `Runtime::block_on` it refuses (the thread is the runtime's only
/// worker), inside `Handle::block_on` it runs the closure in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockInPlace {
    /// Run the closure right here; the runtime's tasks wait for it.
    InPlace,
    /// Panic: the caller asked for the worker not to be blocked.
    Refuse,
}

impl Core {
    pub(crate) fn new(index: usize, driver: Arc<DriverSlot>, config: &Config) -> (Core, Remote) {
        let (run_queue, steal) = queue::local(config);
        let park = Parker::new(Some(driver));
        let remote = Remote {
            steal,
            unpark: park.unparker(),
            metrics: CachePadded::new(WorkerMetrics::new(config.poll_time_histogram)),
        };
        let core = Core {
            index,
            tick: 0,
            inject_first: Every::new(config.global_queue_interval),
            events: Every::new(config.event_interval),
            lifo_slot: None,
            lifo_enabled: true,
            run_queue,
            deferred: Vec::new(),
            is_searching: false,
            is_shutdown: false,
            park: Some(park),
            rand: FastRand::new(index as u64),
            stats: WorkerStats::new(),
        };
        (core, remote)
    }

    /// A task woken on this worker's thread.
    pub(crate) fn schedule_local(&mut self, scheduler: &Scheduler, task: Notified, lifo: bool) {
        // While parked in the driver (`park` taken) this worker is about to
        // run the task itself: the driver woke it.
        let in_driver = self.park.is_none();
        scheduler.remotes[self.index]
            .metrics
            .scheduled_locally(in_driver);
        if lifo && self.lifo_enabled && scheduler.config.lifo_slot {
            match self.lifo_slot.replace(task) {
                // Only the LIFO slot changed: nothing another worker could steal.
                None => return,
                Some(prev) => self.run_queue.push(prev),
            }
        } else {
            // A spawned task, or a woken one past the slot's turns for this
            // tick, queues. Alone there it runs next, as from the slot, and
            // unlike the slot the queue can be stolen from: no ask, as for
            // the slot. (A chain of spawns, or a mutex convoy handing the
            // lock on at every unlock, asked each time and woke the other
            // worker to find nothing.) If the poll that queued it keeps its
            // thread instead, the watchdog wakes a sleeper to take it. With
            // the slot switched off in the Builder every push still asks:
            // tasks reachable by others at once is what that switch is for.
            let alone =
                scheduler.config.lifo_slot && self.lifo_slot.is_none() && self.run_queue.is_empty();
            self.run_queue.push(task);
            if alone {
                return;
            }
        }
        if in_driver {
            return;
        }
        // Every other push asks, however long the poll that made it runs: a
        // worker woken by an earlier push may have emptied the queue and
        // parked since. (Asking once per poll lost the children of a task
        // that spawned them and then kept its thread: the woken worker took
        // the first child, found nothing more yet, and slept.) An ask that
        // finds a searcher or nobody asleep is a fence and a load.
        scheduler.notify_parked();
    }

    /// A task that woke itself while running on this worker.
    pub(crate) fn defer(&mut self, task: Notified) {
        self.deferred.push(task);
    }

    /// Every `DEFER_INTERVAL` ticks: the oldest deferred task runs next
    /// (from the LIFO slot, if free), the rest go to the back of the queue.
    fn release_deferred(&mut self) {
        let mut deferred = self.deferred.drain(..);
        if self.lifo_slot.is_none() {
            self.lifo_slot = deferred.next();
        }
        for task in deferred {
            self.run_queue.push(task);
        }
    }

    /// Moves the deferred tasks to the back of the queue.
    fn flush_deferred(&mut self) {
        for task in self.deferred.drain(..) {
            self.run_queue.push(task);
        }
    }

    pub(crate) fn next_task(&mut self, scheduler: &Scheduler) -> Option<Notified> {
        if self
            .inject_first
            .due(scheduler.config.global_queue_interval)
        {
            // A batch, not one task: while local tasks keep coming back (a
            // yield loop), one remote task per interval would starve the
            // injector. The batch queues behind the local tasks.
            if let Some(task) = scheduler.inject.steal_into(&self.run_queue) {
                return Some(task);
            }
        }
        self.next_local_task()
            .or_else(|| scheduler.inject.steal_into(&self.run_queue))
    }

    /// Whether tasks wait in `deferred` (then the worker yields to the
    /// driver rather than park).
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    fn next_local_task(&mut self) -> Option<Notified> {
        self.lifo_slot.take().or_else(|| self.run_queue.pop())
    }

    pub(crate) fn has_tasks(&self) -> bool {
        self.lifo_slot.is_some() || !self.run_queue.is_empty() || !self.deferred.is_empty()
    }

    /// After the driver filled our queue (timers fired, I/O ready): wake a
    /// sleeper to steal if there is more than we are about to run, unless
    /// we are searching, in which case the last-searcher rule does it.
    fn notify_if_backlog(&self, scheduler: &Scheduler) {
        if !self.is_searching && usize::from(self.lifo_slot.is_some()) + self.run_queue.len() > 1 {
            scheduler.notify_parked();
        }
    }

    pub(crate) fn steal_work(&mut self, scheduler: &Scheduler) -> Option<Notified> {
        if !self.is_searching {
            self.is_searching = scheduler.idle.transition_worker_to_searching();
        }
        if !self.is_searching {
            return None;
        }
        let n = scheduler.remotes.len();
        let mut victim = self.rand.below(n);
        for _ in 0..n {
            victim = if victim + 1 == n { 0 } else { victim + 1 };
            if victim == self.index {
                continue;
            }
            let before = self.run_queue.len();
            if let Some(task) = scheduler.remotes[victim].steal.steal_into(&self.run_queue) {
                // The task returned, and the batch that came with it.
                let batch = self.run_queue.len().saturating_sub(before);
                scheduler.remotes[self.index]
                    .metrics
                    .stole(1 + batch as u64);
                return Some(task);
            }
        }
        scheduler.inject.steal_into(&self.run_queue)
    }

    /// Searches a little longer before parking, after a task this worker
    /// ran woke a `block_on` thread that was awake: that thread is likely
    /// to answer with a request at once (a request/reply loop), and a
    /// worker found searching takes it without anyone's wake-up. Only while
    /// no worker has a task to run, so the spin takes no core from one
    /// (`spin.rs` has the limit). A task found leaves the searchers as any
    /// does, in `run_task`.
    fn search_for_request(&mut self, scheduler: &Scheduler) -> Option<Notified> {
        #[cfg(not(any(loom, miri)))]
        {
            super::spin::search_briefly(
                || scheduler.idle.no_worker_busy(),
                || self.steal_work(scheduler),
            )
        }
        // No clock under loom and miri: one more look, on the same terms.
        #[cfg(any(loom, miri))]
        {
            if scheduler.idle.no_worker_busy() {
                self.steal_work(scheduler)
            } else {
                None
            }
        }
    }

    /// Found work: stops searching, if it was. The last searcher out wakes
    /// a sleeper only if a queue still holds work: every push that saw a
    /// searcher and so asked nobody is in a queue by then (the look after
    /// the idle-state change pairs with the fence each push makes), and a
    /// push after it asks for itself. tokio's last searcher wakes one
    /// unconditionally, in case more comes; with one task to run (a
    /// request, a short burst a worker took whole) that woke the other
    /// worker for nothing, or to steal and run late what this worker was
    /// about to run (docs/benchmarks.md).
    fn transition_from_searching(&mut self, scheduler: &Scheduler) {
        if !self.is_searching {
            return;
        }
        self.is_searching = false;
        if scheduler.idle.transition_worker_from_searching() {
            scheduler.notify_if_work_pending();
        }
    }

    /// False when there is local work after all (do not park).
    pub(crate) fn transition_to_parked(&mut self, scheduler: &Scheduler) -> bool {
        if self.has_tasks() {
            return false;
        }
        scheduler
            .idle
            .transition_worker_to_parked(self.index, self.is_searching);
        self.is_searching = false;
        // Every sleeper, not only the last searcher, looks once more after
        // registering: a searcher that found work while we were on our way
        // here could not wake us yet, and what it left queued is ours.
        scheduler.notify_if_work_pending();
        true
    }

    /// True when the worker should leave park.
    pub(crate) fn transition_from_parked(&mut self, scheduler: &Scheduler) -> bool {
        if self.has_tasks() {
            // Woken by work delivered to us (the driver ran on this thread).
            self.leave_park(scheduler);
            return true;
        }
        if scheduler.idle.is_parked(self.index) {
            return false;
        }
        // Unparked by a notifier: we start out searching.
        self.is_searching = true;
        true
    }

    /// Leaves the sleeper list of our own accord (work arrived for us).
    pub(crate) fn leave_park(&mut self, scheduler: &Scheduler) {
        if !scheduler.idle.unpark_worker_by_id(self.index) {
            // A notifier took us off the list and counted us searching.
            self.is_searching = true;
        }
    }

    /// Drops every queued entry (shutdown: the tasks of plain entries are
    /// already cancelled; a carried entry cancels its task as it drops).
    pub(crate) fn drain_queues(&mut self) {
        drop(self.lifo_slot.take());
        self.deferred.clear();
        while let Some(task) = self.run_queue.pop() {
            drop(task);
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.drain_queues();
    }
}

impl WorkerContext {
    pub(crate) fn new(scheduler: Arc<Scheduler>, services: ServiceSet) -> WorkerContext {
        WorkerContext {
            scheduler,
            core: RefCell::new(None),
            services,
            block_in_place: Cell::new(BlockInPlace::Refuse),
        }
    }

    /// The multi-thread worker loop. Returns the core at shutdown, or `None`
    /// when `block_in_place` took it to another thread.
    pub(crate) fn run(&self, mut core: Box<Core>) -> Option<Box<Core>> {
        let scheduler = &*self.scheduler;
        while !core.is_shutdown {
            core.tick = core.tick.wrapping_add(1);
            core = self.maintenance(core);
            if let Some(task) = core.next_task(scheduler) {
                core = self.run_task(task, core)?;
                continue;
            }
            if let Some(task) = core.steal_work(scheduler) {
                core = self.run_task(task, core)?;
                continue;
            }
            if park::take_woke_awake_thread() {
                if let Some(task) = core.search_for_request(scheduler) {
                    core = self.run_task(task, core)?;
                    continue;
                }
            }
            core = if core.has_deferred() {
                self.park_yield(core)
            } else {
                self.park(core)
            };
        }
        Some(core)
    }

    /// Runs one task and its LIFO successors under one cooperative budget.
    pub(crate) fn run_task(&self, task: Notified, mut core: Box<Core>) -> Option<Box<Core>> {
        core.transition_from_searching(&self.scheduler);
        core.lifo_enabled = true;
        let metrics = self.metrics(&core);
        *self.core.borrow_mut() = Some(core);
        coop::budget(|| {
            let mut task = task;
            let mut lifo_polls = 0;
            loop {
                let started = metrics.poll_started(task.id().as_u64());
                task.run();
                // A core handed off by `block_in_place` is another thread's
                // now, and so are its counters.
                let mut core = self.core.borrow_mut().take()?;
                metrics.poll_ended(started);
                let Some(next) = core.lifo_slot.take() else {
                    return Some(core);
                };
                if !coop::has_budget_remaining() {
                    core.run_queue.push(next);
                    return Some(core);
                }
                lifo_polls += 1;
                if lifo_polls >= MAX_LIFO_POLLS_PER_TICK {
                    core.lifo_enabled = false;
                }
                *self.core.borrow_mut() = Some(core);
                task = next;
            }
        })
    }

    pub(crate) fn maintenance(&self, mut core: Box<Core>) -> Box<Core> {
        if core.tick % DEFER_INTERVAL == 0 {
            core.release_deferred();
        }
        if core.events.due(self.scheduler.config.event_interval) {
            let now = coarse::refresh();
            let metrics = &self.scheduler.remotes[core.index].metrics;
            core.stats.settle(metrics, now);
            core = self.with_core_parked(core, |_| self.scheduler.driver.poll());
            core.notify_if_backlog(&self.scheduler);
            if self.scheduler.is_shutdown() {
                core.is_shutdown = true;
            }
        }
        core
    }

    /// Out of work but for deferred tasks: processes what the driver has
    /// ready without blocking, then queues the deferred tasks behind
    /// whatever that woke.
    pub(crate) fn park_yield(&self, mut core: Box<Core>) -> Box<Core> {
        core = self.with_core_parked(core, |_| self.scheduler.driver.poll());
        core.flush_deferred();
        core.notify_if_backlog(&self.scheduler);
        core
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        if let Some(hook) = &self.scheduler.config.before_park {
            core = self.with_core_stored(core, || run_hook(hook));
        }
        if core.transition_to_parked(&self.scheduler) {
            while !core.is_shutdown {
                core = self.park_counted(core);
                if self.scheduler.is_shutdown() {
                    core.is_shutdown = true;
                }
                if core.transition_from_parked(&self.scheduler) {
                    core.notify_if_backlog(&self.scheduler);
                    break;
                }
            }
        }
        if let Some(hook) = &self.scheduler.config.after_unpark {
            core = self.with_core_stored(core, || run_hook(hook));
        }
        core
    }

    /// Parks until unparked, counted in the worker's metrics.
    pub(crate) fn park_counted(&self, mut core: Box<Core>) -> Box<Core> {
        let metrics = self.metrics(&core);
        core.stats.about_to_park(metrics);
        core = self.with_core_parked(core, |park| park.park(None));
        core.stats.unparked(metrics);
        core
    }

    /// The counters of `core`'s worker.
    pub(crate) fn metrics(&self, core: &Core) -> &WorkerMetrics {
        &self.scheduler.remotes[core.index].metrics
    }

    /// Runs `f` with the core stored in the context, so that tasks it
    /// spawns or wakes land on this worker.
    pub(crate) fn with_core_stored(&self, core: Box<Core>, f: impl FnOnce()) -> Box<Core> {
        *self.core.borrow_mut() = Some(core);
        f();
        self.core
            .borrow_mut()
            .take()
            .expect("core is in the context while a hook runs")
    }

    /// Runs `f` with the parker taken out of the core and the core stored in
    /// the context, so that tasks the driver wakes land in our LIFO slot.
    pub(crate) fn with_core_parked(
        &self,
        mut core: Box<Core>,
        f: impl FnOnce(&mut Parker),
    ) -> Box<Core> {
        let mut park = core.park.take().expect("parker is in the core");
        *self.core.borrow_mut() = Some(core);
        f(&mut park);
        let mut core = self
            .core
            .borrow_mut()
            .take()
            .expect("core is in the context while parked");
        core.park = Some(park);
        core
    }
}

/// The body of a multi-thread worker thread: `services` are the runtime's,
/// made current on the thread.
pub(crate) fn run_worker(scheduler: Arc<Scheduler>, core: Box<Core>, services: ServiceSet) {
    let _current = services.clone().enter();
    let (_driving, _) = context::set_driving_tasks(true);
    context::set_worker_thread(core.index);
    let cx = WorkerContext::new(scheduler, services);
    let _worker = set_current(&cx);
    let mut core = core;
    let metrics = &cx.scheduler.remotes[core.index].metrics;
    metrics.set_thread();
    core.stats.start_busy(metrics);
    if let Some(core) = cx.run(core) {
        cx.scheduler.shutdown_core(*core);
    }
}

/// Runs blocking `f` on this worker's thread after moving the worker's core
/// (its queue and LIFO slot) to a new thread, so the other tasks keep
/// running; this thread finishes the current task and then leaves the pool.
/// Outside a worker, or with the core already gone, it just runs `f`.
///
/// The closure runs without a cooperative budget, as tokio's does.
///
/// # Panics
/// On the current-thread flavour inside `Runtime::block_on` or a task,
/// where the thread is the runtime's only worker (inside
/// `Handle::block_on` the closure runs in place instead), and inside a
/// `LocalSet`, whose tasks must stay on this thread.
#[track_caller]
pub(crate) fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    if crate::task::is_running_local_set() {
        panic!(
            "weft::task::block_in_place: can call blocking only when running on the \
             multi-threaded runtime, not inside a LocalSet, whose tasks must stay on this \
             thread. Use weft::task::spawn_blocking."
        );
    }
    let handed_off = with_current(|cx| {
        let Some(cx) = cx else { return Ok(false) };
        if cx.scheduler.flavor == RuntimeFlavor::CurrentThread {
            return match cx.block_in_place.get() {
                BlockInPlace::InPlace => Ok(false),
                BlockInPlace::Refuse => Err(()),
            };
        }
        let core = cx.core.borrow_mut().take();
        let Some(core) = core else { return Ok(false) };
        // The poll goes on here, off the worker: its blocking is allowed,
        // and the watchdog must not see the worker as stuck in it.
        cx.metrics(&core).poll_ended(None);
        match hand_off(cx, core) {
            Ok(()) => Ok(true),
            Err(core) => {
                // No thread could be started: block this worker instead.
                *cx.core.borrow_mut() = Some(core);
                Ok(false)
            }
        }
    });
    if handed_off.is_err() {
        panic!(
            "weft::task::block_in_place: can call blocking only when running on the \
             multi-threaded runtime; the current-thread runtime has no other thread to take \
             over its tasks. Use weft::task::spawn_blocking, or the multi-thread runtime."
        );
    }
    let (_outside, _) = context::set_driving_tasks(false);
    // As tokio's: no budget inside. The closure may drive futures itself
    // (`futures::executor::block_on`), which a spent budget would stall:
    // they would be told to yield to a scheduler that is not running them.
    coop::unconstrained(f)
}

/// Moves `core` to a new worker thread. Gives the core back if no thread
/// could be started.
fn hand_off(cx: &WorkerContext, core: Box<Core>) -> Result<(), Box<Core>> {
    // The core travels through a slot so that a failed spawn returns it.
    let slot = Arc::new(weft_base::loom::Mutex::new(Some(core)));
    let theirs = slot.clone();
    let scheduler = cx.scheduler.clone();
    let services = cx.services.clone();
    let spawned = cx.scheduler.spawn_thread(move || {
        let core = theirs.lock().take();
        if let Some(core) = core {
            run_worker(scheduler, core, services);
        }
    });
    match spawned {
        Ok(()) => Ok(()),
        Err(_) => Err(slot
            .lock()
            .take()
            .expect("core not taken by a thread that never started")),
    }
}
