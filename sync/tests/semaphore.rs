//! Semaphore: FIFO order, batch acquires, cancel-safety, close, threads.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::Task;
use futures::executor::block_on;
use weft_sync::{AcquireError, Semaphore, TryAcquireError};

#[test]
fn acquire_release_and_try() {
    let sem = Semaphore::new(2);
    let a = sem.try_acquire().unwrap();
    let b = block_on(sem.acquire()).unwrap();
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    drop(a);
    assert_eq!(sem.available_permits(), 1);
    drop(b);
    let many = sem.try_acquire_many(2).unwrap();
    assert_eq!(many.num_permits(), 2);
    drop(many);
    assert_eq!(sem.available_permits(), 2);
    assert!(sem.try_acquire_many(3).is_err());
}

#[test]
fn waiters_are_served_in_fifo_order() {
    let sem = Semaphore::new(0);
    let mut tasks: Vec<_> = (0..5).map(|_| Task::new(sem.acquire())).collect();
    for t in &mut tasks {
        t.pending();
    }
    let mut order = Vec::new();
    for _ in 0..5 {
        sem.add_permits(1);
        for (i, t) in tasks.iter_mut().enumerate() {
            if t.woken() && !order.contains(&i) {
                t.ready().unwrap().forget();
                order.push(i);
            }
        }
    }
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[test]
fn a_big_request_at_the_head_holds_back_small_ones() {
    let sem = Semaphore::new(1);
    let mut big = Task::new(sem.acquire_many(3));
    big.pending(); // takes the free permit, waits for 2 more
    assert_eq!(sem.available_permits(), 0);
    let mut small = Task::new(sem.acquire());
    small.pending();
    sem.add_permits(1);
    big.pending();
    small.pending();
    assert!(!small.woken());
    sem.add_permits(1);
    assert_eq!(big.ready().unwrap().num_permits(), 3);
    // big's permits came back on drop; small is served.
    assert!(small.woken());
    drop(small.ready().unwrap());
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn dropping_a_partly_served_waiter_returns_its_permits() {
    let sem = Semaphore::new(2);
    let mut big = Task::new(sem.acquire_many(5));
    big.pending(); // holds 2 of 5
    let mut small = Task::new(sem.acquire());
    small.pending();
    drop(big);
    let p = small.ready().unwrap();
    assert_eq!(sem.available_permits(), 1);
    drop(p);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn dropping_a_served_but_unpolled_waiter_passes_the_permit_on() {
    let sem = Semaphore::new(0);
    let mut first = Task::new(sem.acquire());
    let mut second = Task::new(sem.acquire());
    first.pending();
    second.pending();
    sem.add_permits(1);
    assert!(first.woken());
    drop(first); // handed the permit, never saw it
    assert!(second.woken());
    second.ready().unwrap().forget();
    // Served waiter dropped with nobody behind: the permit goes back.
    let mut third = Task::new(sem.acquire());
    third.pending();
    sem.add_permits(1);
    drop(third);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn dropping_a_queued_waiter_leaves_the_queue_consistent() {
    let sem = Semaphore::new(0);
    let mut tasks: Vec<_> = (0..4).map(|_| Task::new(sem.acquire())).collect();
    for t in &mut tasks {
        t.pending();
    }
    // Drop the middle and the ends in turn.
    let mut t3 = tasks.pop().unwrap();
    let t2 = tasks.pop().unwrap();
    let t1 = tasks.pop().unwrap();
    let mut t0 = tasks.pop().unwrap();
    drop(t1);
    drop(t2);
    sem.add_permits(2);
    t0.ready().unwrap().forget();
    t3.ready().unwrap().forget();
    assert_eq!(sem.available_permits(), 0);
    // Queue empty again: a fresh acquire takes the fast path.
    sem.add_permits(1);
    assert!(sem.try_acquire().is_ok());
}

#[test]
fn close_fails_waiters_and_later_acquires() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut waiting = Task::new(sem.acquire_many(2));
    waiting.pending();
    sem.close();
    assert!(sem.is_closed());
    assert_eq!(
        waiting.ready().unwrap_err(),
        AcquireError::default_for_test()
    );
    assert!(block_on(sem.acquire()).is_err());
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    drop(held);
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(
        block_on(sem.acquire()).unwrap_err().to_string(),
        "semaphore closed"
    );
    assert_eq!(
        TryAcquireError::NoPermits.to_string(),
        "no permits available"
    );
}

/// `AcquireError` has no public constructor; get one from a closed semaphore.
trait ForTest {
    fn default_for_test() -> Self;
}
impl ForTest for AcquireError {
    fn default_for_test() -> Self {
        let sem = Semaphore::new(0);
        sem.close();
        block_on(sem.acquire()).unwrap_err()
    }
}

#[test]
fn forget_permits_and_forget() {
    let sem = Semaphore::new(5);
    assert_eq!(sem.forget_permits(3), 3);
    assert_eq!(sem.forget_permits(10), 2);
    assert_eq!(sem.available_permits(), 0);
    sem.add_permits(1);
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn owned_permits() {
    let sem = Arc::new(Semaphore::new(1));
    let p = block_on(sem.clone().acquire_owned()).unwrap();
    assert!(sem.clone().try_acquire_owned().is_err());
    assert_eq!(p.semaphore().available_permits(), 0);
    drop(p);
    let p = sem.clone().try_acquire_many_owned(1).unwrap();
    assert_eq!(p.num_permits(), 1);
}

#[test]
#[should_panic(expected = "MAX_PERMITS")]
fn too_many_permits_panics() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    sem.add_permits(1);
}

#[test]
fn threads_never_exceed_the_permit_count() {
    const PERMITS: usize = 3;
    let iters = if cfg!(miri) { 20 } else { 2_000 };
    let sem = Arc::new(Semaphore::new(PERMITS));
    let inside = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let (sem, inside) = (sem.clone(), inside.clone());
            std::thread::spawn(move || {
                block_on(async {
                    for _ in 0..iters {
                        let n = 1 + (i % 2) as u32;
                        let _p = sem.acquire_many(n).await.unwrap();
                        let now = inside.fetch_add(n as usize, Ordering::SeqCst) + n as usize;
                        assert!(now <= PERMITS, "{now} permits out");
                        inside.fetch_sub(n as usize, Ordering::SeqCst);
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(sem.available_permits(), PERMITS);
}

#[test]
fn owned_permits_merge_split_and_count() {
    let sem = Arc::new(Semaphore::new(5));
    let mut a = sem.clone().try_acquire_many_owned(2).unwrap();
    let b = sem.clone().try_acquire_many_owned(3).unwrap();
    assert_eq!((a.num_permits(), b.num_permits()), (2, 3));
    a.merge(b);
    assert_eq!(a.num_permits(), 5);
    let c = a.split(4).unwrap();
    assert_eq!((a.num_permits(), c.num_permits()), (1, 4));
    drop(c);
    assert_eq!(sem.available_permits(), 4);
    drop(a);
    assert_eq!(sem.available_permits(), 5);
}

/// One release serves more waiters than wake up in one batch (the wakers
/// are gathered under the lock 32 at a time).
#[test]
fn one_release_serves_more_waiters_than_one_wake_batch() {
    let sem = Semaphore::new(0);
    let mut waiting: Vec<_> = (0..80).map(|_| Task::new(sem.acquire())).collect();
    for w in &mut waiting {
        w.pending();
    }
    sem.add_permits(80);
    for w in &mut waiting {
        assert!(w.woken());
        w.ready().unwrap().forget();
    }
    assert_eq!(sem.available_permits(), 0);
}

/// A queued acquire polled again with another waker is woken through the
/// new one, not the old.
#[test]
fn a_repoll_with_a_new_waker_is_woken_there() {
    let sem = Semaphore::new(0);
    let mut first = Task::new(sem.acquire());
    first.pending();
    let first_wakes = first.flag_handle();
    let mut moved = first.with_new_waker();
    moved.pending();
    sem.add_permits(1);
    assert!(moved.woken());
    assert_eq!(first_wakes.wakes(), 0, "the old waker was replaced");
    drop(moved.ready().unwrap());
}

#[test]
fn debug_output_shows_the_permits() {
    let sem = Arc::new(Semaphore::new(3));
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { permits: 3, closed: false }"
    );
    let p = sem.try_acquire_many(2).unwrap();
    assert_eq!(format!("{p:?}"), "SemaphorePermit { permits: 2 }");
    let owned = sem.clone().try_acquire_owned().unwrap();
    assert_eq!(format!("{owned:?}"), "OwnedSemaphorePermit { permits: 1 }");
}
