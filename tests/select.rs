//! `weft::select!`: which branch wins, what happens to the others, the
//! syntax's parts (`biased;`, `, if` conditions, refutable patterns,
//! `else`), handlers that steer the code around them, timers on the paused
//! clock, and use outside a runtime. (The compile errors for bad syntax are
//! in `ui/`, run by `macros.rs`.)

mod drop_flag;

use std::cell::Cell;
use std::future::{pending, ready, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use drop_flag::drop_flag;
use weft::sync::{mpsc, oneshot};
use weft::time::{self, Instant};

/// Never ready; counts its polls.
struct CountPolls(Rc<Cell<u32>>);

impl Future for CountPolls {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.0.set(self.0.get() + 1);
        Poll::Pending
    }
}

#[weft::test]
async fn the_losers_are_dropped_before_the_handler_runs() {
    // Many rounds: the random start polls the loser first in some of them.
    for _ in 0..50 {
        let (guard, dropped) = drop_flag();
        let out = weft::select! {
            v = async { 7 } => {
                assert!(dropped.get(), "the losing future is still alive in the handler");
                v
            }
            () = async move {
                let _guard = guard;
                pending::<()>().await
            } => unreachable!(),
        };
        assert_eq!(out, 7);
    }
}

#[weft::test]
async fn a_handler_may_use_what_the_futures_borrowed() {
    // This compiles only because the futures (one borrows `rx` mutably)
    // are gone when the handler runs.
    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let second = weft::select! {
        Some(first) = rx.recv() => {
            assert_eq!(first, 1);
            rx.try_recv().unwrap()
        }
    };
    assert_eq!(second, 2);
}

#[weft::test]
async fn two_always_ready_branches_in_a_loop_share_the_wins() {
    let mut wins = [0u32; 2];
    for _ in 0..10_000 {
        weft::select! {
            () = ready(()) => wins[0] += 1,
            () = ready(()) => wins[1] += 1,
        }
    }
    assert!(wins.iter().all(|&w| w > 3_000), "wins: {wins:?}");
}

#[weft::test]
async fn biased_polls_in_the_order_written() {
    for _ in 0..1_000 {
        let winner = weft::select! {
            biased;
            () = ready(()) => 0,
            () = ready(()) => 1,
        };
        assert_eq!(winner, 0);
    }
    let first_polls = Rc::new(Cell::new(0));
    let winner = weft::select! {
        biased;
        () = CountPolls(first_polls.clone()) => 0,
        () = ready(()) => 1,
    };
    assert_eq!(winner, 1);
    assert_eq!(first_polls.get(), 1, "the first branch is polled first");
}

#[weft::test]
async fn a_false_condition_disables_its_branch_unpolled() {
    for enabled in [false, true] {
        let polls = Rc::new(Cell::new(0));
        let evaluated = Cell::new(false);
        let out = weft::select! {
            () = {
                evaluated.set(true);
                CountPolls(polls.clone())
            }, if enabled => 0,
            v = async {
                // Pending once, so the select is polled twice.
                weft::task::yield_now().await;
                1
            } => v,
        };
        assert_eq!(out, 1);
        assert!(evaluated.get(), "the future expression is evaluated anyway");
        if enabled {
            // Once at least: polled in one of the two rounds, or both,
            // depending on which branch each round started at.
            assert!(polls.get() >= 1);
        } else {
            assert_eq!(polls.get(), 0, "a disabled branch was polled");
        }
    }
}

#[weft::test]
async fn else_is_the_value_when_every_branch_is_disabled() {
    let polls = Rc::new(Cell::new(0));
    let out = weft::select! {
        () = CountPolls(polls.clone()), if 1 + 1 == 3 => 0,
        else => 9,
    };
    assert_eq!(out, 9);
    assert_eq!(polls.get(), 0);

    // Disabled by their outputs instead.
    let out = weft::select! {
        Some(v) = ready(None::<i32>) => v,
        Ok(v) = ready(Err::<i32, ()>(())) => v,
        else => -1,
    };
    assert_eq!(out, -1);

    // Literal patterns are values to compare with.
    for (value, word, expected) in [(0, "go", "zero"), (1, "quit", "quit"), (1, "go", "other")] {
        let out = weft::select! {
            0 = ready(value) => "zero",
            Some("quit") = ready(Some(word)) => "quit",
            else => "other",
        };
        assert_eq!(out, expected);
    }
}

#[weft::test]
async fn an_output_that_does_not_match_disables_only_its_branch() {
    let (tx, rx) = oneshot::channel();
    weft::spawn(async move { tx.send(5).unwrap() });
    let out = weft::select! {
        biased;
        // Completes first, with no match. Polling it again would panic
        // (an `async` block resumed after completion).
        Some(v) = async { None::<i32> } => v,
        Ok(v) = rx => v,
    };
    assert_eq!(out, 5);
}

