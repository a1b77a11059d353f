//! `weft::check` itself: what it explores, what it reports, and that a
//! reported schedule replays exactly.

use std::collections::HashSet;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use weft::check::{Builder, Event, FailureKind};
use weft::runtime::dump::{SyncKind, WaitsOn};

/// Two tasks append their names; the order they ran in.
fn record_order(
    seen: Arc<StdMutex<HashSet<Vec<&'static str>>>>,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    move || {
        let seen = seen.clone();
        Box::pin(async move {
            let log = Arc::new(StdMutex::new(Vec::new()));
            let tasks: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    weft::spawn(async move { log.lock().unwrap().push(name) })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let order = log.lock().unwrap().clone();
            seen.lock().unwrap().insert(order);
        })
    }
}

#[test]
fn a_passing_body_runs_every_schedule() {
    let seen = Arc::new(StdMutex::new(HashSet::new()));
    let report = Builder::new()
        .schedules(200)
        .seed(7)
        .run(record_order(seen.clone()));
    assert_eq!(report.schedules(), 200);
    assert!(!report.is_complete(), "a random walk never claims coverage");
    // Three tasks started together: the random walk sees every order.
    assert_eq!(seen.lock().unwrap().len(), 6, "{:?}", seen.lock().unwrap());
}

#[test]
fn exhaustive_search_covers_every_order_and_says_so() {
    let seen = Arc::new(StdMutex::new(HashSet::new()));
    let report = Builder::new()
        .schedules(10_000)
        .exhaustive(3)
        .run(record_order(seen.clone()));
    assert!(report.is_complete());
    assert_eq!(seen.lock().unwrap().len(), 6);
    // A budget too small to cover them is not complete.
    let report = Builder::new()
        .schedules(2)
        .exhaustive(3)
        .run(record_order(Arc::default()));
    assert!(!report.is_complete());
    assert_eq!(report.schedules(), 2);
}

#[test]
fn exhaustive_with_no_preemptions_runs_the_default_schedule_only() {
    let seen = Arc::new(StdMutex::new(HashSet::new()));
    let report = Builder::new().exhaustive(0).run(record_order(seen.clone()));
    assert!(report.is_complete());
    assert_eq!(report.schedules(), 1);
    assert_eq!(
        seen.lock().unwrap().iter().next().unwrap(),
        &vec!["a", "b", "c"],
        "the default is queue order"
    );
}

#[test]
fn a_panic_in_a_task_nobody_joins_fails_the_check() {
    let failure = Builder::new()
        .schedules(100)
        .check(|| async {
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let f = flag.clone();
            // Detached: its panic reaches no JoinHandle.
            drop(
                weft::task::Builder::new()
                    .name("checker")
                    .spawn(async move {
                        weft::task::yield_now().await;
                        assert!(
                            f.load(std::sync::atomic::Ordering::SeqCst),
                            "flag not set yet"
                        );
                    })
                    .unwrap(),
            );
            weft::task::yield_now().await;
            weft::task::yield_now().await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            weft::task::yield_now().await;
        })
        .unwrap_err();
    match failure.kind() {
        FailureKind::Panic { task, message } => {
            assert_eq!(task.ordinal, 1);
            assert_eq!(task.name.as_deref(), Some("checker"));
            assert!(message.contains("flag not set yet"), "{message}");
            assert!(message.contains("tests/check.rs"), "location: {message}");
        }
        other => panic!("expected a panic, got {other}"),
    }
    let report = failure.to_string();
    assert!(report.contains("strategy random, seed 0"), "{report}");
    assert!(report.contains("WEFT_CHECK_REPLAY='s:"), "{report}");
}

