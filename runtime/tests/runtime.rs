//! Runtime lifecycle and misuse: building, handles, entering, flavours,
//! hooks, shutdown variants, and the messages that bad calls get.

mod support;

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use support::{current_thread, multi_thread, panic_message, spin_until, until, within, Gate};
use weft_runtime::runtime::{Builder, Handle, RuntimeFlavor};

#[test]
fn zero_threads_is_an_error_not_a_panic() {
    let err = Builder::new_multi_thread()
        .worker_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("worker_threads"), "{err}");
    let err = Builder::new_multi_thread()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_blocking_threads"), "{err}");
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_message() {
    let payload = catch_unwind(|| weft_runtime::spawn(async {})).unwrap_err();
    let message = panic_message(&*payload);
    assert!(message.contains("no weft runtime"), "{message}");
    assert!(message.contains("Handle::enter"), "{message}");

    let err = Handle::try_current().unwrap_err();
    assert!(err.is_missing_context());
    let payload = catch_unwind(Handle::current).unwrap_err();
    assert!(panic_message(&*payload).contains("no weft runtime"));
}

#[test]
fn block_on_inside_a_runtime_panics_and_names_the_way_out() {
    // From block_on's own future (current thread).
    let rt = current_thread();
    let inner = current_thread();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { inner.block_on(async {}) })
    }))
    .unwrap_err();
    let message = panic_message(&*payload);
    assert!(message.contains("block_in_place"), "{message}");
    assert!(message.contains("spawn_blocking"), "{message}");

    // From a task on a worker thread.
    let rt = multi_thread(2);
    let err = rt
        .block_on(rt.spawn(async { Handle::current().block_on(async {}) }))
        .unwrap_err();
    let message = err.panic_message().unwrap_or_default().to_string();
    assert!(message.contains("block_in_place"), "{message}");
    assert!(message.contains("spawn_blocking"), "{message}");
    // The runtime is fine afterwards.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
}

#[test]
fn current_thread_runs_tasks_on_the_block_on_thread() {
    let rt = current_thread();
    let me = std::thread::current().id();
    let ids = rt.block_on(async {
        let a = weft_runtime::spawn(async { std::thread::current().id() });
        let b = weft_runtime::spawn(async { std::thread::current().id() });
        [a.await.unwrap(), b.await.unwrap()]
    });
    assert_eq!(ids, [me, me]);
    assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    assert_eq!(rt.metrics().num_workers(), 1);
}

#[test]
fn multi_thread_runs_tasks_on_named_workers() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = Builder::new_multi_thread()
        .worker_threads(3)
        .thread_name("pool-x")
        .on_thread_start(move || {
            s.fetch_add(1, SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    let name = rt.block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }));
    assert_eq!(name.unwrap().as_deref(), Some("pool-x"));
    assert_eq!(rt.metrics().num_workers(), 3);
    assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
    drop(rt);
    // Dropping joins the workers, so both hooks have run on each of them.
    assert_eq!(started.load(SeqCst), 3);
    assert_eq!(stopped.load(SeqCst), 3);
}

#[test]
fn enter_makes_spawn_work_outside_block_on() {
    let rt = multi_thread(2);
    let other = current_thread();
    let handle = {
        let _guard = rt.enter();
        {
            let _inner = other.enter();
            assert_eq!(
                Handle::current().runtime_flavor(),
                RuntimeFlavor::CurrentThread
            );
        }
        assert_eq!(
            Handle::current().runtime_flavor(),
            RuntimeFlavor::MultiThread
        );
        weft_runtime::spawn(async { 7 })
    };
    assert!(Handle::try_current().is_err());
    assert_eq!(rt.block_on(handle).unwrap(), 7);
}

#[test]
fn handle_block_on_from_other_threads() {
    for rt in [multi_thread(2), current_thread()] {
        let handle = rt.handle().clone();
        let out = within(30, move || {
            std::thread::spawn(move || handle.block_on(handle.spawn(async { 11 })))
                .join()
                .unwrap()
        });
        assert_eq!(out.unwrap(), 11);
    }
}

#[test]
fn run_builds_runs_and_shuts_down() {
    let out = weft_runtime::run(async { weft_runtime::spawn(async { "done" }).await.unwrap() });
    assert_eq!(out, "done");
}

#[test]
fn metrics_count_alive_tasks() {
    let rt = multi_thread(2);
    let handles: Vec<_> = (0..10)
        .map(|_| rt.spawn(std::future::pending::<()>()))
        .collect();
    assert_eq!(rt.metrics().num_alive_tasks(), 10);
    for h in &handles {
        h.abort();
    }
    for h in handles {
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
    }
    rt.block_on(until(|| rt.metrics().num_alive_tasks() == 0));
}

