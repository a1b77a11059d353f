//! The three sync libraries behind one trait, so every sync workload is
//! written once.
//!
//! Each runtime column uses its own ecosystem's primitives: weft runs
//! `weft::sync`, tokio runs `tokio::sync`, smol runs `async-lock` (mutex,
//! rwlock, semaphore) and `async-channel` (mpsc, and `bounded(1)` as its
//! oneshot), the crates smol re-exports as `smol::lock` / `smol::channel`.
//! Neither has a notify, watch or broadcast; for those rows the smol column
//! runs `tokio::sync` (runtime-agnostic) on smol's executor, so its cell
//! measures tokio's primitive under another scheduler, not a smol one.

// The trait's methods return `impl Future + Send` so generic workloads can
// spawn them; the impls spell that out rather than use `async fn`.
#![allow(clippy::manual_async_fn)]

use std::future::Future;

/// One sync library: the operations the workloads need, each a thin call
/// into the library (no extra boxing or locking of ours).
pub trait Lib: 'static {
    type Mutex<T: Send + 'static>: Send + Sync + 'static;
    fn mutex<T: Send + 'static>(value: T) -> Self::Mutex<T>;
    fn with_lock<'a, T: Send + 'static, O: Send + 'a>(
        m: &'a Self::Mutex<T>,
        f: impl FnOnce(&mut T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a;

    type RwLock<T: Send + Sync + 'static>: Send + Sync + 'static;
    fn rwlock<T: Send + Sync + 'static>(value: T) -> Self::RwLock<T>;
    fn with_read<'a, T: Send + Sync + 'static, O: Send + 'a>(
        l: &'a Self::RwLock<T>,
        f: impl FnOnce(&T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a;

    /// Holds the write lock until `until` completes.
    fn hold_write<'a, T: Send + Sync + 'static>(
        l: &'a Self::RwLock<T>,
        until: impl Future<Output = ()> + Send + 'a,
    ) -> impl Future<Output = ()> + Send + 'a;

    type Semaphore: Send + Sync + 'static;
    fn semaphore(permits: usize) -> Self::Semaphore;
    /// Acquires one permit, runs `f`, releases.
    fn with_permit<'a, O: Send + 'a>(
        s: &'a Self::Semaphore,
        f: impl FnOnce() -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a;

    type Notify: Send + Sync + 'static;
    fn notify() -> Self::Notify;
    fn notified(n: &Self::Notify) -> impl Future<Output = ()> + Send + '_;
    fn notify_one(n: &Self::Notify);
    fn notify_waiters(n: &Self::Notify);

    type Tx<T: Send + 'static>: Clone + Send + Sync + 'static;
    type Rx<T: Send + 'static>: Send + 'static;
    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Tx<T>, Self::Rx<T>);
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = ()> + Send + '_;
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>)
        -> impl Future<Output = Option<T>> + Send + '_;

    type UTx<T: Send + 'static>: Clone + Send + Sync + 'static;
    type URx<T: Send + 'static>: Send + 'static;
    fn unbounded<T: Send + 'static>() -> (Self::UTx<T>, Self::URx<T>);
    fn usend<T: Send + 'static>(tx: &Self::UTx<T>, value: T);
    fn urecv<T: Send + 'static>(
        rx: &mut Self::URx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_;

    type OTx<T: Send + 'static>: Send + 'static;
    type ORx<T: Send + 'static>: Send + 'static;
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>);
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, value: T);
    fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> impl Future<Output = T> + Send;

    type WTx: Send + Sync + 'static;
    type WRx: Send + 'static;
    fn watch(init: u64) -> (Self::WTx, Self::WRx);
    fn wsubscribe(tx: &Self::WTx) -> Self::WRx;
    fn wsend(tx: &Self::WTx, value: u64);
    /// Waits for a change and reads it; `None` once the sender is gone.
    fn wchanged(rx: &mut Self::WRx) -> impl Future<Output = Option<u64>> + Send + '_;

    type BTx: Clone + Send + Sync + 'static;
    type BRx: Send + 'static;
    fn broadcast(capacity: usize) -> (Self::BTx, Self::BRx);
    fn bsubscribe(tx: &Self::BTx) -> Self::BRx;
    fn bsend(tx: &Self::BTx, value: u64);
    /// The next message; `None` once closed; panics on a lag (the
    /// workloads size the ring so nobody lags).
    fn brecv(rx: &mut Self::BRx) -> impl Future<Output = Option<u64>> + Send + '_;
}

pub struct WeftLib;
pub struct TokioLib;
pub struct SmolLib;

use weft::sync as ws;

