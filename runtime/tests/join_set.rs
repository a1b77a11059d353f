//! `JoinSet`: completion order, length bookkeeping, `join_all`, abort on
//! drop, `abort_all`, `try_join_next`, panics, `spawn_on`, `shutdown`,
//! `detach_all`, slot reuse and a large set. Small enough to run under miri.

mod support;

use std::collections::HashSet;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use support::{both, current_thread, multi_thread, panic_message, scale, within, DropCounter};
use weft_runtime::runtime::{Handle, RuntimeFlavor};
use weft_runtime::task::{self, JoinSet};

/// A one-shot event that tasks await and anyone (any thread) opens.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<GateState>>);

#[derive(Default)]
struct GateState {
    open: bool,
    wakers: Vec<Waker>,
}

impl Gate {
    fn open(&self) {
        let wakers = {
            let mut state = self.0.lock().unwrap();
            state.open = true;
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let gate = self.clone();
        poll_fn(move |cx| {
            let mut state = gate.0.lock().unwrap();
            if state.open {
                Poll::Ready(())
            } else {
                state.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// Yields until `cond()` holds; fails the test after 30 s (an event wait
/// with a generous bound, not a sleep).
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        task::yield_now().await;
    }
}

/// Polls `try_join_next` until it yields a result (the slot's wake may land
/// a moment after the task's `is_finished` turns true on another thread).
async fn try_join_next_eventually<T>(set: &mut JoinSet<T>) -> Result<T, task::JoinError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(res) = set.try_join_next() {
            return res;
        }
        assert!(
            Instant::now() < deadline,
            "try_join_next never returned the finished task"
        );
        task::yield_now().await;
    }
}

#[test]
fn join_next_returns_results_in_completion_order() {
    for (flavor, rt) in both() {
        within(30, move || {
            let n = scale(16, 4);
            // A permutation of 0..n that is neither spawn order nor its reverse.
            let order: Vec<usize> = (0..n).map(|k| (k * 7 + 3) % n).collect();
            let gates: Vec<Gate> = (0..n).map(|_| Gate::default()).collect();
            rt.block_on(async move {
                let mut set = JoinSet::new();
                for (i, gate) in gates.iter().enumerate() {
                    let wait = gate.wait();
                    set.spawn(async move {
                        wait.await;
                        i
                    });
                }
                assert!(
                    set.try_join_next().is_none(),
                    "{flavor}: nothing released yet"
                );
                for &i in &order {
                    gates[i].open();
                    let got = set.join_next().await.expect("set is not empty").unwrap();
                    assert_eq!(
                        got, i,
                        "{flavor}: the task released last is the one finished"
                    );
                }
                assert!(set.is_empty(), "{flavor}");
                assert!(set.join_next().await.is_none(), "{flavor}");
                assert!(set.join_next().await.is_none(), "{flavor}: None again");
            });
        });
    }
}

#[test]
fn len_and_is_empty_track_spawns_and_collections() {
    for (flavor, rt) in both() {
        rt.block_on(async move {
            let mut set: JoinSet<usize> = JoinSet::new();
            assert_eq!(set.len(), 0, "{flavor}");
            assert!(set.is_empty(), "{flavor}");
            assert!(set.try_join_next().is_none(), "{flavor}");
            assert!(
                set.join_next().await.is_none(),
                "{flavor}: an empty set is done at once"
            );

            let n = scale(5, 3);
            let mut handles = Vec::new();
            for i in 0..n {
                handles.push(set.spawn(async move { i }));
                assert_eq!(set.len(), i + 1, "{flavor}");
                assert!(!set.is_empty(), "{flavor}");
            }
            // Finished tasks still count until collected.
            wait_until("every task finished", || {
                handles.iter().all(|h| h.is_finished())
            })
            .await;
            assert_eq!(set.len(), n, "{flavor}");
            let mut seen = HashSet::new();
            for left in (0..n).rev() {
                let out = set.join_next().await.expect("not empty").unwrap();
                assert!(seen.insert(out), "{flavor}: {out} collected twice");
                assert_eq!(set.len(), left, "{flavor}");
                assert_eq!(set.is_empty(), left == 0, "{flavor}");
            }
            assert!(set.join_next().await.is_none(), "{flavor}");
            // A drained set takes new tasks.
            set.spawn(async { 99 });
            assert_eq!(set.len(), 1, "{flavor}");
            assert_eq!(set.join_next().await.unwrap().unwrap(), 99, "{flavor}");
            assert!(set.is_empty(), "{flavor}");
        });
    }
}

#[test]
fn join_all_returns_every_output() {
    for (flavor, rt) in both() {
        let n = scale(200, 10);
        let mut out = rt.block_on(async move {
            let mut set = JoinSet::new();
            for i in 0..n {
                set.spawn(async move {
                    for _ in 0..i % 3 {
                        task::yield_now().await;
                    }
                    i
                });
            }
            set.join_all().await
        });
        assert_eq!(out.len(), n, "{flavor}");
        out.sort_unstable();
        assert_eq!(out, (0..n).collect::<Vec<_>>(), "{flavor}");

        let empty: Vec<u8> = rt.block_on(JoinSet::new().join_all());
        assert!(empty.is_empty(), "{flavor}");
    }
}

#[test]
fn join_all_resumes_a_task_panic() {
    for (flavor, rt) in both() {
        let drops = DropCounter::default();
        let tracked = drops.track();
        let gate = Gate::default();
        let wait = gate.wait();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async move {
                let mut set = JoinSet::new();
                set.spawn(async { 1 });
                set.spawn(async move {
                    let _keep = tracked;
                    wait.await; // never opened before the set is gone
                    2
                });
                let n = std::hint::black_box(3);
                set.spawn(async move { panic!("gather boom {n}") });
                set.join_all().await
            })
        }));
        let payload = caught.expect_err("join_all must resume the panic");
        assert_eq!(panic_message(&*payload), "gather boom 3", "{flavor}");

        // The set dropped inside join_all: its pending task is aborted.
        rt.block_on(wait_until("the pending task is dropped", || {
            drops.dropped() == 1
        }));
        gate.open();
        // The runtime still works.
        assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5, "{flavor}");
        drop(rt);
        assert_eq!(drops.dropped(), 1, "{flavor}: dropped exactly once");
    }
}

