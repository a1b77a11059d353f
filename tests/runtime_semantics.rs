//! Runtime behaviours weft shares with tokio, each one a guarantee that
//! tokio's own tests rely on (named beside each test): the budget inside
//! `block_in_place`, where a yielding task resumes, how a panicking task's
//! future is dropped, what shutdown does to blocking closures, the
//! per-worker metrics, and the far end of the clock.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use weft::runtime::{Builder, Handle, Runtime};
use weft::task::{self, JoinSet};

fn current_thread() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::new()
    }
}

/// tokio's task_blocking::coop_disabled_in_block_in_place: a future driven
/// by hand inside `block_in_place` is never told to yield, however much
/// budget it spends (a spent budget would stall it: no scheduler runs it).
#[test]
fn block_in_place_runs_without_a_budget() {
    let rt = multi_thread(2);
    let spent = rt.block_on(async {
        weft::spawn(async {
            task::block_in_place(|| {
                let mut cx = Context::from_waker(Waker::noop());
                (0..1000)
                    .filter(|_| pin!(task::consume_budget()).poll(&mut cx).is_ready())
                    .count()
            })
        })
        .await
        .unwrap()
    });
    assert_eq!(spent, 1000);
}

/// tokio's rt_handle_block_on::yield_in_block_in_place: in the future given
/// to `Handle::block_on`, `block_in_place` runs its closure in place on the
/// current-thread flavour too (and may block on the runtime again).
#[test]
fn handle_block_on_lets_block_in_place_run_in_place() {
    let rt = current_thread();
    let answer = rt
        .handle()
        .block_on(async { task::block_in_place(|| Handle::current().block_on(async { 6 * 7 })) });
    assert_eq!(answer, 42);
}

/// tokio's task_blocking::no_block_in_current_thread_block_on: inside
/// `Runtime::block_on` on the current-thread flavour it is refused.
#[test]
fn runtime_block_on_refuses_block_in_place_on_the_current_thread() {
    let rt = current_thread();
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { task::block_in_place(|| ()) })
    }))
    .unwrap_err();
    assert!(
        panic_message(&*err).contains("can call blocking only"),
        "{}",
        panic_message(&*err)
    );
}

/// tokio's rt_handle_block_on::nesting: the message code ported from tokio
/// looks for.
#[test]
fn block_on_inside_a_runtime_panics_with_tokios_words() {
    let rt = current_thread();
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { Handle::current().block_on(async {}) })
    }))
    .unwrap_err();
    assert!(
        panic_message(&*err).starts_with("Cannot start a runtime from within a runtime."),
        "{}",
        panic_message(&*err)
    );
}

/// tokio's rt_common::yield_defers_until_park: a task that yields resumes
/// only after the worker has looked at the driver, so I/O that is ready by
/// then has woken its task, which runs first.
#[test]
fn a_yielding_task_resumes_after_the_driver_is_looked_at() {
    let rt = current_thread();
    let seen_after_one_yield = rt.block_on(async {
        let socket = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let received = Arc::new(AtomicBool::new(false));
        let flag = received.clone();
        let reader = weft::spawn(async move {
            let mut buf = [0u8; 8];
            socket.recv(&mut buf).await.unwrap();
            flag.store(true, SeqCst);
        });
        let checker = weft::spawn(async move {
            // The reader has polled once and waits for readiness. On
            // loopback the datagram is queued by the time `send_to` returns.
            let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            sender.send_to(b"ping", addr).unwrap();
            task::yield_now().await;
            received.load(SeqCst)
        });
        let seen = checker.await.unwrap();
        reader.await.unwrap();
        seen
    });
    assert!(seen_after_one_yield);
}

/// tokio's rt_common::panic_in_task: the future of a task whose poll
/// panics is dropped while the panic unwinds.
#[test]
fn a_panicking_task_drops_its_future_while_unwinding() {
    struct Boom(mpsc::Sender<bool>);
    impl Future for Boom {
        type Output = ();
        fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            panic!("boom");
        }
    }
    impl Drop for Boom {
        fn drop(&mut self) {
            self.0.send(std::thread::panicking()).unwrap();
        }
    }

    let rt = current_thread();
    let (tx, rx) = mpsc::channel();
    let err = rt.block_on(rt.spawn(Boom(tx))).unwrap_err();
    assert!(err.is_panic());
    assert!(rx.recv().unwrap(), "dropped after the panic was caught");
}

