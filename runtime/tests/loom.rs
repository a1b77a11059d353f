//! Loom models of the scheduler, the task cell and the blocking pool.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p weft-runtime --test loom --release`
//! (one model: add its name; see docs/loom.md for bounds and failures).
//!
//! Each model builds a real runtime. Under `cfg(loom)` its run queues are a
//! loom-visible `Mutex<VecDeque>` (lock-free rings with crossbeam's
//! orderings in the `lock_free_*` models), its driver a loom condvar event, and every
//! atomic, lock, thread and thread-local is loom's, so these explore the
//! interleavings of our own protocol: task state, wake, park and search,
//! steal hand-off, shutdown. Loom's condvar has no timeouts, so a park that
//! only ends because a timeout fired shows up as a deadlock.
//!
//! Preemption bound: 2 for every model but three, which say why beside
//! them (`LOOM_MAX_PREEMPTIONS` overrides it).
//! The races here need one or two badly placed context switches; with 3 the
//! two-worker models take minutes each on the 2-core CI machine, so CI keeps
//! the whole suite under a few minutes at 2.
#![cfg(loom)]

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::Mutex;
use weft_base::loom::{model, model_at_bound};
use weft_runtime::runtime::{Builder, Runtime};
use weft_runtime::task::{self, JoinError};

