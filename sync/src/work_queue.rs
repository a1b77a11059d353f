//! `WorkQueue`: an asyncio-style queue of work items with `task_done` and
//! `join`.
//!
//! A mutex-guarded `VecDeque` and an `unfinished` count (items put and not
//! yet marked done), with three [`Notify`]s: getters (one `notify_one` per
//! put), putters (one `notify_one` per get, bounded queues only) and
//! joiners (`notify_waiters` when `unfinished` reaches zero). Invariant: a
//! task about to wait registers its `Notified` while still holding the
//! queue lock, so the put/get that would release it (which needs that lock
//! first) cannot slip in between its check and its registration.

use std::collections::VecDeque;
use std::fmt;
use std::pin::pin;

use crate::notify::Notify;
use weft_base::loom::Mutex;

/// A FIFO work queue, bounded or unbounded, that knows when all work put
/// into it has been done.
///
/// ```
/// use weft_sync::WorkQueue;
/// use futures::future::join;
///
/// let q = WorkQueue::bounded(2);
/// futures::executor::block_on(async {
///     let worker = async {
///         for _ in 0..3 {
///             let item: u32 = q.get().await;
///             assert!(item < 3);
///             q.task_done();
///         }
///     };
///     let producer = async {
///         for i in 0..3 {
///             q.put(i).await;
///         }
///         q.join().await; // every item put has been marked done
///     };
///     join(worker, producer).await;
/// });
/// ```
pub struct WorkQueue<T> {
    state: Mutex<State<T>>,
    capacity: Option<usize>,
    getters: Notify,
    putters: Notify,
    joiners: Notify,
}

struct State<T> {
    items: VecDeque<T>,
    unfinished: usize,
}

/// The queue was full; the item is handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct QueueFull<T>(pub T);

impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull(..)")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("work queue full")
    }
}

impl<T> std::error::Error for QueueFull<T> {}

impl<T> WorkQueue<T> {
    /// A queue with no size limit: `put` never waits.
    pub fn unbounded() -> WorkQueue<T> {
        Self::with_capacity(None)
    }

    /// A queue holding at most `capacity` items: `put` waits while full.
    ///
    /// # Panics
    ///
    /// If `capacity` is zero.
    pub fn bounded(capacity: usize) -> WorkQueue<T> {
        assert!(capacity > 0, "WorkQueue capacity must be > 0");
        Self::with_capacity(Some(capacity))
    }

    fn with_capacity(capacity: Option<usize>) -> WorkQueue<T> {
        WorkQueue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                unfinished: 0,
            }),
            capacity,
            getters: Notify::new(),
            putters: Notify::new(),
            joiners: Notify::new(),
        }
    }

    fn has_room(&self, state: &State<T>) -> bool {
        self.capacity.is_none_or(|cap| state.items.len() < cap)
    }

    /// Puts `item` at the back, waiting while a bounded queue is full.
    /// Counts one more unfinished item. Cancel-safe: if the future is
    /// dropped before it completes, the item was not put (it is dropped).
    pub async fn put(&self, item: T) {
        let mut item = Some(item);
        loop {
            let mut room = pin!(self.putters.notified());
            {
                let mut state = self.state.lock();
                if self.has_room(&state) {
                    state.items.push_back(item.take().expect("put once"));
                    state.unfinished += 1;
                    drop(state);
                    self.getters.notify_one();
                    return;
                }
                room.as_mut().enable();
            }
            room.await;
        }
    }

    /// Puts `item` if there is room now.
    pub fn try_put(&self, item: T) -> Result<(), QueueFull<T>> {
        let mut state = self.state.lock();
        if !self.has_room(&state) {
            return Err(QueueFull(item));
        }
        state.items.push_back(item);
        state.unfinished += 1;
        drop(state);
        self.getters.notify_one();
        Ok(())
    }

    /// Takes the front item, waiting while the queue is empty. Cancel-safe:
    /// a dropped `get` takes no item and passes its wakeup on.
    pub async fn get(&self) -> T {
        loop {
            let mut ready = pin!(self.getters.notified());
            {
                let mut state = self.state.lock();
                if let Some(item) = state.items.pop_front() {
                    drop(state);
                    if self.capacity.is_some() {
                        self.putters.notify_one();
                    }
                    return item;
                }
                ready.as_mut().enable();
            }
            ready.await;
        }
    }

    /// Takes the front item if there is one now.
    pub fn try_get(&self) -> Option<T> {
        let item = self.state.lock().items.pop_front()?;
        if self.capacity.is_some() {
            self.putters.notify_one();
        }
        Some(item)
    }

    /// Marks one item taken with `get` as done; when every item put has
    /// been marked done, `join` completes.
    ///
    /// # Panics
    ///
    /// If called more times than items were put (asyncio's `ValueError`).
    pub fn task_done(&self) {
        let mut state = self.state.lock();
        assert!(
            state.unfinished > 0,
            "WorkQueue::task_done() called more times than items were put"
        );
        state.unfinished -= 1;
        let all_done = state.unfinished == 0;
        drop(state);
        if all_done {
            self.joiners.notify_waiters();
        }
    }

    /// Waits until every item put so far has been marked done (at once if
    /// none is pending). Cancel-safe.
    pub async fn join(&self) {
        loop {
            // Created before the check: a `notify_waiters` after it counts.
            let done = self.joiners.notified();
            if self.state.lock().unfinished == 0 {
                return;
            }
            done.await;
        }
    }

    /// How many items are queued now.
    pub fn len(&self) -> usize {
        self.state.lock().items.len()
    }

    /// Whether no item is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many items were put and not yet marked done.
    pub fn unfinished(&self) -> usize {
        self.state.lock().unfinished
    }

    /// The bound, if any.
    pub fn capacity(&self) -> Option<usize> {
        self.capacity
    }
}

impl<T> fmt::Debug for WorkQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("WorkQueue")
            .field("len", &state.items.len())
            .field("unfinished", &state.unfinished)
            .field("capacity", &self.capacity)
            .finish()
    }
}
