//! Catalogue entry 3: `Notify::notify_waiters` before the waiter registered: it wakes only
//! the waiters there are, so a worker that has not reached
//! `notified().await` yet misses "the config is ready" and waits forever.
//! Fixed: `notify_one`, whose permit is kept for a waiter that comes later.

use std::sync::{Arc, Mutex as StdMutex};

use weft::sync::Notify;

async fn run(use_permit: bool) {
    let ready = Arc::new(Notify::new());
    let config = Arc::new(StdMutex::new(None));
    let worker = {
        let (ready, config) = (ready.clone(), config.clone());
        weft::spawn(async move {
            ready.notified().await;
            config
                .lock()
                .unwrap()
                .expect("notified before the config was set")
        })
    };
    let loader = weft::spawn(async move {
        *config.lock().unwrap() = Some(42);
        if use_permit {
            ready.notify_one();
        } else {
            ready.notify_waiters();
        }
    });
    loader.await.unwrap();
    assert_eq!(worker.await.unwrap(), 42);
}

async fn buggy() {
    run(false).await;
}

async fn fixed() {
    run(true).await;
}

entry!(Expect::Deadlock);
