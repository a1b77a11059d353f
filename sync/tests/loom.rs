//! Loom models of the core race of each primitive.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p weft-sync --test loom --release`
//! (one model: add its name; see docs/loom.md).
//!
//! Every atomic, lock and cell inside weft-sync is loom's under `cfg(loom)`
//! (`sync/src/loom.rs`), and the tests use loom's threads, `Arc` and
//! `block_on`, so loom explores every interleaving of the protocol (up to
//! the preemption bound) and reports lost wakeups as deadlocks: a
//! `block_on` that is never woken never finishes.
//!
//! Preemption bound: 2 (`LOOM_MAX_PREEMPTIONS` overrides it), as for the
//! runtime's models; the races below need one or two badly placed switches.
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use weft_base::loom::model;
use weft_sync::{
    broadcast, mpsc, oneshot, watch, Barrier, Mutex, Notify, RwLock, Semaphore, WorkQueue,
};

/// Polls `fut` once with a waker that does nothing; true if it completed.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    matches!(fut.poll(&mut cx), Poll::Ready(_))
}

/// Two tasks lock, increment, unlock: the hand-off loses neither the lock
/// nor an update, and the waiting side is woken.
#[test]
fn mutex_lock_handoff() {
    model(|| {
        let m = Arc::new(Mutex::new(0));
        let m2 = m.clone();
        let t = thread::spawn(move || block_on(async { *m2.lock().await += 1 }));
        block_on(async { *m.lock().await += 1 });
        t.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 2);
    });
}

/// A permit released while a queued acquire is being cancelled is neither
/// lost nor kept by the cancelled waiter: a second waiter gets it.
#[test]
fn permit_release_racing_a_cancelled_acquire() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire_many(1).unwrap();
        held.forget(); // the main thread gives it back below
        let (s1, s2) = (sem.clone(), sem.clone());
        let cancelled = thread::spawn(move || {
            let mut acq = pin!(s1.acquire());
            if poll_once(acq.as_mut()) {
                // Got it before queueing: give it back (drop).
            }
        });
        let waiter = thread::spawn(move || {
            block_on(s2.acquire()).unwrap().forget();
        });
        sem.add_permits(1);
        cancelled.join().unwrap();
        waiter.join().unwrap();
        // The waiter took the one permit for good; none is left, none lost.
        assert_eq!(sem.available_permits(), 0);
    });
}

/// The sender's send racing the receiver's drop: either the send succeeds
/// and the receiver side drops the value, or it fails and hands it back;
/// either way it is dropped exactly once.
#[test]
fn oneshot_send_racing_receiver_drop() {
    model(|| {
        let token = Arc::new(());
        let (tx, rx) = oneshot::channel::<Arc<()>>();
        let value = token.clone();
        let t = thread::spawn(move || match tx.send(value) {
            Ok(()) => true,
            Err(back) => {
                drop(back);
                false
            }
        });
        drop(rx);
        t.join().unwrap();
        assert_eq!(Arc::strong_count(&token), 1, "value leaked");
    });
}

/// A send racing the receiver's poll: the receiver is woken with the value.
#[test]
fn oneshot_send_racing_recv() {
    model(|| {
        let (tx, rx) = oneshot::channel();
        let t = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(block_on(rx), Ok(7));
        t.join().unwrap();
    });
}

/// The receiver closing while a sender waits for room: the send either
/// lands before the close (and is drained) or fails with its value.
#[test]
fn mpsc_close_racing_send() {
    model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(1).unwrap(); // full: the next send waits
        let t = thread::spawn(move || block_on(tx.send(2)).map_err(|e| e.0));
        rx.close();
        let mut got = Vec::new();
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        let sent = t.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(got, [1, 2]),
            Err(v) => {
                assert_eq!(v, 2);
                assert_eq!(got, [1]);
            }
        }
    });
}

/// An unbounded send racing the receiver going to sleep: no lost wakeup,
/// and the last sender's drop ends the stream.
#[test]
fn mpsc_send_racing_recv_and_sender_drop() {
    model(|| {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let t = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), None);
        t.join().unwrap();
    });
}

/// `notify_one` racing the drop of a queued `Notified` it may have
/// picked: the wakeup is passed on, so the other waiter gets it (directly,
/// or as the stored permit).
#[test]
fn notify_one_racing_a_dropped_notified() {
    model(|| {
        let notify = Arc::new(Notify::new());
        let mut dropped = Box::pin(notify.notified());
        assert!(!poll_once(dropped.as_mut()), "nothing was notified yet");
        let (n1, n2) = (notify.clone(), notify.clone());
        let waiter = thread::spawn(move || block_on(n1.notified()));
        let notifier = thread::spawn(move || n2.notify_one());
        drop(dropped);
        notifier.join().unwrap();
        waiter.join().unwrap();
    });
}

