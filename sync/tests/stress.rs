//! Threads racing acquires that are dropped at random points (queued,
//! served-but-unseen, holding), with real parallelism: permits, locks,
//! channel slots and notifications must all be accounted for at the end. Too slow for miri.
#![cfg(not(miri))]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use weft_sync::{mpsc, Mutex, Notify, Semaphore};

/// xorshift: enough randomness to vary the drop points, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Polls `fut` up to `polls` times (yielding the thread in between); the
/// output if it completed, else `None` (and the future is dropped).
fn poll_a_few<F: Future>(fut: F, polls: u64) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
        std::thread::yield_now();
    }
    None
}

const THREADS: u64 = 4;
/// Fewer in debug builds (the CI's `cargo test`), more with `--release`.
const ITERS: u64 = if cfg!(debug_assertions) {
    5_000
} else {
    20_000
};

#[test]
fn semaphore_permits_survive_random_cancellation() {
    const PERMITS: usize = 3;
    let sem = Arc::new(Semaphore::new(PERMITS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let sem = sem.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                let mut got = 0u64;
                for _ in 0..ITERS {
                    let n = 1 + (rng.next() % 3) as u32;
                    let polls = rng.next() % 4;
                    if let Some(permit) = poll_a_few(sem.acquire_many(n), polls) {
                        got += 1;
                        if rng.next() % 2 == 0 {
                            std::thread::yield_now();
                        }
                        drop(permit.unwrap());
                    }
                }
                got
            })
        })
        .collect();
    let got: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(got > 0, "nobody ever acquired");
    assert_eq!(sem.available_permits(), PERMITS);
}

#[test]
fn mutex_survives_random_cancellation() {
    let m = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (t + 1));
                let mut mine = 0;
                for _ in 0..ITERS {
                    if let Some(mut guard) = poll_a_few(m.lock(), rng.next() % 4) {
                        *guard += 1;
                        mine += 1;
                    }
                }
                mine
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(*m.try_lock().expect("lock left held"), total);
}

#[test]
fn bounded_channel_slots_survive_random_cancellation() {
    const CAP: usize = 4;
    let (probe, mut rx) = mpsc::channel::<u64>(CAP);
    // Values are 1; a 0 from the probe, sent after the producers are done,
    // tells the receiver to stop.
    let receiver = std::thread::spawn(move || {
        let mut received = 0;
        loop {
            match futures::executor::block_on(rx.recv()) {
                Some(0) | None => return received,
                Some(v) => received += v,
            }
        }
    });
    let producers: Vec<_> = (0..THREADS)
        .map(|t| {
            let tx = probe.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x94D0_49BB_1331_11EB ^ (t + 1));
                let mut sent = 0;
                for _ in 0..ITERS {
                    if let Some(permit) = poll_a_few(tx.reserve(), rng.next() % 4) {
                        let permit = permit.unwrap();
                        if rng.next() % 4 == 0 {
                            drop(permit); // reserved, unused: slot back
                        } else {
                            permit.send(1);
                            sent += 1;
                        }
                    }
                }
                sent
            })
        })
        .collect();
    let sent: u64 = producers.into_iter().map(|h| h.join().unwrap()).sum();
    futures::executor::block_on(probe.send(0)).unwrap();
    let received = receiver.join().unwrap();
    assert_eq!(received, sent);
    assert!(sent > 0);
    // Everything was received: every slot, used or dropped, came back.
    assert_eq!(probe.capacity(), CAP);
}

/// One notification in flight at a time (so none is merged into a stored
/// permit), taken by waiters that drop their `Notified` at random points:
/// every notification ends in exactly one completed wait, whether it lands
/// on a stacked arrival, a listed waiter, a future dropped after being
/// picked (which passes it on) or the stored permit.
#[test]
fn notifications_survive_random_cancellation() {
    let notify = Arc::new(Notify::new());
    let woken = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let waiters: Vec<_> = (0..THREADS)
        .map(|t| {
            let (notify, woken, done) = (notify.clone(), woken.clone(), done.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0xA076_1D64_78BD_642F ^ (t + 1));
                while !done.load(SeqCst) {
                    if poll_a_few(notify.notified(), rng.next() % 4).is_some() {
                        woken.fetch_add(1, SeqCst);
                    }
                }
            })
        })
        .collect();
    for round in 0..ITERS {
        if round % 2 == 0 {
            notify.notify_one();
        } else {
            notify.notify_last();
        }
        // A watchdog, not a timing: a lost notification stalls forever.
        let deadline = Instant::now() + Duration::from_secs(30);
        while woken.load(SeqCst) <= round {
            assert!(
                Instant::now() < deadline,
                "round {round}: a notification was lost"
            );
            std::thread::yield_now();
        }
    }
    done.store(true, SeqCst);
    for w in waiters {
        w.join().unwrap();
    }
    assert_eq!(
        woken.load(SeqCst),
        ITERS,
        "a notification completed two waits"
    );
    assert!(
        poll_a_few(notify.notified(), 1).is_none(),
        "a notification was duplicated into a stored permit"
    );
}
