//! Waiting on a future from synchronous code: what `blocking_send`,
//! `blocking_recv`, `blocking_lock` and the like run on.
//!
//! The calling thread parks on a condvar until the future's waker fires.
//! Calling it from a thread that drives tasks (a runtime worker, a
//! `block_on`) would stall every task that thread runs, possibly the very
//! one that would complete the future, so that panics with a message that
//! says so (as tokio's do); from a plain thread or a blocking-pool thread it
//! is fine.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use weft_base::context;
use weft_base::loom::{Condvar, Mutex};

/// A parked thread's wakeup flag.
struct Parker {
    woken: Mutex<bool>,
    condvar: Condvar,
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.woken.lock() = true;
        self.condvar.notify_one();
    }
}

/// Runs `future` to completion on this thread.
///
/// # Panics
///
/// If this thread drives asynchronous tasks (see the module doc).
#[track_caller]
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    if context::is_driving_tasks() {
        panic!(
            "Cannot block the current thread from within a runtime. This happens because a \
             function attempted to block the current thread while the thread is being used to \
             drive asynchronous tasks."
        );
    }
    let parker = Arc::new(Parker {
        woken: Mutex::new(false),
        condvar: Condvar::new(),
    });
    let waker = Waker::from(parker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        let mut woken = parker.woken.lock();
        while !*woken {
            parker.condvar.wait(&mut woken);
        }
        *woken = false;
    }
}
