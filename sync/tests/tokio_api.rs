//! The tokio-shaped API added for porting (`tokio::sync` -> `weft::sync`):
//! weak senders, batch reservations, the set-once cells, owned waits and
//! guards, permit splitting, the `blocking_*` methods and the `const_new`
//! constructors.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;

use common::Task;
use futures::executor::block_on;
use weft_sync::mpsc::error::{TryRecvError, TrySendError};
use weft_sync::{
    broadcast, mpsc, oneshot, watch, Mutex, Notify, OnceCell, OwnedMutexGuard, RwLock, Semaphore,
    SetError, SetOnce,
};

#[test]
fn weak_sender_upgrades_only_while_a_strong_one_lives() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let weak = tx.downgrade();
    assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    let tx2 = weak.upgrade().expect("a strong sender lives");
    assert_eq!(rx.sender_strong_count(), 2);
    drop((tx, tx2));
    assert!(weak.upgrade().is_none(), "closed for good");
    assert_eq!(rx.sender_weak_count(), 1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));

    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let weak = tx.downgrade();
    weak.upgrade().unwrap().send(1).unwrap();
    drop(tx);
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(
        block_on(rx.recv()),
        None,
        "a weak sender keeps nothing open"
    );
}

#[test]
fn reserve_many_hands_out_permits_and_returns_the_rest() {
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    assert!(matches!(
        tx.try_reserve_many(5),
        Err(TrySendError::Full(()))
    ));
    let mut permits = block_on(tx.reserve_many(3)).unwrap();
    assert_eq!((permits.len(), tx.capacity()), (3, 1));
    permits.next().unwrap().send(7);
    drop(permits); // two unused slots come back
    assert_eq!(tx.capacity(), 3);
    assert_eq!((rx.len(), rx.max_capacity()), (1, 4));
    assert_eq!(rx.try_recv(), Ok(7));
    assert!(rx.is_empty());

    // The owned try-reserve hands the sender back on failure.
    let (tx, _rx) = mpsc::channel::<u32>(1);
    let permit = tx.clone().try_reserve_owned().unwrap();
    assert!(matches!(tx.try_reserve_owned(), Err(TrySendError::Full(_))));
    drop(permit);
}

#[test]
fn a_slot_reserved_before_close_still_delivers() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    assert!(tx.try_send(1).is_err(), "no new reservation after close");
    let mut recv = Task::new(async { rx.recv().await });
    assert!(
        recv.poll().is_pending(),
        "a reserved slot may still be used"
    );
    permit.send(9);
    assert!(recv.woken());
    assert_eq!(recv.poll(), std::task::Poll::Ready(Some(9)));
}

#[test]
fn blocking_calls_work_on_a_plain_thread() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let (otx, orx) = oneshot::channel();
    let m = Arc::new(Mutex::new(0));
    let m2 = m.clone();
    let t = std::thread::spawn(move || {
        tx.blocking_send(1).unwrap();
        tx.blocking_send(2).unwrap(); // waits for room
        *m2.blocking_lock() += 1;
        otx.send(3).unwrap();
    });
    assert_eq!(rx.blocking_recv(), Some(1));
    assert_eq!(rx.blocking_recv(), Some(2));
    assert_eq!(orx.blocking_recv(), Ok(3));
    t.join().unwrap();
    assert_eq!(*m.blocking_lock(), 1);
    let lock = RwLock::new(5);
    *lock.blocking_write() += 1;
    assert_eq!(*lock.blocking_read(), 6);
}

#[test]
#[should_panic(expected = "Cannot block the current thread from within a runtime")]
fn blocking_recv_inside_a_runtime_panics() {
    let rt = weft_runtime::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_tx, mut rx) = mpsc::channel::<()>(1);
        let _ = rx.blocking_recv();
    });
}

#[test]
#[should_panic(expected = "Cannot block the current thread from within a runtime")]
fn blocking_lock_inside_a_runtime_panics() {
    let rt = weft_runtime::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let m = Mutex::new(());
        let _guard = m.blocking_lock();
    });
}

#[test]
fn once_cell_initialises_once_and_retries_after_a_failure() {
    let cell = OnceCell::new();
    let failed: Result<&u32, &str> = block_on(cell.get_or_try_init(|| async { Err("no") }));
    assert_eq!(failed, Err("no"));
    assert!(!cell.initialized());
    assert_eq!(*block_on(cell.get_or_init(|| async { 1 })), 1);
    assert_eq!(*block_on(cell.get_or_init(|| async { 2 })), 1);
    assert_eq!(cell.set(3), Err(SetError::AlreadyInitializedError(3)));

    // A waiter queued behind the initialiser gets its value.
    let cell = Arc::new(OnceCell::new());
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let c = cell.clone();
    let mut first = Task::new(async move {
        *c.get_or_init(|| async move {
            go_rx.await.unwrap();
            10
        })
        .await
    });
    assert!(first.poll().is_pending());
    assert!(cell.set(0).unwrap_err().is_initializing_err());
    let c = cell.clone();
    let mut second = Task::new(async move { *c.get_or_init(|| async { 20 }).await });
    assert!(second.poll().is_pending());
    go_tx.send(()).unwrap();
    assert_eq!(first.poll(), std::task::Poll::Ready(10));
    assert!(second.woken());
    assert_eq!(second.poll(), std::task::Poll::Ready(10));

    let mut cell = OnceCell::new_with(Some(4));
    assert_eq!(cell.take(), Some(4));
    assert!(cell.set(5).is_ok(), "empty and settable again after take");
    assert_eq!(cell.into_inner(), Some(5));
}