impl Lib for WeftLib {
    type Mutex<T: Send + 'static> = ws::Mutex<T>;
    fn mutex<T: Send + 'static>(value: T) -> Self::Mutex<T> {
        ws::Mutex::new(value)
    }
    fn with_lock<'a, T: Send + 'static, O: Send + 'a>(
        m: &'a Self::Mutex<T>,
        f: impl FnOnce(&mut T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move { f(&mut *m.lock().await) }
    }

    type RwLock<T: Send + Sync + 'static> = ws::RwLock<T>;
    fn rwlock<T: Send + Sync + 'static>(value: T) -> Self::RwLock<T> {
        ws::RwLock::new(value)
    }
    fn with_read<'a, T: Send + Sync + 'static, O: Send + 'a>(
        l: &'a Self::RwLock<T>,
        f: impl FnOnce(&T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move { f(&*l.read().await) }
    }

    fn hold_write<'a, T: Send + Sync + 'static>(
        l: &'a Self::RwLock<T>,
        until: impl Future<Output = ()> + Send + 'a,
    ) -> impl Future<Output = ()> + Send + 'a {
        async move {
            let _guard = l.write().await;
            until.await
        }
    }

    type Semaphore = ws::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        ws::Semaphore::new(permits)
    }
    fn with_permit<'a, O: Send + 'a>(
        s: &'a Self::Semaphore,
        f: impl FnOnce() -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move {
            let _p = s.acquire().await.unwrap();
            f()
        }
    }

    type Notify = ws::Notify;
    fn notify() -> Self::Notify {
        ws::Notify::new()
    }
    fn notified(n: &Self::Notify) -> impl Future<Output = ()> + Send + '_ {
        n.notified()
    }
    fn notify_one(n: &Self::Notify) {
        n.notify_one()
    }
    fn notify_waiters(n: &Self::Notify) {
        n.notify_waiters()
    }

    type Tx<T: Send + 'static> = ws::mpsc::Sender<T>;
    type Rx<T: Send + 'static> = ws::mpsc::Receiver<T>;
    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        ws::mpsc::channel(capacity)
    }
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = ()> + Send + '_ {
        async move {
            tx.send(value)
                .await
                .unwrap_or_else(|_| panic!("weft mpsc closed"))
        }
    }
    fn recv<T: Send + 'static>(
        rx: &mut Self::Rx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_ {
        rx.recv()
    }

    type UTx<T: Send + 'static> = ws::mpsc::UnboundedSender<T>;
    type URx<T: Send + 'static> = ws::mpsc::UnboundedReceiver<T>;
    fn unbounded<T: Send + 'static>() -> (Self::UTx<T>, Self::URx<T>) {
        ws::mpsc::unbounded_channel()
    }
    fn usend<T: Send + 'static>(tx: &Self::UTx<T>, value: T) {
        tx.send(value)
            .unwrap_or_else(|_| panic!("weft mpsc closed"))
    }
    fn urecv<T: Send + 'static>(
        rx: &mut Self::URx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_ {
        rx.recv()
    }

    type OTx<T: Send + 'static> = ws::oneshot::Sender<T>;
    type ORx<T: Send + 'static> = ws::oneshot::Receiver<T>;
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>) {
        ws::oneshot::channel()
    }
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, value: T) {
        tx.send(value)
            .unwrap_or_else(|_| panic!("weft oneshot closed"))
    }
    fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> impl Future<Output = T> + Send {
        async move { rx.await.expect("weft oneshot sender dropped") }
    }

    type WTx = ws::watch::Sender<u64>;
    type WRx = ws::watch::Receiver<u64>;
    fn watch(init: u64) -> (Self::WTx, Self::WRx) {
        ws::watch::channel(init)
    }
    fn wsubscribe(tx: &Self::WTx) -> Self::WRx {
        tx.subscribe()
    }
    fn wsend(tx: &Self::WTx, value: u64) {
        tx.send(value)
            .unwrap_or_else(|_| panic!("weft watch closed"))
    }
    fn wchanged(rx: &mut Self::WRx) -> impl Future<Output = Option<u64>> + Send + '_ {
        async move {
            rx.changed().await.ok()?;
            Some(*rx.borrow_and_update())
        }
    }

    type BTx = ws::broadcast::Sender<u64>;
    type BRx = ws::broadcast::Receiver<u64>;
    fn broadcast(capacity: usize) -> (Self::BTx, Self::BRx) {
        ws::broadcast::channel(capacity)
    }
    fn bsubscribe(tx: &Self::BTx) -> Self::BRx {
        tx.subscribe()
    }
    fn bsend(tx: &Self::BTx, value: u64) {
        tx.send(value)
            .unwrap_or_else(|_| panic!("weft broadcast closed"));
    }
    fn brecv(rx: &mut Self::BRx) -> impl Future<Output = Option<u64>> + Send + '_ {
        async move {
            match rx.recv().await {
                Ok(v) => Some(v),
                Err(ws::broadcast::error::RecvError::Closed) => None,
                Err(e) => panic!("weft broadcast: {e}"),
            }
        }
    }
}

