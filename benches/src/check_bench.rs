//! `check-bench`: `weft::check` against shuttle on the same bodies.
//!
//! Two tables (the ones in `docs/checking.md`):
//!
//! - schedules per second on a body of 10 tasks of 10 awaits each (100
//!   awaits), random and PCT strategies, each checker on its own executor;
//! - schedules to the first failure, median over 20 seeds, on the catalogue
//!   bugs shuttle can express: 1 (lost update, async tasks), 2 (lock order,
//!   as shuttle threads: a blocking guard held across an await is not
//!   `Send`, so shuttle's async tasks cannot hold one), 4 (lock held across
//!   a full bounded send, shuttle threads and `sync_channel`).
//!
//! ```text
//! cargo run --release -p weft-bench --bin check-bench            # about ten seconds
//! cargo run --release -p weft-bench --bin check-bench -- --quick # a smoke run
//! ```
//!
//! Shuttle prints its own report of every failure it finds to stderr;
//! send stderr to /dev/null for a clean table.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use shuttle::scheduler::{PctScheduler, RandomScheduler};
use shuttle::Runner;

/// Tasks in the throughput body, and awaits each.
const TASKS: usize = 10;
const AWAITS: usize = 10;

/// Seeds per first-failure median.
const SEEDS: u64 = 20;

