//! `RuntimeMetrics` on known workloads: the counts add up exactly (polls =
//! spawns + wakes, per worker and in total), and the histogram, the forced
//! yields and the I/O counts say what happened.

mod support;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use weft_runtime::runtime::{worker_index, Builder, HistogramConfiguration, Runtime};
use weft_runtime::task;

const TASKS: u64 = 24;
const YIELDS: u64 = 5;

/// Polled once per segment: the first poll runs to the first yield, each
/// wake-up (the yield's own) runs the next segment. Each segment counts
/// itself against the worker that runs it, so the test knows how many polls
/// each worker made.
async fn yielder(seen: Arc<Vec<AtomicU64>>) {
    for segment in 0..=YIELDS {
        let worker = worker_index().expect("tasks run on workers");
        seen[worker].fetch_add(1, SeqCst);
        if segment < YIELDS {
            task::yield_now().await;
        }
    }
}

/// Spawns `TASKS` yielders from the `block_on` future, waits for all, and
/// returns the polls each worker's segments counted.
fn run_yielders(rt: &Runtime) -> Vec<u64> {
    let workers = rt.metrics().num_workers();
    let seen: Arc<Vec<AtomicU64>> = Arc::new((0..workers).map(|_| AtomicU64::new(0)).collect());
    let theirs = seen.clone();
    rt.block_on(async move {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| weft_runtime::spawn(yielder(theirs.clone())))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    seen.iter().map(|n| n.load(SeqCst)).collect()
}

#[test]
fn polls_are_spawns_plus_wakes_on_the_current_thread() {
    let rt = Builder::new_current_thread().build().unwrap();
    let metrics = rt.metrics();
    let seen = run_yielders(&rt);
    // Each task: one poll for its first run, one per wake (its yields).
    let expected = TASKS * (1 + YIELDS);
    assert_eq!(seen, vec![expected]);
    // The `block_on` future's own polls are not task polls.
    assert_eq!(metrics.worker_poll_count(0), expected);
    assert_eq!(metrics.spawned_tasks_count(), TASKS);
    // Spawned from the worker's own thread (the `block_on` holds the core):
    // local schedules, none remote. Yields requeue, they do not schedule.
    assert_eq!(metrics.worker_local_schedule_count(0), TASKS);
    assert_eq!(metrics.remote_schedule_count(), 0);
    assert_eq!(metrics.worker_steal_count(0), 0);
    assert_eq!(metrics.worker_overflow_count(0), 0);
    assert_eq!(metrics.num_alive_tasks(), 0);
}

#[test]
fn polls_are_spawns_plus_wakes_per_worker_on_two_workers() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let metrics = rt.metrics();
    let seen = run_yielders(&rt);
    let expected = TASKS * (1 + YIELDS);
    assert_eq!(seen.iter().sum::<u64>(), expected);
    // Per worker: exactly the polls its segments counted, wherever the
    // tasks were stolen to.
    for (worker, polls) in seen.iter().enumerate() {
        assert_eq!(metrics.worker_poll_count(worker), *polls, "worker {worker}");
    }
    assert_eq!(metrics.spawned_tasks_count(), TASKS);
    // Spawned from the `block_on` thread, which is no worker: all remote.
    assert_eq!(metrics.remote_schedule_count(), TASKS);
    // Tasks a worker stole arrived in whole steals.
    for worker in 0..2 {
        let (tasks, steals) = (
            metrics.worker_steal_count(worker),
            metrics.worker_steal_operations(worker),
        );
        assert!(
            tasks >= steals,
            "worker {worker}: {tasks} tasks in {steals} steals"
        );
    }
}

#[test]
fn a_spent_budget_counts_one_forced_yield_per_refusal() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        weft_runtime::spawn(async {
            // 128 units a poll: 300 take three polls and two refusals.
            for _ in 0..300 {
                task::consume_budget().await;
            }
        })
        .await
        .unwrap();
    });
    // Added up when the `block_on` gave the worker back.
    assert_eq!(rt.metrics().budget_forced_yield_count(), 2);
}

#[test]
fn the_poll_time_histogram_counts_every_poll_in_its_bucket() {
    let rt = Builder::new_current_thread()
        .enable_metrics_poll_time_histogram()
        .metrics_poll_time_histogram_configuration(HistogramConfiguration::linear(
            Duration::from_millis(5),
            4,
        ))
        .build()
        .unwrap();
    let metrics = rt.metrics();
    assert!(metrics.poll_time_histogram_enabled());
    assert_eq!(metrics.poll_time_histogram_num_buckets(), 4);
    assert_eq!(
        metrics.poll_time_histogram_bucket_range(1),
        Duration::from_millis(5)..Duration::from_millis(10)
    );
    rt.block_on(async {
        // One poll of at least 20 ms (the last, open bucket), then quick ones.
        weft_runtime::spawn(async { std::thread::sleep(Duration::from_millis(20)) })
            .await
            .unwrap();
        for _ in 0..10 {
            weft_runtime::spawn(async {}).await.unwrap();
        }
    });
    let counts: Vec<u64> = (0..4)
        .map(|b| metrics.poll_time_histogram_bucket_count(0, b))
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), metrics.worker_poll_count(0));
    assert_eq!(counts[3], 1, "{counts:?}");
    assert!(counts[0] >= 10, "{counts:?}");
    // The busy worker has a mean poll time now (it parked since).
    assert!(metrics.worker_mean_poll_time(0) > Duration::ZERO);
}

