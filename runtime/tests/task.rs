//! Task behaviour: output, panics, abort in every state, ids, names,
//! yielding, and wakes that race a poll. Small enough to run under miri.

mod support;

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::Poll;

use support::{both, current_thread, multi_thread, scale, within, DropCounter};
use weft_runtime::task::{self, JoinHandle};

#[test]
fn output_of_spawned_tasks() {
    for (flavor, rt) in both() {
        let n = scale(1000, 20);
        let sum = rt.block_on(async move {
            let handles: Vec<_> = (0..n as u64)
                .map(|i| weft_runtime::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, (n as u64 * (n as u64 - 1)) / 2, "{flavor}");
    }
}

#[test]
fn nested_spawns() {
    for (flavor, rt) in both() {
        let depth = scale(200, 10);
        let out = rt.block_on(async move {
            fn chain(n: usize) -> JoinHandle<usize> {
                weft_runtime::spawn(async move {
                    if n == 0 {
                        0
                    } else {
                        chain(n - 1).await.unwrap() + 1
                    }
                })
            }
            chain(depth).await.unwrap()
        });
        assert_eq!(out, depth, "{flavor}");
    }
}

#[test]
fn panic_becomes_join_error_and_worker_carries_on() {
    for rt in [current_thread(), multi_thread(1)] {
        let n = std::hint::black_box(7);
        let err = rt.block_on(async move {
            weft_runtime::spawn(async move { panic!("boom {n}") })
                .await
                .unwrap_err()
        });
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert_eq!(err.panic_message(), Some("boom 7"));
        assert!(
            err.to_string().contains("panicked with message \"boom 7\""),
            "{err}"
        );
        let payload = err.into_panic();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("boom 7")
        );

        // The same (only) worker still runs tasks.
        let ok = rt.block_on(async {
            let mut total = 0;
            for i in 0..10 {
                total += weft_runtime::spawn(async move { i }).await.unwrap();
            }
            total
        });
        assert_eq!(ok, 45);
    }
}

#[test]
fn panic_payload_of_any_type() {
    let rt = current_thread();
    let err = rt.block_on(async {
        weft_runtime::spawn(async { std::panic::panic_any(17u32) })
            .await
            .unwrap_err()
    });
    assert_eq!(err.panic_message(), None);
    assert_eq!(*err.into_panic().downcast::<u32>().unwrap(), 17);
}

#[test]
fn abort_queued_task_drops_it_unpolled() {
    let rt = current_thread();
    let drops = DropCounter::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let tracked = drops.track();
    let p = polls.clone();
    // Nothing drives a current-thread runtime outside `block_on`: it stays queued.
    let handle = rt.spawn(async move {
        p.fetch_add(1, SeqCst);
        drop(tracked);
    });
    handle.abort();
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert_eq!(polls.load(SeqCst), 0);
    assert_eq!(drops.dropped(), 1);
}

#[test]
fn abort_task_while_it_is_being_polled() {
    within(60, || {
        let rt = multi_thread(2);
        let drops = DropCounter::default();
        let tracked = drops.track();
        let in_poll = Arc::new(Barrier::new(2));
        let aborted = Arc::new(Barrier::new(2));
        let (a, b) = (in_poll.clone(), aborted.clone());
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let handle = rt.spawn(poll_fn(move |_cx| {
            let _keep = &tracked;
            if p.fetch_add(1, SeqCst) == 0 {
                a.wait(); // the test aborts now, while we are RUNNING
                b.wait();
            }
            Poll::<()>::Pending
        }));
        in_poll.wait();
        handle.abort();
        aborted.wait();
        let err = rt.block_on(handle).unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(
            polls.load(SeqCst),
            1,
            "cancelled at the end of the poll, not polled again"
        );
        assert_eq!(drops.dropped(), 1);
    });
}

#[test]
fn abort_idle_task_drops_it_on_the_runtime() {
    for (flavor, rt) in both() {
        let drops = DropCounter::default();
        let tracked = drops.track();
        let (tx, rx) = mpsc::channel();
        let handle = rt.spawn(async move {
            let _keep = tracked;
            tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        let err = rt.block_on(async move {
            // Wait until it has run once and parked itself.
            poll_fn(|cx| match rx.try_recv() {
                Ok(()) => Poll::Ready(()),
                Err(_) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
            handle.abort();
            handle.abort(); // twice is harmless
            handle.await.unwrap_err()
        });
        assert!(err.is_cancelled(), "{flavor}");
        assert_eq!(drops.dropped(), 1, "{flavor}");
    }
}

/// A pending future that remembers where it was first polled and, when
/// dropped, whether it is still there: `Pin` promises that a pinned value
/// is dropped in place. (futures-util's `ReadLine` relies on it: its
/// destructor writes through a pointer into the task's own future.)
struct DroppedWherePinned {
    polled_at: std::cell::Cell<usize>,
    moved: Arc<std::sync::atomic::AtomicBool>,
    first_poll: mpsc::Sender<()>,
    _pin: std::marker::PhantomPinned,
}

impl std::future::Future for DroppedWherePinned {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
        if self.polled_at.get() == 0 {
            let at = self.as_ref().get_ref() as *const Self as usize;
            self.polled_at.set(at);
            let _ = self.first_poll.send(());
        }
        Poll::Pending
    }
}

impl Drop for DroppedWherePinned {
    fn drop(&mut self) {
        let here = self as *const Self as usize;
        if self.polled_at.get() != 0 && self.polled_at.get() != here {
            self.moved.store(true, SeqCst);
        }
    }
}

#[test]
fn a_pending_future_is_dropped_where_it_was_pinned_on_abort_and_shutdown() {
    for (flavor, rt) in both() {
        let moved = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spawn = |rt: &weft_runtime::runtime::Runtime| {
            let (first_poll, polled) = mpsc::channel();
            let handle = rt.spawn(DroppedWherePinned {
                polled_at: std::cell::Cell::new(0),
                moved: moved.clone(),
                first_poll,
                _pin: std::marker::PhantomPinned,
            });
            (handle, polled)
        };
        // Runs the runtime until the task has been polled once.
        let polled_once = |rt: &weft_runtime::runtime::Runtime, polled: mpsc::Receiver<()>| {
            rt.block_on(poll_fn(|cx| match polled.try_recv() {
                Ok(()) => Poll::Ready(()),
                Err(_) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }))
        };
        let (aborted, polled) = spawn(&rt);
        polled_once(&rt, polled);
        aborted.abort();
        let err = rt.block_on(aborted).unwrap_err();
        assert!(err.is_cancelled(), "{flavor}: {err:?}");
        assert!(
            !moved.load(SeqCst),
            "{flavor}: moved before its drop on abort"
        );

        let (_left, polled) = spawn(&rt);
        polled_once(&rt, polled);
        drop(rt);
        assert!(
            !moved.load(SeqCst),
            "{flavor}: moved before its drop at shutdown"
        );
    }
}

#[test]
fn abort_completed_task_keeps_its_output() {
    for (flavor, rt) in both() {
        let drops = DropCounter::default();
        let tracked = drops.track();
        let out = rt.block_on(async move {
            let handle = weft_runtime::spawn(async move { tracked });
            let abort = handle.abort_handle();
            poll_fn(|cx| {
                if abort.is_finished() {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
            handle.abort();
            abort.abort();
            handle.await
        });
        assert!(out.is_ok(), "{flavor}");
        assert_eq!(drops.dropped(), 0, "{flavor}: output still alive");
        drop(out);
        assert_eq!(drops.dropped(), 1, "{flavor}");
    }
}

#[test]
fn dropped_join_handle_detaches_the_task() {
    for (flavor, rt) in both() {
        let (tx, rx) = mpsc::channel();
        rt.block_on(async move {
            drop(weft_runtime::spawn(async move {
                task::yield_now().await;
                tx.send(42).unwrap();
            }));
        });
        // The task finishes on its own; on current_thread it needs a driver.
        let got = rt.block_on(async move {
            poll_fn(|cx| match rx.try_recv() {
                Ok(v) => Poll::Ready(v),
                Err(_) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await
        });
        assert_eq!(got, 42, "{flavor}");
    }
}

#[test]
fn output_dropped_once_when_nobody_reads_it() {
    for (flavor, rt) in both() {
        let drops = DropCounter::default();
        let tracked = drops.track();
        let handle = rt.spawn(async move { tracked });
        drop(handle);
        let handle2 = rt.spawn(async {});
        rt.block_on(handle2).unwrap();
        rt.block_on(async {
            poll_fn(|cx| {
                if drops.dropped() == 1 {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await
        });
        assert_eq!(drops.dropped(), 1, "{flavor}");
    }
}

#[test]
fn ids_and_names() {
    let rt = current_thread();
    rt.block_on(async {
        assert_eq!(task::try_id(), None, "block_on's own future is not a task");
        let h = weft_runtime::spawn(async { task::id() });
        let id = h.id();
        assert_eq!(h.await.unwrap(), id);
        let other = weft_runtime::spawn(async {}).id();
        assert_ne!(id, other);

        let err = task::Builder::new()
            .name("worker-7")
            .spawn(async { panic!("bad") })
            .unwrap()
            .await
            .unwrap_err();
        assert_eq!(err.task_name(), Some("worker-7"));
        assert!(err.to_string().contains("\"worker-7\""), "{err}");
    });
}

#[test]
fn builder_spawn_outside_runtime_is_an_error() {
    let err = task::Builder::new().spawn(async {}).unwrap_err();
    assert!(err.to_string().contains("no weft runtime"), "{err}");
}

#[test]
fn yield_now_lets_queued_tasks_run_first() {
    let rt = current_thread();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    rt.block_on(async move {
        let (o1, o2) = (o.clone(), o.clone());
        let a = weft_runtime::spawn(async move {
            o1.lock().unwrap().push("a1");
            task::yield_now().await;
            o1.lock().unwrap().push("a2");
        });
        let b = weft_runtime::spawn(async move {
            o2.lock().unwrap().push("b");
        });
        a.await.unwrap();
        b.await.unwrap();
    });
    assert_eq!(*order.lock().unwrap(), ["a1", "b", "a2"]);
}

#[test]
fn a_yielding_task_is_not_kept_waiting_behind_a_long_queue() {
    // One worker, 1,000 tasks queued behind a task that yields: it runs
    // again within one deferral interval (16 ticks), not after all of them
    // (nor after a 61-tick maintenance interval).
    const QUEUED: usize = 1_000;
    let rt = multi_thread(1);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let ran_before_resume = rt.block_on(async move {
        weft_runtime::spawn(async move {
            for _ in 0..QUEUED {
                let r = r.clone();
                weft_runtime::spawn(async move {
                    r.fetch_add(1, SeqCst);
                });
            }
            task::yield_now().await;
            r.load(SeqCst)
        })
        .await
        .unwrap()
    });
    assert!(
        ran_before_resume < 32,
        "{ran_before_resume} tasks ran first"
    );
    rt.block_on(async {
        while ran.load(SeqCst) < QUEUED {
            task::yield_now().await;
        }
    });
}

/// A future that returns `Pending` `times` times, waking itself each time
/// with `wake`, then finishes with the number of polls.
fn waking_itself(times: usize, wake: fn(&std::task::Waker)) -> impl Future<Output = usize> {
    let mut polls = 0;
    poll_fn(move |cx| {
        polls += 1;
        if polls > times {
            return Poll::Ready(polls);
        }
        wake(cx.waker());
        Poll::Pending
    })
}

#[test]
fn a_task_that_wakes_itself_during_its_poll_is_polled_again() {
    within(60, || {
        let times = scale(100, 5);
        for (flavor, rt) in both() {
            let by_ref = rt.spawn(waking_itself(times, |w| w.wake_by_ref()));
            // By value: the clone's own reference is dropped by the wake.
            let by_value = rt.spawn(waking_itself(times, |w| {
                let owned = w.clone();
                owned.wake();
            }));
            // Woken by itself twice in one poll: queued once.
            let twice = rt.spawn(waking_itself(times, |w| {
                w.wake_by_ref();
                let owned = w.clone();
                owned.wake();
            }));
            // Woken from another thread while its poll runs: not on the
            // polling thread, so through the state word.
            let scoped = rt.spawn(waking_itself(times, |w| {
                std::thread::scope(|s| {
                    s.spawn(|| w.wake_by_ref());
                });
            }));
            for handle in [by_ref, by_value, twice, scoped] {
                assert_eq!(rt.block_on(handle).unwrap(), times + 1, "{flavor}");
            }
        }
    });
}

#[test]
fn a_task_yielding_in_a_loop_is_cancelled_by_abort() {
    // Between its polls it is queued holding its RUNNING bit (a carried
    // entry): the abort must still be seen when the entry is run.
    within(60, || {
        for (flavor, rt) in both() {
            let drops = DropCounter::default();
            let tracked = drops.track();
            let polls = Arc::new(AtomicUsize::new(0));
            let counted = polls.clone();
            let handle = rt.spawn(async move {
                let _keep = tracked;
                loop {
                    counted.fetch_add(1, SeqCst);
                    task::yield_now().await;
                }
            });
            rt.block_on(async {
                while polls.load(SeqCst) < 3 {
                    task::yield_now().await;
                }
            });
            handle.abort();
            let err = rt.block_on(handle).unwrap_err();
            assert!(err.is_cancelled(), "{flavor}: {err}");
            assert_eq!(drops.dropped(), 1, "{flavor}");
        }
    });
}

#[test]
fn a_self_wake_survives_a_local_set_polled_inside_the_same_poll() {
    // The local task's polls run inside the outer task's poll, on its
    // thread: each names itself the task being polled (and wakes itself),
    // and must give the outer poll back its own note of having woken
    // itself. Nothing awaits the local task, so its end wakes nobody.
    within(60, || {
        let rounds = scale(50, 3);
        for (flavor, rt) in both() {
            let outer_set = task::LocalSet::new();
            let outer = outer_set.spawn_local(async move {
                let local = task::LocalSet::new();
                let mut inner_polls = 0;
                for _ in 0..rounds {
                    let mut yielded = false;
                    poll_fn(|cx| {
                        if yielded {
                            return Poll::Ready(());
                        }
                        yielded = true;
                        cx.waker().wake_by_ref();
                        let done = std::rc::Rc::new(std::cell::Cell::new(0));
                        let set = done.clone();
                        drop(local.spawn_local(async move {
                            set.set(waking_itself(3, |w| w.wake_by_ref()).await);
                        }));
                        let mut run = std::pin::pin!(local.run_until(poll_fn(|_| {
                            match done.get() {
                                0 => Poll::Pending,
                                polls => Poll::Ready(polls),
                            }
                        })));
                        loop {
                            if let Poll::Ready(polls) = run.as_mut().poll(cx) {
                                inner_polls += polls;
                                break;
                            }
                        }
                        // Pending, counting on the wake from before the
                        // local task ran.
                        Poll::Pending
                    })
                    .await;
                }
                inner_polls
            });
            let inner_polls = outer_set.block_on(&rt, outer).unwrap();
            assert_eq!(inner_polls, rounds * 4, "{flavor}");
        }
    });
}

#[test]
fn wakes_from_other_threads_during_poll_are_not_lost() {
    within(120, || {
        let rt = multi_thread(2);
        support::cross_thread_wakes(&rt, 4, scale(5_000, 20));
        let rt = current_thread();
        support::cross_thread_wakes(&rt, 4, scale(5_000, 20));
    });
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JoinHandle<u32>>();
    assert_send_sync::<task::AbortHandle>();
    assert_send_sync::<task::JoinError>();
    assert_send_sync::<weft_runtime::runtime::Handle>();
    assert_send_sync::<weft_runtime::runtime::Runtime>();
}

/// Records whether it was dropped while a panic unwound, and may panic in
/// its own destructor.
struct Witness {
    dropped_unwinding: Arc<Mutex<Vec<bool>>>,
    panic_on_drop: bool,
}

impl Witness {
    /// A witness, and the list its drop reports to.
    fn new(panic_on_drop: bool) -> (Witness, Arc<Mutex<Vec<bool>>>) {
        let drops = Arc::new(Mutex::new(Vec::new()));
        let witness = Witness {
            dropped_unwinding: drops.clone(),
            panic_on_drop,
        };
        (witness, drops)
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.dropped_unwinding
            .lock()
            .unwrap()
            .push(std::thread::panicking());
        if self.panic_on_drop {
            panic!("witness dropped");
        }
    }
}

/// A future whose poll panics is dropped while the panic unwinds (its
/// destructor sees `panicking()`), once, as tokio's is.
#[test]
fn a_panicking_future_is_dropped_while_its_panic_unwinds() {
    for (flavor, rt) in both() {
        let (witness, drops) = Witness::new(false);
        // Not an async block: a panicking async block drops its own
        // captures as the panic leaves it, whoever holds it.
        struct PanicsInPoll(#[allow(dead_code)] Witness);
        impl std::future::Future for PanicsInPoll {
            type Output = ();
            fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
                panic!("in poll");
            }
        }
        let err = rt.block_on(rt.spawn(PanicsInPoll(witness))).unwrap_err();
        assert!(err.is_panic(), "{flavor}");
        assert_eq!(*drops.lock().unwrap(), [true], "{flavor}");
    }
}

/// A future whose destructor panics when it is aborted: the handle reports
/// that panic, not a plain cancellation.
#[test]
fn a_panic_while_an_aborted_future_drops_is_the_join_error() {
    for (flavor, rt) in both() {
        let (witness, drops) = Witness::new(true);
        let err = rt.block_on(async move {
            let handle = weft_runtime::spawn(async move {
                let _witness = witness;
                std::future::pending::<()>().await;
            });
            task::yield_now().await;
            handle.abort();
            handle.await.unwrap_err()
        });
        assert!(err.is_panic(), "{flavor}: {err}");
        assert_eq!(err.panic_message(), Some("witness dropped"), "{flavor}");
        assert_eq!(*drops.lock().unwrap(), [false], "{flavor}");
    }
}

/// A waker that reports each wake on a channel, tagged.
struct Reporting(&'static str, Mutex<mpsc::Sender<&'static str>>);

impl std::task::Wake for Reporting {
    fn wake(self: Arc<Self>) {
        let _ = self.1.lock().unwrap().send(self.0);
    }
}

#[test]
fn a_join_handle_polled_with_a_new_waker_is_woken_through_it() {
    let rt = multi_thread(2);
    let (woken_tx, woken) = mpsc::channel();
    let waker =
        |tag| std::task::Waker::from(Arc::new(Reporting(tag, Mutex::new(woken_tx.clone()))));
    let (first, second) = (waker("first"), waker("second"));
    let (open_tx, open_rx) = mpsc::channel::<()>();
    let open_rx = Mutex::new(open_rx);
    let mut handle = rt.spawn(async move {
        // Waits on the blocking pool for the gate, so nothing but the test
        // completes it.
        task::spawn_blocking(move || open_rx.lock().unwrap().recv().unwrap())
            .await
            .unwrap();
        7
    });
    let mut poll_with = |waker: &std::task::Waker| {
        std::pin::Pin::new(&mut handle).poll(&mut std::task::Context::from_waker(waker))
    };
    assert!(poll_with(&first).is_pending());
    assert!(poll_with(&second).is_pending(), "the gate is shut");
    open_tx.send(()).unwrap();
    let tag = woken
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the join handle was never woken");
    assert_eq!(tag, "second", "woken through the waker of the last poll");
    assert!(matches!(poll_with(&second), Poll::Ready(Ok(7))));
    assert!(
        woken.try_recv().is_err(),
        "the first waker was dropped unwoken"
    );
}

/// The order in which the tasks of `run_order_on_one_worker` first ran
/// (spawned) or resumed (woken).
type Order = Arc<Mutex<Vec<&'static str>>>;

/// A parked task's gate: open yet, and its waker while it waits.
type Gate = Arc<Mutex<(bool, Option<std::task::Waker>)>>;

/// On one worker: a task spawns three tasks, then wakes three parked ones
/// in one poll. Returns the order the spawned ones started in and the order
/// the woken ones resumed in.
fn run_order_on_one_worker(lifo_slot: bool) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut builder = weft_runtime::runtime::Builder::new_multi_thread();
    builder.worker_threads(1);
    if !lifo_slot {
        builder.disable_lifo_slot();
    }
    let rt = builder.build().unwrap();
    let spawned: Order = Arc::default();
    let woken: Order = Arc::default();
    let (s, w) = (spawned.clone(), woken.clone());
    rt.block_on(rt.spawn(async move {
        let started: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                let s = s.clone();
                weft_runtime::spawn(async move { s.lock().unwrap().push(name) })
            })
            .collect();
        for handle in started {
            handle.await.unwrap();
        }
        let gates: Vec<Gate> = (0..3).map(|_| Arc::default()).collect();
        let parked: Vec<_> = ["1", "2", "3"]
            .into_iter()
            .zip(&gates)
            .map(|(name, gate)| {
                let (gate, w) = (gate.clone(), w.clone());
                weft_runtime::spawn(async move {
                    poll_fn(|cx| {
                        let mut gate = gate.lock().unwrap();
                        if gate.0 {
                            return Poll::Ready(());
                        }
                        gate.1 = Some(cx.waker().clone());
                        Poll::Pending
                    })
                    .await;
                    w.lock().unwrap().push(name);
                })
            })
            .collect();
        // Until all three are parked on their gates.
        while gates.iter().any(|gate| gate.lock().unwrap().1.is_none()) {
            task::yield_now().await;
        }
        for gate in &gates {
            let waker = {
                let mut gate = gate.lock().unwrap();
                gate.0 = true;
                gate.1.take().unwrap()
            };
            waker.wake();
        }
        for handle in parked {
            handle.await.unwrap();
        }
    }))
    .unwrap();
    let spawned = spawned.lock().unwrap().clone();
    let woken = woken.lock().unwrap().clone();
    (spawned, woken)
}

#[test]
fn spawned_tasks_start_in_order_and_the_last_woken_runs_first() {
    let (spawned, woken) = run_order_on_one_worker(true);
    assert_eq!(spawned, ["a", "b", "c"], "spawns queue at the back");
    assert_eq!(
        woken,
        ["3", "1", "2"],
        "the task woken last takes the LIFO slot, the others queue"
    );
}

#[test]
fn without_the_lifo_slot_woken_tasks_run_in_wake_order() {
    let (spawned, woken) = run_order_on_one_worker(false);
    assert_eq!(spawned, ["a", "b", "c"]);
    assert_eq!(woken, ["1", "2", "3"]);
}

/// Two tasks that wake each other, each wake landing in the LIFO slot.
struct Rally {
    /// Exchanges so far; the rally stops at `RALLY_LEN`.
    count: usize,
    /// Whose turn it is (0 or 1; nobody's before the serve), and each
    /// player's waker.
    turn: Option<usize>,
    wakers: [Option<std::task::Waker>; 2],
}

const RALLY_LEN: usize = 200;

async fn rally_player(me: usize, rally: Arc<Mutex<Rally>>) {
    poll_fn(|cx| {
        let mut r = rally.lock().unwrap();
        if r.count >= RALLY_LEN {
            let other = r.wakers[1 - me].take();
            drop(r);
            if let Some(waker) = other {
                waker.wake();
            }
            return Poll::Ready(());
        }
        if r.turn == Some(me) {
            r.count += 1;
            r.turn = Some(1 - me);
            if let Some(waker) = r.wakers[1 - me].take() {
                waker.wake();
            }
        }
        r.wakers[me] = Some(cx.waker().clone());
        Poll::Pending
    })
    .await
}

#[test]
fn two_tasks_waking_each_other_cannot_starve_the_queue() {
    let rt = weft_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let seen_at = rt
        .block_on(rt.spawn(async {
            let rally = Arc::new(Mutex::new(Rally {
                count: 0,
                turn: None,
                wakers: [None, None],
            }));
            let players: Vec<_> = (0..2)
                .map(|me| weft_runtime::spawn(rally_player(me, rally.clone())))
                .collect();
            // Until both have polled once and wait for their turn.
            while rally.lock().unwrap().wakers.iter().any(Option::is_none) {
                task::yield_now().await;
            }
            let r = rally.clone();
            let queued = weft_runtime::spawn(async move { r.lock().unwrap().count });
            // Serve: player 0's turn, woken from here into the LIFO slot.
            let serve = {
                let mut r = rally.lock().unwrap();
                r.turn = Some(0);
                r.wakers[0].take().unwrap()
            };
            serve.wake();
            let seen_at = queued.await.unwrap();
            for player in players {
                player.await.unwrap();
            }
            seen_at
        }))
        .unwrap();
    assert!(
        seen_at < 10,
        "the queued task ran only after {seen_at} exchanges of the LIFO pair"
    );
}

#[test]
fn a_read_output_is_dropped_once_and_a_second_poll_panics() {
    for (flavor, rt) in both() {
        let drops = DropCounter::default();
        let tracked = drops.track();
        let mut handle = rt.spawn(async move { tracked });
        let output = rt.block_on(&mut handle).unwrap();
        assert_eq!(drops.dropped(), 0, "{flavor}: the output is the reader's");
        drop(output);
        assert_eq!(drops.dropped(), 1, "{flavor}");
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            let _ = std::pin::Pin::new(&mut handle).poll(&mut cx);
        }))
        .expect_err("a second poll must panic");
        let message = again.downcast_ref::<&str>().copied().unwrap_or_default();
        assert_eq!(message, "JoinHandle polled after completion", "{flavor}");
        assert!(handle.is_finished(), "{flavor}");
        drop(handle);
        assert_eq!(drops.dropped(), 1, "{flavor}: never dropped twice");
    }
}

/// A task's waker is kept in the awaited task's cell as the bare header,
/// owning a reference: handing the handle to another task must release the
/// first task (miri's leak check sees a reference kept) and wake the second.
#[test]
fn a_join_handle_handed_between_tasks_wakes_the_one_awaiting_it() {
    for (flavor, rt) in both() {
        let (open_tx, open_rx) = mpsc::channel::<()>();
        let open_rx = Mutex::new(open_rx);
        let out = rt.block_on(async move {
            let mut target = weft_runtime::spawn(async move {
                task::spawn_blocking(move || open_rx.lock().unwrap().recv().unwrap())
                    .await
                    .unwrap();
                11
            });
            let first = weft_runtime::spawn(async move {
                let pending = poll_fn(|cx| {
                    Poll::Ready(std::pin::Pin::new(&mut target).poll(cx).is_pending())
                })
                .await;
                (pending, target)
            });
            let (pending, target) = first.await.unwrap();
            assert!(pending, "the gate is shut");
            let second = weft_runtime::spawn(target);
            open_tx.send(()).unwrap();
            second.await.unwrap()
        });
        assert_eq!(out.unwrap(), 11, "{flavor}");
    }
}