#[test]
fn join_all_panics_on_a_cancelled_task() {
    for (flavor, rt) in both() {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                let mut set = JoinSet::new();
                let abort = set.spawn(std::future::pending::<()>());
                abort.abort();
                set.join_all().await
            })
        }));
        let payload = caught.expect_err("join_all of a cancelled task panics");
        let message = panic_message(&*payload);
        assert!(message.contains("cancelled"), "{flavor}: {message}");
    }
}

#[test]
fn dropping_the_set_aborts_pending_tasks() {
    for (flavor, rt) in both() {
        within(30, move || {
            let n = scale(50, 5);
            let drops = DropCounter::default();
            let started = Arc::new(AtomicUsize::new(0));
            let completed = Arc::new(AtomicUsize::new(0));
            let gate = Gate::default();
            let (d, s, c, g) = (
                drops.clone(),
                started.clone(),
                completed.clone(),
                gate.clone(),
            );
            rt.block_on(async move {
                let mut set = JoinSet::new();
                for _ in 0..n {
                    let (tracked, s, c, wait) = (d.track(), s.clone(), c.clone(), g.wait());
                    set.spawn(async move {
                        let _keep = tracked;
                        s.fetch_add(1, SeqCst);
                        wait.await;
                        c.fetch_add(1, SeqCst);
                    });
                }
                wait_until("every task started", || s.load(SeqCst) == n).await;
                // And some that never got polled.
                for _ in 0..n {
                    let (tracked, c, wait) = (d.track(), c.clone(), g.wait());
                    set.spawn(async move {
                        let _keep = tracked;
                        wait.await;
                        c.fetch_add(1, SeqCst);
                    });
                }
                drop(set);
                wait_until("every future is dropped", || d.dropped() == 2 * n).await;
            });
            // Releasing them now can't complete anything: the futures are gone.
            gate.open();
            rt.block_on(rt.spawn(async {})).unwrap();
            assert_eq!(
                completed.load(SeqCst),
                0,
                "{flavor}: an aborted task completed"
            );
            assert!(started.load(SeqCst) <= 2 * n, "{flavor}");
            drop(rt);
            assert_eq!(
                drops.dropped(),
                2 * n,
                "{flavor}: each future dropped exactly once"
            );
            assert_eq!(completed.load(SeqCst), 0, "{flavor}");
        });
    }
}

