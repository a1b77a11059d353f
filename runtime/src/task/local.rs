//! `LocalSet` and `spawn_local`: tasks that are not `Send`, run on the one
//! thread that owns the set, inside whatever task or `block_on` drives it.
//!
//! A local task is an ordinary task cell (so it has a `JoinHandle`, an id,
//! abort and `JoinError` like any other) made with `cell::new_local` and
//! scheduled on the set's own queue instead of a worker's. The set runs its
//! queue only while it is driven: inside [`LocalSet::run_until`] (and
//! `block_on`), or while a `LocalSet` is awaited.
//!
//! Invariants that keep a `!Send` future on its thread (the contract of
//! `cell::new_local`): `LocalSet` is neither `Send` nor `Sync`; tasks are
//! bound to it only on its thread (through `&LocalSet`, or through this
//! thread's current set); its queue is run only by its own methods; and its
//! `Drop`, on that thread, closes the queue and drops every task's future
//! before anything else can. A wake from another thread only pushes the
//! task onto the queue (or, once the set is gone, drops the queue entry,
//! whose task was already shut down).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::cell::{self, Header, Id, JoinHandle, Meta, Notified, OwnedTasks, Schedule};
use crate::runtime::services::Services;
use crate::runtime::{Handle, Runtime};
use std::thread::ThreadId;
use weft_base::context;
use weft_base::coop;
use weft_base::loom::Mutex;

/// Local tasks run per turn of the set before it yields to the runtime
/// (tokio's number).
const MAX_TASKS_PER_TICK: usize = 61;

/// The message of `spawn_local` where no set is current (tokio's words, so
/// that code matching on it keeps working).
const NO_LOCAL_SET: &str =
    "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`";

/// The message of `spawn_local` under a `LocalRuntime` entered on another
/// thread (tokio's words).
const WRONG_THREAD: &str = "Local tasks can only be spawned on a LocalRuntime from the thread \
                            the runtime was created on";

weft_base::loom::thread_local! {
    /// The set this thread is running or has entered; `spawn_local` spawns
    /// onto it. Holds a count, so a forgotten guard cannot leave it dangling.
    static CURRENT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

weft_base::loom::thread_local! {
    /// How many local sets this thread is running (polling), nested.
    static RUNNING: Cell<usize> = const { Cell::new(0) };
}

/// True while this thread runs a local set (its `run_until`, or a poll of
/// the set): `block_in_place` must not move this thread's worker then, as
/// in tokio.
pub(crate) fn is_running() -> bool {
    RUNNING.try_with(Cell::get).unwrap_or(0) > 0
}

/// Counts this thread as running a local set until dropped.
struct Running;

impl Running {
    /// `None` while the thread is exiting and its locals are gone.
    fn start() -> Option<Running> {
        RUNNING
            .try_with(|running| running.set(running.get() + 1))
            .ok()
            .map(|()| Running)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = RUNNING.try_with(|running| running.set(running.get() - 1));
    }
}

/// A set of tasks that all run on the current thread, so they need not be
/// `Send`: for `Rc`, `RefCell` and other thread-bound state in async code.
///
/// The tasks run while the set is driven: by [`run_until`](Self::run_until)
/// (or [`block_on`](Self::block_on)), which runs them alongside a future
/// until that future completes, or by awaiting the set itself, which runs
/// until every task in it has finished. Inside, [`spawn_local`] adds tasks
/// to the set. Dropping the set drops every task still in it.
///
/// ```
/// use std::rc::Rc;
/// use weft_runtime::task::{self, LocalSet};
///
/// let rt = weft_runtime::runtime::Builder::new_current_thread().build().unwrap();
/// let local = LocalSet::new();
/// let shared = Rc::new(5);
/// let out = local.block_on(&rt, async {
///     let shared = shared.clone();
///     task::spawn_local(async move { *shared * 2 }).await.unwrap()
/// });
/// assert_eq!(out, 10);
/// ```
pub struct LocalSet {
    shared: Arc<Shared>,
    /// Neither `Send` nor `Sync`: the tasks belong to this thread.
    _not_send: PhantomData<*const ()>,
}

/// A `LocalRuntime`'s set, as its runtime's services hold it: found by
/// `spawn_local` under `Handle::enter`, used only on `thread`.
pub(crate) struct LocalOwner {
    thread: ThreadId,
    set: Arc<Shared>,
}

/// What the tasks of one set reach it through (their `Schedule`), from any
/// thread.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    /// The task or `block_on` driving the set, woken when a task is queued.
    waker: Mutex<Option<Waker>>,
    owned: OwnedTasks,
}

