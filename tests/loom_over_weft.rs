//! Thread-level checking of your own code over weft's primitives, with
//! loom: the path `docs/checking.md` describes for races inside a poll,
//! between threads, which `weft::check` (await-point granularity) does not
//! see.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p weft --test loom_over_weft --release`
//!
//! Under `--cfg loom` every atomic, lock and condvar inside `weft::sync`
//! and the current-thread runtime is loom's, so a model explores every
//! interleaving (up to its preemption bound) of the user's threads with
//! weft's own synchronisation. Each model builds a current-thread runtime
//! inside `loom::model` and blocks on it from the model's main thread,
//! with plain loom threads beside it.
//!
//! A model that finds a bug panics with loom's report. A deadlock inside
//! `block_on` (a lost wakeup: swap `notify_one` for `notify_waiters` below)
//! ends the test process with an abort, since the runtime's destructor
//! runs loom operations while the model unwinds: the run fails all the
//! same, with loom's "deadlock" message above the abort.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use weft::sync::{mpsc, Notify};

/// Loom with a preemption bound, as a user's suite would set one: the
/// runtime's own synchronisation makes unbounded models slow.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(f);
}

fn runtime() -> weft::runtime::Runtime {
    weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A value published on another thread, then `notify_one`: the permit is
/// kept if the waiter is not there yet, so the waiter always sees it.
#[test]
fn notify_one_from_another_thread_is_never_lost() {
    model(|| {
        let ready = Arc::new(Notify::new());
        let value = Arc::new(AtomicUsize::new(0));
        let producer = {
            let (ready, value) = (ready.clone(), value.clone());
            loom::thread::spawn(move || {
                value.store(42, Ordering::Release);
                ready.notify_one();
            })
        };
        runtime().block_on(async {
            ready.notified().await;
            assert_eq!(value.load(Ordering::Acquire), 42);
        });
        producer.join().unwrap();
    });
}

/// A plain thread feeding a task through a bounded channel: every message
/// arrives, in order, whatever the interleaving.
#[test]
fn a_thread_feeds_a_task_through_a_bounded_channel() {
    model(|| {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let producer = loom::thread::spawn(move || {
            for i in 0..2 {
                tx.blocking_send(i).unwrap();
            }
        });
        let got = runtime().block_on(async move {
            let mut got = Vec::new();
            while let Some(i) = rx.recv().await {
                got.push(i);
            }
            got
        });
        assert_eq!(got, [0, 1]);
        producer.join().unwrap();
    });
}
