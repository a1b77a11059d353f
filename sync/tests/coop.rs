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