#[test]
fn a_deadlock_names_every_waiting_task() {
    let failure = Builder::new()
        .schedules(10)
        .check(|| async {
            let (tx_a, rx_a) = weft::sync::oneshot::channel::<()>();
            let (tx_b, rx_b) = weft::sync::oneshot::channel::<()>();
            let a = weft::task::Builder::new()
                .name("a")
                .spawn(async move {
                    let _ = rx_b.await;
                    drop(tx_a);
                })
                .unwrap();
            let b = weft::task::Builder::new()
                .name("b")
                .spawn(async move {
                    let _ = rx_a.await;
                    drop(tx_b);
                })
                .unwrap();
            let _ = weft::join!(a, b);
        })
        .unwrap_err();
    let FailureKind::Deadlock { waiting } = failure.kind() else {
        panic!("expected a deadlock, got {failure}");
    };
    let names: Vec<_> = waiting.iter().map(|t| t.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["main", "a", "b"]);
    assert!(failure.to_string().contains("t1 \"a\""), "{failure}");
    // Each named with what it waits on, as the task dump reads it.
    assert!(
        matches!(waiting[0].waits_on, Some(WaitsOn::Join { task }) if task.as_u64() == waiting[1].id),
        "{failure}"
    );
    for task in &waiting[1..] {
        assert!(
            matches!(
                task.waits_on,
                Some(WaitsOn::Sync {
                    kind: SyncKind::OneshotRecv,
                    ..
                })
            ),
            "{failure}"
        );
    }
    assert!(
        failure.to_string().contains("waits on oneshot recv"),
        "{failure}"
    );
    assert_eq!(failure.found_at(), 1, "every schedule deadlocks");
}

#[test]
fn a_sleeping_task_is_no_deadlock_and_time_jumps() {
    let report = Builder::new().schedules(20).run(|| async {
        let start = weft::time::Instant::now();
        let sleeper = weft::spawn(weft::time::sleep(Duration::from_secs(3600)));
        sleeper.await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(3600));
        let timed_out =
            weft::time::timeout(Duration::from_secs(5), std::future::pending::<()>()).await;
        assert!(timed_out.is_err());
    });
    assert_eq!(report.schedules(), 20);
}

#[test]
fn a_livelock_hits_the_step_bound() {
    let failure = Builder::new()
        .schedules(5)
        .max_steps(500)
        .check(|| async {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s = stop.clone();
            // Spins until the main task sets `stop`, which it never does.
            let spinner = weft::spawn(async move {
                while !s.load(std::sync::atomic::Ordering::SeqCst) {
                    weft::task::yield_now().await;
                }
            });
            spinner.await.unwrap();
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        })
        .unwrap_err();
    assert!(
        matches!(failure.kind(), FailureKind::StepBound { max_steps: 500 }),
        "{failure}"
    );
}

/// A race that fails only in some orders: a reader that must see both
/// writes.
async fn racy() {
    let value = Arc::new(weft::sync::Mutex::new(0));
    let v = value.clone();
    let writer = weft::spawn(async move {
        *v.lock().await += 1;
        weft::task::yield_now().await;
        *v.lock().await += 1;
    });
    weft::task::yield_now().await;
    let seen = *value.lock().await;
    writer.await.unwrap();
    assert!(seen != 1, "saw a half-done update");
}

#[test]
fn the_printed_schedule_replays_exactly_twice() {
    let failure = Builder::new()
        .schedules(1_000)
        .seed(3)
        .check(racy)
        .unwrap_err();
    let schedule = failure.schedule().to_string();
    for _ in 0..2 {
        let again = Builder::new().replay(&schedule).check(racy).unwrap_err();
        assert_eq!(again.trace(), failure.trace());
        // The same task (by ordinal: runtime ids count on) with the same
        // message.
        match (again.kind(), failure.kind()) {
            (
                FailureKind::Panic {
                    task: a,
                    message: m,
                },
                FailureKind::Panic {
                    task: b,
                    message: n,
                },
            ) => {
                assert_eq!((a.ordinal, a.polls, m), (b.ordinal, b.polls, n));
            }
            other => panic!("expected two panics, got {other:?}"),
        }
        assert_eq!(again.schedule(), schedule);
    }
}

#[test]
fn every_strategy_finds_the_race() {
    for builder in [
        Builder::new().schedules(1_000).random().clone(),
        Builder::new().schedules(1_000).pct(2).clone(),
        Builder::new().schedules(1_000).exhaustive(2).clone(),
    ] {
        let failure = builder.check(racy).unwrap_err();
        assert!(
            matches!(failure.kind(), FailureKind::Panic { .. }),
            "{failure}"
        );
        assert!(failure.preemptions() <= 2, "shrunk: {failure}");
    }
}

