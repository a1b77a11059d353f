//! Loom models of the scheduler, run with
//! `RUSTFLAGS="--cfg loom" cargo test -p weft-runtime --test loom --release`.
//!
//! Each model builds a real runtime; under `cfg(loom)` its run queues are a
//! loom-visible `Mutex<VecDeque>` and every atomic, lock and thread is
//! loom's, so these explore the interleavings of our own protocol (task
//! state, wake, park, search, shutdown). Preemption bound: 2 (`MAX_PREEMPTIONS`
//! below) — the protocol's races need one or two context switches at the
//! wrong place, and 3 takes minutes per model on the CI machine.
#![cfg(loom)]

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Poll, Waker};

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::Mutex;
use weft_runtime::runtime::Builder;

const MAX_PREEMPTIONS: usize = 2;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(MAX_PREEMPTIONS);
    }
    builder.check(f);
}

#[test]
fn spawn_from_outside_and_join_with_two_workers() {
    model(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let handle = rt.spawn(async { 7 });
        assert_eq!(rt.block_on(handle).unwrap(), 7);
    });
}

#[test]
fn spawn_from_outside_and_join_with_one_worker() {
    model(|| {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let a = rt.spawn(async { 1 });
        let b = rt.spawn(async { 2 });
        assert_eq!(
            rt.block_on(async { a.await.unwrap() + b.await.unwrap() }),
            3
        );
    });
}

/// A task parks until another thread sets a flag and wakes it: the wake
/// comes from outside the runtime while the only worker may be parking.
#[test]
fn remote_wake_reaches_a_parking_current_thread_worker() {
    model(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let (f, s) = (flag.clone(), slot.clone());
        let task = rt.spawn(poll_fn(move |cx| {
            *s.lock().unwrap() = Some(cx.waker().clone());
            if f.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        let waker_thread = loom::thread::spawn(move || {
            flag.store(true, SeqCst);
            let waker = slot.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        rt.block_on(task).unwrap();
        waker_thread.join().unwrap();
    });
}