#[weft::test]
#[should_panic(
    expected = "all branches of weft::select! are disabled and there is no `else` branch"
)]
async fn every_branch_disabled_without_else_panics() {
    let _: u8 = weft::select! {
        Some(v) = ready(None) => v,
        v = ready(1), if false => v,
    };
}

#[weft::test(start_paused = true)]
async fn a_sleep_branch_is_a_deadline_on_the_paused_clock() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    weft::spawn(async move {
        for i in 0..3 {
            time::sleep(Duration::from_secs(1)).await;
            tx.send(i).unwrap();
        }
        // Keeps the channel open, silent, past the deadline.
        time::sleep(Duration::from_secs(3600)).await;
        drop(tx);
    });
    let start = Instant::now();
    // One deadline across the whole loop, reused by reference.
    let mut deadline = pin!(time::sleep(Duration::from_secs(10)));
    let mut got = Vec::new();
    loop {
        weft::select! {
            Some(v) = rx.recv() => got.push((v, start.elapsed().as_secs())),
            () = &mut deadline => break,
        }
    }
    assert_eq!(got, [(0, 1), (1, 2), (2, 3)]);
    assert_eq!(start.elapsed(), Duration::from_secs(10));
}

#[weft::test(start_paused = true)]
async fn a_message_beats_a_later_deadline() {
    let (tx, rx) = oneshot::channel();
    weft::spawn(async move {
        time::sleep(Duration::from_secs(1)).await;
        tx.send("on time").unwrap();
    });
    let start = Instant::now();
    let out = weft::select! {
        Ok(msg) = rx => msg,
        () = time::sleep(Duration::from_secs(3600)) => "timed out",
    };
    assert_eq!(out, "on time");
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

/// `continue`, `break` and `return` in handlers act on the code around the
/// macro.
async fn sum_until_negative(values: &[i64]) -> Result<i64, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for &v in values {
        tx.send(v).unwrap();
    }
    drop(tx);
    let mut sum = 0;
    loop {
        weft::select! {
            Some(v) = rx.recv() => {
                if v == 0 {
                    continue;
                }
                if v < 0 {
                    return Err(format!("negative: {v}"));
                }
                sum += v;
            }
            else => break,
        }
    }
    Ok(sum)
}

/// `?` in a handler, and a handler that breaks out of a loop with a value:
/// twice the first number in `texts`, skipping empty ones.
async fn first_number_doubled(texts: &[&'static str]) -> Result<i64, std::num::ParseIntError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for &text in texts {
        tx.send(text).unwrap();
    }
    let n = loop {
        weft::select! {
            Some(text) = rx.recv() => {
                if text.is_empty() {
                    continue;
                }
                break text.parse::<i64>()?;
            }
        }
    };
    Ok(n * 2)
}

#[weft::test]
async fn handlers_steer_the_surrounding_code() {
    assert_eq!(sum_until_negative(&[1, 0, 2, 3]).await, Ok(6));
    assert_eq!(
        sum_until_negative(&[1, -4, 2]).await,
        Err("negative: -4".to_string())
    );
    assert_eq!(first_number_doubled(&["", "21", "x"]).await, Ok(42));
    assert!(first_number_doubled(&["", "x", "21"]).await.is_err());
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_in_a_spawned_task_is_send() {
    let (a_tx, mut a) = mpsc::channel::<u32>(4);
    let (b_tx, mut b) = mpsc::channel::<u32>(4);
    let summer = weft::spawn(async move {
        let mut sum = 0;
        loop {
            // A closed channel's `None` disables its branch; `else` once
            // both are closed.
            weft::select! {
                Some(v) = a.recv() => sum += v,
                Some(v) = b.recv() => sum += 100 * v,
                else => return sum,
            }
        }
    });
    for v in 1..=10 {
        a_tx.send(v).await.unwrap();
        if v <= 3 {
            b_tx.send(v).await.unwrap();
        }
    }
    drop((a_tx, b_tx));
    assert_eq!(summer.await.unwrap(), 55 + 600);
}

#[test]
fn select_works_outside_a_runtime() {
    let mut wins = [0u32; 2];
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        let mut round = pin!(async {
            weft::select! {
                v = ready(0) => v,
                v = ready(1) => v,
            }
        });
        match round.as_mut().poll(&mut cx) {
            Poll::Ready(winner) => wins[winner] += 1,
            Poll::Pending => panic!("two ready branches, and pending"),
        }
    }
    assert!(wins.iter().all(|&w| w > 300), "wins: {wins:?}");
}