/// tokio's notify/watch/broadcast, shared by the tokio and smol columns.
macro_rules! tokio_notify_watch_broadcast {
    () => {
        type Notify = tokio::sync::Notify;
        fn notify() -> Self::Notify {
            tokio::sync::Notify::new()
        }
        fn notified(n: &Self::Notify) -> impl Future<Output = ()> + Send + '_ {
            n.notified()
        }
        fn notify_one(n: &Self::Notify) {
            n.notify_one()
        }
        fn notify_waiters(n: &Self::Notify) {
            n.notify_waiters()
        }

        type WTx = tokio::sync::watch::Sender<u64>;
        type WRx = tokio::sync::watch::Receiver<u64>;
        fn watch(init: u64) -> (Self::WTx, Self::WRx) {
            tokio::sync::watch::channel(init)
        }
        fn wsubscribe(tx: &Self::WTx) -> Self::WRx {
            tx.subscribe()
        }
        fn wsend(tx: &Self::WTx, value: u64) {
            tx.send(value)
                .unwrap_or_else(|_| panic!("tokio watch closed"))
        }
        fn wchanged(rx: &mut Self::WRx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move {
                rx.changed().await.ok()?;
                Some(*rx.borrow_and_update())
            }
        }

        type BTx = tokio::sync::broadcast::Sender<u64>;
        type BRx = tokio::sync::broadcast::Receiver<u64>;
        fn broadcast(capacity: usize) -> (Self::BTx, Self::BRx) {
            tokio::sync::broadcast::channel(capacity)
        }
        fn bsubscribe(tx: &Self::BTx) -> Self::BRx {
            tx.subscribe()
        }
        fn bsend(tx: &Self::BTx, value: u64) {
            tx.send(value)
                .unwrap_or_else(|_| panic!("tokio broadcast closed"));
        }
        fn brecv(rx: &mut Self::BRx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move {
                match rx.recv().await {
                    Ok(v) => Some(v),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
                    Err(e) => panic!("tokio broadcast: {e}"),
                }
            }
        }
    };
}

impl Lib for TokioLib {
    type Mutex<T: Send + 'static> = tokio::sync::Mutex<T>;
    fn mutex<T: Send + 'static>(value: T) -> Self::Mutex<T> {
        tokio::sync::Mutex::new(value)
    }
    fn with_lock<'a, T: Send + 'static, O: Send + 'a>(
        m: &'a Self::Mutex<T>,
        f: impl FnOnce(&mut T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move { f(&mut *m.lock().await) }
    }

    type RwLock<T: Send + Sync + 'static> = tokio::sync::RwLock<T>;
    fn rwlock<T: Send + Sync + 'static>(value: T) -> Self::RwLock<T> {
        tokio::sync::RwLock::new(value)
    }
    fn with_read<'a, T: Send + Sync + 'static, O: Send + 'a>(
        l: &'a Self::RwLock<T>,
        f: impl FnOnce(&T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move { f(&*l.read().await) }
    }

    fn hold_write<'a, T: Send + Sync + 'static>(
        l: &'a Self::RwLock<T>,
        until: impl Future<Output = ()> + Send + 'a,
    ) -> impl Future<Output = ()> + Send + 'a {
        async move {
            let _guard = l.write().await;
            until.await
        }
    }

    type Semaphore = tokio::sync::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        tokio::sync::Semaphore::new(permits)
    }
    fn with_permit<'a, O: Send + 'a>(
        s: &'a Self::Semaphore,
        f: impl FnOnce() -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move {
            let _p = s.acquire().await.unwrap();
            f()
        }
    }

    type Tx<T: Send + 'static> = tokio::sync::mpsc::Sender<T>;
    type Rx<T: Send + 'static> = tokio::sync::mpsc::Receiver<T>;
    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::mpsc::channel(capacity)
    }
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = ()> + Send + '_ {
        async move {
            tx.send(value)
                .await
                .unwrap_or_else(|_| panic!("tokio mpsc closed"))
        }
    }
    fn recv<T: Send + 'static>(
        rx: &mut Self::Rx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_ {
        rx.recv()
    }

    type UTx<T: Send + 'static> = tokio::sync::mpsc::UnboundedSender<T>;
    type URx<T: Send + 'static> = tokio::sync::mpsc::UnboundedReceiver<T>;
    fn unbounded<T: Send + 'static>() -> (Self::UTx<T>, Self::URx<T>) {
        tokio::sync::mpsc::unbounded_channel()
    }
    fn usend<T: Send + 'static>(tx: &Self::UTx<T>, value: T) {
        tx.send(value)
            .unwrap_or_else(|_| panic!("tokio mpsc closed"))
    }
    fn urecv<T: Send + 'static>(
        rx: &mut Self::URx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_ {
        rx.recv()
    }

    type OTx<T: Send + 'static> = tokio::sync::oneshot::Sender<T>;
    type ORx<T: Send + 'static> = tokio::sync::oneshot::Receiver<T>;
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>) {
        tokio::sync::oneshot::channel()
    }
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, value: T) {
        tx.send(value)
            .unwrap_or_else(|_| panic!("tokio oneshot closed"))
    }
    fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> impl Future<Output = T> + Send {
        async move { rx.await.expect("tokio oneshot sender dropped") }
    }

    tokio_notify_watch_broadcast!();
}

