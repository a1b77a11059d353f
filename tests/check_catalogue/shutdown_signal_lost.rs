//! Catalogue entry 8: From a real report: octos-org/octos issue 927,
//! <https://github.com/octos-org/octos/issues/927>, "pre-existing Notify
//! lost-wake races": in its gateway, `shutdown_notify.notify_waiters()`
//! fired while the loop was handling an inbound message, when no
//! `notified()` future existed; the next iteration made a fresh one after
//! the notification, and an idle gateway ignored Ctrl+C. Here, the same
//! loop: a gateway selects between inbound messages and shutdown. Fixed as
//! in that report: a latch flag, and each iteration makes its `Notified`
//! before it checks the flag, so a notification between the two is kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use weft::sync::{mpsc, Notify};

#[derive(Default)]
struct Shutdown {
    requested: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    fn trigger(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

async fn handle(_message: u32) {
    weft::task::yield_now().await;
}

async fn gateway_buggy(shutdown: Arc<Shutdown>, mut inbound: mpsc::Receiver<u32>) {
    loop {
        weft::select! {
            Some(message) = inbound.recv() => handle(message).await,
            _ = shutdown.notify.notified() => break,
        }
    }
}

async fn gateway_fixed(shutdown: Arc<Shutdown>, mut inbound: mpsc::Receiver<u32>) {
    loop {
        let notified = shutdown.notify.notified();
        if shutdown.requested.load(Ordering::SeqCst) {
            break;
        }
        weft::select! {
            Some(message) = inbound.recv() => handle(message).await,
            _ = notified => break,
        }
    }
}

async fn run(fixed: bool) {
    let shutdown = Arc::new(Shutdown::default());
    let (tx, rx) = mpsc::channel(4);
    let gateway = if fixed {
        weft::spawn(gateway_fixed(shutdown.clone(), rx))
    } else {
        weft::spawn(gateway_buggy(shutdown.clone(), rx))
    };
    tx.send(1).await.unwrap();
    weft::task::yield_now().await;
    // Ctrl+C.
    shutdown.trigger();
    // The gateway must stop although `tx` is still open.
    gateway.await.unwrap();
    drop(tx);
}

async fn buggy() {
    run(false).await;
}

async fn fixed() {
    run(true).await;
}

entry!(Expect::Deadlock);
