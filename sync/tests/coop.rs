//! The cooperative budget: a task looping on a wait that is always ready
//! (a receive with messages queued, an acquire with permits free, ...)
//! still yields to the other tasks on its worker.
//!
//! Each test runs the loop and a second task on a one-worker runtime. The
//! second task can only run when the loop yields; it raises a flag the loop
//! checks on every turn. The loop gives up after far more turns than one
//! budget (128), so without yielding it ends with the flag down, and the
//! test fails instead of hanging.
#![cfg(not(loom))]

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use weft_runtime::runtime::Builder;
use weft_sync::{broadcast, mpsc, oneshot, watch, Mutex, Notify, RwLock, Semaphore};

/// Turns the loop may take before the test calls it starved.
const TURNS: usize = 100_000;

/// Runs `step` (one always-ready wait) in a loop on a one-worker runtime
/// beside a task that raises a flag; asserts the flag went up before the
/// loop ran out of turns (so the loop yielded).
fn assert_yields<S, F>(mut step: S)
where
    S: FnMut() -> F + Send + 'static,
    F: Future<Output = ()> + Send,
{
    let rt = Builder::new_current_thread().build().unwrap();
    let other_ran = Arc::new(AtomicBool::new(false));
    let flag = other_ran.clone();
    let turns = rt.block_on(async move {
        let looper = weft_runtime::task::spawn(async move {
            // Spawned from inside the loop's task: it can only run once the
            // loop yields the worker.
            weft_runtime::task::spawn(async move { other_ran.store(true, Ordering::SeqCst) });
            for turn in 0..TURNS {
                if flag.load(Ordering::SeqCst) {
                    return turn;
                }
                step().await;
            }
            TURNS
        });
        looper.await.unwrap()
    });
    assert!(turns < TURNS, "the loop never yielded to the other task");
}

#[test]
fn mpsc_bounded_recv_yields() {
    let (tx, rx) = mpsc::channel(1);
    let state = Arc::new(Mutex::new((tx, rx)));
    assert_yields(move || {
        let state = state.clone();
        async move {
            let mut state = state.try_lock().unwrap();
            let (tx, rx) = &mut *state;
            tx.try_send(()).unwrap();
            rx.recv().await.unwrap();
        }
    });
}

/// A send that always finds room takes it on the lock-free path, which
/// spends the budget as the queued path does.
#[test]
fn mpsc_bounded_send_yields() {
    let (tx, rx) = mpsc::channel(1);
    let rx = Arc::new(Mutex::new(rx));
    assert_yields(move || {
        let (tx, rx) = (tx.clone(), rx.clone());
        async move {
            tx.send(()).await.unwrap();
            // Not budgeted: only the send can make the loop yield.
            rx.try_lock().unwrap().try_recv().unwrap();
        }
    });
}

#[test]
fn mpsc_unbounded_recv_yields() {
    let (tx, rx) = mpsc::unbounded_channel();
    let rx = Arc::new(Mutex::new(rx));
    assert_yields(move || {
        tx.send(()).unwrap();
        let rx = rx.clone();
        async move {
            rx.try_lock().unwrap().recv().await.unwrap();
        }
    });
}

#[test]
fn oneshot_recv_yields() {
    assert_yields(|| async {
        let (tx, rx) = oneshot::channel();
        tx.send(()).unwrap();
        rx.await.unwrap();
    });
}

#[test]
fn broadcast_recv_yields() {
    let (tx, rx) = broadcast::channel(4);
    let rx = Arc::new(Mutex::new(rx));
    assert_yields(move || {
        tx.send(()).unwrap();
        let rx = rx.clone();
        async move {
            rx.try_lock().unwrap().recv().await.unwrap();
        }
    });
}

#[test]
fn watch_changed_yields() {
    let (tx, rx) = watch::channel(0);
    let rx = Arc::new(Mutex::new(rx));
    assert_yields(move || {
        tx.send_modify(|v| *v += 1);
        let rx = rx.clone();
        async move {
            rx.try_lock().unwrap().changed().await.unwrap();
        }
    });
}

