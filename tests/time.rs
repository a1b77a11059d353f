//! `weft::time` on the runtime: sleeps, timeouts and intervals on the real
//! clock and on the paused one, timers from outside the runtime's threads,
//! and misuse.
//!
//! Tests that need exact times run on a paused clock; the real-clock tests
//! only assert what holds however loaded the machine is (never early), plus
//! one median bound on lateness.

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use weft::runtime::{Builder, Handle};
use weft::time::{self, Instant, MissedTickBehavior};

const MS: Duration = Duration::from_millis(1);

fn num_timers() -> usize {
    Handle::current().metrics().num_timers()
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(future).poll(&mut cx)
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

// ---------------------------------------------------------------------------
// Real clock
// ---------------------------------------------------------------------------

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeps_never_end_early_and_are_rarely_late_on_an_idle_runtime() {
    let mut lateness = Vec::new();
    for i in 0..20u64 {
        let wanted = Duration::from_millis(5 + i % 7);
        let start = std::time::Instant::now();
        time::sleep(wanted).await;
        let took = start.elapsed();
        assert!(took >= wanted, "a {wanted:?} sleep ended after {took:?}");
        lateness.push(took - wanted);
    }
    lateness.sort();
    // The median, so one descheduling of this noisy machine cannot fail it:
    // rounding to the wheel's 1 ms plus a wake-up.
    let median = lateness[lateness.len() / 2];
    assert!(
        median < Duration::from_millis(5),
        "median lateness {median:?}: {lateness:?}"
    );
}

#[weft::test]
async fn sleeps_and_intervals_on_the_current_thread_runtime() {
    let start = Instant::now();
    let sleeper = weft::spawn(async {
        time::sleep(15 * MS).await;
        Instant::now()
    });
    let mut interval = time::interval(5 * MS);
    for _ in 0..3 {
        interval.tick().await;
    }
    assert!(start.elapsed() >= 10 * MS);
    assert!(sleeper.await.unwrap() - start >= 15 * MS);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_sleeps_all_fire_in_deadline_order_classes() {
    let mut set = weft::task::JoinSet::new();
    for i in 0..2_000u64 {
        set.spawn(async move {
            let wanted = Duration::from_millis(i % 40);
            let start = Instant::now();
            time::sleep(wanted).await;
            assert!(start.elapsed() >= wanted);
        });
    }
    let done = set.join_all().await;
    assert_eq!(done.len(), 2_000);
    assert_eq!(num_timers(), 0);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_returns_the_output_or_elapsed() {
    assert_eq!(
        time::timeout(Duration::from_secs(5), async { 7 }).await,
        Ok(7)
    );
    let err = time::timeout(5 * MS, std::future::pending::<()>())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "deadline has elapsed");
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

#[weft::test]
async fn a_timeout_ready_at_once_never_touches_the_wheel() {
    let mut t = Box::pin(time::timeout(Duration::from_secs(1), async { 1 }));
    assert_eq!(poll_fn(|cx| t.as_mut().poll(cx)).await, Ok(1));
    assert_eq!(num_timers(), 0);
    // Not even with a deadline already behind us: the future goes first.
    assert_eq!(time::timeout(Duration::ZERO, async { 2 }).await, Ok(2));
    assert_eq!(num_timers(), 0);
}

#[weft::test]
async fn dropping_a_pending_timeout_or_sleep_cancels_its_timer() {
    let mut t = Box::pin(time::timeout(
        Duration::from_secs(60),
        std::future::pending::<()>(),
    ));
    assert!(poll_fn(|cx| Poll::Ready(t.as_mut().poll(cx)))
        .await
        .is_pending());
    let mut s = time::sleep(Duration::from_secs(60));
    assert!(poll_once(&mut s).is_pending());
    assert_eq!(num_timers(), 2);
    drop(t);
    assert_eq!(num_timers(), 1);
    drop(s);
    assert_eq!(num_timers(), 0);
}

#[test]
fn a_timer_registered_from_another_thread_wakes_the_parked_runtime_early() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // The runtime parks until a far deadline...
    let far = rt.spawn(async { time::sleep(Duration::from_secs(3600)).await });
    // ...and a plain thread then needs a timer that is due much sooner.
    let handle = rt.handle().clone();
    let waited = std::thread::spawn(move || {
        handle.block_on(async {
            let start = std::time::Instant::now();
            time::sleep(20 * MS).await;
            start.elapsed()
        })
    })
    .join()
    .unwrap();
    assert!(waited >= 20 * MS, "{waited:?}");
    assert!(
        waited < Duration::from_secs(60),
        "the runtime slept past it: {waited:?}"
    );
    far.abort();
}

#[test]
fn timers_work_on_blocking_threads_and_after_enter() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let from_blocking = rt.block_on(async {
        weft::task::spawn_blocking(|| {
            Handle::current().block_on(async {
                let start = Instant::now();
                time::sleep(10 * MS).await;
                start.elapsed()
            })
        })
        .await
        .unwrap()
    });
    assert!(from_blocking >= 10 * MS);

    let _guard = rt.enter();
    let sleep = time::sleep(10 * MS);
    let (tx, rx) = mpsc::channel();
    rt.spawn(async move {
        sleep.await;
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("a sleep made under enter() fired");
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_racing_fires_lose_nothing() {
    // Each timeout's sleep and inner sleep are due at about the same time,
    // so drops of the loser race the driver firing it.
    let mut set = weft::task::JoinSet::new();
    for i in 0..5_000u64 {
        set.spawn(async move {
            let a = Duration::from_micros(i * 37 % 3_000);
            let b = Duration::from_micros(i * 53 % 3_000);
            let _ = time::timeout(a, time::sleep(b)).await;
        });
    }
    assert_eq!(set.join_all().await.len(), 5_000);
    assert_eq!(num_timers(), 0);
}

// ---------------------------------------------------------------------------
// Paused clock
// ---------------------------------------------------------------------------

#[weft::test(start_paused = true)]
async fn a_one_hour_timeout_takes_no_time_on_a_paused_clock() {
    let real = std::time::Instant::now();
    let start = Instant::now();
    let out = time::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
    assert!(out.is_err());
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
    assert!(real.elapsed() < Duration::from_secs(60));
}

#[weft::test(start_paused = true)]
async fn a_timeout_counts_from_its_first_poll_and_timeout_at_from_its_deadline() {
    let start = Instant::now();
    let built_early = time::timeout(10 * MS, std::future::pending::<()>());
    let at_early = time::timeout_at(start + 10 * MS, std::future::pending::<()>());
    time::advance(20 * MS).await;
    // Polled 20 ms after it was built: its 10 ms run from here.
    assert!(built_early.await.is_err());
    assert_eq!(start.elapsed(), 30 * MS);
    // A fixed deadline is a fixed deadline: already past, so it elapses at
    // its first poll.
    assert!(at_early.await.is_err());
    assert_eq!(start.elapsed(), 30 * MS);
}
#[weft::test(start_paused = true)]
async fn paused_time_fires_timers_in_deadline_order() {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    for ms in [30u64, 10, 20, 10, 5000, 1] {
        let tx = tx.clone();
        weft::spawn(async move {
            time::sleep(Duration::from_millis(ms)).await;
            tx.send((ms, start.elapsed())).unwrap();
        });
    }
    drop(tx);
    time::sleep(Duration::from_secs(10)).await;
    let order: Vec<(u64, Duration)> = rx.try_iter().collect();
    let wanted: Vec<u64> = vec![1, 10, 10, 20, 30, 5000];
    assert_eq!(order.iter().map(|(ms, _)| *ms).collect::<Vec<_>>(), wanted);
    for (ms, at) in order {
        assert_eq!(
            at,
            Duration::from_millis(ms),
            "each fired exactly at its deadline"
        );
    }
}

#[weft::test(start_paused = true)]
async fn advance_moves_time_and_runs_what_became_due() {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel();
    weft::spawn(async move {
        time::sleep(100 * MS).await;
        tx.send(()).unwrap();
    });
    weft::task::yield_now().await; // let it register
    time::advance(99 * MS).await;
    assert!(rx.try_recv().is_err(), "fired early");
    time::advance(MS).await;
    rx.try_recv().expect("fired once due");
    assert_eq!(start.elapsed(), 100 * MS);
}

#[weft::test(start_paused = true)]
async fn sleep_reset_moves_the_deadline_both_ways() {
    let start = Instant::now();
    // Later: the entry fires at the old time, the Sleep waits on.
    let mut s = time::sleep(10 * MS);
    assert!(poll_once(&mut s).is_pending());
    std::pin::Pin::new(&mut s).reset(start + 100 * MS);
    (&mut s).await;
    assert_eq!(start.elapsed(), 100 * MS);
    // Earlier, after registering: fires at the new time.
    let mut s = time::sleep(Duration::from_secs(100));
    assert!(poll_fn(|cx| Poll::Ready(Pin::new(&mut s).poll(cx)))
        .await
        .is_pending());
    std::pin::Pin::new(&mut s).reset(start + 150 * MS);
    s.await;
    assert_eq!(start.elapsed(), 150 * MS);
    // After completing: completes again at the new deadline.
    let mut s = time::sleep(MS);
    (&mut s).await;
    assert!(s.is_elapsed());
    std::pin::Pin::new(&mut s).reset(Instant::now() + 10 * MS);
    assert!(!s.is_elapsed());
    s.await;
    assert_eq!(start.elapsed(), 161 * MS);
}

#[weft::test(start_paused = true)]
async fn reset_earlier_fires_even_if_the_task_does_not_poll_again() {
    let start = Instant::now();
    let mut s = time::sleep(Duration::from_secs(3600));
    assert!(poll_fn(|cx| Poll::Ready(Pin::new(&mut s).poll(cx)))
        .await
        .is_pending());
    std::pin::Pin::new(&mut s).reset(start + 5 * MS);
    // Wait without polling the Sleep: its moved entry is the only thing
    // that can wake this task.
    let mut first = true;
    poll_fn(|_| {
        if std::mem::take(&mut first) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    assert_eq!(start.elapsed(), 5 * MS);
}

#[weft::test(start_paused = true)]
async fn durations_beyond_the_wheel_and_max_never_overflow() {
    let start = Instant::now();
    let three_years = Duration::from_secs(3 * 365 * 24 * 3600);
    time::sleep(three_years).await;
    assert_eq!(start.elapsed(), three_years);

    let mut never = time::sleep(Duration::MAX);
    assert!(!never.is_elapsed());
    let _ = never.deadline();
    assert!(
        time::timeout(Duration::from_secs(10 * 365 * 24 * 3600), &mut never)
            .await
            .is_err()
    );
    assert!(!never.is_elapsed());
    assert!(time::timeout(Duration::MAX, async { 3 }).await.is_ok());
}

#[weft::test(start_paused = true)]
async fn blocking_work_holds_the_paused_clock() {
    // While the blocking task runs (in real time), the paused clock must not
    // jump to the timeout's deadline: the task's result arrives first.
    let blocking = weft::task::spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(30));
        5
    });
    let out = time::timeout(10 * MS, blocking).await;
    assert_eq!(
        out.expect("the clock jumped while blocking work ran")
            .unwrap(),
        5
    );
}

async fn ticks_after_a_late_start(behavior: MissedTickBehavior) -> Vec<Duration> {
    let start = Instant::now();
    let mut interval = time::interval(10 * MS);
    interval.set_missed_tick_behavior(behavior);
    assert_eq!(interval.tick().await, start);
    // Busy for 35 ms: the ticks due at 10, 20 and 30 are late.
    time::advance(35 * MS).await;
    let mut ticks = Vec::new();
    for _ in 0..4 {
        let due = interval.tick().await;
        ticks.push(due - start);
    }
    ticks
}

#[weft::test(start_paused = true)]
async fn interval_missed_tick_behaviors() {
    assert_eq!(
        ticks_after_a_late_start(MissedTickBehavior::Burst).await,
        [10, 20, 30, 40].map(|ms| ms * MS)
    );
    assert_eq!(
        ticks_after_a_late_start(MissedTickBehavior::Delay).await,
        // The late tick (due 10, seen at 35), then every 10 from 35.
        [10, 45, 55, 65].map(|ms| ms * MS)
    );
    assert_eq!(
        ticks_after_a_late_start(MissedTickBehavior::Skip).await,
        // The late tick, then back on the grid of 10s from 40.
        [10, 40, 50, 60].map(|ms| ms * MS)
    );
}

#[weft::test(start_paused = true)]
async fn interval_at_period_and_reset() {
    let start = Instant::now();
    let mut interval = time::interval_at(start + 50 * MS, 20 * MS);
    assert_eq!(interval.period(), 20 * MS);
    assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Burst);
    assert_eq!(interval.tick().await - start, 50 * MS);
    assert_eq!(interval.tick().await - start, 70 * MS);
    interval.reset();
    assert_eq!(interval.tick().await - start, 90 * MS);
    interval.reset_after(5 * MS);
    assert_eq!(interval.tick().await - start, 95 * MS);
    interval.reset_immediately();
    assert_eq!(interval.tick().await - start, 95 * MS);
}

#[weft::test(start_paused = true)]
async fn pause_resume_rules() {
    let err = catch_unwind(time::pause).unwrap_err();
    assert!(panic_message(err).contains("already paused"));
    time::resume();
    let err = catch_unwind(time::resume).unwrap_err();
    assert!(panic_message(err).contains("not paused"));
    let err = catch_unwind(|| drop(time::advance(MS))).unwrap_err();
    assert!(panic_message(err).contains("not paused"));
    time::pause();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_needs_the_current_thread_runtime() {
    let err = catch_unwind(time::pause).unwrap_err();
    assert!(panic_message(err).contains("current-thread runtime"));
}

#[test]
fn start_paused_on_multi_thread_is_an_error() {
    let err = Builder::new_multi_thread()
        .start_paused(true)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("current-thread"), "{err}");
}

// ---------------------------------------------------------------------------
// Misuse
// ---------------------------------------------------------------------------

#[test]
fn timers_outside_a_runtime_panic_with_directions() {
    for make in [
        (|| drop(time::sleep(MS))) as fn(),
        || drop(time::timeout(MS, async {})),
        || drop(time::interval(MS)),
    ] {
        let message = panic_message(catch_unwind(make).unwrap_err());
        assert!(message.contains("no weft runtime"), "{message}");
        assert!(message.contains("#[weft::main]"), "{message}");
    }
    // Instant::now is fine anywhere: the real clock.
    let a = Instant::now();
    assert!(Instant::now() >= a);
}

#[weft::test]
async fn zero_period_interval_panics_clearly() {
    let err = catch_unwind(|| time::interval(Duration::ZERO)).unwrap_err();
    assert!(panic_message(err).contains("period must be non-zero"));
}

#[test]
fn a_timer_awaited_after_its_runtime_is_gone_panics_instead_of_hanging() {
    let rt = Builder::new_current_thread().build().unwrap();
    let (mut polled, mut unpolled) = {
        let _guard = rt.enter();
        let mut polled = time::sleep(Duration::from_secs(60));
        assert!(poll_once(&mut polled).is_pending());
        (polled, time::sleep(Duration::from_secs(60)))
    };
    drop(rt);
    // The polled one is on the gone runtime's timers.
    let err = catch_unwind(AssertUnwindSafe(|| poll_once(&mut polled))).unwrap_err();
    assert!(panic_message(err).contains("shut down"));
    // The unpolled one has no timers yet, and there are none here.
    let err = catch_unwind(AssertUnwindSafe(|| poll_once(&mut unpolled))).unwrap_err();
    assert!(panic_message(err).contains("there is no weft runtime here"));
}

#[weft::test(start_paused = true)]
async fn mpsc_send_timeout_gives_the_value_back() {
    use weft::sync::mpsc::{self, error::SendTimeoutError};
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.send_timeout(1, Duration::from_secs(1)).await.unwrap();
    // Full: waits its full second (paused time), then hands 2 back.
    let start = Instant::now();
    match tx.send_timeout(2, Duration::from_secs(1)).await {
        Err(SendTimeoutError::Timeout(2)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    // Room made while waiting: the send goes through.
    let receiver = weft::spawn(async move {
        time::sleep(10 * MS).await;
        let first = rx.recv().await;
        (first, rx)
    });
    tx.send_timeout(3, Duration::from_secs(1)).await.unwrap();
    let (first, mut rx) = receiver.await.unwrap();
    assert_eq!(first, Some(1));
    assert_eq!(rx.recv().await, Some(3));
    drop(rx);
    match tx.send_timeout(4, Duration::from_secs(1)).await {
        Err(err @ SendTimeoutError::Closed(4)) => assert_eq!(err.to_string(), "channel closed"),
        other => panic!("{other:?}"),
    }
}