#[test]
fn abort_all_cancels_every_pending_task() {
    for (flavor, rt) in both() {
        within(30, move || {
            let n = scale(20, 3);
            let drops = DropCounter::default();
            let started = Arc::new(AtomicUsize::new(0));
            let d = drops.clone();
            let s = started.clone();
            rt.block_on(async move {
                let mut set = JoinSet::new();
                // One task that finishes before the abort keeps its output.
                let done = set.spawn(async { Some(7) });
                wait_until("the first task finished", || done.is_finished()).await;
                let mut ids = HashSet::new();
                for _ in 0..n {
                    let (tracked, s) = (d.track(), s.clone());
                    let abort = set.spawn(async move {
                        let _keep = tracked;
                        s.fetch_add(1, SeqCst);
                        std::future::pending::<Option<u32>>().await
                    });
                    ids.insert(abort.id());
                }
                wait_until("every task started", || s.load(SeqCst) == n).await;
                // Plus tasks aborted before their first poll (on current_thread).
                for _ in 0..n {
                    let tracked = d.track();
                    let abort = set.spawn(async move {
                        let _keep = tracked;
                        std::future::pending::<Option<u32>>().await
                    });
                    ids.insert(abort.id());
                }
                set.abort_all();
                assert_eq!(
                    set.len(),
                    2 * n + 1,
                    "{flavor}: aborted tasks stay until collected"
                );
                let mut outputs = 0;
                while let Some(res) = set.join_next().await {
                    match res {
                        Ok(value) => {
                            assert_eq!(value, Some(7), "{flavor}");
                            outputs += 1;
                        }
                        Err(err) => {
                            assert!(err.is_cancelled(), "{flavor}: {err}");
                            assert!(ids.remove(&err.id()), "{flavor}: unknown or repeated id");
                        }
                    }
                }
                assert_eq!(outputs, 1, "{flavor}");
                assert!(ids.is_empty(), "{flavor}: every aborted task was collected");
                assert_eq!(d.dropped(), 2 * n, "{flavor}: collected means dropped");
            });
            drop(rt);
            assert_eq!(drops.dropped(), 2 * n, "{flavor}");
        });
    }
}

#[test]
fn abort_handle_from_spawn_cancels_only_its_task() {
    for (flavor, rt) in both() {
        rt.block_on(async move {
            let mut set = JoinSet::new();
            let gate = Gate::default();
            let wait = gate.wait();
            let keep = set.spawn(async move {
                wait.await;
                1
            });
            let victim = set.spawn(std::future::pending::<i32>());
            victim.abort();
            let err = set.join_next().await.unwrap().unwrap_err();
            assert!(err.is_cancelled(), "{flavor}");
            assert_eq!(err.id(), victim.id(), "{flavor}");
            assert!(!keep.is_finished(), "{flavor}");
            gate.open();
            assert_eq!(set.join_next().await.unwrap().unwrap(), 1, "{flavor}");
            assert!(set.join_next().await.is_none(), "{flavor}");
        });
    }
}

#[test]
fn try_join_next_is_none_until_a_task_finished() {
    for (flavor, rt) in both() {
        within(30, move || {
            rt.block_on(async move {
                let mut set = JoinSet::new();
                assert!(set.try_join_next().is_none(), "{flavor}: empty");
                let gate = Gate::default();
                let wait = gate.wait();
                let handle = set.spawn(async move {
                    wait.await;
                    "done"
                });
                for _ in 0..scale(10, 3) {
                    assert!(set.try_join_next().is_none(), "{flavor}: not released yet");
                    task::yield_now().await;
                }
                assert_eq!(set.len(), 1, "{flavor}");
                gate.open();
                wait_until("the task finished", || handle.is_finished()).await;
                assert_eq!(
                    try_join_next_eventually(&mut set).await.unwrap(),
                    "done",
                    "{flavor}"
                );
                assert!(set.is_empty(), "{flavor}");
                assert!(set.try_join_next().is_none(), "{flavor}");
            });
        });
    }
}

#[test]
fn try_join_next_after_finish_on_current_thread_is_immediate() {
    // On one thread the slot's wake happens inside the task's completion,
    // so a finished task is visible to `try_join_next` at once.
    let rt = current_thread();
    rt.block_on(async {
        let mut set = JoinSet::new();
        let a = set.spawn(async { 1 });
        let b = set.spawn(async { panic!("try boom") });
        assert!(set.try_join_next().is_none(), "nothing has run yet");
        wait_until("both finished", || a.is_finished() && b.is_finished()).await;
        let first = set.try_join_next().expect("finished task");
        let second = set.try_join_next().expect("finished task");
        assert_eq!(first.unwrap(), 1);
        assert_eq!(second.unwrap_err().panic_message(), Some("try boom"));
        assert!(set.try_join_next().is_none());
    });
}

