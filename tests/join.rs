//! `weft::join!`, `weft::try_join!`, `weft::task::join_all` and
//! `weft::task::try_join_all`: outputs in argument order, the futures run
//! concurrently (proved with channels: run one after the other, they would
//! deadlock, which the paused clock turns into a timeout), finished futures
//! are dropped early, the first error ends it all, and a wake-up costs one
//! poll of the woken future only.

mod drop_flag;

use std::cell::{Cell, RefCell};
use std::future::{pending, ready, Future, IntoFuture, Ready};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use drop_flag::{drop_flag, DropFlag};
use weft::sync::{mpsc, oneshot};
use weft::task::{join_all, try_join_all, yield_now};
use weft::time;

/// Ready at once with `value`, but keeps its `DropFlag` until the future
/// itself is dropped (an `async` block would drop it on completion).
struct ReadyHolding<T>(Option<T>, #[allow(dead_code)] DropFlag);

impl<T: Unpin> Future for ReadyHolding<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        Poll::Ready(self.0.take().expect("polled after completion"))
    }
}

/// Counts the polls of the future it wraps.
struct Counted<F> {
    future: Pin<Box<F>>,
    polls: Rc<Cell<u32>>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.future.as_mut().poll(cx)
    }
}

type BoxedFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Fails the test rather than hang if the futures deadlock.
async fn within_a_minute<F: Future>(future: F) -> F::Output {
    time::timeout(Duration::from_secs(60), future)
        .await
        .expect("deadlocked: the futures did not run concurrently")
}

// ---------------------------------------------------------------------------
// join!
// ---------------------------------------------------------------------------

#[weft::test(start_paused = true)]
async fn join_returns_outputs_in_argument_order_whatever_the_completion_order() {
    let (tx1, rx1) = oneshot::channel();
    let (tx2, rx2) = oneshot::channel();
    // Completion order: the third, then the second, then the first.
    let (a, b, c) = within_a_minute(async {
        weft::join!(
            async { rx1.await.unwrap() + 1 },
            async {
                let v: i32 = rx2.await.unwrap();
                tx1.send(v * 10).unwrap();
                "b"
            },
            async {
                tx2.send(4).unwrap();
                3.5
            },
        )
    })
    .await;
    assert_eq!((a, b, c), (41, "b", 3.5));
}

#[weft::test(start_paused = true)]
async fn join_interleaves_its_futures() {
    let log = RefCell::new(Vec::new());
    let (to_b, mut b_inbox) = mpsc::unbounded_channel();
    let (to_a, mut a_inbox) = mpsc::unbounded_channel();
    within_a_minute(async {
        weft::join!(
            async {
                for i in 0..3 {
                    log.borrow_mut().push(format!("a sends {i}"));
                    to_b.send(i).unwrap();
                    let reply = a_inbox.recv().await.unwrap();
                    log.borrow_mut().push(format!("a got {reply}"));
                }
            },
            async {
                while let Some(v) = b_inbox.recv().await {
                    log.borrow_mut().push(format!("b got {v}"));
                    to_a.send(v * 2).unwrap();
                    if v == 2 {
                        break;
                    }
                }
            },
        )
    })
    .await;
    assert_eq!(
        log.into_inner(),
        [
            "a sends 0",
            "b got 0",
            "a got 0",
            "a sends 1",
            "b got 1",
            "a got 2",
            "a sends 2",
            "b got 2",
            "a got 4"
        ]
    );
}

#[weft::test]
async fn join_of_none_or_one() {
    let () = weft::join!();
    let (x,) = weft::join!(async { 5 });
    assert_eq!(x, 5);
    // Anything `IntoFuture` will do, a `JoinHandle` for one.
    let (y, z) = weft::join!(weft::spawn(async { 6 }), ready(7));
    assert_eq!((y.unwrap(), z), (6, 7));
}

#[weft::test]
async fn join_drops_a_future_as_soon_as_it_completes() {
    let (guard, dropped) = drop_flag();
    let ((), seen) = weft::join!(ReadyHolding(Some(()), guard), async {
        // Not ready at the first poll, by which the other has completed.
        yield_now().await;
        dropped.get()
    });
    assert!(seen, "a completed future outlived its completion");
}

// ---------------------------------------------------------------------------
// try_join!
// ---------------------------------------------------------------------------

#[weft::test]
async fn try_join_collects_the_ok_values_in_order() {
    let out: Result<_, String> = weft::try_join!(
        async {
            yield_now().await;
            Ok(1)
        },
        async { Ok("two") },
    );
    assert_eq!(out, Ok((1, "two")));
    let none: Result<(), String> = weft::try_join!();
    assert_eq!(none, Ok(()));
}

#[weft::test]
async fn try_join_returns_the_first_error_and_drops_the_rest() {
    let (guard, dropped) = drop_flag();
    let (started_tx, started_rx) = oneshot::channel::<()>();
    let out = weft::try_join!(
        async { Ok::<_, &str>(1) },
        async move {
            let _guard = guard;
            started_tx.send(()).unwrap();
            pending::<Result<(), &str>>().await
        },
        async {
            started_rx.await.unwrap();
            Err::<(), _>("failed")
        },
    );
    assert_eq!(out, Err("failed"));
    assert!(dropped.get(), "the pending future outlived the error");
}

