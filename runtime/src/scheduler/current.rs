//! `block_on` for the current-thread flavour: the calling thread takes the
//! runtime's only core and is its worker until the future completes.
//!
//! Between polls of the main future it runs up to `EVENT_BATCH` queued
//! tasks, so neither starves the other.
//! A second thread that calls `block_on` meanwhile polls its own future
//! without the core, and takes the core over when the first one returns it.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::park::{Parker, Unparker};
use super::worker::{Core, WorkerContext};
use super::Shared;
use crate::context;
use crate::loom::{AtomicBool, Ordering::AcqRel, Ordering::Acquire, Ordering::Release};
use weft_reactor::coop;

/// Tasks run between two looks at the main future.
const EVENT_BATCH: usize = 61;

pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, future: F) -> F::Output {
    let mut future = pin!(future);
    let mut waiting: Option<(Parker, Waker)> = None;
    loop {
        let core = shared.idle_core.lock().take();
        if let Some(core) = core {
            return run(shared, core, future);
        }
        // Someone else drives the runtime: poll our future, and wait for it
        // or for the core.
        let (park, waker) = waiting.get_or_insert_with(|| {
            let park = Parker::new(None);
            let waker = park.waker();
            (park, waker)
        });
        {
            let mut waiters = shared.core_waiters.lock();
            if !waiters.iter().any(|w| w.will_wake(waker)) {
                waiters.push(waker.clone());
            }
        }
        if shared.idle_core.lock().is_some() {
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
        let Some(core) = self.cx.core.borrow_mut().take() else {
            return;
        };
        let shared = &self.cx.shared;
        // Decide under the lock: `Runtime::shutdown` closes first and then
        // takes the core under it, so one of the two always sees the other.
        let mut slot = shared.idle_core.lock();
        if shared.is_shutdown() {
            drop(slot);
            shared.shutdown_core(*core);
        } else {
            *slot = Some(core);
        }
        let waiters = std::mem::take(&mut *shared.core_waiters.lock());
        for waiter in waiters {
            waiter.wake();
        }
    }
}

fn run<F: Future>(shared: &Arc<Shared>, core: Box<Core>, mut future: Pin<&mut F>) -> F::Output {
    let cx = WorkerContext::new(shared.clone());
    let _worker = context::set_worker(&cx);
    *cx.core.borrow_mut() = Some(core);
    let _guard = CoreGuard { cx: &cx };

    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        unpark: shared.remotes[0].unpark.clone(),
    });
    let waker = Waker::from(main.clone());
    let mut task_cx = Context::from_waker(&waker);

    loop {
        if main.woken.swap(false, AcqRel) {
            // The core stays in the context while the main future runs, so
            // tasks it spawns or wakes go to the local queue.
            if let Poll::Ready(out) = coop::budget(|| future.as_mut().poll(&mut task_cx)) {
                return out;
            }
        }
        let mut core = cx.core.borrow_mut().take().expect("core in context");
        let mut ran = 0;
        // A full batch even when the main future is already woken: a main
        // future that keeps waking itself must not starve the tasks.
        while ran < EVENT_BATCH {
            core.tick = core.tick.wrapping_add(1);
            core = cx.maintenance(core);
            // Looking through `steal_work` makes this worker a searcher, so
            // that parking re-checks the injector (the last-searcher rule):
            // a remote push that raced our look is then never missed.
            let task = core.next_task(shared).or_else(|| core.steal_work(shared));
            let Some(task) = task else { break };
            core = cx
                .run_task(task, core)
                .expect("the current-thread core is never handed off");
            ran += 1;
        }
        if ran == 0 && !main.woken.load(Acquire) {
            core = park(&cx, &main, core);
        }
        *cx.core.borrow_mut() = Some(core);
    }
}

fn park(cx: &WorkerContext, main: &MainWaker, mut core: Box<Core>) -> Box<Core> {
    let shared = &*cx.shared;
    if !core.transition_to_parked(shared) {
        return core;
    }
    loop {
        if main.woken.load(Acquire) {
            core.leave_park(shared);
            return core;
        }
        core = cx.with_core_parked(core, |park| park.park(None));
        if core.transition_from_parked(shared) {
            return core;
        }
    }
}