/// Two waiters pushing onto the arrival stack while `notify_one` runs
/// twice: each notification reaches a waiter or is stored for one, whatever
/// the interleaving of the pushes, the permit and the lock holder's drain.
#[test]
fn notify_one_racing_lock_free_registrations() {
    model(|| {
        let notify = Arc::new(Notify::new());
        let (n1, n2) = (notify.clone(), notify.clone());
        let a = thread::spawn(move || block_on(n1.notified()));
        let b = thread::spawn(move || block_on(n2.notified()));
        notify.notify_one();
        // One permit at most is stored: the second notify must come after
        // the first is taken, or one waiter would wait forever.
        while notify_has_permit(&notify) {
            thread::yield_now();
        }
        notify.notify_one();
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// Whether `notify` holds a stored permit (from its `Debug` output: the
/// only outside view of it).
fn notify_has_permit(notify: &Notify) -> bool {
    format!("{notify:?}").contains("permit: true")
}

/// `notify_waiters` racing a waiter registering: a `Notified` created
/// before the call completes even if it is queued after.
#[test]
fn notify_waiters_racing_registration() {
    model(|| {
        let notify = Arc::new(Notify::new());
        let flag = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let (n2, f2) = (notify.clone(), flag.clone());
        let t = thread::spawn(move || {
            f2.store(true, std::sync::atomic::Ordering::SeqCst);
            n2.notify_waiters();
        });
        let mut fut = pin!(notify.notified());
        fut.as_mut().enable();
        if !flag.load(std::sync::atomic::Ordering::SeqCst) {
            // Created and registered before the flag: must be woken.
            block_on(fut);
        }
        t.join().unwrap();
    });
}

/// A watch send racing `changed`: the receiver sees the new value.
#[test]
fn watch_send_racing_changed() {
    model(|| {
        let (tx, mut rx) = watch::channel(0);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        block_on(rx.changed()).unwrap();
        assert_eq!(*rx.borrow_and_update(), 1);
        drop(t.join().unwrap());
        assert!(block_on(rx.changed()).is_err());
    });
}

/// A writer queued behind a reader: the reader's release hands it the lock.
#[test]
fn rwlock_reader_release_hands_off_to_writer() {
    model(|| {
        let lock = Arc::new(RwLock::new(0));
        let l2 = lock.clone();
        let t = thread::spawn(move || block_on(async { *l2.write().await += 1 }));
        let seen = block_on(async { *lock.read().await });
        t.join().unwrap();
        assert!(seen == 0 || seen == 1);
        assert_eq!(*lock.try_read().unwrap(), 1);
    });
}

/// `close` racing a queued acquire: the acquire finishes (with a permit or
/// the closed error), never hangs.
#[test]
fn semaphore_close_racing_acquire() {
    model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let s2 = sem.clone();
        let t = thread::spawn(move || block_on(s2.acquire()).is_ok());
        sem.close();
        assert!(!t.join().unwrap(), "no permit was ever added");
    });
}

/// A broadcast send racing a receiver going to sleep, then the sender's
/// drop: the receiver gets the message, then `Closed`.
#[test]
fn broadcast_send_racing_recv() {
    model(|| {
        let (tx, mut rx) = broadcast::channel(2);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Ok(1));
        assert_eq!(
            block_on(rx.recv()),
            Err(broadcast::error::RecvError::Closed)
        );
        t.join().unwrap();
    });
}