#[test]
fn a_replay_of_another_body_is_reported_as_diverged() {
    let failure = Builder::new().replay("s:{40}").check(racy).unwrap_err();
    assert!(
        matches!(failure.kind(), FailureKind::ReplayDiverged { .. }),
        "{failure}"
    );
    let bad = Builder::new().replay("0101").check(racy).unwrap_err();
    assert!(bad.to_string().contains("schedule string"), "{bad}");
}

#[test]
fn select_branch_order_is_a_choice() {
    let seen = Arc::new(StdMutex::new(HashSet::new()));
    let s = seen.clone();
    Builder::new().schedules(1_000).exhaustive(1).run(move || {
        let seen = s.clone();
        async move {
            let first = weft::select! {
                _ = std::future::ready(()) => "a",
                _ = std::future::ready(()) => "b",
            };
            seen.lock().unwrap().insert(first);
        }
    });
    assert_eq!(seen.lock().unwrap().len(), 2);
    let failure = Builder::new()
        .schedules(1_000)
        .check(|| async {
            weft::select! {
                _ = std::future::ready(()) => {}
                _ = std::future::ready(()) => panic!("second branch first"),
            }
        })
        .unwrap_err();
    assert!(failure.trace().events().iter().any(|e| matches!(
        e,
        Event::Branch {
            options: 2,
            chosen: 1
        }
    )));
}

#[test]
fn spawn_blocking_is_a_scheduled_step() {
    let seen = Arc::new(StdMutex::new(HashSet::new()));
    let s = seen.clone();
    Builder::new().schedules(300).run(move || {
        let seen = s.clone();
        async move {
            let log = Arc::new(StdMutex::new(Vec::new()));
            let l = log.clone();
            let blocking = weft::task::spawn_blocking(move || l.lock().unwrap().push("blocking"));
            let l = log.clone();
            let task = weft::spawn(async move { l.lock().unwrap().push("task") });
            assert_eq!(task.await.unwrap(), ());
            blocking.await.unwrap();
            seen.lock().unwrap().insert(log.lock().unwrap().clone());
        }
    });
    assert_eq!(seen.lock().unwrap().len(), 2, "both orders explored");
}

#[test]
fn real_io_is_refused_with_the_in_memory_alternative() {
    Builder::new().schedules(1).run(|| async {
        let err = weft::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("weft::io::duplex"), "{err}");
        let err = weft::fs::read("Cargo.toml").await.unwrap_err();
        assert!(err.to_string().contains("weft::io::duplex"), "{err}");
        let Err(err) = weft::net::lookup_host("localhost:80").await else {
            panic!("a host-name lookup inside a check run");
        };
        assert!(err.to_string().contains("weft::io::duplex"), "{err}");
        let err = weft::process::Command::new("true").spawn().unwrap_err();
        assert!(err.to_string().contains("weft::io::duplex"), "{err}");
        // In-memory I/O works.
        use weft::io::{AsyncReadExt, AsyncWriteExt};
        let (mut a, mut b) = weft::io::duplex(8);
        let writer = weft::spawn(async move { a.write_all(b"hello, checker").await.unwrap() });
        let mut text = String::new();
        b.read_to_string(&mut text).await.unwrap();
        writer.await.unwrap();
        assert_eq!(text, "hello, checker");
    });
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let body = || async {};
    let err = Builder::new().schedules(0).check(body).unwrap_err();
    assert!(err.to_string().contains("at least one schedule"), "{err}");
    let err = Builder::new().pct(0).check(body).unwrap_err();
    assert!(err.to_string().contains("depth"), "{err}");
}

#[weft::test]
async fn a_check_inside_a_runtime_is_refused() {
    let err = Builder::new().check(|| async {}).unwrap_err();
    assert!(err.to_string().contains("plain `#[test]`"), "{err}");
}

/// The attribute form: the body runs under every schedule.
#[weft::check(schedules = 300, strategy = "pct", depth = 2, seed = 11)]
async fn withdrawals_never_overdraw() {
    let account = Arc::new(weft::sync::Mutex::new(100i64));
    let withdraw = |account: Arc<weft::sync::Mutex<i64>>| async move {
        let mut balance = account.lock().await;
        weft::task::yield_now().await;
        if *balance >= 60 {
            *balance -= 60;
        }
    };
    let a = weft::spawn(withdraw(account.clone()));
    let b = weft::spawn(withdraw(account.clone()));
    let _ = weft::join!(a, b);
    assert_eq!(*account.lock().await, 40);
}

