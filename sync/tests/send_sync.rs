//! Compile-time checks: the wait futures and handles can cross threads
//! (spawned on a multi-threaded runtime), guards are `Sync` only when the
//! data is.

use std::sync::Arc;

use weft_sync::{
    broadcast, mpsc, oneshot, watch, Barrier, Mutex, Notify, RwLock, Semaphore, WorkQueue,
};

fn send<T: Send>(_: &T) {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn futures_and_handles_are_send() {
    let m = Arc::new(Mutex::new(0));
    send(&m.lock());
    send(&m.clone().lock_owned());
    let l = Arc::new(RwLock::new(0));
    send(&l.read());
    send(&l.write());
    send(&l.clone().write_owned());
    let s = Arc::new(Semaphore::new(1));
    send(&s.acquire());
    send(&s.clone().acquire_many_owned(2));
    let n = Notify::new();
    send(&n.notified());
    let b = Barrier::new(2);
    send(&b.wait());
    let q = WorkQueue::<u8>::unbounded();
    send(&q.put(1));
    send(&q.get());
    send(&q.join());

    let (tx, mut rx) = mpsc::channel::<String>(1);
    send(&tx.send(String::new()));
    send(&tx.reserve());
    send(&rx.recv());
    let (tx, mut rx) = watch::channel(0);
    send(&rx.changed());
    send(&rx.wait_for(|_| true));
    send(&tx.closed());
    let (_tx, mut rx) = broadcast::channel::<u8>(1);
    send(&rx.recv());
    let (tx, rx) = oneshot::channel::<u8>();
    send(&rx);
    send(&tx);

    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<RwLock<Vec<u8>>>();
    send_sync::<Semaphore>();
    send_sync::<Notify>();
    send_sync::<WorkQueue<u8>>();
    send_sync::<weft_sync::MutexGuard<'static, u8>>();
}
