//! `!Send` tasks and task-local data: `LocalSet`, `spawn_local`,
//! `LocalRuntime`, `JoinSet::spawn_local`, and `task_local!`.

mod support;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use support::{current_thread, multi_thread, panic_message, within};
use weft_runtime::runtime::{Builder, LocalOptions};
use weft_runtime::task::{self, JoinSet, LocalSet};

#[test]
fn local_tasks_run_on_the_sets_thread_and_may_hold_rc() {
    let rt = multi_thread(2);
    let local = LocalSet::new();
    let here = std::thread::current().id();
    let shared = Rc::new(Cell::new(0));
    let out = local.block_on(&rt, {
        let shared = shared.clone();
        async move {
            let mut handles = Vec::new();
            for i in 1..=10 {
                let shared = shared.clone();
                handles.push(task::spawn_local(async move {
                    task::yield_now().await;
                    shared.set(shared.get() + i);
                    std::thread::current().id()
                }));
            }
            let mut threads = Vec::new();
            for handle in handles {
                threads.push(handle.await.unwrap());
            }
            threads
        }
    });
    assert!(out.iter().all(|thread| *thread == here));
    assert_eq!(shared.get(), 55);
}

#[test]
fn awaiting_a_set_runs_every_task_to_the_end() {
    let rt = current_thread();
    let local = LocalSet::new();
    let count = Rc::new(Cell::new(0));
    for _ in 0..5 {
        let count = count.clone();
        local.spawn_local(async move {
            for _ in 0..3 {
                task::yield_now().await;
            }
            count.set(count.get() + 1);
        });
    }
    assert_eq!(count.get(), 0, "nothing runs until the set is driven");
    rt.block_on(local);
    assert_eq!(count.get(), 5);
}

#[test]
fn dropping_the_set_drops_unfinished_futures_and_cancels_handles() {
    let rt = current_thread();
    let dropped = support::DropCounter::default();
    let local = LocalSet::new();
    let handle = local.spawn_local({
        let tracked = dropped.track();
        async move {
            let _tracked = tracked;
            std::future::pending::<()>().await
        }
    });
    // Polled once: the future is pinned in its cell when the set drops.
    local.block_on(&rt, task::yield_now());
    assert_eq!(dropped.dropped(), 0);
    drop(local);
    assert_eq!(dropped.dropped(), 1);
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn a_local_task_aborted_from_another_thread_is_dropped_on_its_own() {
    within(10, || {
        let rt = current_thread();
        let local = LocalSet::new();
        let here = std::thread::current().id();
        // `!Send`, so the future that holds it is too.
        struct OnDrop(std::thread::ThreadId, std::marker::PhantomData<Rc<()>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                assert_eq!(std::thread::current().id(), self.0);
            }
        }
        let handle = local.spawn_local(async move {
            let _on_drop = OnDrop(here, std::marker::PhantomData);
            std::future::pending::<()>().await
        });
        let abort = handle.abort_handle();
        let err = local.block_on(&rt, async move {
            task::yield_now().await;
            std::thread::spawn(move || abort.abort()).join().unwrap();
            handle.await.unwrap_err()
        });
        assert!(err.is_cancelled());
    });
}

#[test]
fn spawn_local_outside_a_set_panics_with_tokios_message() {
    let rt = current_thread();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            drop(task::spawn_local(async {}));
        })
    }))
    .unwrap_err();
    assert!(
        panic_message(&*panic).contains("`spawn_local` called from outside of a `task::LocalSet`"),
        "{}",
        panic_message(&*panic)
    );
}

#[test]
fn block_in_place_inside_a_set_panics() {
    let rt = multi_thread(2);
    let local = LocalSet::new();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        local.block_on(&rt, async { task::block_in_place(|| ()) })
    }))
    .unwrap_err();
    assert!(
        panic_message(&*panic).contains("can call blocking only"),
        "{}",
        panic_message(&*panic)
    );
}

#[test]
fn join_set_collects_local_tasks() {
    let rt = current_thread();
    let local = LocalSet::new();
    let total = local.block_on(&rt, async {
        let mut set = JoinSet::new();
        for i in 0..4u32 {
            let value = Rc::new(i);
            set.spawn_local(async move { *value });
        }
        let mut ids = Vec::new();
        let mut total = 0;
        while let Some(res) = set.join_next_with_id().await {
            let (id, value) = res.unwrap();
            ids.push(id);
            total += value;
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4);
        total
    });
    assert_eq!(total, 6);
}

#[test]
fn a_local_runtime_runs_local_tasks_and_refuses_other_threads() {
    let rt = Builder::new_current_thread()
        .build_local(LocalOptions::default())
        .unwrap();
    let value = Rc::new(20);
    let early = rt.spawn_local({
        let value = value.clone();
        async move { *value + 1 }
    });
    let out = rt.block_on(async move {
        let late = task::spawn_local(async move { *value * 2 });
        early.await.unwrap() + late.await.unwrap()
    });
    assert_eq!(out, 61);

    let handle = rt.handle().clone();
    let message = std::thread::spawn(move || {
        let _entered = handle.enter();
        let panic = catch_unwind(|| drop(task::spawn_local(async {}))).unwrap_err();
        panic_message(&*panic)
    })
    .join()
    .unwrap();
    assert!(
        message.contains("from the thread the runtime was created on"),
        "{message}"
    );

    let err = Builder::new_multi_thread()
        .build_local(LocalOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

weft_runtime::task_local! {
    static REQUEST: u32;
    static NAME: String;
}

#[test]
fn task_locals_follow_their_scope_not_their_thread() {
    let rt = multi_thread(2);
    rt.block_on(async {
        assert!(REQUEST.try_get().is_err());
        let seen = REQUEST
            .scope(1, async {
                let outer = REQUEST.get();
                let inner = REQUEST.scope(2, async { REQUEST.get() }).await;
                // A spawned task does not inherit the scope.
                let spawned = weft_runtime::spawn(async { REQUEST.try_get().is_err() })
                    .await
                    .unwrap();
                task::yield_now().await;
                (outer, inner, REQUEST.get(), spawned)
            })
            .await;
        assert_eq!(seen, (1, 2, 1, true));
        assert!(REQUEST.try_get().is_err());
    });
    let len = NAME.sync_scope("weft".to_string(), || NAME.with(|name| name.len()));
    assert_eq!(len, 4);
    let panic = catch_unwind(|| NAME.with(|_| ())).unwrap_err();
    assert!(panic_message(&*panic).contains("task-local"));
}