/// A failing attribute test panics with the report.
#[weft::check(strategy = "exhaustive", max_preemptions = 1)]
#[should_panic(expected = "WEFT_CHECK_REPLAY")]
async fn an_attribute_check_reports_its_failure() {
    racy().await;
}

/// Opposite lock orders with nothing that waits in between: only a
/// preemption at a lock acquisition (another worker running meanwhile)
/// interleaves them.
async fn opposite_orders() {
    let x = Arc::new(weft::sync::Mutex::new(0));
    let y = Arc::new(weft::sync::Mutex::new(0));
    let (x2, y2) = (x.clone(), y.clone());
    let a = weft::spawn(async move {
        let _x = x2.lock().await;
        let _y = y2.lock().await;
    });
    let b = weft::spawn(async move {
        let _y = y.lock().await;
        let _x = x.lock().await;
    });
    let _ = weft::join!(a, b);
}

#[test]
fn preemption_at_a_lock_finds_what_a_parallel_worker_would() {
    let failure = Builder::new().check(opposite_orders).unwrap_err();
    assert!(
        matches!(failure.kind(), FailureKind::Deadlock { .. }),
        "{failure}"
    );
    assert!(
        failure
            .trace()
            .events()
            .iter()
            .any(|e| matches!(e, Event::Preempt { .. })),
        "{failure}"
    );
    // Polls that run to their next `Pending` never interleave the two: the
    // exhaustive search proves it.
    let report = Builder::new()
        .preempt_at_sync(false)
        .exhaustive(10)
        .schedules(100_000)
        .run(opposite_orders);
    assert!(report.is_complete());
}