impl Lib for SmolLib {
    type Mutex<T: Send + 'static> = async_lock::Mutex<T>;
    fn mutex<T: Send + 'static>(value: T) -> Self::Mutex<T> {
        async_lock::Mutex::new(value)
    }
    fn with_lock<'a, T: Send + 'static, O: Send + 'a>(
        m: &'a Self::Mutex<T>,
        f: impl FnOnce(&mut T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move { f(&mut *m.lock().await) }
    }

    type RwLock<T: Send + Sync + 'static> = async_lock::RwLock<T>;
    fn rwlock<T: Send + Sync + 'static>(value: T) -> Self::RwLock<T> {
        async_lock::RwLock::new(value)
    }
    fn with_read<'a, T: Send + Sync + 'static, O: Send + 'a>(
        l: &'a Self::RwLock<T>,
        f: impl FnOnce(&T) -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move { f(&*l.read().await) }
    }

    fn hold_write<'a, T: Send + Sync + 'static>(
        l: &'a Self::RwLock<T>,
        until: impl Future<Output = ()> + Send + 'a,
    ) -> impl Future<Output = ()> + Send + 'a {
        async move {
            let _guard = l.write().await;
            until.await
        }
    }

    type Semaphore = async_lock::Semaphore;
    fn semaphore(permits: usize) -> Self::Semaphore {
        async_lock::Semaphore::new(permits)
    }
    fn with_permit<'a, O: Send + 'a>(
        s: &'a Self::Semaphore,
        f: impl FnOnce() -> O + Send + 'a,
    ) -> impl Future<Output = O> + Send + 'a {
        async move {
            let _p = s.acquire().await;
            f()
        }
    }

    type Tx<T: Send + 'static> = async_channel::Sender<T>;
    type Rx<T: Send + 'static> = async_channel::Receiver<T>;
    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        async_channel::bounded(capacity)
    }
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = ()> + Send + '_ {
        async move {
            tx.send(value)
                .await
                .unwrap_or_else(|_| panic!("async-channel closed"))
        }
    }
    fn recv<T: Send + 'static>(
        rx: &mut Self::Rx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_ {
        async move { rx.recv().await.ok() }
    }

    type UTx<T: Send + 'static> = async_channel::Sender<T>;
    type URx<T: Send + 'static> = async_channel::Receiver<T>;
    fn unbounded<T: Send + 'static>() -> (Self::UTx<T>, Self::URx<T>) {
        async_channel::unbounded()
    }
    fn usend<T: Send + 'static>(tx: &Self::UTx<T>, value: T) {
        tx.try_send(value)
            .unwrap_or_else(|_| panic!("async-channel closed"))
    }
    fn urecv<T: Send + 'static>(
        rx: &mut Self::URx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_ {
        async move { rx.recv().await.ok() }
    }

    type OTx<T: Send + 'static> = async_channel::Sender<T>;
    type ORx<T: Send + 'static> = async_channel::Receiver<T>;
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>) {
        async_channel::bounded(1)
    }
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, value: T) {
        tx.try_send(value)
            .unwrap_or_else(|_| panic!("async-channel closed"))
    }
    fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> impl Future<Output = T> + Send {
        async move { rx.recv().await.expect("async-channel sender dropped") }
    }

    tokio_notify_watch_broadcast!();
}