#[test]
fn the_histogram_is_off_by_default() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let metrics = rt.metrics();
    assert!(!metrics.poll_time_histogram_enabled());
    assert_eq!(metrics.poll_time_histogram_num_buckets(), 0);
}

#[test]
fn io_driver_counts_registrations_and_ready_events() {
    let rt = Builder::new_current_thread().build().unwrap();
    let metrics = rt.metrics();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut a, mut b) = weft_reactor::net::UnixStream::pair().unwrap();
        a.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
    });
    assert_eq!(metrics.io_driver_fd_registered_count(), 2);
    assert_eq!(metrics.io_driver_fd_deregistered_count(), 2);
    assert!(metrics.io_driver_ready_count() >= 1);
}

#[test]
fn debug_prints_every_metric() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let text = format!("{:?}", rt.metrics());
    for name in [
        "num_workers: 2",
        "spawned_tasks_count",
        "remote_schedule_count",
        "budget_forced_yield_count",
        "worker_poll_count: [",
        "worker_steal_operations",
        "worker_mean_poll_time",
        "io_driver_ready_count",
        "blocking_queue_depth",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
}

/// Workers with nothing left to do end up parked, none of them searching.
/// (Polls the metrics until they say so; a count stuck above zero fails
/// at the deadline.)
#[test]
fn idle_workers_end_up_parked_with_none_searching() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async { weft_runtime::spawn(async {}).await.unwrap() });
    let metrics = rt.metrics();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let parked = (0..2).all(|w| metrics.worker_park_count(w) > 0);
        if parked && metrics.num_searching_workers() == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {} searching",
            metrics.num_searching_workers()
        );
        std::thread::yield_now();
    }
}

/// One task at a time from outside the workers, each spawned while both
/// workers sleep: the push wakes one, which takes the task as the last
/// searcher, finds nothing else queued and wakes nobody, so the other
/// worker is not woken to find nothing. (With tokio's rule, a wake whether
/// or not, about one futile wake-up per task.) The bound, rather than
/// zero, leaves room for a spurious return from the futex.
#[test]
fn one_task_at_a_time_from_outside_wakes_no_second_worker() {
    const ROUNDS: u64 = 200;
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let metrics = rt.metrics();
    let noops = || (0..2).map(|w| metrics.worker_noop_count(w)).sum::<u64>();
    let both_asleep = || {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // Odd while parked.
        while (0..2).any(|w| metrics.worker_park_unpark_count(w) % 2 == 0) {
            assert!(std::time::Instant::now() < deadline, "a worker never slept");
            std::thread::yield_now();
        }
    };
    both_asleep();
    let before = noops();
    for _ in 0..ROUNDS {
        rt.block_on(rt.spawn(async {})).unwrap();
        both_asleep();
    }
    let futile = noops() - before;
    assert!(
        futile < ROUNDS / 4,
        "{futile} wake-ups for nothing in {ROUNDS} rounds of one task"
    );
}

/// Workers woken by their driver (a timer fires while they sleep in it)
/// take themselves off the sleeper list; a notifier may have done it
/// first. Either way the idle counts stay right: once all is quiet again,
/// nobody is counted searching.
#[test]
fn workers_woken_by_timers_leave_the_idle_counts_right() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        for round in 0..50u64 {
            let sleepers: Vec<_> = (0..4)
                .map(|i| {
                    weft_runtime::spawn(async move {
                        weft_timer::sleep(Duration::from_micros(100 * (round % 3 + i))).await;
                    })
                })
                .collect();
            for sleeper in sleepers {
                sleeper.await.unwrap();
            }
        }
    });
    let metrics = rt.metrics();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while metrics.num_searching_workers() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "still {} searching",
            metrics.num_searching_workers()
        );
        std::thread::yield_now();
    }
    assert!(
        (0..2)
            .map(|w| metrics.worker_driver_wake_count(w))
            .sum::<u64>()
            > 0
    );
}

#[test]
fn a_steal_counts_the_tasks_it_took_and_itself() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let metrics = rt.metrics();
    let helped = rt.block_on(rt.spawn(async {
        let started = Arc::new(AtomicU64::new(0));
        let s = started.clone();
        // One task in the spawner's queue, which only a steal can take
        // while the spawner's poll goes on.
        let _helper = weft_runtime::spawn(async move { s.store(1, SeqCst) });
        support::spin_until(|| started.load(SeqCst) == 1)
    }));
    assert!(helped.unwrap());
    let (count, operations): (u64, u64) = (0..2)
        .map(|w| {
            (
                metrics.worker_steal_count(w),
                metrics.worker_steal_operations(w),
            )
        })
        .fold((0, 0), |(c, o), (wc, wo)| (c + wc, o + wo));
    assert!(operations >= 1, "the helper was stolen");
    assert!(count >= operations, "{count} tasks in {operations} steals");
}