fn multi(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn current() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// Counts drops; the model checks the count at the end.
#[derive(Clone)]
struct DropCount(Arc<AtomicUsize>);

impl DropCount {
    fn new() -> DropCount {
        DropCount(Arc::new(AtomicUsize::new(0)))
    }
    fn token(&self) -> Token {
        Token(self.0.clone())
    }
    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

struct Token(Arc<AtomicUsize>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A gate another thread opens: the future parks its waker until then.
#[derive(Clone)]
struct Gate {
    open: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            open: Arc::new(AtomicBool::new(false)),
            waker: Arc::new(Mutex::new(None)),
            polls: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Opens the gate and wakes whoever waits on it.
    fn open(&self) {
        self.open.store(true, SeqCst);
        let waker = self.waker.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes the waiter without opening.
    fn poke(&self) {
        let waker = self.waker.lock().unwrap().clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// [`wait`](Gate::wait), holding `token` until the future is dropped.
    fn wait_holding(&self, token: Token) -> impl Future<Output = ()> + Send + 'static {
        let wait = self.wait();
        async move {
            let _token = token;
            wait.await;
        }
    }

    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let gate = self.clone();
        poll_fn(move |cx: &mut Context<'_>| {
            gate.polls.fetch_add(1, SeqCst);
            *gate.waker.lock().unwrap() = Some(cx.waker().clone());
            if gate.open.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A task waits on a gate that a thread outside the runtime opens: the
/// wake must reach a worker, parked or not.
fn opened_from_outside(rt: Runtime) {
    let gate = Gate::new();
    let task = rt.spawn(gate.wait());
    let opener = {
        let gate = gate.clone();
        loom::thread::spawn(move || gate.open())
    };
    rt.block_on(task).unwrap();
    opener.join().unwrap();
}

// ---- spawn and join ------------------------------------------------------

#[test]
fn spawn_from_outside_and_join_with_one_worker() {
    model(|| {
        let rt = multi(1);
        let a = rt.spawn(async { 1 });
        let b = rt.spawn(async { 2 });
        assert_eq!(
            rt.block_on(async { a.await.unwrap() + b.await.unwrap() }),
            3
        );
    });
}

/// Also the "output read racing completion" model: `block_on` polls the
/// handle while a worker completes the task.
#[test]
fn spawn_from_outside_and_join_with_two_workers() {
    model(|| {
        let rt = multi(2);
        let handle = rt.spawn(async { 7 });
        assert_eq!(rt.block_on(handle).unwrap(), 7);
    });
}

/// The child lands in the spawning worker's queue while the other worker
/// may be parking (in the driver or on its condvar): it must be run, by
/// either worker, and a steal may race the owner's pop.
#[test]
fn nested_spawn_from_inside_a_task() {
    model(|| {
        let rt = multi(2);
        let out = rt.block_on(rt.spawn(async {
            let a = weft_runtime::spawn(async { 1 });
            let b = weft_runtime::spawn(async { 2 });
            a.await.unwrap() + b.await.unwrap()
        }));
        assert_eq!(out.unwrap(), 3);
    });
}

// ---- wakes ---------------------------------------------------------------

/// Woken from another thread while being polled, or right after: either way
/// the task is polled again and finishes.
#[test]
fn woken_from_another_thread_while_running() {
    model(|| opened_from_outside(multi(1)));
}

/// Two wakes of a queued task push one queue entry: the task is polled
/// exactly twice (first poll, then the poll after the wakes).
#[test]
fn woken_twice_while_queued_is_queued_once() {
    model(|| {
        let rt = current();
        let gate = Gate::new();
        let task = rt.spawn(gate.wait());
        // First poll: registers the waker. Then two wakes, one from here and
        // one from another thread, before the runtime runs again.
        rt.block_on(async {
            while gate.polls.load(SeqCst) == 0 {
                task::yield_now().await;
            }
        });
        gate.open.store(true, SeqCst);
        let other = {
            let gate = gate.clone();
            loom::thread::spawn(move || gate.poke())
        };
        gate.poke();
        other.join().unwrap();
        rt.block_on(task).unwrap();
        assert_eq!(gate.polls.load(SeqCst), 2);
    });
}

/// A task wakes itself during its first poll (a note on the polling
/// thread, not on the state word) while another thread wakes it too
/// (through the state word): it is queued once and polled exactly once
/// more.
#[test]
fn a_self_wake_racing_a_wake_from_another_thread() {
    model(|| {
        let rt = multi(1);
        let waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let polls = Arc::new(AtomicUsize::new(0));
        let (slot, count) = (waker.clone(), polls.clone());
        let handle = rt.spawn(poll_fn(move |cx| {
            if count.fetch_add(1, SeqCst) > 0 {
                return Poll::Ready(());
            }
            *slot.lock().unwrap() = Some(cx.waker().clone());
            cx.waker().wake_by_ref();
            Poll::Pending
        }));
        let other = loom::thread::spawn(move || {
            if let Some(waker) = waker.lock().unwrap().take() {
                waker.wake();
            }
        });
        rt.block_on(handle).unwrap();
        other.join().unwrap();
        assert_eq!(polls.load(SeqCst), 2);
    });
}

/// A remote wake reaches a current-thread worker that is about to park.
#[test]
fn remote_wake_reaches_a_parking_current_thread_worker() {
    model(|| opened_from_outside(current()));
}

/// `yield_now` puts the task behind the task it spawned just before.
#[test]
fn yield_now_lets_the_other_queued_task_run_first() {
    model(|| {
        let rt = multi(1);
        let ran = Arc::new(AtomicBool::new(false));
        let out = rt.block_on(rt.spawn({
            let ran = ran.clone();
            async move {
                let other = weft_runtime::spawn({
                    let ran = ran.clone();
                    async move { ran.store(true, SeqCst) }
                });
                task::yield_now().await;
                let seen = ran.load(SeqCst);
                other.await.unwrap();
                seen
            }
        }));
        assert!(out.unwrap(), "the yielder ran again before the queued task");
    });
}

// ---- idle protocol and the driver slot -----------------------------------

/// A task on one worker pushes work to its own queue while the other worker
/// is on its way to park: the push must wake it or the pusher runs it.
#[test]
fn worker_parking_while_another_pushes_work() {
    model(|| {
        let rt = multi(2);
        let out = rt.block_on(rt.spawn(async {
            let child = weft_runtime::spawn(async { 4 });
            child.await.unwrap()
        }));
        assert_eq!(out.unwrap(), 4);
    });
}

/// Work arrives in the injector while both workers search and park: the
/// last searcher to park re-checks the queues and must see it.
#[test]
fn last_searcher_parks_while_work_is_queued() {
    model(|| {
        let rt = multi(2);
        let handle = rt.handle().clone();
        let spawner = loom::thread::spawn(move || handle.spawn(async { 9 }));
        let task = spawner.join().unwrap();
        assert_eq!(rt.block_on(task).unwrap(), 9);
    });
}

/// Spawns two tasks from outside, the first holding its worker's thread
/// until the second has run, and waits for the second. A thread that never
/// gets the notify is a deadlock to loom.
fn second_task_behind_a_held_thread(rt: &Runtime) {
    let gate = Arc::new(loom::sync::Notify::new());
    let opener = gate.clone();
    let _holder = rt.spawn(async move { gate.wait() });
    let second = rt.spawn(async move { opener.notify() });
    rt.block_on(second).unwrap();
}

/// Two tasks spawned from outside; the first holds its worker's thread
/// until the second has run. Whichever worker takes the first, the second
/// must reach the other worker: the searcher that found the first checks
/// the queues as it stops searching and wakes a sleeper if the second is
/// there, and a worker that registers as a sleeper checks them after
/// registering, so one of them sees the second.
#[test]
fn a_task_queued_behind_a_held_thread_reaches_the_other_worker() {
    model(|| second_task_behind_a_held_thread(&multi(2)));
}

/// The request/reply path: a worker whose task woke this thread while it
/// was awake searches once more for the request it expects, and what that
/// search finds it takes without waking the other worker unless work is
/// left. Here the thread answers the wake with two tasks, the first
/// holding its worker's thread until the second has run: the second must
/// reach the other worker, through the searcher's look at the queues when
/// it stops or the push's own wake.
///
/// Preemption bound 1: its planted bug (docs/loom.md) is caught at 1, in
/// under a second, and at 2 its three threads and four tasks took five
/// minutes, most of the suite's time in CI.
#[test]
fn a_request_found_by_the_reply_search_leaves_the_next_to_the_other_worker() {
    model_at_bound(1, || {
        let rt = multi(2);
        let handle = rt.handle().clone();
        let mut asked = false;
        rt.block_on(poll_fn(move |cx| {
            if asked {
                return Poll::Ready(());
            }
            asked = true;
            let waker = cx.waker().clone();
            handle.spawn(async move { waker.wake() });
            Poll::Pending
        }));
        second_task_behind_a_held_thread(&rt);
    });
}

/// Three children in one worker's queue: the owner pops while the other
/// worker steals half; each child runs exactly once.
#[test]
fn steal_racing_the_owners_pop() {
    model(|| {
        let rt = multi(2);
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let out = rt.block_on(rt.spawn(async move {
            let children: Vec<_> = (0..3)
                .map(|i| {
                    let r = r.clone();
                    weft_runtime::spawn(async move {
                        r.fetch_add(1, SeqCst);
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for c in children {
                sum += c.await.unwrap();
            }
            sum
        }));
        assert_eq!(out.unwrap(), 3);
        assert_eq!(runs.load(SeqCst), 3);
    });
}

/// Both workers park (one of them in the driver slot); a wake from outside
/// must reach whichever is picked, the driver-parked one included.
#[test]
fn a_worker_parked_in_the_driver_is_woken_for_new_work() {
    model(|| opened_from_outside(multi(2)));
}

// ---- JoinHandle ----------------------------------------------------------

/// Dropping the handle while the task completes: the output is dropped
/// exactly once, by whichever side ends up owning it.
#[test]
fn join_handle_dropped_racing_completion() {
    model(|| {
        let drops = DropCount::new();
        {
            let rt = multi(1);
            let token = drops.token();
            let handle = rt.spawn(async move { token });
            drop(handle);
        }
        assert_eq!(drops.get(), 1);
    });
}

/// The handle registers its waker with one poll, then is dropped while the
/// task completes: the waker and the output are each dropped once.
#[test]
fn join_handle_polled_once_then_dropped() {
    model(|| {
        let drops = DropCount::new();
        {
            let rt = multi(1);
            let token = drops.token();
            let mut handle = rt.spawn(async move { token });
            let waker_drops = DropCount::new();
            let waker = counting_waker(waker_drops.clone());
            let polled = Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
            drop(polled);
            drop(handle);
            drop(waker);
            drop(rt);
            assert_eq!(waker_drops.get(), 1, "every clone of the waker dropped");
        }
        assert_eq!(drops.get(), 1);
    });
}

/// A waker that counts the drop of its last clone.
fn counting_waker(drops: DropCount) -> Waker {
    struct W(#[allow(dead_code)] Token);
    impl std::task::Wake for W {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(W(drops.token())))
}

// ---- abort ---------------------------------------------------------------

fn cancelled_or<T>(res: Result<T, JoinError>) -> Option<T> {
    match res {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(e.is_cancelled(), "{e}");
            None
        }
    }
}

#[test]
fn abort_racing_completion() {
    model(|| {
        let drops = DropCount::new();
        let rt = multi(1);
        let token = drops.token();
        let handle = rt.spawn(async move {
            drop(token);
            5
        });
        handle.abort();
        if let Some(v) = cancelled_or(rt.block_on(handle)) {
            assert_eq!(v, 5);
        }
        assert_eq!(drops.get(), 1);
    });
}

/// Abort from another thread while the task is being polled (it yields
/// once, so there is a poll to race).
#[test]
fn abort_racing_a_poll() {
    model(|| {
        let drops = DropCount::new();
        let rt = multi(1);
        let token = drops.token();
        let handle = rt.spawn(async move {
            let _token = token;
            task::yield_now().await;
        });
        let abort = handle.abort_handle();
        let aborter = loom::thread::spawn(move || abort.abort());
        cancelled_or(rt.block_on(handle));
        aborter.join().unwrap();
        assert_eq!(drops.get(), 1);
    });
}

/// Abort while another thread wakes the task.
#[test]
fn abort_racing_a_wake() {
    model(|| {
        let drops = DropCount::new();
        let rt = multi(1);
        let gate = Gate::new();
        let handle = rt.spawn(gate.wait_holding(drops.token()));
        let opener = {
            let gate = gate.clone();
            loom::thread::spawn(move || gate.open())
        };
        handle.abort();
        cancelled_or(rt.block_on(handle));
        opener.join().unwrap();
        drop(rt);
        assert_eq!(drops.get(), 1);
    });
}

// ---- shutdown ------------------------------------------------------------

/// Dropping the runtime while another thread wakes a pending task: the
/// future is dropped exactly once and the handle resolves.
fn dropped_while_woken_from_another_thread(rt: Runtime) {
    let drops = DropCount::new();
    let gate = Gate::new();
    let handle = rt.spawn(gate.wait_holding(drops.token()));
    let waker_thread = {
        let gate = gate.clone();
        loom::thread::spawn(move || gate.poke())
    };
    drop(rt);
    waker_thread.join().unwrap();
    assert_eq!(drops.get(), 1);
    assert!(handle.is_finished());
    drop(handle);
}

#[test]
fn runtime_drop_while_a_task_is_woken_from_another_thread() {
    model(|| dropped_while_woken_from_another_thread(multi(1)));
}

/// A blocking closure spawned just before shutdown either runs or is
/// cancelled; its handle resolves either way.
#[test]
fn spawn_blocking_racing_shutdown() {
    model(|| {
        let rt = multi(1);
        let ran = Arc::new(AtomicBool::new(false));
        let handle = rt.spawn_blocking({
            let ran = ran.clone();
            move || ran.store(true, SeqCst)
        });
        drop(rt);
        assert!(handle.is_finished());
        let rt = current();
        match rt.block_on(handle) {
            Ok(()) => assert!(ran.load(SeqCst)),
            Err(e) => {
                assert!(e.is_cancelled());
                assert!(!ran.load(SeqCst));
            }
        }
    });
}

/// `block_in_place` hands the core to a new thread while the runtime shuts
/// down: every core is collected, the task resolves, nothing hangs.
#[test]
fn block_in_place_racing_shutdown() {
    model(|| {
        let rt = multi(1);
        let handle = rt.spawn(async { task::block_in_place(|| 3) });
        drop(rt);
        assert!(handle.is_finished());
        if let Some(v) = cancelled_or(current().block_on(handle)) {
            assert_eq!(v, 3);
        }
    });
}

/// With a zero keep-alive the pool thread retires as soon as it is idle:
/// a closure spawned meanwhile is run by a new thread or the old one.
#[test]
fn blocking_pool_grows_and_retires() {
    model(|| {
        let rt = Builder::new_current_thread()
            .max_blocking_threads(1)
            .thread_keep_alive(std::time::Duration::ZERO)
            .build()
            .unwrap();
        let a = rt.spawn_blocking(|| 1);
        let b = rt.spawn_blocking(|| 2);
        let sum = rt.block_on(async { a.await.unwrap() + b.await.unwrap() });
        assert_eq!(sum, 3);
    });
}

// ---- the scheduler's own fences, over lock-free queues -------------------
//
// The models above run on locked queues, whose lock orders a push before
// any later look at the queue and so stands in for fences the real
// (crossbeam) queues need from the scheduler. These run on rings with
// crossbeam's orderings (`Builder::loom_lock_free_queues`), so removing
// one of those fences fails them (docs/loom.md, planted bugs).

fn multi_lock_free(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .loom_lock_free_queues()
        .build()
        .unwrap()
}

/// A wake from outside pushes into the injector while the runtime's last
/// worker drains it for good: either the drain takes the entry or the
/// pusher sees the drained flag and drops it itself (the fence after a
/// remote push, paired with the one after the flag is set).
#[test]
fn lock_free_remote_wake_racing_the_final_drain() {
    model(|| dropped_while_woken_from_another_thread(multi_lock_free(1)));
}

/// A task yielding twice on two workers over rings, aborted from another
/// thread: between polls its queue entry carries `RUNNING` (and may be
/// stolen by the other worker, the ring then being all that orders one
/// poll's writes to the future before the next's reads); the abort is
/// seen by whichever poll comes next, and the future dropped exactly once.
///
/// Preemption bound 1: at 2 the two workers take minutes on the 2-core CI
/// machine.
#[test]
fn lock_free_abort_racing_a_carried_yield_on_two_workers() {
    model_at_bound(1, || {
        let drops = DropCount::new();
        let rt = multi_lock_free(2);
        let token = drops.token();
        let handle = rt.spawn(async move {
            let _token = token;
            task::yield_now().await;
            task::yield_now().await;
        });
        let abort = handle.abort_handle();
        let aborter = loom::thread::spawn(move || abort.abort());
        cancelled_or(rt.block_on(handle));
        aborter.join().unwrap();
        drop(rt);
        assert_eq!(drops.get(), 1);
    });
}

/// A spawn from outside lands in the injector while both workers search
/// and park: the pusher reads the idle state after its push, the last
/// searcher checks the queues after it registers, and one of them must
/// see the other.
///
/// Preemption bound 1: its planted bug (docs/loom.md) is caught at 1, and
/// at 2 the two workers over rings take minutes.
#[test]
fn lock_free_last_searcher_parks_while_work_is_queued() {
    model_at_bound(1, || {
        let rt = multi_lock_free(2);
        let handle = rt.handle().clone();
        let spawner = loom::thread::spawn(move || handle.spawn(async { 9 }));
        let task = spawner.join().unwrap();
        assert_eq!(rt.block_on(task).unwrap(), 9);
    });
}
