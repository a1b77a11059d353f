//! The blocking pool: threads for closures that block (`spawn_blocking`).
//!
//! A bounded pool that grows on demand: a new closure wakes an idle thread
//! or, if none is idle and the bound allows, starts one; a thread idle for
//! `keep_alive` retires. Blocking tasks are ordinary task cells (owned-list
//! member, `JoinHandle`), polled once by a pool thread. At shutdown, as
//! tokio's: a closure that was handed to a thread (one was woken or started
//! for it) before the shutdown runs, the others queued (waiting for a
//! thread under the cap) are cancelled, and running ones cannot be stopped;
//! the shutdown waits for them up to its timeout.
//!
//! When a thread cannot be started (the OS's thread limit): if the pool
//! has threads, all busy, the closure waits in the queue for one of them
//! (tokio does the same); if it has none, nothing would ever run it, so it
//! is cancelled at once and its `JoinHandle` resolves to a cancelled
//! `JoinError` whose source is the OS's error (tokio panics in
//! `spawn_blocking` there). Either way the runtime keeps serving.

mod task;

pub(crate) use task::BlockingTask;

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft_base::context::ServiceSet;

use crate::cell::Notified;
use crate::threads::ThreadConfig;
use crate::threads::ThreadSet;
use weft_base::loom::{wait_timeout, Condvar, Mutex};

/// Queues closures on the pool; shared by the runtime's handles.
#[derive(Clone)]
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Idle threads wait here for work.
    work: Condvar,
    threads: ThreadSet,
    thread_cap: usize,
    keep_alive: Duration,
    config: ThreadConfig,
}

/// A queued closure, and what keeps a paused clock still until it has run
/// and its result is out (current-thread runtimes).
struct Job {
    task: Notified,
    inhibit: Option<weft_timer::AutoAdvanceGuard>,
    /// A thread was woken or started for this closure: it has started, as
    /// far as shutdown is concerned, and runs even if shutdown comes first.
    handed_over: bool,
}

struct State {
    queue: VecDeque<Job>,
    /// Threads that count against the cap (not retiring).
    num_threads: usize,
    num_idle: usize,
    /// Wakeups sent to idle threads and not yet taken (tells real wakeups
    /// from spurious ones).
    num_notify: usize,
    /// Closures queued since the pool was made (a metric).
    num_spawned: u64,
    shutdown: bool,
}

impl Spawner {
    pub(crate) fn new(thread_cap: usize, keep_alive: Duration, config: ThreadConfig) -> Spawner {
        Spawner {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    num_threads: 0,
                    num_idle: 0,
                    num_notify: 0,
                    num_spawned: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                threads: ThreadSet::new(),
                thread_cap,
                keep_alive,
                config,
            }),
        }
    }

    /// Runs `task` on a pool thread; cancels it if the pool has shut down
    /// (or no thread can be started at all). `inhibit` is dropped only once
    /// the task has run (or been cancelled) and woken its `JoinHandle`, so
    /// a paused clock cannot jump in between and beat the result. A thread
    /// started for it is one of the runtime `owner`'s (an address used only
    /// for identity) and runs with `services()` current.
    pub(crate) fn spawn(
        &self,
        task: Notified,
        inhibit: Option<weft_timer::AutoAdvanceGuard>,
        owner: *const (),
        services: impl FnOnce() -> ServiceSet,
    ) {
        let inner = &self.inner;
        let mut state = inner.state.lock();
        if state.shutdown {
            drop(state);
            task.shutdown();
            return;
        }
        state.queue.push_back(Job {
            task,
            inhibit,
            handed_over: false,
        });
        state.num_spawned += 1;
        if state.num_idle > 0 {
            state.num_idle -= 1;
            state.num_notify += 1;
            state.hand_over_last();
            inner.work.notify_one();
            return;
        }
        if state.num_threads == inner.thread_cap {
            // Every thread is busy: the closure waits its turn.
            return;
        }
        match inner.start_thread(owner, services()) {
            Ok(()) => {
                state.num_threads += 1;
                state.hand_over_last();
            }
            Err(err) if state.num_threads == 0 => {
                // No thread will ever run the queue: cancel it rather than
                // leave the JoinHandles hanging, with the OS's error as
                // the reason each `JoinError` gives.
                let queued: Vec<_> = state.queue.drain(..).collect();
                drop(state);
                for job in queued {
                    job.task.shutdown_because(no_thread(&err));
                }
            }
            // Existing threads (all busy) will get to it.
            Err(_) => {}
        }
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.inner.state.lock().num_threads
    }

    pub(crate) fn num_spawned(&self) -> u64 {
        self.inner.state.lock().num_spawned
    }

    /// Threads waiting for work (not counting those already woken for a
    /// closure).
    pub(crate) fn num_idle_threads(&self) -> usize {
        self.inner.state.lock().num_idle
    }

    /// Closures queued and not yet taken by a thread.
    pub(crate) fn queue_depth(&self) -> usize {
        self.inner.state.lock().queue.len()
    }

    /// Cancels the queued closures no thread was handed yet, and waits
    /// until `deadline` at most for the others to run.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) {
        let inner = &self.inner;
        let cancelled = {
            let mut state = inner.state.lock();
            state.shutdown = true;
            inner.work.notify_all();
            let (handed_over, waiting): (VecDeque<Job>, VecDeque<Job>) =
                state.queue.drain(..).partition(|job| job.handed_over);
            state.queue = handed_over;
            waiting
        };
        // Outside the lock: cancelling wakes JoinHandles.
        for job in cancelled {
            job.task.shutdown();
        }
        inner.threads.join(deadline);
    }
}

impl State {
    /// Marks the closure just queued as handed to a thread.
    fn hand_over_last(&mut self) {
        if let Some(job) = self.queue.back_mut() {
            job.handed_over = true;
        }
    }
}

/// The reason a closure was cancelled when the pool, with no thread,
/// could not start one: `err` again (an `io::Error` cannot be cloned), its
/// OS code kept.
fn no_thread(err: &io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(err.kind(), err.to_string()),
    }
}

impl Inner {
    /// Starts a pool thread of the runtime `owner`, running with
    /// `services` current.
    fn start_thread(self: &Arc<Self>, owner: *const (), services: ServiceSet) -> io::Result<()> {
        #[cfg(all(feature = "fault-injection", not(loom)))]
        weft_reactor::fault::fail(weft_reactor::fault::Fault::BlockingSpawnFails)?;
        let pool = self.clone();
        self.threads
            .spawn(self.config.clone(), owner, move || pool.run(services))
    }

    fn run(self: Arc<Self>, services: ServiceSet) {
        let _current = services.enter();
        self.work_loop();
    }

    fn work_loop(&self) {
        let mut state = self.state.lock();
        loop {
            // Also after shutdown: what is left in the queue then was handed
            // over before it.
            while let Some(Job { task, inhibit, .. }) = state.queue.pop_front() {
                drop(state);
                task.run();
                drop(inhibit);
                state = self.state.lock();
            }
            if state.shutdown {
                state.num_threads -= 1;
                return;
            }
            state.num_idle += 1;
            loop {
                let timed_out = wait_timeout(&self.work, &mut state, Some(self.keep_alive));
                if state.num_notify > 0 {
                    state.num_notify -= 1;
                    break;
                }
                if state.shutdown {
                    state.num_idle -= 1;
                    state.num_threads -= 1;
                    return;
                }
                if timed_out {
                    // Idle for `keep_alive`: retire.
                    state.num_idle -= 1;
                    state.num_threads -= 1;
                    return;
                }
            }
        }
    }
}