/// Spawns a task that blocks its worker in a synchronous call (a bug in
/// user code) and returns once it is blocked; sending on the result
/// releases it.
fn stick_a_worker(rt: &weft_runtime::runtime::Runtime) -> mpsc::Sender<()> {
    let (release, stuck) = mpsc::channel::<()>();
    let (entered_tx, entered) = mpsc::channel::<()>();
    rt.spawn(async move {
        entered_tx.send(()).unwrap();
        let _ = stuck.recv();
    });
    entered.recv().unwrap();
    release
}

#[test]
fn shutdown_timeout_returns_while_a_task_is_stuck_in_a_blocking_call() {
    let rt = multi_thread(2);
    let release = stick_a_worker(&rt);
    within(30, move || rt.shutdown_timeout(Duration::from_millis(20)));
    release.send(()).unwrap();
}

#[test]
fn shutdown_with_a_worker_stuck_cancels_the_tasks_queued_on_the_others() {
    // Between its polls a task that yields is queued holding its RUNNING
    // bit: only dropping that entry cancels it, and each worker drops its
    // own entries as it leaves, not once the stuck one is in too.
    let rt = multi_thread(2);
    let release = stick_a_worker(&rt);
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let yielder = rt.spawn(async move {
        loop {
            counted.fetch_add(1, SeqCst);
            weft_runtime::task::yield_now().await;
        }
    });
    assert!(spin_until(|| polls.load(SeqCst) >= 3));
    within(30, move || rt.shutdown_timeout(Duration::from_millis(20)));
    let err = within(30, move || current_thread().block_on(yielder)).unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    release.send(()).unwrap();
}

#[test]
fn shutdown_background_does_not_wait() {
    let (release, stuck) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let rt = multi_thread(1);
    let blocking = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        stuck.recv().is_ok()
    });
    // Running, not queued: queued closures are cancelled by shutdown.
    started.recv().unwrap();
    within(30, move || rt.shutdown_background());
    release.send(()).unwrap();
    // The closure still finishes and its output still arrives.
    let rt = current_thread();
    assert!(rt.block_on(blocking).unwrap());
}

#[test]
fn dropping_a_runtime_inside_a_task_does_not_deadlock() {
    let outer = multi_thread(2);
    let inner = multi_thread(1);
    let h = inner.spawn(async { 3 });
    within(30, move || {
        outer.block_on(outer.spawn(async move {
            assert_eq!(h.await.unwrap(), 3);
            drop(inner);
        }))
    })
    .unwrap();
}

#[test]
fn tasks_spawned_from_many_threads_all_run() {
    let rt = Arc::new(multi_thread(2));
    let count = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (rt, count) = (rt.clone(), count.clone());
            std::thread::spawn(move || {
                let handles: Vec<_> = (0..1000)
                    .map(|_| {
                        let count = count.clone();
                        rt.spawn(async move {
                            count.fetch_add(1, SeqCst);
                        })
                    })
                    .collect();
                rt.block_on(async {
                    for h in handles {
                        h.await.unwrap();
                    }
                });
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(count.load(SeqCst), 4000);
}

#[test]
fn a_panicking_thread_hook_does_not_break_the_runtime() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| panic!("start hook"))
        .on_thread_stop(|| panic!("stop hook"))
        .build()
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 2)).unwrap(), 2);
    within(30, move || drop(rt));
}

#[test]
fn dropping_a_runtime_on_its_own_blocking_thread_does_not_deadlock() {
    let rt = multi_thread(1);
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    handle.spawn_blocking(move || {
        drop(rt);
        tx.send(()).unwrap();
    });
    within(30, move || rx.recv().unwrap());
}

#[test]
fn huge_shutdown_timeouts_do_not_overflow() {
    multi_thread(1).shutdown_timeout(Duration::MAX);
    current_thread().shutdown_timeout(Duration::MAX);
}

