//! WorkQueue: put/get, backpressure, task_done/join, cancel-safety.

mod common;

use std::sync::Arc;

use common::Task;
use futures::executor::block_on;
use weft_sync::WorkQueue;

#[test]
fn fifo_put_get() {
    let q = WorkQueue::unbounded();
    for i in 0..5 {
        block_on(q.put(i));
    }
    assert_eq!(q.len(), 5);
    let got: Vec<_> = (0..5).map(|_| block_on(q.get())).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert!(q.try_get().is_none());
}

#[test]
fn bounded_put_waits_for_room() {
    let q = WorkQueue::bounded(1);
    q.try_put(1).unwrap();
    assert_eq!(q.try_put(2).unwrap_err().0, 2);
    let mut put = Task::new(q.put(2));
    put.pending();
    assert_eq!(q.try_get(), Some(1));
    assert!(put.woken());
    put.ready();
    assert_eq!(block_on(q.get()), 2);
}

#[test]
fn join_waits_for_every_task_done() {
    let q = WorkQueue::unbounded();
    block_on(q.join()); // nothing put: at once
    q.try_put('a').unwrap();
    q.try_put('b').unwrap();
    let mut join = Task::new(q.join());
    join.pending();
    q.try_get().unwrap();
    q.task_done();
    join.pending();
    q.try_get().unwrap();
    assert_eq!(q.unfinished(), 1);
    q.task_done();
    assert!(join.woken());
    join.ready();
}

#[test]
#[should_panic(expected = "task_done() called more times")]
fn too_many_task_done_panics() {
    let q = WorkQueue::<u8>::unbounded();
    q.task_done();
}

#[test]
fn a_dropped_get_passes_its_wakeup_on() {
    let q = WorkQueue::unbounded();
    let mut a = Task::new(q.get());
    let mut b = Task::new(q.get());
    a.pending();
    b.pending();
    q.try_put(1).unwrap();
    assert!(a.woken());
    drop(a);
    assert!(b.woken());
    assert_eq!(b.ready(), 1);
}

#[test]
fn workers_on_threads_process_everything() {
    let n = if cfg!(miri) { 20 } else { 10_000 };
    let q = Arc::new(WorkQueue::bounded(8));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (q, done) = (q.clone(), done.clone());
            std::thread::spawn(move || {
                block_on(async {
                    loop {
                        let item: Option<usize> = q.get().await;
                        let Some(_) = item else {
                            q.task_done();
                            return;
                        };
                        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        q.task_done();
                    }
                })
            })
        })
        .collect();
    block_on(async {
        for i in 0..n {
            q.put(Some(i)).await;
        }
        q.join().await;
    });
    assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), n);
    for _ in 0..3 {
        block_on(q.put(None));
    }
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(q.unfinished(), 0);
}
