//! The `Builder` options and runtime queries tokio code uses: `enable_*`,
//! `name` and `Handle::id`, the scheduler intervals, the LIFO switch, the
//! park hooks, `worker_index`, `is_rt_shutdown_err`, and the cooperative
//! budget as seen through `task::coop`.

mod support;

use std::panic::catch_unwind;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use support::{panic_message, within, Gate};
use weft_runtime::runtime::{self, Builder};
use weft_runtime::task;

#[test]
fn enable_calls_chain_and_change_nothing() {
    let rt = Builder::new_current_thread()
        .enable_all()
        .enable_io()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async { weft_timer::sleep(Duration::from_millis(1)).await });
}

#[test]
fn names_and_ids_tell_runtimes_apart() {
    let a = Builder::new_current_thread().name("a").build().unwrap();
    let b = Builder::new_current_thread().build().unwrap();
    assert_eq!(a.handle().name(), Some("a"));
    assert_eq!(b.handle().name(), None);
    assert_eq!(a.handle().id(), a.handle().clone().id());
    assert_ne!(a.handle().id(), b.handle().id());
    let panic = catch_unwind(|| {
        Builder::new_current_thread().name("  ");
    })
    .unwrap_err();
    assert!(panic_message(&*panic).contains("shouldn't be empty"));
}

#[test]
fn zero_intervals_panic_at_the_call() {
    for (what, f) in [
        (
            "event_interval",
            (|b: &mut Builder| {
                b.event_interval(0);
            }) as fn(&mut Builder),
        ),
        ("global_queue_interval", |b| {
            b.global_queue_interval(0);
        }),
        ("max_io_events_per_tick", |b| {
            b.max_io_events_per_tick(0);
        }),
    ] {
        let panic = catch_unwind(|| f(&mut Builder::new_multi_thread())).unwrap_err();
        assert!(panic_message(&*panic).contains(what), "{what}");
    }
}

/// Tasks that spawn chains of others finish under the extreme settings:
/// the injector looked at every tick, the driver polled every tick, and no
/// LIFO slot.
#[test]
fn extreme_scheduler_settings_still_run_everything() {
    within(20, || {
        for flavor_multi in [false, true] {
            let mut builder = if flavor_multi {
                let mut b = Builder::new_multi_thread();
                b.worker_threads(2);
                b
            } else {
                Builder::new_current_thread()
            };
            let rt = builder
                .event_interval(1)
                .global_queue_interval(1)
                .disable_lifo_slot()
                .build()
                .unwrap();
            let total = rt.block_on(async {
                let mut set = task::JoinSet::new();
                for i in 0..50u64 {
                    set.spawn(async move { weft_runtime::spawn(async move { i }).await.unwrap() });
                }
                let mut total = 0;
                while let Some(res) = set.join_next().await {
                    total += res.unwrap();
                }
                total
            });
            assert_eq!(total, 1225);
        }
    });
}

#[test]
fn park_hooks_run_around_parks_and_a_spawning_hook_stops_the_park() {
    within(10, || {
        // Current thread: the hook's spawned task wakes the main future.
        let parks = Arc::new(AtomicUsize::new(0));
        let unparks = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::default());
        let rt = Builder::new_current_thread()
            .on_thread_park({
                let (parks, gate) = (parks.clone(), gate.clone());
                move || {
                    if parks.fetch_add(1, SeqCst) == 0 {
                        let gate = gate.clone();
                        weft_runtime::spawn(async move { gate.open() });
                    }
                }
            })
            .on_thread_unpark({
                let unparks = unparks.clone();
                move || {
                    unparks.fetch_add(1, SeqCst);
                }
            })
            .build()
            .unwrap();
        rt.block_on(gate.wait());
        assert!(parks.load(SeqCst) >= 1);

        // Multi thread: a worker with nothing to do parks, and unparks when
        // a task arrives.
        let parked = Arc::new(AtomicBool::new(false));
        let unparked = Arc::new(AtomicUsize::new(0));
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_park({
                let parked = parked.clone();
                move || parked.store(true, SeqCst)
            })
            .on_thread_unpark({
                let unparked = unparked.clone();
                move || {
                    unparked.fetch_add(1, SeqCst);
                }
            })
            .build()
            .unwrap();
        while !parked.load(SeqCst) {
            std::thread::yield_now();
        }
        rt.block_on(rt.spawn(async {})).unwrap();
        assert!(unparked.load(SeqCst) >= 1);
    });
}

#[test]
fn worker_index_names_the_worker() {
    let rt = support::multi_thread(3);
    assert_eq!(runtime::worker_index(), None);
    assert_eq!(rt.block_on(async { runtime::worker_index() }), None);
    let index = rt
        .block_on(rt.spawn(async { runtime::worker_index() }))
        .unwrap();
    assert!(matches!(index, Some(i) if i < 3), "{index:?}");
    let rt = support::current_thread();
    assert_eq!(rt.block_on(async { runtime::worker_index() }), Some(0));
}

#[test]
fn shutdown_errors_are_told_apart() {
    let err = std::io::Error::other("some other error");
    assert!(!runtime::is_rt_shutdown_err(&err));
    let rt = support::current_thread();
    let join_err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
    assert!(!runtime::is_rt_shutdown_err(&join_err.into()));
}

/// A task looping on an always-ready future that spends budget, and a
/// second task, on a current-thread runtime: the second runs, and stops the
/// first.
#[test]
fn an_always_ready_loop_yields_once_its_budget_is_spent() {
    within(10, || {
        let rt = support::current_thread();
        rt.block_on(async {
            let stop = Arc::new(AtomicBool::new(false));
            let spinner = weft_runtime::spawn({
                let stop = stop.clone();
                async move {
                    let mut rounds = 0u64;
                    while !stop.load(SeqCst) {
                        task::coop::cooperative(std::future::ready(())).await;
                        task::consume_budget().await;
                        rounds += 1;
                    }
                    rounds
                }
            });
            let stopper = weft_runtime::spawn(async move { stop.store(true, SeqCst) });
            stopper.await.unwrap();
            assert!(spinner.await.unwrap() > 0);
        });
    });
}

#[test]
fn unconstrained_never_yields_for_budget() {
    let rt = support::current_thread();
    rt.block_on(async {
        let spent = task::unconstrained(async {
            for _ in 0..1_000 {
                task::consume_budget().await;
            }
            task::coop::has_budget_remaining()
        })
        .await;
        assert!(spent, "no budget applies inside unconstrained");
    });
}

/// A timeout whose future spends the whole budget every poll still sees
/// its deadline.
#[test]
fn a_timeout_fires_around_a_budget_hungry_future() {
    within(10, || {
        let rt = support::current_thread();
        let out = rt.block_on(async {
            weft_timer::timeout(Duration::from_millis(20), async {
                loop {
                    task::consume_budget().await;
                }
            })
            .await
        });
        assert!(out.is_err());
    });
}