/// Two sleepers of odd, sub-millisecond lengths race to a slot; earlier
/// schedules leave the shared runtime's clock anywhere, yet a replay on a
/// fresh one repeats the failing schedule exactly.
async fn sleepers() {
    let winner = Arc::new(StdMutex::new(Vec::new()));
    let tasks: Vec<_> = [(1, 330u64), (2, 250), (3, 410)]
        .into_iter()
        .map(|(n, micros)| {
            let winner = winner.clone();
            weft::spawn(async move {
                weft::time::sleep(Duration::from_micros(micros)).await;
                weft::time::sleep(Duration::from_micros(micros)).await;
                winner.lock().unwrap().push(n);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let order = winner.lock().unwrap().clone();
    assert_ne!(order, [2, 3, 1], "an order the body forbids");
}

/// The sleepers, then a race between two timers due at the same instant.
async fn timer_race() {
    sleepers().await;
    let flag = Arc::new(std::sync::atomic::AtomicU8::new(0));
    let f = flag.clone();
    let t = weft::spawn(async move {
        weft::time::sleep(Duration::from_micros(130)).await;
        f.store(1, std::sync::atomic::Ordering::SeqCst);
    });
    weft::time::sleep(Duration::from_micros(130)).await;
    assert_eq!(
        flag.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the timer race"
    );
    t.await.unwrap();
}

#[test]
fn a_timed_failure_replays_on_a_fresh_runtime() {
    // The clock alone orders the sleepers: every schedule passes, and
    // moves the shared runtime's clock on.
    Builder::new().schedules(50).run(sleepers);
    let failure = Builder::new()
        .schedules(2_000)
        .check(timer_race)
        .unwrap_err();
    assert!(failure.to_string().contains("the timer race"), "{failure}");
    assert!(failure
        .trace()
        .events()
        .iter()
        .any(|e| matches!(e, Event::Advance(_))));
    // The schedule string alone, on a fresh runtime, repeats it.
    let again = Builder::new()
        .replay(failure.schedule())
        .check(timer_race)
        .unwrap_err();
    assert_eq!(again.trace(), failure.trace());
}

/// Run by `the_environment_replays_a_schedule` in a child process, with
/// `WEFT_CHECK_REPLAY` or `WEFT_CHECK_SEED` set there (the environment is
/// the whole process's, so a test must not set it in its own).
#[test]
#[ignore = "run by the_environment_replays_a_schedule, with the variables set"]
fn environment_target() {
    match Builder::new().check(racy) {
        Ok(report) => println!("PASSED {}", report.schedules()),
        Err(failure) => println!("FAILED {:?}\n{failure}", failure.trace()),
    }
}

#[test]
fn the_environment_replays_a_schedule() {
    let failure = Builder::new()
        .schedules(1_000)
        .seed(9)
        .check(racy)
        .unwrap_err();
    let child = |var: &str, value: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "environment_target", "--nocapture"])
            .env(var, value)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let replayed = child(weft::check::REPLAY_ENV, failure.schedule());
    assert!(
        replayed.contains(&format!("FAILED {:?}", failure.trace())),
        "{replayed}"
    );
    assert!(replayed.contains("strategy replay"), "{replayed}");
    let bad_seed = child(weft::check::SEED_ENV, "twelve");
    assert!(
        bad_seed.contains("WEFT_CHECK_SEED=\"twelve\" is not a seed"),
        "{bad_seed}"
    );
}

/// Every sync primitive, `JoinSet`, abort and an interval work inside a
/// check run: a body that uses them all passes every schedule, and the
/// schedules differ (the checker really chooses among their tasks).
#[test]
fn every_sync_primitive_abort_and_joinset_work_in_a_check_run() {
    use weft::sync::{broadcast, mpsc, watch, Barrier, Notify, OnceCell, RwLock, Semaphore};
    let orders = Arc::new(StdMutex::new(HashSet::new()));
    let seen = orders.clone();
    let report = Builder::new().schedules(300).run(move || {
        let seen = seen.clone();
        async move {
            let order = Arc::new(StdMutex::new(Vec::new()));
            let semaphore = Arc::new(Semaphore::new(1));
            let lock = Arc::new(RwLock::new(0u32));
            let barrier = Arc::new(Barrier::new(3));
            let cell = Arc::new(OnceCell::new());
            let notify = Arc::new(Notify::new());
            let (btx, _) = broadcast::channel::<u32>(8);
            let (wtx, wrx) = watch::channel(0u32);
            let (mtx, mut mrx) = mpsc::channel::<u32>(1);
            let mut set = weft::task::JoinSet::new();
            for n in 0..3u32 {
                let (order, semaphore, lock, barrier, cell) = (
                    order.clone(),
                    semaphore.clone(),
                    lock.clone(),
                    barrier.clone(),
                    cell.clone(),
                );
                let (mut brx, mut wrx, mtx) = (btx.subscribe(), wrx.clone(), mtx.clone());
                set.spawn(async move {
                    let _permit = semaphore.acquire().await.unwrap();
                    *lock.write().await += 1;
                    drop(_permit);
                    cell.get_or_init(|| async move { n }).await;
                    barrier.wait().await;
                    assert_eq!(brx.recv().await.unwrap(), 7);
                    wrx.wait_for(|v| *v == 1).await.unwrap();
                    mtx.send(n).await.unwrap();
                    order.lock().unwrap().push(n);
                    *lock.read().await
                });
            }
            drop(mtx);
            let sleeper = weft::spawn(async { std::future::pending::<()>().await });
            let waiter = {
                let notify = notify.clone();
                weft::spawn(async move { notify.notified().await })
            };
            // The broadcast and watch values go out once every task holds a
            // receiver (they subscribed before spawning).
            btx.send(7).unwrap();
            wtx.send(1).unwrap();
            let mut got = Vec::new();
            while let Some(n) = mrx.recv().await {
                got.push(n);
            }
            got.sort();
            assert_eq!(got, [0, 1, 2]);
            while let Some(done) = set.join_next().await {
                assert_eq!(done.unwrap(), 3);
            }
            notify.notify_one();
            waiter.await.unwrap();
            sleeper.abort();
            assert!(sleeper.await.unwrap_err().is_cancelled());
            assert!(cell.get().is_some());
            seen.lock().unwrap().insert(order.lock().unwrap().clone());
        }
    });
    assert_eq!(report.schedules(), 300);
    assert!(
        orders.lock().unwrap().len() > 1,
        "the checker explored one order only"
    );
}
