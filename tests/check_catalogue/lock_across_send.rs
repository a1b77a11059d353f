//! Catalogue entry 4: A producer holds the state lock while it sends a batch into a full
//! bounded channel, and the consumer needs that lock after each message
//! it takes: when the producer starts its next batch before the consumer
//! asks for the lock, neither moves. Fixed: the guard is dropped before
//! the sends.

use std::sync::Arc;

use weft::sync::{mpsc, Mutex};

async fn run(release_before_send: bool) {
    let state = Arc::new(Mutex::new(Vec::new()));
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    let producer = {
        let state = state.clone();
        weft::spawn(async move {
            // Two batches; each is recorded as pending, then sent.
            for batch in [[0, 1], [2, 3]] {
                let mut pending = state.lock().await;
                pending.extend(batch);
                if release_before_send {
                    drop(pending);
                }
                for i in batch {
                    tx.send(i).await.unwrap();
                }
            }
        })
    };
    let consumer = weft::spawn(async move {
        let mut seen = 0;
        while let Some(i) = rx.recv().await {
            let mut pending = state.lock().await;
            pending.retain(|&p| p != i);
            seen += 1;
        }
        seen
    });
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), 4);
}

async fn buggy() {
    run(false).await;
}

async fn fixed() {
    run(true).await;
}

entry!(Expect::Deadlock);
