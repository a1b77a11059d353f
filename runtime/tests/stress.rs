//! Release-mode stress (CI runs it with `--release`): a million wakes from
//! other threads racing polls, a million socket readiness events racing
//! tasks registering interest, and rounds of chaos with shutdown midway.

mod support;

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use support::{multi_thread, poll_once, within};
use weft_reactor::io::{AsyncReadExt, AsyncWriteExt};
use weft_runtime::task;

/// 1,000,000 wakes with 2 workers, many of them landing while the task is
/// still being polled: each must lead to exactly one more poll.
#[test]
#[cfg_attr(miri, ignore)]
fn a_million_cross_thread_wakes_with_two_workers() {
    within(300, || {
        let rt = multi_thread(2);
        support::cross_thread_wakes(&rt, 8, 125_000);
    });
}

/// 1,000,000 one-byte messages bounced over 200 Unix socket pairs by 400
/// tasks on 2 workers: every message's readiness event races its reader
/// registering interest (the pairs are never idle long), and a lost one
/// hangs a pair, which the watchdog turns into a failure.
#[test]
#[cfg_attr(miri, ignore)]
fn a_million_readiness_events_racing_registrations() {
    const PAIRS: usize = 200;
    const ROUND_TRIPS: usize = 2_500;
    within(300, || {
        let rt = multi_thread(2);
        let total = rt.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..PAIRS {
                let (mut a, mut b) = weft_reactor::net::UnixStream::pair().unwrap();
                tasks.push(task::spawn(async move {
                    let mut byte = [0u8; 1];
                    for i in 0..ROUND_TRIPS {
                        a.write_all(&[i as u8]).await.unwrap();
                        a.read_exact(&mut byte).await.unwrap();
                        assert_eq!(byte[0], i as u8);
                    }
                    ROUND_TRIPS
                }));
                tasks.push(task::spawn(async move {
                    let mut byte = [0u8; 1];
                    for _ in 0..ROUND_TRIPS {
                        b.read_exact(&mut byte).await.unwrap();
                        b.write_all(&byte).await.unwrap();
                    }
                    ROUND_TRIPS
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            total
        });
        assert_eq!(total, 2 * PAIRS * ROUND_TRIPS);
    });
}

/// Chaos with a fixed amount of work: tasks that yield, wait for wakes
/// from other threads, spawn children, panic; handles aborted, dropped or
/// kept at random; the runtime dropped in the middle of it all. Whatever
/// happens, every future is dropped exactly once and every kept handle
/// resolves.
#[test]
#[cfg_attr(miri, ignore)]
fn chaos_aborts_drops_and_shutdown_midway() {
    within(300, || {
        for round in 0..24u64 {
            chaos_round(round);
        }
    });
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn chaos_round(round: u64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (round + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let rt = match round % 3 {
        0 => support::current_thread(),
        1 => multi_thread(1),
        _ => multi_thread(2),
    };
    let spawned = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));

    // Two threads that wake whatever is waiting, from outside the runtime.
    let wake_threads: Vec<_> = (0..2)
        .map(|_| {
            let (wakers, stop) = (wakers.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    let batch = std::mem::take(&mut *wakers.lock().unwrap());
                    for waker in batch {
                        waker.wake();
                    }
                    std::thread::yield_now();
                }
            })
        })
        .collect();

    let tasks = 2_000;
    let shutdown_at = rng.below(tasks);
    let mut kept = Vec::new();
    let mut shutdown_handle = None;
    for i in 0..tasks {
        let kind = rng.below(5);
        let steps = rng.below(8);
        let counted = Counted(dropped.clone());
        spawned.fetch_add(1, SeqCst);
        let (spawned2, dropped2, wakers2) = (spawned.clone(), dropped.clone(), wakers.clone());
        let fut = async move {
            let _counted = counted;
            match kind {
                0 => {
                    for _ in 0..steps {
                        task::yield_now().await;
                    }
                }
                1 => {
                    // Waits for `steps` wakes from the other threads.
                    let mut left = steps;
                    poll_fn(|cx| {
                        if left == 0 {
                            return Poll::Ready(());
                        }
                        left -= 1;
                        wakers2.lock().unwrap().push(cx.waker().clone());
                        Poll::Pending
                    })
                    .await;
                }
                2 => {
                    spawned2.fetch_add(1, SeqCst);
                    let child_counted = Counted(dropped2);
                    let child = weft_runtime::spawn(async move {
                        let _c = child_counted;
                        task::yield_now().await;
                    });
                    if steps % 2 == 0 {
                        let _ = child.await;
                    }
                }
                3 => {
                    if steps == 0 {
                        panic!("chaos panic");
                    }
                    task::yield_now().await;
                }
                _ => std::future::pending::<()>().await,
            }
        };
        let handle = rt.spawn(fut);
        match rng.below(4) {
            0 => handle.abort(),
            1 => drop(handle),
            _ => kept.push(handle),
        }
        if i == shutdown_at {
            // Shut down while spawning goes on: later spawns are cancelled.
            shutdown_handle = Some(rt.handle().clone());
        }
        if i % 500 == 0 {
            // Let the runtime make progress now and then (current-thread
            // needs a driver).
            rt.block_on(task::yield_now());
        }
    }
    let handle = shutdown_handle.expect("shutdown point chosen");
    drop(rt);
    // Spawning after shutdown: cancelled at once, dropped once.
    let counted = Counted(dropped.clone());
    spawned.fetch_add(1, SeqCst);
    let late = handle.spawn(async move { drop(counted) });
    assert!(late.is_finished());

    stop.store(true, SeqCst);
    for t in wake_threads {
        t.join().unwrap();
    }
    drop(std::mem::take(&mut *wakers.lock().unwrap()));

    assert_eq!(
        dropped.load(SeqCst),
        spawned.load(SeqCst),
        "round {round}: every future dropped exactly once"
    );
    for mut h in kept {
        match poll_once(&mut h) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => assert!(e.is_cancelled() || e.is_panic(), "{e}"),
            Poll::Pending => panic!("round {round}: a kept handle never resolved"),
        }
    }
}