/// A current-thread runtime dropped while another thread drives it in
/// `Handle::block_on`: tasks woken afterwards from outside still run.
#[test]
fn current_thread_dropped_while_another_thread_drives_it() {
    struct Gate {
        open: bool,
        waker: Option<std::task::Waker>,
    }
    let gate = Arc::new(std::sync::Mutex::new(Gate {
        open: false,
        waker: None,
    }));
    let rt = current_thread();
    let handle = rt.handle().clone();
    let (waiting_tx, waiting) = mpsc::channel();
    let g = gate.clone();
    let driver = std::thread::spawn(move || {
        handle.block_on(async move {
            weft_runtime::spawn(std::future::poll_fn(move |cx| {
                let mut gate = g.lock().unwrap();
                if gate.open {
                    return std::task::Poll::Ready(());
                }
                gate.waker = Some(cx.waker().clone());
                let _ = waiting_tx.send(());
                std::task::Poll::Pending
            }))
            .await
        })
    });
    waiting.recv().unwrap();
    drop(rt); // the other thread holds the core: returns at once
    let waker = {
        let mut gate = gate.lock().unwrap();
        gate.open = true;
        gate.waker.take()
    };
    waker.unwrap().wake();
    let out = within(30, move || driver.join().unwrap());
    // The runtime was shut down: the task either ran or was cancelled, but
    // `block_on` returned.
    if let Err(err) = out {
        assert!(err.is_cancelled(), "{err}");
    }
}

/// `block_on` spins briefly after short waits (`Parker::park_spinning`):
/// thousands of quick request/reply rounds with a task lose no wakeup, and
/// each reply is the one asked for.
#[test]
fn block_on_round_trips_with_a_task_lose_no_wakeup() {
    let rt = multi_thread(2);
    for i in 0..support::scale(20_000, 50) {
        let reply = rt.block_on(rt.spawn(async move { i * 3 })).unwrap();
        assert_eq!(reply, i * 3);
    }
}

/// The CPU time this thread has used.
#[cfg(not(miri))]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A `block_on` that waits long sleeps: after a run of short waits (which
/// turn spinning on) a 300 ms wait costs the waiting thread well under the
/// wait in CPU time — at most one short spin, not a busy loop.
#[test]
#[cfg(not(miri))]
fn a_long_block_on_wait_sleeps_rather_than_spins() {
    let rt = multi_thread(2);
    for i in 0..1_000 {
        assert_eq!(rt.block_on(rt.spawn(async move { i })).unwrap(), i);
    }
    let (tx, rx) = mpsc::channel::<()>();
    let waiter = rt.spawn_blocking(move || rx.recv());
    let before = thread_cpu_time();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        tx.send(()).unwrap();
    });
    rt.block_on(waiter).unwrap().unwrap();
    let used = thread_cpu_time() - before;
    release.join().unwrap();
    assert!(
        used < Duration::from_millis(30),
        "block_on used {used:?} of CPU over a 300 ms wait"
    );
}

/// A task that spawns and then keeps its worker's thread (computing, or
/// blocking by mistake) does not keep its children waiting: every push
/// that queues a child behind another wakes an idle worker, and that worker
/// keeps stealing while the queue has tasks, so all of them run during the
/// poll (a child queued alone, the woken worker having taken the rest, is
/// the watchdog's to share). Many rounds: the woken worker can take the
/// first children, find no more yet and park, and only an ask from a later
/// push wakes it again (an ask made once per poll lost the rest in about
/// one round of 50, with the other tests running).
#[test]
#[cfg(not(miri))]
fn tasks_spawned_by_a_poll_that_keeps_its_thread_run_elsewhere() {
    const CHILDREN: usize = 8;
    for _ in 0..200 {
        let rt = multi_thread(2);
        let ran = within(10, move || {
            rt.block_on(async {
                weft_runtime::spawn(async {
                    let ran = Arc::new(AtomicUsize::new(0));
                    for _ in 0..CHILDREN {
                        let ran = ran.clone();
                        weft_runtime::spawn(async move {
                            ran.fetch_add(1, SeqCst);
                        });
                    }
                    // Hold this worker's thread until the children have run.
                    while ran.load(SeqCst) < CHILDREN {
                        std::thread::yield_now();
                    }
                    ran.load(SeqCst)
                })
                .await
                .unwrap()
            })
        });
        assert_eq!(ran, CHILDREN);
    }
}

#[test]
fn a_block_on_thread_is_no_worker_once_block_on_returns() {
    let rt = current_thread();
    assert_eq!(
        rt.block_on(async { weft_runtime::runtime::worker_index() }),
        Some(0)
    );
    assert_eq!(
        weft_runtime::runtime::worker_index(),
        None,
        "the thread drove the runtime only inside block_on"
    );
    drop(rt);
    let rt = multi_thread(2);
    assert_eq!(
        rt.block_on(async { weft_runtime::runtime::worker_index() }),
        None
    );
}

/// The other worker of a two-worker runtime, seen from a task on one.
struct OtherWorker {
    metrics: weft_runtime::runtime::RuntimeMetrics,
    index: usize,
}

impl OtherWorker {
    fn new() -> OtherWorker {
        let index = 1 - weft_runtime::runtime::worker_index().expect("on a worker");
        OtherWorker {
            metrics: Handle::current().metrics(),
            index,
        }
    }

