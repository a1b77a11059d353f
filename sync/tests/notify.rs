//! Notify and Barrier: stored permits, notify_waiters, LIFO, cancel-safety.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Wake, Waker};

use common::Task;
use futures::executor::block_on;
use weft_sync::{Barrier, Notified, Notify};

#[test]
fn notify_one_stores_one_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one(); // permits do not add up
    block_on(n.notified());
    let mut second = Task::new(n.notified());
    second.pending();
    n.notify_one();
    assert!(second.woken());
    second.ready();
}

#[test]
fn notify_waiters_wakes_current_waiters_and_stores_nothing() {
    let n = Notify::new();
    let mut tasks: Vec<_> = (0..100).map(|_| Task::new(n.notified())).collect();
    for t in &mut tasks[..60] {
        t.pending();
    }
    // The 40 not yet polled were created before the call: they count too.
    n.notify_waiters();
    for t in &mut tasks {
        t.ready();
    }
    let mut late = Task::new(n.notified());
    late.pending();
    assert!(!late.woken());
}

/// On its first wake, calls `notify_waiters` again and queues a new
/// waiter, as a task woken by the first call might on another thread.
struct Reenter {
    notify: &'static Notify,
    late: Mutex<Option<Task<Notified<'static>>>>,
    done: AtomicBool,
}

impl Wake for Reenter {
    fn wake(self: Arc<Self>) {
        if self.done.swap(true, Ordering::SeqCst) {
            return;
        }
        self.notify.notify_waiters();
        let mut late = Task::new(self.notify.notified());
        late.pending();
        *self.late.lock().unwrap() = Some(late);
    }
}

/// A `notify_waiters` call wakes the waiters created before it, not one
/// created while it works through the queue after a second call: the
/// first call wakes in batches, and here a waker in its first batch makes
/// the second call and queues a waiter before the first call relocks.
#[test]
fn notify_waiters_leaves_alone_a_waiter_created_after_it() {
    static NOTIFY: OnceLock<Notify> = OnceLock::new();
    let notify = NOTIFY.get_or_init(Notify::new);
    let reenter = Arc::new(Reenter {
        notify,
        late: Mutex::new(None),
        done: AtomicBool::new(false),
    });
    let mut first = pin!(notify.notified());
    let waker = Waker::from(reenter.clone());
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    // More than one batch of wakers behind it.
    let mut rest: Vec<_> = (0..100).map(|_| Task::new(notify.notified())).collect();
    for t in &mut rest {
        t.pending();
    }
    notify.notify_waiters();
    assert!(reenter.done.load(Ordering::SeqCst));
    for t in &mut rest {
        t.ready();
    }
    let mut late = reenter.late.lock().unwrap().take().expect("queued");
    assert!(!late.woken(), "woken by a call made before it existed");
    late.pending();
    notify.notify_waiters();
    late.ready();
}

#[test]
fn notify_one_is_fifo_and_notify_last_is_lifo() {
    let n = Notify::new();
    let mut tasks: Vec<_> = (0..3).map(|_| Task::new(n.notified())).collect();
    for t in &mut tasks {
        t.pending();
    }
    n.notify_one();
    assert!(tasks[0].woken() && !tasks[1].woken() && !tasks[2].woken());
    n.notify_last();
    assert!(tasks[2].woken() && !tasks[1].woken());
    tasks[0].ready();
    tasks[2].ready();
    tasks[1].pending();
}

/// New waiters queue on a lock-free stack that the next notifier moves
/// into the list: the order must still be arrival order across both.
#[test]
fn arrival_order_holds_across_waiters_queued_before_and_after_a_notify() {
    let n = Notify::new();
    let mut tasks: Vec<_> = (0..5).map(|_| Task::new(n.notified())).collect();
    tasks[0].pending();
    tasks[1].pending();
    n.notify_one(); // takes 0 and 1 into the list, wakes 0
    assert!(tasks[0].woken() && !tasks[1].woken());
    tasks[2].pending();
    tasks[3].pending();
    tasks[4].pending();
    n.notify_last(); // the newest arrival, though it is not in the list yet
    assert!(tasks[4].woken());
    n.notify_one();
    assert!(tasks[1].woken() && !tasks[2].woken());
    n.notify_one();
    assert!(tasks[2].woken() && !tasks[3].woken());
    n.notify_one();
    assert!(tasks[3].woken());
    for t in &mut tasks {
        t.ready();
    }
}

#[test]
fn a_waiter_dropped_before_any_notify_leaves_the_queue_intact() {
    let n = Notify::new();
    let mut a = Task::new(n.notified());
    let mut b = Task::new(n.notified());
    let mut c = Task::new(n.notified());
    a.pending();
    b.pending();
    c.pending();
    // b is still on the arrival stack, between a and c; leaving, it takes
    // the lock, which moves all three into the list first.
    drop(b);
    a.pending();
    n.notify_one();
    assert!(a.woken() && !c.woken());
    n.notify_one();
    assert!(c.woken());
    a.ready();
    c.ready();
    // Nobody is left queued: the next notify_one is stored.
    n.notify_one();
    block_on(n.notified());
}

#[test]
fn a_dropped_notified_passes_its_wakeup_on() {
    let n = Notify::new();
    let mut a = Task::new(n.notified());
    let mut b = Task::new(n.notified());
    a.pending();
    b.pending();
    n.notify_one();
    assert!(a.woken());
    drop(a);
    assert!(b.woken());
    b.ready();
    // With nobody left, a handed-on wakeup becomes the stored permit.
    let mut c = Task::new(n.notified());
    c.pending();
    n.notify_one();
    drop(c);
    block_on(n.notified());
}

#[test]
fn a_dropped_queued_notified_does_not_take_a_wakeup() {
    let n = Notify::new();
    let mut a = Task::new(n.notified());
    let mut b = Task::new(n.notified());
    a.pending();
    b.pending();
    drop(a);
    n.notify_one();
    b.ready();
}

#[test]
fn enable_registers_before_polling() {
    let n = Notify::new();
    let mut fut = pin!(n.notified());
    assert!(!fut.as_mut().enable());
    n.notify_one(); // goes to the enabled future, not into storage
    let mut other = Task::new(n.notified());
    other.pending();
    block_on(fut);
    assert!(!other.woken());
}

#[test]
fn notify_across_threads() {
    let n = Arc::new(Notify::new());
    let rounds = if cfg!(miri) { 10 } else { 1_000 };
    let n2 = n.clone();
    let t = std::thread::spawn(move || {
        for _ in 0..rounds {
            block_on(n2.notified());
        }
    });
    // Each notify_one is either taken by the waiter or stored; with one
    // stored permit at most, we must pace: notify until the thread is done.
    while !t.is_finished() {
        n.notify_one();
        std::thread::yield_now();
    }
    t.join().unwrap();
}

#[test]
fn barrier_releases_each_generation_with_one_leader() {
    let n = 4;
    let rounds = if cfg!(miri) { 2 } else { 50 };
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                (0..rounds)
                    .map(|_| block_on(barrier.wait()).is_leader() as usize)
                    .sum::<usize>()
            })
        })
        .collect();
    let leaders: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(leaders, rounds);
}

#[test]
fn barrier_waits_for_the_last_arrival() {
    let b = Barrier::new(3);
    let mut one = Task::new(b.wait());
    let mut two = Task::new(b.wait());
    one.pending();
    two.pending();
    assert!(!one.woken());
    assert!(block_on(b.wait()).is_leader());
    assert!(!one.ready().is_leader());
    assert!(!two.ready().is_leader());
}