#[test]
fn a_panicking_task_does_not_disturb_the_others() {
    for (flavor, rt) in both() {
        let n = scale(20, 5);
        let bad = n / 2;
        rt.block_on(async move {
            let mut set = JoinSet::new();
            for i in 0..n {
                set.spawn(async move {
                    task::yield_now().await;
                    if i == bad {
                        panic!("task {i} failed");
                    }
                    i
                });
            }
            let mut ok = Vec::new();
            let mut panics = 0;
            while let Some(res) = set.join_next().await {
                match res {
                    Ok(i) => ok.push(i),
                    Err(err) => {
                        assert!(err.is_panic(), "{flavor}: {err}");
                        assert_eq!(
                            err.panic_message(),
                            Some(format!("task {bad} failed").as_str())
                        );
                        panics += 1;
                    }
                }
            }
            assert_eq!(panics, 1, "{flavor}");
            ok.sort_unstable();
            let expected: Vec<_> = (0..n).filter(|&i| i != bad).collect();
            assert_eq!(ok, expected, "{flavor}");
            // The set keeps working.
            set.spawn(async { 100 });
            assert_eq!(set.join_next().await.unwrap().unwrap(), 100, "{flavor}");
        });
    }
}

#[test]
fn spawn_on_from_outside_the_runtime() {
    for (flavor, rt) in both() {
        let n = scale(50, 5);
        let mut set = JoinSet::new();
        assert!(
            Handle::try_current().is_err(),
            "the test thread is in no runtime"
        );
        for i in 0..n {
            set.spawn_on(
                async move { (i, Handle::current().runtime_flavor()) },
                rt.handle(),
            );
        }
        assert_eq!(set.len(), n, "{flavor}");
        let expected_flavor = rt.handle().runtime_flavor();
        let mut out = rt.block_on(set.join_all());
        out.sort_unstable_by_key(|&(i, _)| i);
        assert_eq!(out.len(), n, "{flavor}");
        for (k, (i, fl)) in out.into_iter().enumerate() {
            assert_eq!(i, k, "{flavor}");
            assert_eq!(fl, expected_flavor, "{flavor}: ran on the handle's runtime");
        }
    }
}

#[test]
fn spawn_on_another_runtime_from_inside_one() {
    within(30, || {
        let here = current_thread();
        let there = multi_thread(2);
        let there_handle = there.handle().clone();
        let n = scale(20, 4);
        let out = here.block_on(async move {
            let mut set = JoinSet::new();
            for i in 0..n {
                set.spawn_on(
                    async move {
                        task::yield_now().await;
                        (i, Handle::current().runtime_flavor())
                    },
                    &there_handle,
                );
            }
            set.join_all().await
        });
        assert_eq!(out.len(), n);
        assert!(out.iter().all(|&(_, fl)| fl == RuntimeFlavor::MultiThread));
        let mut ids: Vec<_> = out.into_iter().map(|(i, _)| i).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..n).collect::<Vec<_>>());
    });
}

#[test]
fn join_set_spawn_outside_a_runtime_panics() {
    let caught = catch_unwind(|| {
        let mut set = JoinSet::new();
        set.spawn(async {});
    });
    let payload = caught.expect_err("JoinSet::spawn outside a runtime must panic");
    let message = panic_message(&*payload);
    assert!(message.contains("no weft runtime"), "{message}");
}

#[test]
fn shutdown_aborts_and_waits_for_every_task() {
    for (flavor, rt) in both() {
        within(30, move || {
            let n = scale(20, 3);
            let drops = DropCounter::default();
            let started = Arc::new(AtomicUsize::new(0));
            let (d, s) = (drops.clone(), started.clone());
            rt.block_on(async move {
                let mut set = JoinSet::new();
                // A finished task's output is discarded (dropped) too.
                let tracked = d.track();
                let done = set.spawn(async move { Some(tracked) });
                wait_until("the first task finished", || done.is_finished()).await;
                for _ in 0..n {
                    let (tracked, s) = (d.track(), s.clone());
                    set.spawn(async move {
                        let _keep = tracked;
                        s.fetch_add(1, SeqCst);
                        std::future::pending::<Option<support::Tracked>>().await
                    });
                }
                wait_until("every task started", || s.load(SeqCst) == n).await;
                set.shutdown().await;
                assert!(set.is_empty(), "{flavor}");
                assert_eq!(set.len(), 0, "{flavor}");
                assert_eq!(
                    d.dropped(),
                    n + 1,
                    "{flavor}: shutdown returns after every drop"
                );
                assert!(set.join_next().await.is_none(), "{flavor}");
                // Still usable afterwards.
                set.spawn(async { None });
                assert!(
                    set.join_next().await.unwrap().unwrap().is_none(),
                    "{flavor}"
                );
            });
            drop(rt);
            assert_eq!(drops.dropped(), n + 1, "{flavor}");
        });
    }
}

