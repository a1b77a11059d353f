//! `JoinSet`: a group of tasks awaited in completion order — the `gather` /
//! `TaskGroup` of weft.
//!
//! Each slot has its own waker (made once, reused by later occupants) that
//! queues the slot on a ready list (`ready.rs`) and wakes whoever waits in
//! `join_next`, so collecting N tasks costs O(N) polls, not O(N²). A stale
//! index (its task already collected) only costs a look at an empty slot.

use std::fmt;
use std::future::{poll_fn, Future};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::ready::ReadyList;
use super::{AbortHandle, Id, JoinError, JoinHandle, LocalSet};
use crate::runtime::Handle;
use weft_base::coop;

/// A set of tasks, awaited as they finish.
///
/// Dropping the set aborts every task still in it.
///
/// A `JoinSet` spawns: its tasks run in parallel on the runtime's workers,
/// so they must be `Send + 'static`, and they can be aborted. To await
/// futures that borrow from the caller, or that are not `Send`, on the
/// current task instead, use [`join_all`](super::join_all) (outputs in input
/// order) or `select!` (the first to finish).
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use weft_runtime::task::JoinSet;
///
/// let mut set = JoinSet::new();
/// for i in 0..10u64 {
///     set.spawn(async move { i * i });
/// }
/// let mut total = 0;
/// while let Some(res) = set.join_next().await {
///     total += res.unwrap();
/// }
/// assert_eq!(total, 285);
/// # });
/// ```
pub struct JoinSet<T> {
    slots: Vec<Option<JoinHandle<T>>>,
    free: Vec<usize>,
    wakers: Vec<Waker>,
    ready: Arc<ReadyList>,
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            slots: Vec::new(),
            free: Vec::new(),
            wakers: Vec::new(),
            ready: ReadyList::new(),
        }
    }

    /// Tasks in the set (finished ones count until collected).
    pub fn len(&self) -> usize {
        // Every slot is occupied or on the free list.
        self.slots.len() - self.free.len()
    }

    /// True when the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a task handle to the set.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = self.slots.len();
                self.slots.push(None);
                self.wakers.push(self.ready.waker(index));
                index
            }
        };
        self.slots[index] = Some(handle);
        // Poll it once so that it registers this slot's waker.
        self.ready.schedule(index);
        abort
    }

    /// Waits for the next task to finish and returns its result, or `None`
    /// when the set is empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Like [`join_next`](Self::join_next), with the id of the task that
    /// finished.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// A finished task's result if one is ready now, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        without_id(self.try_join_next_with_id())
    }

    /// Like [`try_join_next`](Self::try_join_next), with the id of the task
    /// that finished.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        match self.poll_ready(None) {
            Poll::Ready(out) => out,
            Poll::Pending => None,
        }
    }

    /// Polls for the next finished task.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx).map(without_id)
    }

    /// Polls for the next finished task, with its id.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.is_empty() {
            return Poll::Ready(None);
        }
        let restore = std::task::ready!(coop::poll_proceed(cx));
        let out = self.poll_ready(Some(cx.waker()));
        if out.is_ready() {
            restore.made_progress();
        }
        out
    }

    fn poll_ready(&mut self, waiter: Option<&Waker>) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.is_empty() {
            return Poll::Ready(None);
        }
        let JoinSet {
            slots,
            free,
            wakers,
            ready,
        } = self;
        let found = ready.drain(waiter, |index| {
            // A stale index (its task collected or detached) costs nothing.
            let Some(Some(handle)) = slots.get_mut(index) else {
                return ControlFlow::Continue(());
            };
            let id = handle.id();
            let mut slot_cx = Context::from_waker(&wakers[index]);
            match handle.poll_unbudgeted(&mut slot_cx) {
                Poll::Ready(out) => {
                    slots[index] = None;
                    free.push(index);
                    ControlFlow::Break(out.map(|value| (id, value)))
                }
                Poll::Pending => ControlFlow::Continue(()),
            }
        });
        match found {
            ControlFlow::Break(out) => Poll::Ready(Some(out)),
            ControlFlow::Continue(()) => Poll::Pending,
        }
    }

    /// Waits for every task and returns their outputs in completion order —
    /// asyncio's `gather`.
    ///
    /// # Panics
    /// If a task panicked (the panic is resumed here) or was cancelled; the
    /// remaining tasks are aborted when the set drops.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(value) => out.push(value),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("JoinSet::join_all: {err}"),
            }
        }
        out
    }

    /// Aborts every task in the set; they stay in it until collected.
    pub fn abort_all(&mut self) {
        for handle in self.slots.iter().flatten() {
            handle.abort();
        }
    }

    /// Removes every task from the set without aborting it.
    pub fn detach_all(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.wakers.clear();
        // Late wakes of the detached tasks land in the old list.
        self.ready = ReadyList::new();
    }

    /// Aborts every task and waits until all of them have stopped.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

/// The result without the task's id.
fn without_id<T>(out: Option<Result<(Id, T), JoinError>>) -> Option<Result<T, JoinError>> {
    out.map(|res| res.map(|(_, value)| value))
}

impl<T: 'static> JoinSet<T> {
    /// Spawns a task onto the current runtime and adds it to the set.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(super::spawn(future))
    }

    /// Spawns a task onto the runtime of `handle` and adds it to the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn(future))
    }

    /// Spawns a `!Send` task onto the current [`LocalSet`] and adds it to
    /// the set.
    ///
    /// # Panics
    /// Where no `LocalSet` is current; see [`spawn_local`](super::spawn_local).
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(future))
    }

    /// Spawns a `!Send` task onto `local_set` and adds it to the set.
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, future: F, local_set: &LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(local_set.spawn_local(future))
    }

    /// Runs a blocking closure on the blocking pool and adds it to the set.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(super::spawn_blocking(f))
    }

    /// Runs a blocking closure on the blocking pool of `handle`'s runtime
    /// and adds it to the set.
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        self.insert(handle.spawn_blocking(f))
    }
}

/// Collects futures into a set, spawning each on the current runtime.
///
/// # Panics
/// Outside a weft runtime.
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

/// Spawns each future on the current runtime and adds it to the set.
///
/// # Panics
/// Outside a weft runtime.
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for future in iter {
            self.spawn(future);
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}
