//! weft-sync's channels on the multi-threaded weft runtime: 8 producers and
//! one consumer over 1,000,000 messages per channel, none lost or
//! duplicated, per-producer order kept; dropping every sender ends the
//! receiver's stream.

use weft::sync::{broadcast, mpsc, WorkQueue};

const PRODUCERS: u64 = 8;
const TOTAL: u64 = 1_000_000;
const PER: u64 = TOTAL / PRODUCERS;

/// Checks one received value: not seen before, in order for its producer.
struct Tally {
    seen: Vec<bool>,
    last: Vec<Option<u64>>,
    count: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            seen: vec![false; TOTAL as usize],
            last: vec![None; PRODUCERS as usize],
            count: 0,
        }
    }

    fn record(&mut self, v: u64) {
        assert!(
            !std::mem::replace(&mut self.seen[v as usize], true),
            "{v} twice"
        );
        let p = (v / PER) as usize;
        assert!(
            self.last[p].is_none_or(|l| l < v),
            "producer {p} out of order"
        );
        self.last[p] = Some(v);
        self.count += 1;
    }

    fn finish(self) {
        assert_eq!(self.count, TOTAL, "messages lost");
    }
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpsc_bounded_8_producers_1m_messages() {
    let (tx, mut rx) = mpsc::channel(1024);
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        weft::spawn(async move {
            for i in 0..PER {
                tx.send(p * PER + i).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut tally = Tally::new();
    let mut buf = Vec::with_capacity(256);
    while rx.recv_many(&mut buf, 256).await > 0 {
        for v in buf.drain(..) {
            tally.record(v);
        }
    }
    tally.finish();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpsc_unbounded_8_producers_1m_messages() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        weft::spawn(async move {
            for i in 0..PER {
                tx.send(p * PER + i).unwrap();
                if i % 1024 == 0 {
                    weft::task::yield_now().await;
                }
            }
        });
    }
    drop(tx);
    let mut tally = Tally::new();
    while let Some(v) = rx.recv().await {
        tally.record(v);
    }
    tally.finish();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_8_producers_1m_messages() {
    // A ring as big as the run, so a slow receiver cannot lag: every
    // message must arrive.
    let (tx, mut rx) = broadcast::channel(TOTAL as usize);
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        weft::spawn(async move {
            for i in 0..PER {
                tx.send(p * PER + i).unwrap();
                if i % 1024 == 0 {
                    weft::task::yield_now().await;
                }
            }
        });
    }
    drop(tx);
    let mut tally = Tally::new();
    loop {
        match rx.recv().await {
            Ok(v) => tally.record(v),
            Err(broadcast::error::RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    tally.finish();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_queue_8_producers_1m_items_and_join() {
    let q = std::sync::Arc::new(WorkQueue::bounded(1024));
    for p in 0..PRODUCERS {
        let q = q.clone();
        weft::spawn(async move {
            for i in 0..PER {
                q.put(p * PER + i).await;
            }
        });
    }
    let consumer = {
        let q = q.clone();
        weft::spawn(async move {
            let mut tally = Tally::new();
            for _ in 0..TOTAL {
                tally.record(q.get().await);
                q.task_done();
            }
            tally
        })
    };
    let tally = consumer.await.unwrap();
    q.join().await;
    assert_eq!(q.unfinished(), 0);
    tally.finish();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_receiver_fails_sends_with_the_value() {
    let (tx, rx) = mpsc::channel::<String>(1);
    tx.send("fills".into()).await.unwrap();
    let blocked = {
        let tx = tx.clone();
        weft::spawn(async move { tx.send("waits".into()).await })
    };
    // The spawned send must be queued for room before we drop the receiver;
    // either way it must fail with its value once the receiver is gone.
    drop(rx);
    assert_eq!(blocked.await.unwrap().unwrap_err().0, "waits");
    assert_eq!(tx.send("late".into()).await.unwrap_err().0, "late");

    let (tx, rx) = broadcast::channel::<u8>(4);
    drop(rx);
    assert_eq!(tx.send(1).unwrap_err().0, 1);
}