#[test]
fn detach_all_leaves_tasks_running() {
    for (flavor, rt) in both() {
        within(30, move || {
            let n = scale(20, 3);
            let drops = DropCounter::default();
            let completed = Arc::new(AtomicUsize::new(0));
            let gate = Gate::default();
            let (d, c, g) = (drops.clone(), completed.clone(), gate.clone());
            rt.block_on(async move {
                let mut set = JoinSet::new();
                let mut handles = Vec::new();
                for _ in 0..n {
                    let (tracked, c, wait) = (d.track(), c.clone(), g.wait());
                    handles.push(set.spawn(async move {
                        let _keep = tracked;
                        wait.await;
                        c.fetch_add(1, SeqCst);
                    }));
                }
                // Let each register its slot waker first.
                assert!(set.try_join_next().is_none(), "{flavor}");
                set.detach_all();
                assert!(set.is_empty(), "{flavor}");
                assert_eq!(set.len(), 0, "{flavor}");
                assert!(set.join_next().await.is_none(), "{flavor}");
                drop(set);
                g.open();
                wait_until("every detached task completed", || c.load(SeqCst) == n).await;
                assert!(handles.iter().all(|h| h.is_finished()), "{flavor}");
            });
            assert_eq!(completed.load(SeqCst), n, "{flavor}");
            drop(rt);
            assert_eq!(drops.dropped(), n, "{flavor}");
        });
    }
}

/// A task detached with `detach_all` keeps the slot waker of its old set;
/// when it finishes later it must not confuse the (reused) set.
#[test]
fn set_is_reusable_after_detach_all_while_detached_tasks_finish() {
    for (flavor, rt) in both() {
        within(30, move || {
            rt.block_on(async move {
                let mut set = JoinSet::new();
                let gates: Vec<Gate> = (0..3).map(|_| Gate::default()).collect();
                let mut old = Vec::new();
                for (i, gate) in gates.iter().enumerate() {
                    let wait = gate.wait();
                    old.push(set.spawn(async move {
                        wait.await;
                        i
                    }));
                }
                // Each old task now holds its slot's waker (slots 0, 1, 2).
                assert!(set.try_join_next().is_none(), "{flavor}");
                set.detach_all();

                let fresh_gate = Gate::default();
                let wait = fresh_gate.wait();
                set.spawn(async move {
                    wait.await;
                    100
                });
                // The detached tasks finish and wake their old slots.
                for gate in &gates {
                    gate.open();
                }
                wait_until("the detached tasks finished", || {
                    old.iter().all(|h| h.is_finished())
                })
                .await;
                for _ in 0..3 {
                    assert!(
                        set.try_join_next().is_none(),
                        "{flavor}: only the fresh task is in the set"
                    );
                }
                assert_eq!(set.len(), 1, "{flavor}");
                fresh_gate.open();
                assert_eq!(set.join_next().await.unwrap().unwrap(), 100, "{flavor}");
                assert!(set.join_next().await.is_none(), "{flavor}");
            });
        });
    }
}

#[test]
fn slot_reuse_keeps_results_correct() {
    for (flavor, rt) in both() {
        let rounds = scale(2_000, 30);
        rt.block_on(async move {
            let mut set = JoinSet::new();
            // One at a time: the same slot over and over.
            for round in 0..rounds {
                set.spawn(async move {
                    if round % 2 == 0 {
                        task::yield_now().await;
                    }
                    round * 3
                });
                assert_eq!(
                    set.join_next().await.unwrap().unwrap(),
                    round * 3,
                    "{flavor}"
                );
                assert!(set.is_empty(), "{flavor}");
            }
            // A sliding window of 4: slots freed and refilled out of order.
            let mut next = 0;
            let mut seen = vec![false; rounds];
            let spawn = |set: &mut JoinSet<usize>, i: usize| {
                set.spawn(async move {
                    for _ in 0..i % 4 {
                        task::yield_now().await;
                    }
                    i
                });
            };
            while next < 4.min(rounds) {
                spawn(&mut set, next);
                next += 1;
            }
            while let Some(res) = set.join_next().await {
                let i = res.unwrap();
                assert!(!seen[i], "{flavor}: {i} returned twice");
                seen[i] = true;
                if next < rounds {
                    spawn(&mut set, next);
                    next += 1;
                }
                assert!(set.len() <= 4, "{flavor}");
            }
            assert!(seen.iter().all(|&s| s), "{flavor}: every task collected");
        });
    }
}