struct Queue {
    tasks: VecDeque<Notified>,
    /// Set when the `LocalSet` drops: later entries are dropped, not kept.
    closed: bool,
}

impl Shared {
    fn wake_driver(&self) {
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        match &*slot {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    fn pop(&self) -> Option<Notified> {
        self.queue.lock().tasks.pop_front()
    }

    /// Spawns `future` onto this set. The caller is on the set's thread.
    #[track_caller]
    fn spawn<F>(self: &Arc<Self>, future: F, name: Option<Arc<String>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // Only this set's thread runs its queue (a `LocalSet` is neither
        // `Send` nor `Sync`; `CURRENT` is a thread-local) and we are on it
        // (the caller holds the set or found it current here).
        // SAFETY: `new_local`'s contract, then: the task is polled and
        // dropped on this thread, and the set's `Drop` shuts its owned list
        // down here.
        let cell = unsafe { cell::new_local(future, self.clone(), Id::next(), Meta::here(name)) };
        let (task, notified, join) = cell;
        if let Some(notified) = self.owned.bind(task, notified) {
            self.schedule(notified);
        }
        join
    }
}

impl Schedule for Shared {
    fn schedule(&self, task: Notified) {
        {
            let mut queue = self.queue.lock();
            if queue.closed {
                // The set is gone and so is the task's future: this entry
                // only holds a count.
                drop(queue);
                drop(task);
                return;
            }
            queue.tasks.push_back(task);
        }
        self.wake_driver();
    }

    fn defer(&self, task: Notified) -> Result<(), Notified> {
        // To the back of the queue, like any other wake.
        Err(task)
    }

    fn release(&self, task: &Header) -> bool {
        self.owned.remove(task)
    }
}

/// Makes a set current on this thread until dropped; see
/// [`LocalSet::enter`].
#[must_use = "the set is current only while the guard lives"]
pub struct LocalEnterGuard {
    prev: Option<Arc<Shared>>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for LocalEnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = prev);
    }
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}

impl LocalSet {
    /// An empty set.
    pub fn new() -> LocalSet {
        LocalSet {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    tasks: VecDeque::new(),
                    closed: false,
                }),
                waker: Mutex::new(None),
                owned: OwnedTasks::new(1),
            }),
            _not_send: PhantomData,
        }
    }

    /// Makes this set current on this thread until the guard drops, so that
    /// [`spawn_local`] adds to it. The tasks still run only when the set is
    /// driven.
    pub fn enter(&self) -> LocalEnterGuard {
        self.try_enter()
            .expect("LocalSet::enter called while the thread is exiting")
    }

    /// Enters the set, unless the thread is exiting and its locals are
    /// gone (a set kept in a thread-local drops then).
    fn try_enter(&self) -> Option<LocalEnterGuard> {
        let prev = CURRENT
            .try_with(|current| current.borrow_mut().replace(self.shared.clone()))
            .ok()?;
        Some(LocalEnterGuard {
            prev,
            _not_send: PhantomData,
        })
    }

    /// Makes this set the one `spawn_local` finds through `services` on
    /// this thread (a `LocalRuntime`'s).
    pub(crate) fn attach_to(&self, services: &Services) {
        let owner = LocalOwner {
            thread: std::thread::current().id(),
            set: self.shared.clone(),
        };
        let _ = services.local.set(owner);
    }

    /// Adds a task to this set. It starts when the set is next driven.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.shared.spawn(future, None)
    }

    /// Adds a named task to this set (`task::Builder`).
    #[track_caller]
    pub(crate) fn spawn_local_named<F>(
        &self,
        future: F,
        name: Option<Arc<String>>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.shared.spawn(future, name)
    }

    /// Runs `future` on `rt`, with this set's tasks, until `future`
    /// completes; the tasks still running then stay in the set.
    ///
    /// # Panics
    /// Where [`Runtime::block_on`] would (inside an async context).
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Runs `future` and this set's tasks, on the task that awaits this,
    /// until `future` completes; the tasks still running then stay in the
    /// set (and run again the next time it is driven).
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        RunUntil {
            set: self,
            future: std::pin::pin!(future),
        }
        .await
    }

    /// True when every task of the set has finished (finished tasks leave
    /// the owned list as they complete).
    fn is_idle(&self) -> bool {
        self.shared.owned.len() == 0
    }

    /// Runs up to a turn's worth of queued tasks, each under its own
    /// budget. True when tasks are still queued after it.
    fn tick(&self) -> bool {
        for _ in 0..MAX_TASKS_PER_TICK {
            let Some(task) = self.shared.pop() else {
                return false;
            };
            coop::budget(|| task.run());
        }
        !self.shared.queue.lock().tasks.is_empty()
    }
}

