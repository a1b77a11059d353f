//! Cancel-safety, systematically: a victim wait future is dropped at every
//! point of a scenario (before its first poll, while queued, after being
//! handed a permit or wakeup but before seeing it, after completing), and
//! each time the bystander must still be served and nothing may be lost.

mod common;

use std::task::Poll;

use common::Task;
use weft_sync::{mpsc, Mutex, Notify, Semaphore, WorkQueue};

/// The scenario's steps; the victim is dropped before step `drop_at`.
const STEPS: usize = 5;

#[test]
fn semaphore_acquire_dropped_at_every_point() {
    for drop_at in 0..=STEPS {
        let sem = Semaphore::new(1);
        let mut victim = Some(Task::new(sem.acquire_many(2)));
        let mut bystander = Task::new(sem.acquire());
        let mut victim_permit = None;
        let mut bystander_permit = None;
        for step in 0..STEPS {
            if step == drop_at {
                victim = None;
                drop(victim_permit.take());
            }
            match step {
                // Queued, holding the 1 free permit of the 2 it wants.
                0 => {
                    if let Some(v) = &mut victim {
                        v.pending();
                    }
                }
                // Queued behind the victim; served at once if it is gone.
                1 => {
                    if let Poll::Ready(p) = bystander.poll() {
                        assert!(victim.is_none());
                        bystander_permit = Some(p.unwrap());
                    }
                }
                // The second permit completes the victim (if still there).
                2 => sem.add_permits(1),
                3 => {
                    if let Some(v) = &mut victim {
                        if v.woken() {
                            victim_permit = Some(v.ready().unwrap());
                        }
                    }
                }
                4 => drop(victim_permit.take()),
                _ => unreachable!(),
            }
        }
        drop(victim);
        // Whatever the victim held or was handed came back: the bystander
        // has its permit and the rest is free again.
        let p = bystander_permit.unwrap_or_else(|| bystander.ready().unwrap());
        assert_eq!(sem.available_permits(), 1, "drop_at {drop_at}");
        drop(p);
        assert_eq!(sem.available_permits(), 2, "drop_at {drop_at}");
    }
}

#[test]
fn mutex_lock_dropped_at_every_point() {
    for drop_at in 0..=STEPS {
        let m = Mutex::new(0);
        let mut held = Some(m.try_lock().unwrap());
        let mut victim = Some(Task::new(m.lock()));
        let mut bystander = Task::new(async {
            *m.lock().await += 1;
        });
        let mut victim_guard = None;
        for step in 0..STEPS {
            if step == drop_at {
                victim = None;
                drop(victim_guard.take());
            }
            match step {
                0 => {
                    if let Some(v) = &mut victim {
                        v.pending();
                    }
                }
                1 => bystander.pending(),
                2 => drop(held.take()),
                3 => {
                    if let Some(v) = &mut victim {
                        victim_guard = Some(v.ready());
                    }
                }
                4 => drop(victim_guard.take()),
                _ => unreachable!(),
            }
        }
        drop((victim, victim_guard, held));
        assert!(
            bystander.woken(),
            "drop_at {drop_at}: bystander never woken"
        );
        bystander.ready();
        assert_eq!(*m.try_lock().unwrap(), 1);
    }
}

#[test]
fn notified_dropped_at_every_point() {
    for drop_at in 0..=4 {
        let n = Notify::new();
        let mut victim = Some(Task::new(n.notified()));
        let mut bystander = Task::new(n.notified());
        let mut victim_got_it = false;
        for step in 0..4 {
            if step == drop_at {
                victim = None;
            }
            match step {
                0 => {
                    if let Some(v) = &mut victim {
                        v.pending();
                    }
                }
                1 => bystander.pending(),
                2 => n.notify_one(),
                3 => {
                    if let Some(v) = &mut victim {
                        if v.woken() {
                            v.ready();
                            victim_got_it = true;
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        drop(victim);
        // Exactly one of them gets the single notification.
        if victim_got_it {
            bystander.pending();
        } else {
            assert!(bystander.woken(), "drop_at {drop_at}: wakeup lost");
            bystander.ready();
        }
    }
}

#[test]
fn recv_and_get_dropped_at_every_point_lose_nothing() {
    for drop_at in 0..=3 {
        let (tx, mut rx) = mpsc::channel(4);
        let q = WorkQueue::unbounded();
        {
            let mut recv = Some(Task::new(rx.recv()));
            let mut get = Some(Task::new(q.get()));
            let mut bystander_get = Task::new(q.get());
            let mut got = Vec::new();
            for step in 0..3 {
                if step == drop_at {
                    recv = None;
                    get = None;
                }
                match step {
                    0 => {
                        if let (Some(r), Some(g)) = (&mut recv, &mut get) {
                            r.pending();
                            g.pending();
                        }
                        bystander_get.pending();
                    }
                    1 => {
                        tx.try_send(1).unwrap();
                        q.try_put(1).unwrap();
                    }
                    2 => {
                        if let (Some(r), Some(g)) = (&mut recv, &mut get) {
                            got.push(r.ready().unwrap());
                            got.push(g.ready());
                        }
                    }
                    _ => unreachable!(),
                }
            }
            drop((recv, get));
            if got.is_empty() {
                // Dropped before seeing them: both items are still there
                // (the WorkQueue's wakeup went on to the bystander).
                assert!(bystander_get.woken(), "drop_at {drop_at}: get wakeup lost");
                assert_eq!(bystander_get.ready(), 1);
            } else {
                assert_eq!(got, [1, 1]);
                bystander_get.pending();
            }
        }
        if drop_at < 3 {
            assert_eq!(rx.try_recv(), Ok(1), "drop_at {drop_at}: message lost");
        }
        assert_eq!(tx.capacity(), 4, "drop_at {drop_at}: slot lost");
    }
}
