//! The blocking pool and `block_in_place`: values and panics of blocking
//! closures, the thread cap, keep-alive retirement, runtime access from the
//! pool, cancellation of queued closures at shutdown, shutdown timeouts,
//! and the worker hand-off of `block_in_place`.

mod support;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use support::{current_thread, multi_thread, panic_message, scale, within};
use weft_runtime::runtime::{Builder, Handle};
use weft_runtime::task;

/// How long any event wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// A builder of each flavour (the multi-thread one with `workers` workers).
fn builders(workers: usize) -> Vec<(&'static str, Builder)> {
    let mut multi = Builder::new_multi_thread();
    multi.worker_threads(workers);
    vec![
        ("current_thread", Builder::new_current_thread()),
        ("multi_thread", multi),
    ]
}

/// A counting semaphore for blocking closures: `take` waits (bounded) for a
/// token that the test hands out with `release`.
#[derive(Clone, Default)]
struct Tokens(Arc<(Mutex<usize>, Condvar)>);

impl Tokens {
    fn release(&self, n: usize) {
        let (lock, cvar) = &*self.0;
        *lock.lock().unwrap() += n;
        cvar.notify_all();
    }

    fn take(&self) {
        let (lock, cvar) = &*self.0;
        let guard = lock.lock().unwrap();
        let (mut guard, timeout) = cvar.wait_timeout_while(guard, WAIT, |n| *n == 0).unwrap();
        assert!(!timeout.timed_out(), "no token was released");
        *guard -= 1;
    }
}

/// Records the threads that the runtime's hooks report.
struct Hooks {
    started: mpsc::Receiver<ThreadId>,
    stopped: mpsc::Receiver<ThreadId>,
}

fn with_hooks(builder: &mut Builder) -> Hooks {
    let (start_tx, started) = mpsc::channel();
    let (stop_tx, stopped) = mpsc::channel();
    builder
        .on_thread_start(move || {
            let _ = start_tx.send(thread::current().id());
        })
        .on_thread_stop(move || {
            let _ = stop_tx.send(thread::current().id());
        });
    Hooks { started, stopped }
}

impl Hooks {
    /// Waits for the start event of `thread` (skipping other threads').
    fn expect_start(&self, thread: ThreadId) {
        while self
            .started
            .recv_timeout(WAIT)
            .expect("no start event for the thread")
            != thread
        {}
    }

    /// Waits for the stop event of `thread` (skipping other threads').
    fn expect_stop(&self, thread: ThreadId) {
        while self
            .stopped
            .recv_timeout(WAIT)
            .expect("no stop event for the thread")
            != thread
        {}
    }
}

#[test]
fn spawn_blocking_returns_the_value_off_the_block_on_thread() {
    let rt = current_thread();
    let (main, (blocking, value, in_runtime)) = rt.block_on(async {
        let main = thread::current().id();
        let out =
            task::spawn_blocking(|| (thread::current().id(), 6 * 7, Handle::try_current().is_ok()))
                .await
                .unwrap();
        (main, out)
    });
    assert_eq!(value, 42);
    assert_ne!(
        main, blocking,
        "ran on the pool, not on the block_on thread"
    );
    assert_ne!(thread::current().id(), blocking);
    assert!(in_runtime, "the pool thread sees its runtime");

    // Also from outside the runtime, through `Runtime` and `Handle`.
    let a = rt.spawn_blocking(|| "runtime");
    let b = rt.handle().spawn_blocking(|| "handle");
    assert_eq!(rt.block_on(a).unwrap(), "runtime");
    assert_eq!(rt.block_on(b).unwrap(), "handle");
}