/// A receiver looking for a message without any lock (its slot's
/// position, then the write position) while a send writes it: it finds the
/// message or nothing, and a write position that says "sent" makes the
/// slot's message visible to the next look (else the look would spin).
#[test]
fn broadcast_lock_free_look_racing_send() {
    use broadcast::error::TryRecvError;
    model(|| {
        let (tx, mut rx) = broadcast::channel(1);
        let t = thread::spawn(move || {
            tx.send(String::from("one")).unwrap();
            tx
        });
        let got = rx.try_recv();
        assert!(
            matches!(got.as_deref(), Ok("one") | Err(TryRecvError::Empty)),
            "{got:?}"
        );
        let tx = t.join().unwrap();
        if got.is_err() {
            assert_eq!(rx.try_recv().as_deref(), Ok("one"));
        }
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

/// A receiver subscribing (onto a notify shard nobody used before) racing
/// a send: if it subscribed first, the send wakes it.
#[test]
fn broadcast_subscribe_racing_send() {
    model(|| {
        let (tx, rx) = broadcast::channel(2);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        let mut late = rx.resubscribe();
        if format!("{late:?}").contains("next: 0") {
            assert_eq!(block_on(late.recv()), Ok(1));
        }
        drop(t.join().unwrap());
    });
}

/// A receiver cloned (onto a notify shard nobody used before) racing a
/// send: it has not seen the send, so `changed` completes.
#[test]
fn watch_clone_racing_send() {
    model(|| {
        let (tx, rx) = watch::channel(0);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        let mut clone = rx.clone();
        block_on(clone.changed()).unwrap();
        assert_eq!(*clone.borrow_and_update(), 1);
        drop(t.join().unwrap());
    });
}

/// Two tasks meet at a barrier: both are released, one is the leader.
#[test]
fn barrier_releases_both() {
    model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let b2 = barrier.clone();
        let t = thread::spawn(move || block_on(b2.wait()).is_leader());
        let me = block_on(barrier.wait()).is_leader();
        assert!(me != t.join().unwrap());
    });
}

/// A `Notified` that is created but not yet polled or enabled still counts
/// for a `notify_waiters` call made after its creation, from any thread.
#[test]
fn notify_waiters_reaches_an_unpolled_notified() {
    model(|| {
        let notify = Arc::new(Notify::new());
        let fut = notify.notified();
        let n2 = notify.clone();
        let t = thread::spawn(move || n2.notify_waiters());
        block_on(fut);
        t.join().unwrap();
    });
}

/// `join` racing the last `task_done`: join checks the count after
/// creating its `Notified`, so the wakeup cannot slip between.
#[test]
fn work_queue_join_racing_task_done() {
    model(|| {
        let q = Arc::new(WorkQueue::unbounded());
        q.try_put(1).unwrap();
        assert_eq!(q.try_get(), Some(1));
        let q2 = q.clone();
        let t = thread::spawn(move || q2.task_done());
        block_on(q.join());
        t.join().unwrap();
        assert_eq!(q.unfinished(), 0);
    });
}

/// A full bounded channel: the receiver taking a message hands the freed
/// slot to the waiting sender, whose message then arrives.
#[test]
fn mpsc_bounded_slot_handoff() {
    model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || block_on(tx.send(2)).unwrap());
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        assert_eq!(block_on(rx.recv()), None);
        t.join().unwrap();
    });
}

/// Two senders queued on a full channel while the receiver frees slots:
/// the receiver keeps freed slots to itself until a queued sender asks, so
/// each queued sender must get one, the second too after the receiver has
/// spent the first one's ask.
#[test]
fn mpsc_two_queued_senders_get_freed_slots() {
    model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(0).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || block_on(tx.send(1)).unwrap());
        let b = thread::spawn(move || block_on(tx2.send(2)).unwrap());
        let mut got: Vec<i32> = (0..3).map(|_| block_on(rx.recv()).unwrap()).collect();
        a.join().unwrap();
        b.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
    });
}

/// A sender taking back the receiver's freed slots while the receiver
/// closes and waits for every slot to come back: whoever moves the slots
/// wakes it, so its last `recv` ends.
#[test]
fn mpsc_slots_taken_back_racing_close() {
    model(|| {
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(1).unwrap();
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx2.try_send(2).is_ok());
        assert_eq!(block_on(rx.recv()), Some(1));
        rx.close();
        let rest: Vec<i32> = std::iter::from_fn(|| block_on(rx.recv())).collect();
        let sent = t.join().unwrap();
        assert_eq!(rest, if sent { vec![2] } else { vec![] });
        drop(tx);
    });
}

/// A downgrade racing a queued writer and a reader: the reader gets in
/// beside the downgraded guard, the writer after both.
#[test]
fn rwlock_downgrade_racing_writer() {
    model(|| {
        let lock = Arc::new(RwLock::new(0));
        let mut w = lock.try_write().unwrap();
        *w = 1;
        let l2 = lock.clone();
        let writer = thread::spawn(move || block_on(async { *l2.write().await = 2 }));
        let r = w.downgrade();
        assert_eq!(*r, 1);
        drop(r);
        writer.join().unwrap();
        assert_eq!(*lock.try_read().unwrap(), 2);
    });
}