async fn weft_body() {
    let counter = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let counter = counter.clone();
            weft::spawn(async move {
                for _ in 0..AWAITS {
                    counter.fetch_add(1, Ordering::Relaxed);
                    weft::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(counter.load(Ordering::Relaxed), TASKS * AWAITS);
}

fn shuttle_body() {
    shuttle::future::block_on(async {
        let counter = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let counter = counter.clone();
                shuttle::future::spawn(async move {
                    for _ in 0..AWAITS {
                        counter.fetch_add(1, Ordering::Relaxed);
                        shuttle::future::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), TASKS * AWAITS);
    });
}

/// Schedules per second of `run(n)`, which runs `n` schedules: the best
/// of 5 samples, since other processes on a shared machine only ever slow
/// a sample down.
fn rate(n: usize, run: impl Fn(usize)) -> f64 {
    run(n / 10 + 1); // warm-up
    (0..5)
        .map(|_| {
            let start = Instant::now();
            run(n);
            n as f64 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn throughput(n: usize) {
    println!("| {TASKS} tasks x {AWAITS} awaits | schedules/s (best of 5) |");
    println!("|---|---|");
    let weft_random = rate(n, |n| {
        weft::check::Builder::new()
            .schedules(n)
            .seed(1)
            .run(weft_body);
    });
    let shuttle_random = rate(n, |n| {
        Runner::new(RandomScheduler::new_from_seed(1, n), Default::default()).run(shuttle_body);
    });
    let weft_pct = rate(n, |n| {
        weft::check::Builder::new()
            .schedules(n)
            .seed(1)
            .pct(3)
            .run(weft_body);
    });
    let shuttle_pct = rate(n, |n| {
        Runner::new(PctScheduler::new_from_seed(1, 3, n), Default::default()).run(shuttle_body);
    });
    let weft_empty = rate(n, |n| {
        weft::check::Builder::new()
            .schedules(n)
            .seed(1)
            .run(|| async {});
    });
    let shuttle_empty = rate(n, |n| {
        Runner::new(RandomScheduler::new_from_seed(1, n), Default::default())
            .run(|| shuttle::future::block_on(async {}));
    });
    println!("| weft::check random, empty body | {weft_empty:.0} |");
    println!("| shuttle random, empty body | {shuttle_empty:.0} |");
    println!("| weft::check random | {weft_random:.0} |");
    println!("| shuttle random | {shuttle_random:.0} |");
    println!("| weft::check pct(3) | {weft_pct:.0} |");
    println!("| shuttle pct(3) | {shuttle_pct:.0} |");
}

// --- The catalogue bugs, in both checkers -------------------------------

async fn weft_lost_update() {
    let account = Arc::new(weft::sync::Mutex::new(100i64));
    let withdraw = |account: Arc<weft::sync::Mutex<i64>>| async move {
        let balance = *account.lock().await;
        if balance < 60 {
            return;
        }
        weft::task::yield_now().await;
        *account.lock().await -= 60;
    };
    let a = weft::spawn(withdraw(account.clone()));
    let b = weft::spawn(withdraw(account.clone()));
    a.await.unwrap();
    b.await.unwrap();
    assert!(*account.lock().await >= 0, "overdrawn");
}

fn shuttle_lost_update() {
    shuttle::future::block_on(async {
        let account = Arc::new(shuttle::sync::Mutex::new(100i64));
        let withdraw = |account: Arc<shuttle::sync::Mutex<i64>>| async move {
            let balance = *account.lock().unwrap();
            if balance < 60 {
                return;
            }
            shuttle::future::yield_now().await;
            *account.lock().unwrap() -= 60;
        };
        let a = shuttle::future::spawn(withdraw(account.clone()));
        let b = shuttle::future::spawn(withdraw(account.clone()));
        a.await.unwrap();
        b.await.unwrap();
        assert!(*account.lock().unwrap() >= 0, "overdrawn");
    });
}

async fn weft_lock_order() {
    let x = Arc::new(weft::sync::Mutex::new(100i64));
    let y = Arc::new(weft::sync::Mutex::new(100i64));
    let transfer = |from: Arc<weft::sync::Mutex<i64>>, to: Arc<weft::sync::Mutex<i64>>| async move {
        let mut a = from.lock().await;
        let mut b = to.lock().await;
        *a -= 10;
        *b += 10;
    };
    let a = weft::spawn(transfer(x.clone(), y.clone()));
    let b = weft::spawn(transfer(y.clone(), x.clone()));
    a.await.unwrap();
    b.await.unwrap();
}

fn shuttle_lock_order() {
    let x = Arc::new(shuttle::sync::Mutex::new(100i64));
    let y = Arc::new(shuttle::sync::Mutex::new(100i64));
    let transfer = |from: Arc<shuttle::sync::Mutex<i64>>, to: Arc<shuttle::sync::Mutex<i64>>| {
        move || {
            let mut a = from.lock().unwrap();
            let mut b = to.lock().unwrap();
            *a -= 10;
            *b += 10;
        }
    };
    let a = shuttle::thread::spawn(transfer(x.clone(), y.clone()));
    let b = shuttle::thread::spawn(transfer(y, x));
    a.join().unwrap();
    b.join().unwrap();
}

async fn weft_lock_across_send() {
    let state = Arc::new(weft::sync::Mutex::new(Vec::new()));
    let (tx, mut rx) = weft::sync::mpsc::channel::<u32>(1);
    let producer = {
        let state = state.clone();
        weft::spawn(async move {
            for batch in [[0, 1], [2, 3]] {
                let mut pending = state.lock().await;
                pending.extend(batch);
                for i in batch {
                    tx.send(i).await.unwrap();
                }
            }
        })
    };
    let consumer = weft::spawn(async move {
        while let Some(i) = rx.recv().await {
            state.lock().await.retain(|&p| p != i);
        }
    });
    producer.await.unwrap();
    consumer.await.unwrap();
}

fn shuttle_lock_across_send() {
    let state = Arc::new(shuttle::sync::Mutex::new(Vec::new()));
    let (tx, rx) = shuttle::sync::mpsc::sync_channel::<u32>(1);
    let producer = {
        let state = state.clone();
        shuttle::thread::spawn(move || {
            for batch in [[0, 1], [2, 3]] {
                let mut pending = state.lock().unwrap();
                pending.extend(batch);
                for i in batch {
                    tx.send(i).unwrap();
                }
            }
        })
    };
    let consumer = shuttle::thread::spawn(move || {
        while let Ok(i) = rx.recv() {
            state.lock().unwrap().retain(|&p| p != i);
        }
    });
    producer.join().unwrap();
    consumer.join().unwrap();
}

fn median(mut found: Vec<Option<usize>>) -> String {
    found.sort_by_key(|f| f.unwrap_or(usize::MAX));
    found[found.len() / 2].map_or("not found".to_string(), |n| n.to_string())
}

/// Schedules shuttle ran up to and including its first failure, if any.
fn shuttle_first_failure(
    runner: Runner<impl shuttle::scheduler::Scheduler + 'static>,
    body: fn(),
) -> Option<usize> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    COUNT.store(0, Ordering::SeqCst);
    let failed = panic::catch_unwind(AssertUnwindSafe(|| {
        runner.run(move || {
            COUNT.fetch_add(1, Ordering::SeqCst);
            body();
        })
    }))
    .is_err();
    failed.then(|| COUNT.load(Ordering::SeqCst))
}

fn first_failures(budget: usize) {
    type Weft = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    let bugs: [(&str, Weft, fn()); 3] = [
        (
            "1 lost update",
            || Box::pin(weft_lost_update()),
            shuttle_lost_update,
        ),
        (
            "2 lock order",
            || Box::pin(weft_lock_order()),
            shuttle_lock_order,
        ),
        (
            "4 lock across send",
            || Box::pin(weft_lock_across_send()),
            shuttle_lock_across_send,
        ),
    ];
    println!("| bug | weft random | shuttle random | weft pct(3) | shuttle pct(3) |");
    println!("|---|---|---|---|---|");
    for (name, weft_bug, shuttle_bug) in bugs {
        let weft = |pct: bool| {
            median(
                (0..SEEDS)
                    .map(|seed| {
                        let mut builder = weft::check::Builder::new();
                        builder.seed(seed).schedules(budget).shrink(false);
                        if pct {
                            builder.pct(3);
                        }
                        builder.check(weft_bug).err().map(|f| f.found_at())
                    })
                    .collect(),
            )
        };
        let shuttle_random = median(
            (0..SEEDS)
                .map(|seed| {
                    let runner = Runner::new(
                        RandomScheduler::new_from_seed(seed, budget),
                        Default::default(),
                    );
                    shuttle_first_failure(runner, shuttle_bug)
                })
                .collect(),
        );
        let shuttle_pct = median(
            (0..SEEDS)
                .map(|seed| {
                    let runner = Runner::new(
                        PctScheduler::new_from_seed(seed, 3, budget),
                        Default::default(),
                    );
                    shuttle_first_failure(runner, shuttle_bug)
                })
                .collect(),
        );
        println!(
            "| {name} | {} | {shuttle_random} | {} | {shuttle_pct} |",
            weft(false),
            weft(true)
        );
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 200 } else { 5_000 };
    println!(
        "weft::check vs shuttle {}",
        if quick { "(quick)" } else { "" }
    );
    throughput(n);
    println!();
    first_failures(if quick { 200 } else { 10_000 });
}