#[weft::test]
async fn try_join_first_means_first_in_time() {
    let (tx, rx) = oneshot::channel::<()>();
    let out = weft::try_join!(
        async {
            rx.await.unwrap();
            Err::<(), _>("second in time")
        },
        async {
            tx.send(()).unwrap();
            Err::<(), _>("first in time")
        },
    );
    assert_eq!(out, Err("first in time"));
}

// ---------------------------------------------------------------------------
// join_all / try_join_all
// ---------------------------------------------------------------------------

#[weft::test]
async fn join_all_keeps_input_order() {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..100).map(|_| oneshot::channel()).unzip();
    // Completes them in reverse order, one per yield.
    weft::spawn(async move {
        for (i, tx) in senders.into_iter().enumerate().rev() {
            tx.send(i).unwrap();
            yield_now().await;
        }
    });
    let out = join_all(receivers).await;
    let out: Vec<usize> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, (0..100).collect::<Vec<_>>());
    assert!(join_all(Vec::<Ready<u8>>::new()).await.is_empty());
}

#[weft::test]
async fn join_all_polls_only_the_futures_that_were_woken() {
    const QUIET: usize = 1_000;
    const YIELDS: u32 = 100;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..QUIET).map(|_| oneshot::channel()).unzip();
    let quiet_polls: Vec<_> = (0..QUIET).map(|_| Rc::new(Cell::new(0))).collect();
    let noisy_polls = Rc::new(Cell::new(0));
    let mut futures: Vec<BoxedFuture<usize>> = receivers
        .into_iter()
        .zip(&quiet_polls)
        .map(|(rx, polls)| {
            let f: BoxedFuture<usize> = Box::pin(Counted {
                future: Box::pin(async move { rx.await.unwrap() }),
                polls: polls.clone(),
            });
            f
        })
        .collect();
    // Wakes itself a hundred times, then releases everybody else.
    futures.push(Box::pin(Counted {
        future: Box::pin(async move {
            for _ in 0..YIELDS {
                yield_now().await;
            }
            for (i, tx) in senders.into_iter().enumerate() {
                tx.send(i).unwrap();
            }
            QUIET
        }),
        polls: noisy_polls.clone(),
    }));
    // Unconstrained: a thousand receives ready at once would spend the
    // budget, and a receive past it is polled once more (it asks for that).
    let out = weft::task::unconstrained(join_all(futures)).await;
    assert_eq!(out, (0..=QUIET).collect::<Vec<_>>());
    assert_eq!(noisy_polls.get(), YIELDS + 1);
    for polls in &quiet_polls {
        // Once at the start, once when its value arrived.
        assert_eq!(polls.get(), 2);
    }
}

#[weft::test]
async fn join_all_futures_may_borrow() {
    let words = ["a".to_string(), "bb".to_string()];
    let total = Cell::new(0);
    let lengths = join_all(words.iter().map(|w| async {
        total.set(total.get() + w.len());
        w.len()
    }))
    .await;
    assert_eq!(lengths, [1, 2]);
    assert_eq!(total.get(), 3);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_all_of_tasks_woken_from_other_threads() {
    let handles = (0..1_000u32).map(|i| {
        weft::spawn(async move {
            yield_now().await;
            i
        })
    });
    let out: Vec<u32> = join_all(handles)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..1_000).collect::<Vec<_>>());
}

#[weft::test]
async fn try_join_all_is_ok_in_input_order() {
    let out = try_join_all((0..10u32).map(|i| async move {
        for _ in 0..(10 - i) {
            yield_now().await;
        }
        Ok::<_, String>(i)
    }))
    .await;
    assert_eq!(out, Ok((0..10).collect()));
    let empty: Result<Vec<u8>, ()> = try_join_all(Vec::<Ready<Result<u8, ()>>>::new()).await;
    assert_eq!(empty, Ok(vec![]));
}

#[weft::test]
async fn try_join_all_returns_the_first_error_in_time_and_drops_the_rest() {
    let (guard, dropped) = drop_flag();
    let (tx, rx) = oneshot::channel::<()>();
    let futures: Vec<BoxedFuture<Result<u32, String>>> = vec![
        // Fails, but only once the last one has (and dropped `tx`).
        Box::pin(async move {
            let _ = rx.await;
            Err("late failure".to_string())
        }),
        Box::pin(async move {
            let _guard = guard;
            pending().await
        }),
        Box::pin(async { Ok(2) }),
        Box::pin(async move {
            drop(tx);
            Err("first failure".to_string())
        }),
    ];
    let out = try_join_all(futures).await;
    assert_eq!(out, Err("first failure".to_string()));
    assert!(dropped.get(), "a pending future outlived the error");
}

#[test]
fn join_all_works_outside_a_runtime_and_refuses_a_second_poll() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut all = pin!(join_all([1, 2, 3].map(ready)));
    assert_eq!(all.as_mut().poll(&mut cx), Poll::Ready(vec![1, 2, 3]));
    let again = catch_unwind(AssertUnwindSafe(|| all.as_mut().poll(&mut cx)));
    assert!(again.is_err(), "polled after completion, and no panic");

    // Same for the macros: no runtime needed.
    let mut joined = pin!(async { weft::join!(ready(1), async { 2 }) }.into_future());
    assert_eq!(joined.as_mut().poll(&mut cx), Poll::Ready((1, 2)));
}