#[test]
#[cfg_attr(miri, ignore)]
fn spawn_blocking_runs_on_a_thread_that_is_no_worker() {
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2);
    let hooks = with_hooks(&mut builder);
    let rt = builder.build().unwrap();
    // Before anything blocking is spawned, only the workers start.
    let workers: HashSet<ThreadId> = (0..2)
        .map(|_| hooks.started.recv_timeout(WAIT).unwrap())
        .collect();
    assert_eq!(workers.len(), 2);

    let (task_thread, blocking_thread, value) = rt.block_on(async {
        let task_thread = weft_runtime::spawn(async { thread::current().id() })
            .await
            .unwrap();
        let (blocking_thread, value) =
            task::spawn_blocking(|| (thread::current().id(), "off the workers"))
                .await
                .unwrap();
        (task_thread, blocking_thread, value)
    });
    assert_eq!(value, "off the workers");
    assert!(
        workers.contains(&task_thread),
        "sanity: tasks run on workers"
    );
    assert!(
        !workers.contains(&blocking_thread),
        "the closure ran on a worker"
    );
    // The pool thread is a runtime thread of its own (hooks included).
    assert_eq!(hooks.started.recv_timeout(WAIT).unwrap(), blocking_thread);
}

#[test]
fn panicking_closure_is_a_join_error_and_the_thread_carries_on() {
    for (flavor, mut builder) in builders(1) {
        let rt = builder.max_blocking_threads(1).build().unwrap();
        let (first, err) = rt.block_on(async {
            let (tx, rx) = mpsc::channel();
            let n = std::hint::black_box(5);
            let err = task::spawn_blocking(move || {
                tx.send(thread::current().id()).unwrap();
                panic!("blocking boom {n}")
            })
            .await
            .unwrap_err();
            (rx.recv().unwrap(), err)
        });
        assert!(err.is_panic(), "{flavor}: {err}");
        assert!(!err.is_cancelled(), "{flavor}");
        assert_eq!(err.panic_message(), Some("blocking boom 5"), "{flavor}");
        assert_eq!(
            panic_message(&*err.into_panic()),
            "blocking boom 5",
            "{flavor}"
        );

        // With a cap of 1, the next closure can only run if the thread survived.
        let second = within(30, {
            let handle = rt.handle().clone();
            move || {
                handle
                    .block_on(handle.spawn_blocking(|| thread::current().id()))
                    .unwrap()
            }
        });
        assert_eq!(
            first, second,
            "{flavor}: the same pool thread runs the next closure"
        );
        assert_eq!(rt.metrics().num_blocking_threads(), 1, "{flavor}");
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn pool_grows_to_the_cap_and_never_beyond() {
    for (flavor, mut builder) in builders(1) {
        let rt = builder.max_blocking_threads(2).build().unwrap();
        within(30, move || {
            let closures = 6;
            let cap = 2;
            let running = Arc::new(AtomicUsize::new(0));
            let max_running = Arc::new(AtomicUsize::new(0));
            let tokens = Tokens::default();
            let (started_tx, started_rx) = mpsc::channel();
            let handles: Vec<_> = (0..closures)
                .map(|i| {
                    let (running, max_running) = (running.clone(), max_running.clone());
                    let (tokens, started_tx) = (tokens.clone(), started_tx.clone());
                    rt.spawn_blocking(move || {
                        let now = running.fetch_add(1, SeqCst) + 1;
                        max_running.fetch_max(now, SeqCst);
                        started_tx.send(i).unwrap();
                        tokens.take();
                        running.fetch_sub(1, SeqCst);
                        i
                    })
                })
                .collect();
            // Threads are started by `spawn_blocking` itself: the count is final.
            assert_eq!(rt.metrics().num_blocking_threads(), cap, "{flavor}");

            let mut started = HashSet::new();
            for _ in 0..cap {
                started.insert(started_rx.recv_timeout(WAIT).unwrap());
            }
            assert_eq!(running.load(SeqCst), cap, "{flavor}");
            assert!(
                started_rx.try_recv().is_err(),
                "{flavor}: a third closure started"
            );
            // Release one at a time: each release lets exactly one more start.
            for _ in cap..closures {
                tokens.release(1);
                assert!(
                    started.insert(started_rx.recv_timeout(WAIT).unwrap()),
                    "{flavor}"
                );
                assert!(running.load(SeqCst) <= cap, "{flavor}");
                assert!(rt.metrics().num_blocking_threads() <= cap, "{flavor}");
            }
            tokens.release(cap);
            let mut outputs: Vec<_> = handles
                .into_iter()
                .map(|h| rt.block_on(h).unwrap())
                .collect();
            outputs.sort_unstable();
            assert_eq!(
                outputs,
                (0..closures).collect::<Vec<_>>(),
                "{flavor}: all complete"
            );
            assert_eq!(started.len(), closures, "{flavor}");
            assert_eq!(
                max_running.load(SeqCst),
                cap,
                "{flavor}: max concurrency is the cap"
            );
        });
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn idle_threads_retire_after_keep_alive() {
    for (flavor, mut builder) in builders(1) {
        builder.thread_keep_alive(Duration::from_millis(50));
        let hooks = with_hooks(&mut builder);
        let rt = builder.build().unwrap();
        let id = rt
            .block_on(rt.spawn_blocking(|| thread::current().id()))
            .unwrap();
        hooks.expect_start(id);
        // Workers stop only at shutdown (and a current-thread runtime has
        // none): a stop event now is the idle pool thread retiring.
        let stopped = hooks
            .stopped
            .recv_timeout(WAIT)
            .expect("the idle pool thread never retired");
        assert_eq!(
            stopped, id,
            "{flavor}: the pool thread is the one that stopped"
        );
        assert_eq!(rt.metrics().num_blocking_threads(), 0, "{flavor}");

        // The pool starts a fresh thread for the next closure.
        let again = rt
            .block_on(rt.spawn_blocking(|| thread::current().id()))
            .unwrap();
        assert_ne!(again, id, "{flavor}: a retired thread does not come back");
        hooks.expect_start(again);
        assert_eq!(hooks.stopped.recv_timeout(WAIT).unwrap(), again, "{flavor}");
    }
}

#[test]
fn an_idle_thread_takes_new_work() {
    for (flavor, mut builder) in builders(1) {
        // With a cap of 1 every closure needs the one thread, which goes idle
        // (default keep-alive 10 s) between closures: a lost wakeup hangs.
        let rt = builder.max_blocking_threads(1).build().unwrap();
        within(30, move || {
            let n = scale(50, 4);
            let mut threads = HashSet::new();
            for i in 0..n {
                let (id, out) = rt
                    .block_on(rt.spawn_blocking(move || (thread::current().id(), i)))
                    .unwrap();
                assert_eq!(out, i, "{flavor}");
                threads.insert(id);
            }
            assert_eq!(threads.len(), 1, "{flavor}: one thread ran them all");
            assert_eq!(rt.metrics().num_blocking_threads(), 1, "{flavor}");
        });
    }
}

#[test]
fn handle_current_and_block_on_inside_spawn_blocking() {
    for (flavor, mut builder) in builders(2) {
        let rt = builder.build().unwrap();
        let expected = rt.handle().runtime_flavor();
        let out = within(30, move || {
            rt.block_on(rt.spawn_blocking(|| {
                let handle = Handle::current();
                let spawned = handle.spawn(async { 40 });
                let a = handle.block_on(spawned).unwrap();
                let b = handle.block_on(async { weft_runtime::spawn(async { 2 }).await.unwrap() });
                (handle.runtime_flavor(), a + b)
            }))
            .unwrap()
        });
        assert_eq!(out, (expected, 42), "{flavor}");
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn queued_closures_are_cancelled_at_shutdown() {
    for (flavor, mut builder) in builders(1) {
        let hooks = with_hooks(builder.max_blocking_threads(1));
        let rt = builder.build().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || {
            started_tx.send(thread::current().id()).unwrap();
            release_rx.recv_timeout(WAIT).expect("never released");
            1
        });
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let second = rt.spawn_blocking(move || {
            r.store(true, SeqCst);
            2
        });
        let pool_thread = started_rx.recv_timeout(WAIT).unwrap();
        assert!(!second.is_finished(), "{flavor}: queued behind the first");

        within(30, move || rt.shutdown_timeout(Duration::from_millis(50)));
        // The queued one was cancelled by the shutdown itself.
        assert!(
            second.is_finished(),
            "{flavor}: the queued closure was not cancelled"
        );
        release_tx.send(()).unwrap();
        // Wait for the pool thread to exit: it can no longer run anything.
        hooks.expect_stop(pool_thread);
        let other = current_thread();
        let err = other.block_on(second).unwrap_err();
        assert!(err.is_cancelled(), "{flavor}: {err}");
        assert!(!ran.load(SeqCst), "{flavor}: the queued closure ran");
        assert_eq!(
            other.block_on(first).unwrap(),
            1,
            "{flavor}: a running closure completes"
        );
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn shutdown_timeout_returns_while_a_closure_still_runs() {
    for (flavor, mut builder) in builders(1) {
        let rt = builder.build().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let handle = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv_timeout(WAIT).expect("never released");
            done_tx.send(()).unwrap();
            "finished"
        });
        started_rx.recv_timeout(WAIT).unwrap();
        within(30, move || rt.shutdown_timeout(Duration::from_millis(50)));
        assert!(
            !handle.is_finished(),
            "{flavor}: the closure is still blocked"
        );
        release_tx.send(()).unwrap();
        done_rx
            .recv_timeout(WAIT)
            .expect("the closure did not complete after shutdown");
        assert_eq!(
            current_thread().block_on(handle).unwrap(),
            "finished",
            "{flavor}"
        );
    }
}

/// Sends on drop: tells a blocking closure that shutdown has started.
struct SignalOnDrop(mpsc::Sender<()>);

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn shutdown_timeout_waits_for_a_closure_that_finishes_in_time() {
    for (flavor, mut builder) in builders(1) {
        let rt = builder.build().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let handle = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv_timeout(WAIT).expect("never released");
            d.store(true, SeqCst);
        });
        started_rx.recv_timeout(WAIT).unwrap();
        // A pending task whose future, dropped by the shutdown, releases the
        // closure: it finishes while `shutdown_timeout` waits.
        let guard = SignalOnDrop(release_tx);
        drop(rt.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }));
        within(30, move || rt.shutdown_timeout(WAIT));
        assert!(
            done.load(SeqCst),
            "{flavor}: shutdown returned before the closure finished"
        );
        assert!(handle.is_finished(), "{flavor}");
        current_thread().block_on(handle).unwrap();
    }
}

#[test]
fn abort_cancels_a_queued_closure_but_not_a_running_one() {
    for (flavor, mut builder) in builders(1) {
        let rt = builder.max_blocking_threads(1).build().unwrap();
        within(30, move || {
            let (started_tx, started_rx) = mpsc::channel();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let running = rt.spawn_blocking(move || {
                started_tx.send(()).unwrap();
                release_rx.recv_timeout(WAIT).expect("never released");
                "ran"
            });
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let queued = rt.spawn_blocking(move || r.store(true, SeqCst));
            started_rx.recv_timeout(WAIT).unwrap();
            queued.abort();
            running.abort(); // too late: a running closure cannot be stopped
            release_tx.send(()).unwrap();
            assert_eq!(rt.block_on(running).unwrap(), "ran", "{flavor}");
            let err = rt.block_on(queued).unwrap_err();
            assert!(err.is_cancelled(), "{flavor}: {err}");
            assert!(!ran.load(SeqCst), "{flavor}: an aborted closure ran");
        });
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn block_in_place_hands_the_worker_queue_to_a_new_thread() {
    within(60, || {
        let rt = multi_thread(1);
        let (me, sender_thread, workers) = rt
            .block_on(rt.spawn(async {
                let (tx, rx) = mpsc::channel();
                let me = thread::current().id();
                // Spawned from the only worker: it sits in that worker's
                // local queue, and only a thread that takes the queue over
                // can run it while this one blocks.
                let sender = weft_runtime::spawn(async move {
                    tx.send(thread::current().id()).unwrap();
                });
                let got = task::block_in_place(|| rx.recv_timeout(WAIT));
                let sender_thread =
                    got.expect("the queued task never ran: the worker was not handed off");
                sender.await.unwrap();
                (me, sender_thread, Handle::current().metrics().num_workers())
            }))
            .unwrap();
        assert_ne!(
            me, sender_thread,
            "the other task ran on the new worker thread"
        );
        assert_eq!(workers, 1, "still one worker (the core moved)");
        // The runtime keeps working after the hand-off.
        let total = rt.block_on(async {
            let mut total = 0;
            for i in 0..10 {
                total += weft_runtime::spawn(async move { i }).await.unwrap();
            }
            total
        });
        assert_eq!(total, 45);
    });
}

#[test]
#[cfg_attr(miri, ignore)]
fn block_in_place_allows_block_on() {
    within(30, || {
        let rt = multi_thread(2);
        // Inside a task.
        let out = rt
            .block_on(rt.spawn(async {
                task::block_in_place(|| {
                    Handle::current()
                        .block_on(async { weft_runtime::spawn(async { 3 }).await.unwrap() + 1 })
                })
            }))
            .unwrap();
        assert_eq!(out, 4);
        // Inside `block_on`'s own future.
        let out =
            rt.block_on(async { task::block_in_place(|| Handle::current().block_on(async { 5 })) });
        assert_eq!(out, 5);
        // Without it, `block_on` inside a task is refused.
        let err = rt
            .block_on(rt.spawn(async { Handle::current().block_on(async {}) }))
            .unwrap_err();
        assert!(err.is_panic());
        let message = err.panic_message().unwrap_or_default();
        assert!(message.contains("block_in_place"), "{message}");
    });
}

#[test]
fn block_in_place_outside_a_runtime_just_runs_the_closure() {
    let me = thread::current().id();
    let (thread, value) = task::block_in_place(|| (thread::current().id(), 7));
    assert_eq!((thread, value), (me, 7));
    // And on a blocking-pool thread (a runtime thread that is no worker).
    let rt = current_thread();
    let out = rt
        .block_on(async { task::spawn_blocking(|| task::block_in_place(|| 8)).await })
        .unwrap();
    assert_eq!(out, 8);
}

#[test]
fn block_in_place_on_current_thread_panics() {
    let rt = current_thread();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let err = rt
        .block_on(rt.spawn(async move { task::block_in_place(|| r.store(true, SeqCst)) }))
        .unwrap_err();
    assert!(err.is_panic(), "{err}");
    let message = err.panic_message().unwrap_or_default();
    assert!(message.contains("spawn_blocking"), "{message}");
    assert!(!ran.load(SeqCst), "the closure must not run");

    // In `block_on`'s own future too.
    let r = ran.clone();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async move { task::block_in_place(|| r.store(true, SeqCst)) })
    }));
    let message = panic_message(&*caught.expect_err("block_in_place must panic"));
    assert!(message.contains("spawn_blocking"), "{message}");
    assert!(!ran.load(SeqCst));
    // The runtime is still usable.
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
}