    /// How many times it has parked and been unparked, together (odd
    /// while it sleeps).
    fn park_unparks(&self) -> u64 {
        self.metrics.worker_park_unpark_count(self.index)
    }

    /// Asleep, with nobody searching: only a wake can make it look at
    /// this worker's queue.
    fn is_asleep(&self) -> bool {
        self.park_unparks() % 2 == 1 && self.metrics.num_searching_workers() == 0
    }

    /// Still asleep and never woken since `before` (an ask counts the
    /// sleeper searching at once, and it counts itself unparked before it
    /// stops searching: either shows).
    fn slept_since(&self, before: u64) -> bool {
        self.park_unparks() == before && self.metrics.num_searching_workers() == 0
    }
}

/// A task spawned alone on a worker's queue runs next there, so its spawn
/// asks no sleeper for help; when the spawner's poll keeps the thread
/// instead, the watchdog's sample wakes the sleeper, which steals it.
#[test]
fn a_task_spawned_behind_a_poll_that_keeps_its_thread_is_stolen() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(Duration::from_millis(20)))
        // The spinning poll below is slow by design: no report.
        .on_slow_poll(|_| {})
        .build()
        .unwrap();
    let helped = rt.block_on(rt.spawn(async {
        // First the other worker goes to sleep: then only a wake can make
        // it look at this worker's queue.
        let other = OtherWorker::new();
        assert!(spin_until(|| other.is_asleep()));
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let _helper = weft_runtime::spawn(async move { s.store(1, SeqCst) });
        // This poll does not end until the spawned task has run, so only
        // the sleeping worker, once woken, can run it.
        spin_until(|| started.load(SeqCst) == 1)
    }));
    assert!(
        helped.unwrap(),
        "the spawned task waited for the spawner's poll to end"
    );
}

