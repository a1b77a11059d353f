//! Loom models of a timer entry: firing racing a cancel, a re-poll, a move
//! to an earlier deadline, a poll by the task the fire woke, and the parked
//! driver racing a registration (one shard, and one of two).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p weft-timer --test loom --release`
//!
//! Each model builds a timer driver with a paused clock (loom cannot model
//! real time), registers a Sleep by polling it with a counting waker, and
//! then lets two threads race. The wheel lock, the clock and the `processed`
//! / `next_wake` words are loom's, so the models check the protocol around
//! them: no wake is lost or doubled, and no waker clone leaks.
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Condvar, Mutex};
use weft_base::loom::model;
use weft_timer::{Instant, Sleep, TimeDriver};

const MS: Duration = Duration::from_millis(1);

/// A waker that counts its wakes.
struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    fn new() -> Arc<CountingWaker> {
        Arc::new(CountingWaker {
            wakes: AtomicUsize::new(0),
        })
    }

    fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
    }
}

fn poll(sleep: &mut Sleep, waker: &Arc<CountingWaker>) -> Poll<()> {
    let waker = Waker::from(waker.clone());
    Pin::new(sleep).poll(&mut Context::from_waker(&waker))
}

/// A paused driver (its unpark does nothing) and a Sleep due in `ms`,
/// registered with a counting waker.
fn registered(ms: u64) -> (TimeDriver, Sleep, Arc<CountingWaker>) {
    let driver = TimeDriver::new(true, 1, || {});
    driver.handle().pause().unwrap();
    let now = Instant::from_std(driver.handle().now());
    let mut sleep = Sleep::new_in(driver.handle(), now + Duration::from_millis(ms));
    let waker = CountingWaker::new();
    assert!(poll(&mut sleep, &waker).is_pending());
    (driver, sleep, waker)
}

#[test]
fn fire_racing_cancel() {
    model(|| {
        let (driver, sleep, waker) = registered(1);
        let handle = driver.handle().clone();
        let firer = loom::thread::spawn(move || handle.advance(MS).unwrap());
        let canceller = loom::thread::spawn(move || drop(sleep));
        firer.join().unwrap();
        canceller.join().unwrap();
        assert!(waker.wakes() <= 1, "woken twice");
        assert_eq!(driver.handle().num_timers(), 0);
        // Every clone the wheel held is gone (fired or cancelled).
        assert_eq!(Arc::strong_count(&waker), 1, "a waker clone leaked");
    });
}

#[test]
fn fire_racing_a_repoll_with_another_waker() {
    model(|| {
        let (driver, mut sleep, first) = registered(1);
        let handle = driver.handle().clone();
        let second = CountingWaker::new();
        let firer = loom::thread::spawn(move || handle.advance(MS).unwrap());
        let poller = {
            let second = second.clone();
            loom::thread::spawn(move || {
                let out = poll(&mut sleep, &second);
                (out, sleep)
            })
        };
        firer.join().unwrap();
        let (out, sleep) = poller.join().unwrap();
        if out.is_pending() {
            // The re-poll swapped the waker in before the fire: the new one
            // is woken.
            assert_eq!(second.wakes(), 1);
            assert_eq!(first.wakes(), 0);
        } else {
            assert_eq!(second.wakes(), 0);
            assert!(first.wakes() <= 1);
        }
        drop(sleep);
        assert_eq!(Arc::strong_count(&first), 1);
        assert_eq!(Arc::strong_count(&second), 1);
    });
}

#[test]
fn move_earlier_racing_fire() {
    model(|| {
        let (driver, mut sleep, waker) = registered(10);
        let handle = driver.handle().clone();
        let firer = loom::thread::spawn(move || handle.advance(MS).unwrap());
        let deadline = sleep.deadline() - 9 * MS;
        let mover = loom::thread::spawn(move || {
            std::pin::Pin::new(&mut sleep).reset(deadline);
            sleep
        });
        firer.join().unwrap();
        let sleep = mover.join().unwrap();
        // Moved before the fire: fired at 1 ms. Moved after it: the new
        // deadline has passed, so the move wakes the task itself.
        assert_eq!(waker.wakes(), 1);
        drop(sleep);
        assert_eq!(Arc::strong_count(&waker), 1);
    });
}

