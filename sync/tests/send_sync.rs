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

/// tokio's auto-trait bounds, which `tokio::` code renamed to `weft::`
/// relies on: `Y*` types are `Send`, `*Y` ones `Sync`, `N` the opposite.
/// A negative claim is checked by ambiguity: the `Invalid` impl applies only
/// when the trait holds, and then the call no longer compiles.
mod tokio_bounds {
    #![allow(dead_code, clippy::diverging_sub_expression)]

    use std::cell::Cell;
    use std::rc::Rc;

    #[derive(Clone)]
    struct YY;
    #[derive(Clone)]
    struct YN(Cell<u8>);
    #[derive(Clone)]
    struct NN(Rc<u8>);

    struct Invalid;
    trait AmbiguousIfSend<A> {
        fn some_item(&self) {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<Invalid> for T {}
    trait AmbiguousIfSync<A> {
        fn some_item(&self) {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<Invalid> for T {}

    fn require_send<T: Send>(_: &T) {}
    fn require_sync<T: Sync>(_: &T) {}
    fn require_unpin<T: Unpin>(_: &T) {}

    macro_rules! check {
        (@send Send, $v:ident) => {
            require_send(&$v)
        };
        (@send !Send, $v:ident) => {
            AmbiguousIfSend::some_item(&$v)
        };
        (@sync Sync, $v:ident) => {
            require_sync(&$v)
        };
        (@sync !Sync, $v:ident) => {
            AmbiguousIfSync::some_item(&$v)
        };
    }

    macro_rules! bounds {
        ($($ty:ty => [$($send:tt)+] [$($sync:tt)+];)*) => {$(
            #[allow(unreachable_code, unused_variables)]
            const _: fn() = || {
                let v: $ty = unreachable!("a compile-time check: never run");
                check!(@send $($send)+, v);
                check!(@sync $($sync)+, v);
                require_unpin(&v);
            };
        )*};
    }

    use weft_sync::*;

    bounds! {
        RwLock<NN> => [!Send] [!Sync];
        RwLock<YN> => [Send] [!Sync];
        RwLock<YY> => [Send] [Sync];
        RwLockReadGuard<'static, NN> => [!Send] [!Sync];
        RwLockReadGuard<'static, YN> => [!Send] [!Sync];
        RwLockReadGuard<'static, YY> => [Send] [Sync];
        RwLockWriteGuard<'static, NN> => [!Send] [!Sync];
        RwLockWriteGuard<'static, YN> => [!Send] [!Sync];
        RwLockWriteGuard<'static, YY> => [Send] [Sync];
        RwLockMappedWriteGuard<'static, NN> => [!Send] [!Sync];
        RwLockMappedWriteGuard<'static, YN> => [!Send] [!Sync];
        RwLockMappedWriteGuard<'static, YY> => [Send] [Sync];
        OwnedRwLockReadGuard<NN> => [!Send] [!Sync];
        OwnedRwLockReadGuard<YN> => [!Send] [!Sync];
        OwnedRwLockReadGuard<YY> => [Send] [Sync];
        OwnedRwLockReadGuard<YY, YN> => [!Send] [!Sync];
        OwnedRwLockWriteGuard<NN> => [!Send] [!Sync];
        OwnedRwLockWriteGuard<YN> => [!Send] [!Sync];
        OwnedRwLockWriteGuard<YY> => [Send] [Sync];
        OwnedRwLockMappedWriteGuard<NN> => [!Send] [!Sync];
        OwnedRwLockMappedWriteGuard<YN> => [!Send] [!Sync];
        OwnedRwLockMappedWriteGuard<YY> => [Send] [Sync];
        OwnedRwLockMappedWriteGuard<YY, YN> => [!Send] [!Sync];
        Mutex<NN> => [!Send] [!Sync];
        Mutex<YN> => [Send] [Sync];
        MutexGuard<'static, YN> => [Send] [!Sync];
        MutexGuard<'static, YY> => [Send] [Sync];
        MappedMutexGuard<'static, YN> => [Send] [!Sync];
        OwnedMutexGuard<YN> => [Send] [!Sync];
        OwnedMappedMutexGuard<YN, YY> => [Send] [!Sync];
        OwnedMappedMutexGuard<YY, YN> => [Send] [!Sync];
        OwnedMappedMutexGuard<YY, NN> => [!Send] [!Sync];
        OwnedMappedMutexGuard<YY, YY> => [Send] [Sync];
        mpsc::Receiver<YN> => [Send] [Sync];
        mpsc::Receiver<NN> => [!Send] [!Sync];
        mpsc::UnboundedReceiver<YN> => [Send] [Sync];
        broadcast::Sender<YN> => [Send] [Sync];
        broadcast::Receiver<YN> => [Send] [Sync];
        broadcast::Receiver<NN> => [!Send] [!Sync];
        broadcast::WeakSender<YN> => [Send] [Sync];
    }

    // The receive futures hold no `T` across an await: `Sync` with `T: Send`.
    // The `Notified` futures are `!Unpin` (they link themselves in place).
    #[allow(unreachable_code, unused_variables)]
    const _: fn() = || {
        let n: futures::Notified<'static> = unreachable!("a compile-time check: never run");
        require_send(&n);
        require_sync(&n);
        let n: futures::OwnedNotified = unreachable!("a compile-time check: never run");
        require_send(&n);
        require_sync(&n);
        let rx: &mut broadcast::Receiver<YN> = unreachable!("a compile-time check: never run");
        let f = rx.recv();
        require_send(&f);
        require_sync(&f);
        let rx: &mut mpsc::Receiver<YN> = unreachable!("a compile-time check: never run");
        let f = rx.recv();
        require_send(&f);
        require_sync(&f);
    };
}

#[test]
fn notify_is_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Notify>();
}

/// A broadcast of a `Send`-but-not-`Sync` message works across threads:
/// each receiver clones under the slot lock, never concurrently.
#[test]
fn broadcast_of_a_send_only_type_across_threads() {
    #[derive(Clone)]
    struct NotSync(std::cell::Cell<u32>);
    let (tx, rx) = broadcast::channel::<NotSync>(8);
    let receivers: Vec<_> = (0..4).map(|_| tx.subscribe()).collect();
    drop(rx);
    let handles: Vec<_> = receivers
        .into_iter()
        .map(|mut rx| {
            std::thread::spawn(move || {
                let mut sum = 0;
                while let Ok(m) = futures::executor::block_on(rx.recv()) {
                    sum += m.0.get();
                }
                sum
            })
        })
        .collect();
    for i in 1..=8 {
        tx.send(NotSync(std::cell::Cell::new(i))).unwrap();
    }
    drop(tx);
    for h in handles {
        assert_eq!(h.join().unwrap(), 36);
    }
}

/// An mpsc receiver of a `Send`-only type shared by reference: its `&self`
/// methods reach no message.
#[test]
fn mpsc_receiver_of_a_send_only_type_is_shared_by_reference() {
    let (tx, rx) = mpsc::channel::<std::cell::Cell<u8>>(4);
    tx.try_send(std::cell::Cell::new(1)).unwrap();
    let rx = Arc::new(rx);
    let r2 = rx.clone();
    let (len, closed) = std::thread::spawn(move || (r2.len(), r2.is_closed()))
        .join()
        .unwrap();
    assert_eq!((len, closed), (1, false));
}