#[test]
fn ten_thousand_tasks_collected_exactly_once() {
    within(60, || {
        let rt = multi_thread(2);
        let n = scale(10_000, 50);
        // Spawned from a worker (local queues, stealing) and collected there.
        let seen = rt
            .block_on(rt.spawn(async move {
                let mut set = JoinSet::new();
                for i in 0..n {
                    set.spawn(async move {
                        if i % 3 == 0 {
                            task::yield_now().await;
                        }
                        i
                    });
                }
                assert_eq!(set.len(), n);
                let mut seen = vec![false; n];
                while let Some(res) = set.join_next().await {
                    let i = res.unwrap();
                    assert!(!seen[i], "{i} returned twice");
                    seen[i] = true;
                }
                assert!(set.is_empty());
                seen
            }))
            .unwrap();
        assert!(seen.iter().all(|&s| s), "every task collected");
    });
}

#[test]
fn ten_thousand_tasks_from_block_on() {
    within(60, || {
        let rt = multi_thread(2);
        let n = scale(10_000, 50);
        let total = rt.block_on(async move {
            let mut set = JoinSet::new();
            for i in 0..n as u64 {
                set.spawn(async move { i });
            }
            let mut total = 0u64;
            let mut count = 0;
            while let Some(res) = set.join_next().await {
                total += res.unwrap();
                count += 1;
            }
            assert_eq!(count, n);
            total
        });
        assert_eq!(total, (n as u64) * (n as u64 - 1) / 2);
    });
}

#[test]
fn spawn_blocking_into_a_set() {
    for (flavor, rt) in both() {
        within(30, move || {
            let n = scale(8, 2);
            let out = rt.block_on(async move {
                let mut set = JoinSet::new();
                for i in 0..n {
                    set.spawn_blocking(move || i * 10);
                }
                set.spawn(async { 1000 });
                set.join_all().await
            });
            let mut out = out;
            out.sort_unstable();
            let mut expected: Vec<_> = (0..n).map(|i| i * 10).collect();
            expected.push(1000);
            assert_eq!(out, expected, "{flavor}");
        });
    }
}

/// A task that completes while `detach_all` runs may wake its old slot
/// after the set was cleared; that late wake must never reach the new
/// occupants (it once indexed past the end of the slots). This lines a
/// task's completion up with `detach_all` and sweeps the offset.
#[test]
#[cfg_attr(miri, ignore)]
fn detach_all_races_with_completing_tasks() {
    use std::sync::atomic::AtomicBool;
    within(60, || {
        let rt = multi_thread(2);
        // Usually fails within a couple of seconds; passes after 20 s.
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut round = 0usize;
        while Instant::now() < deadline {
            round += 1;
            let delay = round % 512;
            rt.block_on(async move {
                let started = Arc::new(AtomicBool::new(false));
                let go = Arc::new(AtomicBool::new(false));
                let mut set = JoinSet::new();
                // Slot 0: a task that stays pending.
                let gate = Gate::default();
                let wait = gate.wait();
                set.spawn(async move {
                    wait.await;
                    0
                });
                // Slot 1: finishes the moment `go` is set.
                let (s, g) = (started.clone(), go.clone());
                set.spawn(async move {
                    s.store(true, SeqCst);
                    while !g.load(SeqCst) {
                        std::hint::spin_loop();
                    }
                    1
                });
                wait_until("the racing task runs", || started.load(SeqCst)).await;
                // Both slots' wakers are registered now.
                assert!(set.try_join_next().is_none());
                go.store(true, SeqCst);
                for _ in 0..delay {
                    std::hint::spin_loop();
                }
                set.detach_all();
                gate.open();
                set.spawn(async { 99 });
                assert_eq!(try_join_next_eventually(&mut set).await.unwrap(), 99);
                assert!(set.is_empty());
            });
        }
    });
}