#[test]
fn mutex_lock_yields() {
    let m = Arc::new(Mutex::new(()));
    assert_yields(move || {
        let m = m.clone();
        async move {
            drop(m.lock().await);
        }
    });
}

#[test]
fn rwlock_read_yields() {
    let lock = Arc::new(RwLock::new(()));
    assert_yields(move || {
        let lock = lock.clone();
        async move {
            drop(lock.read().await);
        }
    });
}

#[test]
fn semaphore_acquire_yields() {
    let sem = Arc::new(Semaphore::new(1));
    assert_yields(move || {
        let sem = sem.clone();
        async move {
            drop(sem.acquire().await.unwrap());
        }
    });
}

#[test]
fn notified_yields() {
    let notify = Arc::new(Notify::new());
    assert_yields(move || {
        notify.notify_one();
        let notify = notify.clone();
        async move { notify.notified().await }
    });
}

/// Under another executor there is no budget: a loop far longer than one
/// budget runs through without ever being told to yield.
#[test]
fn no_budget_outside_a_runtime() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    futures::executor::block_on(async {
        for i in 0..1000 {
            tx.send(i).unwrap();
            assert_eq!(futures::FutureExt::now_or_never(rx.recv()), Some(Some(i)));
        }
    });
}

/// Spends the task's whole budget: loops on an always-ready budgeted wait
/// until it first says `Pending` (a `Notified` of a notify with a stored
/// permit is ready every time, while the budget lasts).
fn exhaust_budget() {
    use futures::FutureExt;
    let notify = Notify::new();
    loop {
        notify.notify_one();
        if notify.notified().now_or_never().is_none() {
            return;
        }
    }
}

/// A task out of budget still takes its place in a mutex's FIFO queue (the
/// acquire queues before it looks at the budget, as tokio's does): when
/// the lock frees, it is the one woken, not a task that queued after it.
#[test]
fn an_acquire_out_of_budget_keeps_its_place_in_the_queue() {
    use futures::FutureExt;
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let m = Arc::new(Mutex::new(()));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = m.clone().try_lock_owned().unwrap();
        let (queued, queued_rx) = oneshot::channel();
        let (go, go_rx) = oneshot::channel::<()>();
        let (m1, order1) = (m.clone(), order.clone());
        let a = weft_runtime::task::spawn(async move {
            let mut lock = std::pin::pin!(m1.lock_owned());
            exhaust_budget();
            assert!((&mut lock).now_or_never().is_none(), "held by the test");
            // Polled once, out of budget; not polled again until `go`.
            queued.send(()).unwrap();
            go_rx.await.unwrap();
            let _guard = lock.await;
            order1.lock().unwrap().push("a");
        });
        queued_rx.await.unwrap();
        let (m2, order2) = (m.clone(), order.clone());
        let b = weft_runtime::task::spawn(async move {
            let _guard = m2.lock_owned().await;
            order2.lock().unwrap().push("b");
        });
        // `b` queues; then the lock frees and `b` may run before `a` looks.
        weft_runtime::task::yield_now().await;
        drop(held);
        weft_runtime::task::yield_now().await;
        go.send(()).unwrap();
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["a", "b"]);
    });
}

/// A task out of budget that is handed the permits keeps them until its
/// next poll, and gives them back if it is dropped instead.
#[test]
fn permits_taken_out_of_budget_come_back_when_the_acquire_is_dropped() {
    use futures::FutureExt;
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let sem = Semaphore::new(2);
        exhaust_budget();
        {
            let mut acquire = std::pin::pin!(sem.acquire_many(2));
            assert!((&mut acquire).now_or_never().is_none(), "out of budget");
            // Taken, not yet reported.
            assert_eq!(sem.available_permits(), 0);
        }
        assert_eq!(
            sem.available_permits(),
            2,
            "the dropped acquire gave them back"
        );
        // With budget again (after a yield), the same acquire completes.
        weft_runtime::task::yield_now().await;
        let permit = sem.acquire_many(2).await.unwrap();
        assert_eq!(permit.num_permits(), 2);
    });
}