/// A task woken by a firing pass and polled at once (while the pass still
/// wakes other batches) completes: the poll must not take "not processed
/// yet" for "still in the wheel", or it returns `Pending` with its waker
/// already spent, and the task sleeps forever.
#[test]
fn a_sleep_woken_in_a_long_firing_pass_completes_when_polled() {
    model(|| {
        let (driver, mut sleep, waker) = registered(1);
        // Due with it, and more than the 32 wakers one batch takes.
        let others = CountingWaker::new();
        let deadline = sleep.deadline();
        let mut rest: Vec<Sleep> = (0..40)
            .map(|_| Sleep::new_in(driver.handle(), deadline))
            .collect();
        for other in &mut rest {
            assert!(poll(other, &others).is_pending());
        }
        let handle = driver.handle().clone();
        let firer = loom::thread::spawn(move || handle.advance(MS).unwrap());
        while waker.wakes() == 0 {
            loom::thread::yield_now();
        }
        assert!(
            poll(&mut sleep, &waker).is_ready(),
            "woken by the fire, yet pending: no wake will come again"
        );
        firer.join().unwrap();
        assert_eq!(others.wakes(), 40);
    });
}

/// A loom-visible event for the driver to wait on.
struct Event {
    set: Mutex<bool>,
    condvar: Condvar,
}

impl Event {
    fn set(&self) {
        *self.set.lock().unwrap() = true;
        self.condvar.notify_one();
    }

    /// Waits (loom has no timeouts: a timed wait is untimed, a zero one
    /// does not wait); true if the event was set.
    fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut set = self.set.lock().unwrap();
        if timeout != Some(Duration::ZERO) {
            while !*set {
                set = self.condvar.wait(set).unwrap();
            }
        }
        std::mem::replace(&mut *set, false)
    }
}

/// A driver with `shards` wheels whose unpark sets the event it returns.
fn driver_unparked_by_an_event(pausable: bool, shards: usize) -> (Arc<TimeDriver>, Arc<Event>) {
    let event = Arc::new(Event {
        set: Mutex::new(false),
        condvar: Condvar::new(),
    });
    let unpark = event.clone();
    let driver = TimeDriver::new(pausable, shards, move || unpark.set());
    (Arc::new(driver), event)
}

#[test]
fn a_registration_wakes_the_idle_paused_driver() {
    model(|| {
        let (driver, event) = driver_unparked_by_an_event(true, 1);
        driver.handle().pause().unwrap();
        let handle = driver.handle().clone();
        let parker = {
            let driver = driver.clone();
            let event = event.clone();
            // Idle with no timer: waits until unparked. Woken by the
            // registration (or finding its timer), it jumps to it and
            // fires it.
            loom::thread::spawn(move || {
                driver.park(None, |timeout| event.wait(timeout));
            })
        };
        let waker = CountingWaker::new();
        let now = Instant::from_std(handle.now());
        let mut sleep = Sleep::new_in(&handle, now + MS);
        let registered = poll(&mut sleep, &waker);
        parker.join().unwrap();
        assert!(registered.is_pending());
        drop(sleep);
    });
}

/// The driver about to park looks at each shard's wheel in turn; a timer
/// registered meanwhile, from another worker into a shard it has already
/// looked at, must unpark it, or it sleeps past that timer (here forever:
/// there is no other).
#[test]
fn a_registration_in_a_shard_already_looked_at_wakes_the_parking_driver() {
    model(|| {
        let (driver, event) = driver_unparked_by_an_event(false, 2);
        let handle = driver.handle().clone();
        let parker = loom::thread::spawn(move || {
            weft_base::context::set_worker_thread(0);
            driver.park(None, |timeout| match timeout {
                // Parked until the timer: loom cannot time a wait, and the
                // timer being seen is all this model asks.
                Some(_) => event.wait(Some(Duration::ZERO)),
                None => event.wait(None),
            });
        });
        weft_base::context::set_worker_thread(1);
        let waker = CountingWaker::new();
        let now = Instant::from_std(handle.now());
        let mut sleep = Sleep::new_in(&handle, now + Duration::from_secs(3600));
        assert!(poll(&mut sleep, &waker).is_pending());
        parker.join().unwrap();
        drop(sleep);
    });
}
