//! The runtime's threads (workers, blocking-pool threads): started with the
//! runtime's thread config, counted out however they end (unwinding
//! included), joined once finished, and waited for at shutdown.
//!
//! Invariant: `alive` counts threads that were started and have not yet run
//! their exit guard; the guard is made on the new thread itself, so a spawn
//! that fails is never counted out.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use crate::loom::{join_finished, thread, wait_timeout, Condvar, Mutex};
use crate::runtime::Config;

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

    /// Starts a thread that runs `f` between the config's hooks.
    pub(crate) fn spawn(
        &self,
        config: Config,
        f: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        let inner = self.inner.clone();
        let mut state = self.inner.state.lock();
        // Release the stacks of threads that have finished (`block_in_place`
        // replaces its worker's thread each time; pool threads retire).
        join_finished(&mut state.handles);
        let handle = config.thread_builder().spawn(move || {
            let _exit = Exit(inner);
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