/// tokio's rt_handle_block_on::spawn_blocking_started_before_shutdown_continues:
/// a closure handed to a pool thread before shutdown runs; one still waiting
/// for a thread under the cap is cancelled.
#[test]
fn shutdown_runs_handed_over_blocking_closures_and_cancels_waiting_ones() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let (entered_tx, entered) = mpsc::channel::<()>();
    let running = rt.spawn_blocking(move || {
        entered_tx.send(()).unwrap();
        wait.recv().unwrap();
        "ran"
    });
    entered.recv().unwrap();
    // The one thread is busy: this one waits for it.
    let waiting = rt.spawn_blocking(|| "ran too");
    rt.shutdown_background();
    assert!(futures_executor::block_on(waiting)
        .unwrap_err()
        .is_cancelled());
    release.send(()).unwrap();
    assert_eq!(futures_executor::block_on(running).unwrap(), "ran");

    // Handed to a thread (started for it) before shutdown, not yet running.
    let rt = multi_thread(1);
    let handed_over = rt.spawn_blocking(|| 42);
    rt.shutdown_timeout(Duration::from_secs(60));
    assert_eq!(futures_executor::block_on(handed_over).unwrap(), 42);
}

/// tokio's rt_metrics::worker_park_count, worker_park_unpark_count and
/// worker_total_busy_duration.
#[test]
fn per_worker_park_and_busy_metrics() {
    let rt = current_thread();
    let metrics = rt.metrics();
    rt.block_on(async {
        weft::time::sleep(Duration::from_millis(1)).await;
    });
    assert!(metrics.worker_park_count(0) >= 1);
    assert_eq!(metrics.worker_park_unpark_count(0) % 2, 0, "not parked now");
    assert!(metrics.worker_total_busy_duration(0) > Duration::ZERO);

    let rt = multi_thread(2);
    let metrics = rt.metrics();
    rt.block_on(async {
        for _ in 0..4 {
            weft::spawn(task::yield_now()).await.unwrap();
        }
    });
    drop(rt);
    for worker in 0..2 {
        let parks = metrics.worker_park_count(worker);
        assert!(parks >= 1, "worker {worker} never parked");
        let park_unparks = metrics.worker_park_unpark_count(worker);
        assert_eq!(
            park_unparks,
            2 * parks,
            "every park of worker {worker} ended"
        );
        assert!(metrics.worker_total_busy_duration(worker) > Duration::ZERO);
    }
    let err = catch_unwind(AssertUnwindSafe(|| metrics.worker_park_count(2))).unwrap_err();
    assert!(
        panic_message(&*err).contains("out of range"),
        "{}",
        panic_message(&*err)
    );
}

/// tokio's task_join_set::replace_parent_waker_drops_outside_lock: the
/// waker a poll replaces may run code that completes a task of the set.
#[test]
fn a_join_set_drops_a_replaced_waker_outside_its_lock() {
    struct DriveOnDrop(Option<Runtime>);
    impl Wake for DriveOnDrop {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for DriveOnDrop {
        fn drop(&mut self) {
            if let Some(rt) = self.0.take() {
                rt.block_on(task::yield_now());
            }
        }
    }

    let rt = current_thread();
    let mut set = JoinSet::new();
    set.spawn_on(async { 7 }, rt.handle());
    let waker = Waker::from(Arc::new(DriveOnDrop(Some(rt))));
    assert!(set
        .poll_join_next(&mut Context::from_waker(&waker))
        .is_pending());
    drop(waker);
    // Replacing the waker drops the last clone, which runs the task.
    assert!(set
        .poll_join_next(&mut Context::from_waker(Waker::noop()))
        .is_pending());
    assert_eq!(set.try_join_next().unwrap().unwrap(), 7);
}

/// tokio's time_sleep::exactly_max: a sleep past the clock's end of time
/// ends there, which a paused clock reaches by jumping.
#[weft::test(start_paused = true)]
async fn a_sleep_of_duration_max_ends_on_a_paused_clock() {
    let start = weft::time::Instant::now();
    weft::time::sleep(Duration::MAX).await;
    assert!(start.elapsed() > Duration::from_secs(30 * 365 * 24 * 3600));
}

/// After shutdown, files and the standard streams fail at once with the
/// error `is_rt_shutdown_err` recognises (stdout does not buffer the bytes
/// and report it at a later flush).
#[test]
fn fs_and_stdout_on_a_shut_down_runtime_fail_at_once() {
    use weft::io::AsyncWriteExt;

    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let _enter = rt.enter();
    rt.shutdown_timeout(std::time::Duration::from_secs(100));
    let handle = weft::runtime::Handle::current();
    let err = handle
        .block_on(weft::fs::read_to_string("Cargo.toml"))
        .unwrap_err();
    assert!(weft::runtime::is_rt_shutdown_err(&err), "{err}");
    let err = handle
        .block_on(async { weft::io::stdout().write_all(b"x").await })
        .unwrap_err();
    assert!(weft::runtime::is_rt_shutdown_err(&err), "{err}");
}