/// Each task of a chain spawns the next and ends (tokio's `chained_spawn`):
/// each child is alone on the queue and runs next on the same worker, so
/// no spawn wakes the sleeping worker, which would find nothing to do.
#[test]
fn a_chain_of_spawns_wakes_no_sleeping_worker() {
    const LINKS: usize = 64;
    fn link(left: usize, done: Arc<Gate>) {
        if left == 0 {
            done.open();
        } else {
            weft_runtime::spawn(async move { link(left - 1, done) });
        }
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        // No watchdog, so nothing but the chain could wake the sleeper.
        .slow_poll_threshold(None)
        .build()
        .unwrap();
    let quiet = rt.block_on(rt.spawn(async {
        let other = OtherWorker::new();
        assert!(spin_until(|| other.is_asleep()));
        let before = other.park_unparks();
        let done = Arc::new(Gate::default());
        link(LINKS, done.clone());
        done.wait().await;
        other.slept_since(before)
    }));
    assert!(
        quiet.unwrap(),
        "a task spawned alone on the queue woke the sleeping worker"
    );
}

/// A relay of wakes on one worker outlasts the LIFO slot's turns (3 per
/// tick): each task woken after them queues alone and runs next on the same
/// worker, without waking the sleeping one, which would find nothing to do
/// (a mutex convoy did that at every unlock).
#[test]
fn a_relay_past_the_lifo_turns_wakes_no_sleeping_worker() {
    const STAGES: usize = 16;
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        // No watchdog, so nothing but the relay could wake the sleeper.
        .slow_poll_threshold(None)
        .build()
        .unwrap();
    let quiet = rt.block_on(rt.spawn(async {
        let gates: Arc<Vec<Gate>> = Arc::new((0..=STAGES).map(|_| Gate::default()).collect());
        for stage in 0..STAGES {
            let gates = gates.clone();
            weft_runtime::spawn(async move {
                gates[stage].wait().await;
                gates[stage + 1].open();
            });
        }
        let other = OtherWorker::new();
        assert!(spin_until(|| {
            gates[..STAGES].iter().all(Gate::is_waited_on) && other.is_asleep()
        }));
        let before = other.park_unparks();
        // Every wake from here on is made on this worker.
        gates[0].open();
        gates[STAGES].wait().await;
        other.slept_since(before)
    }));
    assert!(
        quiet.unwrap(),
        "a task queued alone after the LIFO turns woke the sleeping worker"
    );
}

/// tokio's `yield_defers_until_park` on a worker of the multi-thread
/// flavour: a task that yields resumes only after the worker has looked at
/// its driver, so a read that became ready meanwhile has woken its task,
/// which runs first.
#[test]
fn a_yielding_task_resumes_after_the_worker_looks_at_its_driver() {
    use tokio::io::AsyncReadExt;
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let seen_after_one_yield = rt.block_on(rt.spawn(async {
        let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        theirs.set_nonblocking(true).unwrap();
        let mut theirs = weft_reactor::net::UnixStream::from_std(theirs).unwrap();
        let received = Arc::new(AtomicUsize::new(0));
        let flag = received.clone();
        let reader = weft_runtime::spawn(async move {
            let mut buf = [0u8; 4];
            theirs.read_exact(&mut buf).await.unwrap();
            flag.store(1, SeqCst);
        });
        let checker = weft_runtime::spawn(async move {
            // The reader has polled once and waits for readiness; the bytes
            // are in the socket when `write_all` returns.
            std::io::Write::write_all(&mut ours, b"ping").unwrap();
            weft_runtime::task::yield_now().await;
            received.load(SeqCst) == 1
        });
        let seen = checker.await.unwrap();
        reader.await.unwrap();
        seen
    }));
    assert!(seen_after_one_yield.unwrap());
}

#[test]
fn tasks_a_timer_wakes_together_get_a_second_worker() {
    let rt = multi_thread(2);
    let met = rt.block_on(rt.spawn(async {
        let arrived = Arc::new(AtomicUsize::new(0));
        // (The paused clock is the current-thread flavour's only.)
        let deadline = weft_timer::Instant::now() + Duration::from_millis(20);
        let meet = |arrived: Arc<AtomicUsize>| async move {
            weft_timer::sleep_until(deadline).await;
            arrived.fetch_add(1, SeqCst);
            // Neither poll ends before the other task has run: both wake in
            // one worker's driver, so only a second worker woken for the
            // backlog lets them meet.
            spin_until(|| arrived.load(SeqCst) == 2)
        };
        let a = weft_runtime::spawn(meet(arrived.clone()));
        let b = weft_runtime::spawn(meet(arrived));
        a.await.unwrap() && b.await.unwrap()
    }));
    assert!(
        met.unwrap(),
        "the tasks the driver woke waited for each other's poll"
    );
}

#[test]
fn a_task_spawned_by_the_park_hook_runs_before_the_worker_sleeps() {
    within(20, || {
        let spawned = Arc::new(AtomicUsize::new(0));
        let (s, (done_tx, done_rx)) = (spawned.clone(), mpsc::channel());
        let done_tx = std::sync::Mutex::new(done_tx);
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_park(move || {
                // Once: the task lands in the parking worker's own queue.
                if s.fetch_add(1, SeqCst) == 0 {
                    let done = done_tx.lock().unwrap().clone();
                    weft_runtime::spawn(async move { done.send(()).unwrap() });
                }
            })
            .build()
            .unwrap();
        // The only worker parks at once (nothing to run) and runs the hook;
        // nothing else will ever wake it.
        done_rx.recv().unwrap();
        assert!(spawned.load(SeqCst) >= 1);
        drop(rt);
    });
}

#[test]
fn a_worker_runs_its_own_queue_before_the_injector_between_looks() {
    // A fresh runtime: far from the 200th tick, at which the injector would
    // be looked at first.
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .global_queue_interval(200)
        .build()
        .unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let o = order.clone();
    let handle = rt.handle().clone();
    rt.block_on(rt.spawn(async move {
        let local = {
            let o = o.clone();
            weft_runtime::spawn(async move { o.lock().unwrap().push("local") })
        };
        // From another thread, so it goes through the injector.
        let remote = std::thread::spawn(move || {
            handle.spawn(async move { o.lock().unwrap().push("remote") })
        })
        .join()
        .unwrap();
        local.await.unwrap();
        remote.await.unwrap();
    }))
    .unwrap();
    assert_eq!(*order.lock().unwrap(), ["local", "remote"]);
}

#[test]
fn one_task_a_timer_wakes_does_not_wake_a_second_worker() {
    let rt = multi_thread(2);
    let metrics = rt.metrics();
    let changed = rt.block_on(async move {
        let sleeper = weft_runtime::spawn(weft_timer::sleep(Duration::from_millis(30)));
        // Both workers asleep, one of them in the driver.
        let parked = |w| metrics.worker_park_unpark_count(w) % 2 == 1;
        until(|| parked(0) && parked(1) && metrics.num_searching_workers() == 0).await;
        let before = [0, 1].map(|w| metrics.worker_park_unpark_count(w));
        sleeper.await.unwrap();
        let after = [0, 1].map(|w| metrics.worker_park_unpark_count(w));
        (0..2).filter(|&w| before[w] != after[w]).count()
    });
    assert_eq!(changed, 1, "only the worker in the driver woke");
}