#[test]
fn set_once_wakes_its_waiters() {
    let once = Arc::new(SetOnce::new());
    let o = once.clone();
    let mut waiter = Task::new(async move { *o.wait().await });
    assert!(waiter.poll().is_pending());
    once.set(3).unwrap();
    assert!(waiter.woken());
    assert_eq!(waiter.poll(), std::task::Poll::Ready(3));
    assert_eq!(once.set(4).unwrap_err().0, 4);
    assert_eq!(once.get(), Some(&3));
}

static GLOBAL_LOCK: Mutex<u32> = Mutex::const_new(0);
static GLOBAL_NOTIFY: Notify = Notify::const_new();
static GLOBAL_SEM: Semaphore = Semaphore::const_new(2);
static GLOBAL_RW: RwLock<u32> = RwLock::const_new(1);
static GLOBAL_CELL: OnceCell<u32> = OnceCell::const_new();
static GLOBAL_SET: SetOnce<u32> = SetOnce::const_new();

#[test]
fn const_constructors_build_working_statics() {
    block_on(async {
        *GLOBAL_LOCK.lock().await += 1;
        GLOBAL_NOTIFY.notify_one();
        GLOBAL_NOTIFY.notified().await;
        let _p = GLOBAL_SEM.acquire_many(2).await.unwrap();
        assert!(GLOBAL_SEM.try_acquire().is_err());
        assert_eq!(*GLOBAL_RW.read().await, 1);
        assert_eq!(*GLOBAL_CELL.get_or_init(|| async { 8 }).await, 8);
        GLOBAL_SET.set(9).unwrap();
        assert_eq!(*GLOBAL_SET.wait().await, 9);
    });
    assert_eq!(*GLOBAL_LOCK.try_lock().unwrap(), 1);
}

#[test]
fn owned_notified_borrows_nothing() {
    let notify = Arc::new(Notify::new());
    let mut waiter = Task::new(notify.clone().notified_owned());
    assert!(waiter.poll().is_pending());
    notify.notify_one();
    assert!(waiter.poll().is_ready());
}

#[test]
fn permits_split_and_merge() {
    let sem = Semaphore::new(5);
    let mut p = sem.try_acquire_many(4).unwrap();
    let q = p.split(3).unwrap();
    assert!(p.split(2).is_none());
    assert_eq!((p.num_permits(), q.num_permits()), (1, 3));
    p.merge(q);
    assert_eq!(p.num_permits(), 4);
    drop(p);
    assert_eq!(sem.available_permits(), 5);

    let sem = Arc::new(Semaphore::new(3));
    let mut p = sem.clone().try_acquire_many_owned(3).unwrap();
    let q = p.split(1).unwrap();
    drop(p);
    assert_eq!(sem.available_permits(), 2);
    q.forget();
    assert_eq!(sem.available_permits(), 2);
}

#[test]
#[should_panic(expected = "merging permits from different semaphores")]
fn merging_permits_of_two_semaphores_panics() {
    let (a, b) = (Semaphore::new(1), Semaphore::new(1));
    let mut p = a.try_acquire().unwrap();
    p.merge(b.try_acquire().unwrap());
}

#[test]
fn owned_guards_map_and_try_map() {
    let m = Arc::new(Mutex::new((1, vec![2])));
    let guard = block_on(m.clone().lock_owned());
    let guard = OwnedMutexGuard::try_map(guard, |pair| pair.1.first_mut().filter(|_| false))
        .expect_err("nothing to narrow to: the guard comes back");
    let mut first = OwnedMutexGuard::map(guard, |pair| &mut pair.1[0]);
    *first += 1;
    assert!(m.try_lock().is_err(), "still locked while mapped");
    drop(first);
    assert_eq!(m.try_lock().unwrap().1, [3]);
}

#[test]
fn rwlock_with_max_readers_caps_the_readers() {
    let lock = RwLock::with_max_readers(0, 2);
    let (_a, _b) = (lock.try_read().unwrap(), lock.try_read().unwrap());
    assert!(lock.try_read().is_err());
    assert!(lock.try_write().is_err());
}

#[test]
fn broadcast_sender_new_closed_and_len() {
    let tx = broadcast::Sender::<u8>::new(4);
    assert!(futures::FutureExt::now_or_never(tx.closed()).is_some());
    let mut a = tx.subscribe();
    let b = tx.subscribe();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(tx.len(), 2);
    assert_eq!(a.try_recv(), Ok(1));
    assert_eq!(tx.len(), 2, "b has still to see both");
    drop(b); // counts both as seen
    assert_eq!(tx.len(), 1);
    let mut closed = Task::new(async { tx.closed().await });
    assert!(closed.poll().is_pending());
    drop(a);
    assert!(closed.woken());
    assert!(closed.poll().is_ready());
    assert!(tx.is_empty());

    let (tx, rx) = broadcast::channel::<u8>(2);
    let weak = tx.downgrade();
    assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
    drop(tx);
    assert!(weak.upgrade().is_none());
}

#[test]
fn watch_mark_changed_and_cloned_senders() {
    let (tx, mut rx) = watch::channel(0);
    assert!(!rx.has_changed().unwrap());
    rx.mark_changed();
    assert!(rx.has_changed().unwrap());
    block_on(rx.changed()).unwrap();
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    drop(tx);
    assert!(!rx.is_closed(), "a clone still publishes");
    tx2.send(5).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert!(
        block_on(rx.changed()).is_ok(),
        "the last value is still new"
    );
    assert!(block_on(rx.changed()).is_err());
}

#[test]
fn oneshot_terminated_and_empty() {
    let (tx, mut rx) = oneshot::channel();
    assert!(rx.is_empty() && !rx.is_terminated());
    tx.send(1).unwrap();
    assert!(!rx.is_empty());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.is_terminated() && rx.is_empty());

    let (_tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert!(rx.try_recv().is_err());
    assert!(rx.is_terminated(), "closed and drained: done");
}