/// The future of [`LocalSet::run_until`].
struct RunUntil<'a, F> {
    set: &'a LocalSet,
    future: Pin<&'a mut F>,
}

impl<F: Future> Future for RunUntil<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _current = this.set.enter();
        let _running = Running::start();
        this.set.shared.register(cx.waker());
        if let Poll::Ready(out) = coop::budget(|| this.future.as_mut().poll(cx)) {
            return Poll::Ready(out);
        }
        if this.set.tick() {
            // More tasks than one turn runs: yield to the runtime, then go on.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Awaiting a set runs its tasks until every one has finished.
impl Future for LocalSet {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let _current = this.enter();
        let _running = Running::start();
        this.shared.register(cx.waker());
        if this.tick() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if this.is_idle() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Default for LocalSet {
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        // Current and running while the futures drop: their destructors may
        // look for it, and must not block in place.
        let _current = self.try_enter();
        let _running = Running::start();
        self.shared.queue.lock().closed = true;
        // Drops every future still in the set, here on its thread.
        self.shared.owned.close_and_shutdown_all(0);
        let queued = std::mem::take(&mut self.shared.queue.lock().tasks);
        drop(queued);
        drop(self.shared.waker.lock().take());
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet").finish_non_exhaustive()
    }
}

/// Spawns a `!Send` task onto the [`LocalSet`] (or `LocalRuntime`) that
/// this thread is running or has entered.
///
/// ```
/// use std::rc::Rc;
///
/// let rt = weft_runtime::runtime::Builder::new_current_thread().build().unwrap();
/// let local = weft_runtime::task::LocalSet::new();
/// local.block_on(&rt, async {
///     let rc = Rc::new("not Send");
///     let task = weft_runtime::task::spawn_local(async move { *rc });
///     assert_eq!(task.await.unwrap(), "not Send");
/// });
/// ```
///
/// # Panics
/// Where no local set is current (tokio's message).
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match current() {
        Ok(shared) => shared.spawn(future, None),
        Err(message) => panic!("{message}"),
    }
}

/// Spawns onto the current local set under `name`, or says there is none.
#[track_caller]
pub(crate) fn try_spawn_local_named<F>(
    future: F,
    name: Option<Arc<String>>,
) -> Result<JoinHandle<F::Output>, &'static str>
where
    F: Future + 'static,
    F::Output: 'static,
{
    // Not through a closure: the spawn location must be our caller's.
    match current() {
        Ok(shared) => Ok(shared.spawn(future, name)),
        Err(err) => Err(err),
    }
}

/// The set `spawn_local` spawns onto here: the one this thread runs or
/// entered, else the current runtime's if it is a `LocalRuntime` of this
/// thread; or why there is none.
fn current() -> Result<Arc<Shared>, &'static str> {
    let entered = CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten();
    if let Some(shared) = entered {
        return Ok(shared);
    }
    let runtimes = context::with_current::<Handle, _>(|services| {
        services
            .and_then(|services| services.local.get())
            .map(|owner| (owner.thread, owner.set.clone()))
    });
    match runtimes {
        Some((thread, set)) if thread == std::thread::current().id() => Ok(set),
        Some(_) => Err(WRONG_THREAD),
        None => Err(NO_LOCAL_SET),
    }
}
