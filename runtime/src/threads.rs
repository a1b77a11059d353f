//! The runtime's threads (workers, blocking-pool threads): started with the
//! runtime's thread config, counted out however they end (unwinding
//! included), joined once finished, and waited for at shutdown.
//!
//! Each thread knows which runtime it belongs to (`is_thread_of`), so that a
//! runtime dropped on one of its own threads does not wait for itself.
//!
//! Invariant: `alive` counts threads that were started and have not yet run
//! their exit guard; the guard is made on the new thread itself, so a spawn
//! that fails is never counted out.

use std::cell::Cell;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use weft_base::loom::{join_finished, thread, wait_timeout, Condvar, Mutex};

weft_base::loom::thread_local! {
    /// The runtime (an address used only for identity) whose thread this is.
    static OWNER: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// True on a thread started for the runtime `owner`.
pub(crate) fn is_thread_of(owner: *const ()) -> bool {
    OWNER.try_with(|o| o.get() == owner).unwrap_or(false)
}

/// How runtime threads are made, shared by workers and the blocking pool.
#[derive(Clone)]
pub(crate) struct ThreadConfig {
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<Arc<dyn Fn() + Send + Sync>>,
    pub(crate) on_thread_stop: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl ThreadConfig {
    pub(crate) fn thread_builder(&self) -> thread::Builder {
        let builder = thread::Builder::new().name((self.thread_name)());
        match self.stack_size {
            Some(size) => builder.stack_size(size),
            None => builder,
        }
    }

    /// Runs a thread's body between the start and stop hooks.
    /// A panicking hook is reported by the panic hook and otherwise
    /// ignored: it must not take a worker (and its queue) down with it.
    pub(crate) fn run_thread(&self, f: impl FnOnce()) {
        if let Some(hook) = &self.on_thread_start {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook()));
        }
        f();
        if let Some(hook) = &self.on_thread_stop {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook()));
        }
    }
}

pub(crate) struct ThreadSet {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    exited: Condvar,
}

struct State {
    handles: Vec<thread::JoinHandle<()>>,
    alive: usize,
}

/// Counts its thread out when dropped.
struct Exit(Arc<Inner>);

impl Drop for Exit {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.alive -= 1;
        if state.alive == 0 {
            self.0.exited.notify_all();
        }
    }
}

impl ThreadSet {
    pub(crate) fn new() -> ThreadSet {
        ThreadSet {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    handles: Vec::new(),
                    alive: 0,
                }),
                exited: Condvar::new(),
            }),
        }
    }

    /// Starts a thread of the runtime `owner` (an address used only for
    /// identity) that runs `f` between the config's hooks.
    pub(crate) fn spawn(
        &self,
        config: ThreadConfig,
        owner: *const (),
        f: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        let inner = self.inner.clone();
        // Carried as a number: a raw pointer is not `Send`.
        let owner = owner as usize;
        let mut state = self.inner.state.lock();
        // Release the stacks of threads that have finished (`block_in_place`
        // replaces its worker's thread each time; pool threads retire).
        join_finished(&mut state.handles);
        let handle = config.thread_builder().spawn(move || {
            let _exit = Exit(inner);
            OWNER.with(|o| o.set(owner as *const ()));
            config.run_thread(f);
        })?;
        state.handles.push(handle);
        state.alive += 1;
        Ok(())
    }

    /// Waits until every thread has exited, or until `deadline`; joins them
    /// when they all did.
    pub(crate) fn join(&self, deadline: Option<Instant>) {
        let mut state = self.inner.state.lock();
        while state.alive > 0 {
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return,
                },
                None => None,
            };
            wait_timeout(&self.inner.exited, &mut state, left);
        }
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        for handle in handles {
            let _ = handle.join();
        }
    }
}
