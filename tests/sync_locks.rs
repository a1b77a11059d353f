//! weft-sync's locks on the multi-threaded weft runtime: FIFO fairness
//! (acquisition order recorded), exclusion under contention, and permits
//! surviving tasks aborted at every await point.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use weft::sync::{mpsc, oneshot, Mutex, Semaphore};

/// Polls `fut`; the first time it is pending, says so on `queued`. This is
/// how the test knows a task has joined the lock's queue before it lets
/// the next one in: no sleeping, no guessing.
struct SignalWhenQueued<F> {
    fut: Pin<Box<F>>,
    queued: Option<oneshot::Sender<()>>,
}

impl<F: Future> Future for SignalWhenQueued<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let out = self.fut.as_mut().poll(cx);
        if out.is_pending() {
            if let Some(tx) = self.queued.take() {
                let _ = tx.send(());
            }
        }
        out
    }
}

fn when_queued<F: Future>(fut: F) -> (SignalWhenQueued<F>, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    (
        SignalWhenQueued {
            fut: Box::pin(fut),
            queued: Some(tx),
        },
        rx,
    )
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_is_fifo_under_a_multi_thread_runtime() {
    const N: usize = 32;
    let m = Arc::new(Mutex::new(Vec::new()));
    let held = m.clone().lock_owned().await;
    let mut handles = Vec::new();
    for i in 0..N {
        let m2 = m.clone();
        let (fut, queued) = when_queued(async move { m2.lock_owned().await });
        handles.push(weft::spawn(async move {
            let mut guard = fut.await;
            guard.push(i);
        }));
        queued.await.unwrap();
    }
    drop(held);
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(*m.lock().await, (0..N).collect::<Vec<_>>());
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_is_fifo_under_a_multi_thread_runtime() {
    const N: usize = 32;
    let want = |i: usize| 1 + (i % 3) as u32;
    let sem = Arc::new(Semaphore::new(0));
    let (report, mut acquired) = mpsc::unbounded_channel();
    let mut handles = Vec::new();
    for i in 0..N {
        let (sem2, report) = (sem.clone(), report.clone());
        // Mixed sizes: a big request at the head must hold back small ones.
        let (fut, queued) = when_queued(async move { sem2.acquire_many_owned(want(i)).await });
        handles.push(weft::spawn(async move {
            fut.await.unwrap().forget();
            report.send(i).unwrap();
        }));
        queued.await.unwrap();
    }
    // Hand out one permit at a time, exactly what the head of the queue
    // wants: the next task to get through must be the head.
    for i in 0..N {
        for _ in 0..want(i) {
            assert!(acquired.try_recv().is_err(), "someone overtook task {i}");
            sem.add_permits(1);
        }
        assert_eq!(acquired.recv().await, Some(i));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(sem.available_permits(), 0);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_contention_8_tasks_x_10000() {
    let m = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            weft::spawn(async move {
                for _ in 0..10_000 {
                    *m.lock().await += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(*m.lock().await, 80_000);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_acquirers_lose_no_permits() {
    const PERMITS: usize = 4;
    let sem = Arc::new(Semaphore::new(PERMITS));
    for round in 0..200u32 {
        let mut handles = Vec::new();
        for i in 0..8u32 {
            let sem = sem.clone();
            handles.push(weft::spawn(async move {
                let n = 1 + (i + round) % 3;
                let _p = sem.acquire_many(n).await.unwrap();
                weft::task::yield_now().await;
            }));
        }
        // Abort some of them wherever they are: queued, holding, done.
        for (i, h) in handles.iter().enumerate() {
            if (i as u32 + round) % 3 == 0 {
                h.abort();
            }
        }
        for h in handles {
            let _ = h.await;
        }
        assert_eq!(sem.available_permits(), PERMITS, "round {round}");
    }
}
