//! Catalogue entry 6: A timeout that fires after the operation already had its side
//! effect: the client gives a payment request 100 ms, the server takes
//! 100 ms and then charges. When the client's timer is served first it
//! retries, and the server charges the retry too. Fixed: the request
//! carries an idempotency key, and the server charges a key once.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use weft::sync::{mpsc, oneshot};
use weft::time::{sleep, timeout};

type Request = (u64, oneshot::Sender<()>);

async fn run(idempotent: bool) {
    let ledger = Arc::new(StdMutex::new(Vec::new()));
    let (requests, mut incoming) = mpsc::channel::<Request>(4);
    let server = {
        let ledger = ledger.clone();
        weft::spawn(async move {
            while let Some((key, reply)) = incoming.recv().await {
                sleep(Duration::from_millis(100)).await;
                {
                    let mut ledger = ledger.lock().unwrap();
                    if !(idempotent && ledger.contains(&key)) {
                        ledger.push(key);
                    }
                }
                let _ = reply.send(());
            }
        })
    };
    let key = 7;
    for _attempt in 0..3 {
        let (reply, answer) = oneshot::channel();
        requests.send((key, reply)).await.unwrap();
        if timeout(Duration::from_millis(100), answer).await.is_ok() {
            break;
        }
    }
    drop(requests);
    server.await.unwrap();
    assert_eq!(ledger.lock().unwrap().len(), 1, "charged twice");
}

async fn buggy() {
    run(false).await;
}

async fn fixed() {
    run(true).await;
}

entry!(Expect::Panic("charged twice"));