/// A mapped write guard moved to and dropped on another thread while a
/// reader waits, then a `downgrade_map` racing a queued writer: the reader
/// sees the mapped write, and the writer gets in only after the downgraded
/// guard goes.
#[test]
fn rwlock_mapped_guards_hand_off() {
    use weft_sync::{OwnedRwLockWriteGuard, RwLockWriteGuard};
    model(|| {
        let lock = std::sync::Arc::new(RwLock::new((0, 0)));
        let w = lock.clone().try_write_owned().unwrap();
        let mut w = OwnedRwLockWriteGuard::map(w, |p| &mut p.1);
        let l2 = lock.clone();
        let reader = thread::spawn(move || block_on(async { l2.read().await.1 }));
        let dropper = thread::spawn(move || {
            *w = 5;
            drop(w);
        });
        assert_eq!(reader.join().unwrap(), 5);
        dropper.join().unwrap();

        let w = lock.try_write().unwrap();
        let l3 = lock.clone();
        let writer = thread::spawn(move || block_on(async { l3.write().await.0 = 7 }));
        let r = RwLockWriteGuard::downgrade_map(w, |p| &p.1);
        assert_eq!(*r, 5);
        drop(r);
        writer.join().unwrap();
        assert_eq!(*lock.try_read().unwrap(), (7, 5));
    });
}

/// Two receivers clone the same message (each under its slot's lock)
/// while the sender overwrites the one-slot ring: each gets the message or,
/// if the overwrite came first, a lag of one; never a torn or lost value.
#[test]
fn broadcast_receivers_clone_the_same_slot() {
    use broadcast::error::TryRecvError;
    model(|| {
        let (tx, mut a) = broadcast::channel(1);
        let mut b = tx.subscribe();
        tx.send(String::from("one")).unwrap();
        let t = thread::spawn(move || a.try_recv());
        let got_b = b.try_recv();
        tx.send(String::from("two")).unwrap();
        let got_a = t.join().unwrap();
        assert_eq!(got_b.as_deref(), Ok("one"));
        assert!(
            matches!(got_a.as_deref(), Ok("one") | Err(TryRecvError::Lagged(1))),
            "{got_a:?}"
        );
        assert_eq!(b.try_recv().as_deref(), Ok("two"));
    });
}

/// Two receivers on two threads count down the same message while the
/// sender moves on: the slot's count and lock share a word, so the unlock
/// is the store that publishes the count. The message is dropped exactly
/// once, by whichever receiver saw it last, and neither sees a torn count
/// (a receiver whose decrement was lost would leave it held for good).
#[test]
fn broadcast_last_of_two_receivers_drops_the_message() {
    model(|| {
        let (tx, mut a) = broadcast::channel(2);
        let mut b = tx.subscribe();
        let message = Arc::new(());
        tx.send(message.clone()).unwrap();
        let t = thread::spawn(move || a.try_recv().map(drop));
        let got_b = b.try_recv().map(drop);
        tx.send(Arc::new(())).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
        assert_eq!(got_b, Ok(()));
        assert_eq!(Arc::strong_count(&message), 1, "the ring still holds it");
    });
}

/// A weak sender upgrades while the last strong sender drops: either the
/// upgrade fails and the receiver sees the channel closed, or it succeeds,
/// its message arrives, and the channel closes only when it goes too.
/// Never both a successful upgrade and a closed channel.
#[test]
fn mpsc_weak_upgrade_races_last_strong_drop() {
    model(|| {
        let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
        let weak = tx.downgrade();
        let upgrader = thread::spawn(move || match weak.upgrade() {
            Some(tx) => {
                tx.send(1).unwrap();
                true
            }
            None => false,
        });
        drop(tx);
        let upgraded = upgrader.join().unwrap();
        let got = block_on(rx.recv());
        assert_eq!(got, upgraded.then_some(1));
        assert_eq!(block_on(rx.recv()), None);
    });
}

/// The bounded flavour of the same race, plus a reserved slot: a slot
/// reserved before the receiver closes is still delivered, and the receiver
/// reports closed only once that slot is used.
#[test]
fn mpsc_reserved_slot_outlives_close() {
    model(|| {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let sender = thread::spawn(move || {
            if let Ok(permit) = tx.try_reserve() {
                permit.send(7);
            }
        });
        rx.close();
        let got = block_on(rx.recv());
        sender.join().unwrap();
        // Reserved before the close: delivered; after it: refused.
        assert!(matches!(got, Some(7) | None));
        assert_eq!(block_on(rx.recv()), None);
    });
}