#[test]
#[cfg_attr(miri, ignore)]
fn nested_block_in_place() {
    within(30, || {
        let rt = multi_thread(1);
        let out = rt
            .block_on(rt.spawn(async {
                let (tx, rx) = mpsc::channel();
                let _sender = weft_runtime::spawn(async move { tx.send(2).unwrap() });
                task::block_in_place(|| {
                    let inner = task::block_in_place(|| task::block_in_place(|| 40));
                    // The queue was handed off by the outer call.
                    inner
                        + rx.recv_timeout(WAIT)
                            .expect("the worker was not handed off")
                })
            }))
            .unwrap();
        assert_eq!(out, 42);
        let out = rt
            .block_on(rt.spawn(async { task::block_in_place(|| 1) }))
            .unwrap();
        assert_eq!(out, 1);
    });
}

#[test]
#[cfg_attr(miri, ignore)]
fn many_block_in_place_hand_offs() {
    within(60, || {
        let rt = multi_thread(1);
        let n = scale(50, 3);
        let total = rt.block_on(async move {
            let mut handles = Vec::new();
            for i in 0..n {
                handles.push(weft_runtime::spawn(async move {
                    let v = task::block_in_place(|| i * 2);
                    task::yield_now().await;
                    v
                }));
            }
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            total
        });
        assert_eq!(total, n * (n - 1));
        // Every thread, old workers included, is joined by the drop.
        drop(rt);
    });
}

#[test]
fn spawn_blocking_outside_a_runtime_panics() {
    let caught = catch_unwind(|| drop(task::spawn_blocking(|| ())));
    let message = panic_message(&*caught.expect_err("spawn_blocking outside a runtime must panic"));
    assert!(message.contains("no weft runtime"), "{message}");
}
