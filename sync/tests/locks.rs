//! Mutex and RwLock: exclusion, FIFO fairness, cancel-safety, guards.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::Task;
use futures::executor::block_on;
use weft_sync::{Mutex, MutexGuard, RwLock};

#[test]
fn lock_try_lock_and_into_inner() {
    let m = Mutex::new(1);
    {
        let mut g = block_on(m.lock());
        *g += 1;
        assert!(m.try_lock().is_err());
        assert_eq!(m.try_lock().unwrap_err().to_string(), "lock is held");
    }
    *m.try_lock().unwrap() += 1;
    assert_eq!(format!("{m:?}"), "Mutex { data: 3 }");
    assert_eq!(m.into_inner(), 3);
}

#[test]
fn mutex_hands_the_lock_over_in_fifo_order() {
    let m = Mutex::new(Vec::new());
    let held = m.try_lock().unwrap();
    let mut tasks: Vec<_> = (0..6)
        .map(|i| {
            let m = &m;
            Task::new(async move { m.lock().await.push(i) })
        })
        .collect();
    for t in &mut tasks {
        t.pending();
    }
    drop(held);
    // Each unlock wakes exactly the next in line.
    for i in 0..6 {
        for (j, t) in tasks.iter_mut().enumerate() {
            if j > i {
                assert!(!t.woken(), "task {j} woken before task {i} finished");
            }
        }
        tasks[i].ready();
    }
    assert_eq!(*block_on(m.lock()), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn dropped_lock_futures_give_up_their_place_and_pass_the_lock_on() {
    let m = Mutex::new(0);
    let held = m.try_lock().unwrap();
    let mut a = Task::new(m.lock());
    let mut b = Task::new(m.lock());
    let mut c = Task::new(m.lock());
    a.pending();
    b.pending();
    c.pending();
    drop(b); // queued, never served
    drop(held);
    assert!(a.woken());
    drop(a); // served, never saw it: must pass the lock to c
    assert!(c.woken());
    let g = c.ready();
    assert!(m.try_lock().is_err());
    drop(g);
    assert!(m.try_lock().is_ok());
}

#[test]
fn map_narrows_and_keeps_the_lock() {
    let m = Mutex::new((1u8, vec![0u8]));
    let mut v = MutexGuard::map(block_on(m.lock()), |p| &mut p.1);
    v.push(1);
    assert!(m.try_lock().is_err());
    let mut first = weft_sync::MappedMutexGuard::map(v, |v| &mut v[0]);
    *first = 9;
    drop(first);
    assert_eq!(*m.try_lock().unwrap(), (1, vec![9, 1]));
}

#[test]
fn owned_guards_move_across_threads() {
    let m = Arc::new(Mutex::new(0));
    let g = block_on(m.clone().lock_owned());
    let t = std::thread::spawn(move || {
        let mut g = g;
        *g += 5;
    });
    t.join().unwrap();
    assert_eq!(*m.clone().try_lock_owned().unwrap(), 5);
}

#[test]
fn mutex_excludes_across_threads() {
    let iters = if cfg!(miri) { 20 } else { 5_000 };
    let m = Arc::new(Mutex::new(0usize));
    let inside = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (m, inside) = (m.clone(), inside.clone());
            std::thread::spawn(move || {
                block_on(async {
                    for _ in 0..iters {
                        let mut g = m.lock().await;
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        *g += 1;
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*block_on(m.lock()), 4 * iters);
}

#[test]
fn readers_share_writers_exclude() {
    let l = RwLock::new(1);
    let r1 = block_on(l.read());
    let r2 = l.try_read().unwrap();
    assert_eq!(*r1 + *r2, 2);
    assert!(l.try_write().is_err());
    drop((r1, r2));
    let mut w = l.try_write().unwrap();
    *w = 7;
    assert!(l.try_read().is_err());
    drop(w);
    assert_eq!(*block_on(l.read()), 7);
}

#[test]
fn a_queued_writer_is_not_starved_by_later_readers() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = Task::new(async { *l.write().await += 1 });
    w.pending();
    // A reader arriving after the writer queues behind it.
    assert!(l.try_read().is_err());
    let mut late = Task::new(async { *l.read().await });
    late.pending();
    drop(r);
    assert!(w.woken());
    assert!(!late.woken());
    w.ready();
    assert_eq!(late.ready(), 1);
}

#[test]
fn downgrade_lets_readers_in_but_not_writers() {
    let l = RwLock::new(0);
    let mut w = l.try_write().unwrap();
    *w = 3;
    let mut reader = Task::new(async { *l.read().await });
    reader.pending();
    let r = w.downgrade();
    assert_eq!(reader.ready(), 3);
    assert!(l.try_write().is_err());
    assert_eq!(*r, 3);
    drop(r);
    assert!(l.try_write().is_ok());
}

#[test]
fn owned_rwlock_guards_and_downgrade() {
    let l = Arc::new(RwLock::new(String::from("a")));
    let mut w = block_on(l.clone().write_owned());
    w.push('b');
    let r = w.downgrade();
    let r2 = l.clone().try_read_owned().unwrap();
    assert_eq!(*r, "ab");
    assert_eq!(*r2, "ab");
    assert!(l.clone().try_write_owned().is_err());
    drop((r, r2));
    let r = block_on(l.clone().read_owned());
    assert_eq!(r.len(), 2);
}

#[test]
fn dropped_write_future_lets_readers_through() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = Task::new(l.write());
    w.pending();
    let mut later = Task::new(l.read());
    later.pending();
    drop(w); // the queued writer gives up: the reader behind it may enter
    assert!(later.woken());
    let r2 = later.ready();
    assert_eq!(*r + *r2, 0);
}
