//! oneshot, mpsc, watch, broadcast: delivery, closing, values handed back,
//! cancel-safety, and many producers on threads (no message lost or
//! duplicated).

mod common;

use std::sync::Arc;

use common::Task;
use futures::executor::block_on;
use futures::StreamExt;
use weft_sync::{broadcast, mpsc, oneshot, watch, Semaphore};

// ---- oneshot ----

#[test]
fn oneshot_delivers_and_wakes() {
    let (tx, rx) = oneshot::channel();
    let mut rx = Task::new(rx);
    rx.pending();
    tx.send(5).unwrap();
    assert!(rx.woken());
    assert_eq!(rx.ready(), Ok(5));
}

#[test]
fn oneshot_sender_drop_is_an_error() {
    let (tx, rx) = oneshot::channel::<u8>();
    let mut rx = Task::new(rx);
    rx.pending();
    drop(tx);
    assert!(rx.woken());
    let err = rx.ready().unwrap_err();
    assert_eq!(
        err.to_string(),
        "channel closed: the sender was dropped without sending"
    );
}

#[test]
fn oneshot_receiver_drop_returns_the_value_and_wakes_closed() {
    let (mut tx, rx) = oneshot::channel::<String>();
    let mut closed = Task::new(async move {
        tx.closed().await;
        tx
    });
    closed.pending();
    drop(rx);
    assert!(closed.woken());
    let tx = closed.ready();
    assert!(tx.is_closed());
    assert_eq!(tx.send("v".into()).unwrap_err(), "v");
}

#[test]
fn oneshot_try_recv_and_close() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
    tx.send(1).unwrap();
    rx.close(); // a value sent before close stays receivable
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed));

    let (tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert_eq!(tx.send(3), Err(3));
    assert!(block_on(rx).is_err());
}

#[test]
fn oneshot_receiver_switching_wakers_is_woken_on_the_last() {
    let (tx, rx) = oneshot::channel();
    let mut a = Task::new(rx);
    a.pending();
    // Move the receiver to a fresh waker: poll through another Task.
    let rx = std::mem::replace(&mut a.fut, Box::pin(oneshot::channel().1));
    let mut b = Task::new(rx);
    b.pending();
    tx.send(2).unwrap();
    assert!(b.woken());
    assert_eq!(b.ready(), Ok(2));
}

#[test]
fn oneshot_across_threads() {
    for i in 0..if cfg!(miri) { 5 } else { 500 } {
        let (tx, rx) = oneshot::channel();
        let t = std::thread::spawn(move || tx.send(i).unwrap());
        assert_eq!(block_on(rx), Ok(i));
        t.join().unwrap();
    }
}

// ---- mpsc ----

#[test]
fn bounded_backpressure_and_try_send() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    match tx.try_send(3) {
        Err(mpsc::error::TrySendError::Full(3)) => {}
        other => panic!("expected Full(3), got {other:?}"),
    }
    let tx2 = tx.clone();
    let mut blocked = Task::new(async move { tx2.send(3).await });
    blocked.pending();
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(blocked.woken());
    blocked.ready().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty));
    assert_eq!(tx.capacity(), 2);
}

/// A slot the receiver frees is free at once for every kind of taker
/// (the receiver keeps freed slots on its own side until one is wanted),
/// and a queued reserve still goes first.
#[test]
fn a_freed_slot_is_free_at_once_and_queued_senders_go_first() {
    let (tx, mut rx) = mpsc::channel(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((tx.capacity(), rx.capacity()), (1, 1));
    tx.try_send(3).unwrap();
    assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Ok(2)));
    assert_eq!(tx.capacity(), 2);
    let two = tx.try_reserve_many(2).unwrap();
    drop(two);
    // Full again; a reserve of two queues, and a slot freed goes to it, not
    // to a later `try_send`.
    tx.try_send(4).unwrap();
    tx.try_send(5).unwrap();
    let tx2 = tx.clone();
    let mut queued = Task::new(async move { tx2.reserve_many(2).await.map(|p| p.len()) });
    queued.pending();
    assert_eq!(rx.try_recv(), Ok(3));
    assert!(matches!(
        tx.try_send(9),
        Err(mpsc::error::TrySendError::Full(9))
    ));
    assert_eq!(rx.try_recv(), Ok(4));
    assert!(queued.woken());
    assert_eq!(queued.ready(), Ok(2));
    // Its two permits went back unused with the task's future.
    assert_eq!(tx.capacity(), 2);
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(tx.capacity(), 3);
}

#[test]
fn bounded_receiver_drop_fails_waiting_and_later_sends_with_the_value() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(String::from("queued")).unwrap();
    let tx2 = tx.clone();
    let mut waiting = Task::new(async move { tx2.send(String::from("w")).await });
    waiting.pending();
    drop(rx);
    assert!(waiting.woken());
    assert_eq!(waiting.ready().unwrap_err().0, "w");
    assert_eq!(block_on(tx.send("late".into())).unwrap_err().0, "late");
    assert!(
        matches!(tx.try_send("t".into()), Err(mpsc::error::TrySendError::Closed(s)) if s == "t")
    );
    assert!(tx.is_closed());
    block_on(tx.closed());
}

#[test]
fn dropping_all_senders_ends_the_stream() {
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    let tx2 = tx.clone();
    assert_eq!(rx.sender_strong_count(), 2);
    let mut next = Task::new(async move { rx.recv().await.map(|_| ()).ok_or(rx) });
    next.pending();
    drop(tx);
    assert!(!next.woken());
    drop(tx2);
    assert!(next.woken());
    let mut rx = next.ready().unwrap_err();
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected));

    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let all: Vec<i32> = block_on(rx.collect());
    assert_eq!(all, [0, 1, 2, 3, 4]);
}

#[test]
fn receiver_close_keeps_queued_messages() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(tx.send(2).unwrap_err().0, 2);
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(block_on(rx.recv()), None);
    assert_eq!(mpsc::error::SendError(()).to_string(), "channel closed",);
}

#[test]
fn reserve_is_cancel_safe_and_keeps_the_value_with_the_caller() {
    let (tx, mut rx) = mpsc::channel(1);
    let held = tx.try_reserve().unwrap();
    let mut waiting = Task::new(tx.reserve());
    waiting.pending();
    drop(held); // slot back: the waiting reserve is handed it
    assert!(waiting.woken());
    drop(waiting); // never used: the slot must come back again
    let permit = tx.try_reserve().unwrap();
    permit.send(7);
    assert_eq!(rx.try_recv(), Ok(7));
    let owned = block_on(tx.clone().reserve_owned()).unwrap();
    let back = owned.send(8);
    assert!(back.same_channel(&tx));
    assert_eq!(rx.try_recv(), Ok(8));
}

#[test]
fn recv_many_takes_what_is_there() {
    let (tx, mut rx) = mpsc::channel(16);
    for i in 0..10 {
        tx.try_send(i).unwrap();
    }
    let mut buf = Vec::new();
    assert_eq!(block_on(rx.recv_many(&mut buf, 4)), 4);
    assert_eq!(block_on(rx.recv_many(&mut buf, 100)), 6);
    assert_eq!(buf, (0..10).collect::<Vec<_>>());
    assert_eq!(tx.capacity(), 16, "slots released for every message");
    drop(tx);
    assert_eq!(block_on(rx.recv_many(&mut buf, 4)), 0);
}

#[test]
fn dropped_recv_future_loses_no_message() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    {
        let mut r = Task::new(rx.recv());
        r.pending();
        tx.send(1).unwrap();
        assert!(r.woken());
    } // dropped after the wakeup, before seeing the message
    assert_eq!(rx.try_recv(), Ok(1));
}

/// Producer threads in the many-producer tests, and messages from each:
/// 1,000,000 in all (a few dozen under miri).
const PRODUCERS: u64 = 8;
const PER_PRODUCER: u64 = if cfg!(miri) { 5 } else { 125_000 };

/// 8 producer threads send 1,000,000 numbers, each once, to 1 consumer,
/// which checks it gets every one exactly once and each producer's in
/// order.
fn many_producers<S, R>(
    make: impl Fn() -> (S, R),
    send: fn(&S, u64),
    recv: fn(&mut R) -> Option<u64>,
) where
    S: Clone + Send + 'static,
{
    let per = PER_PRODUCER;
    let (tx, mut rx) = make();
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    send(&tx, p * per + i);
                }
            })
        })
        .collect();
    drop(tx);
    let mut seen = vec![false; (PRODUCERS * per) as usize];
    let mut last = vec![None::<u64>; PRODUCERS as usize];
    let mut count = 0;
    while let Some(v) = recv(&mut rx) {
        assert!(!std::mem::replace(&mut seen[v as usize], true), "{v} twice");
        // Per producer, FIFO.
        let p = (v / per) as usize;
        assert!(last[p].is_none_or(|l| l < v));
        last[p] = Some(v);
        count += 1;
    }
    assert_eq!(count, PRODUCERS * per);
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn bounded_many_producers_no_loss_no_dup() {
    many_producers(
        || mpsc::channel(64),
        |tx, v| block_on(tx.send(v)).unwrap(),
        |rx| block_on(rx.recv()),
    );
}

#[test]
fn unbounded_many_producers_no_loss_no_dup() {
    many_producers(
        mpsc::unbounded_channel,
        |tx, v| tx.send(v).unwrap(),
        |rx| block_on(rx.recv()),
    );
}

// ---- watch ----

#[test]
fn watch_changed_sees_the_latest_value() {
    let (tx, mut rx) = watch::channel(0);
    assert!(!rx.has_changed().unwrap());
    let mut changed = Task::new(async move {
        rx.changed().await.unwrap();
        rx
    });
    changed.pending();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(changed.woken());
    let mut rx = changed.ready();
    assert_eq!(*rx.borrow(), 2);
    assert!(rx.borrow_and_update().has_changed() || !rx.has_changed().unwrap());
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn watch_send_if_modified_and_modify() {
    let (tx, mut rx) = watch::channel(vec![1]);
    assert!(!tx.send_if_modified(|_| false));
    assert!(!rx.has_changed().unwrap());
    tx.send_modify(|v| v.push(2));
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), [1, 2]);
    assert_eq!(tx.send_replace(vec![]), [1, 2]);
}

#[test]
fn watch_sender_drop_ends_changed_after_the_last_value() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    drop(tx);
    assert!(rx.has_changed().is_err());
    block_on(rx.changed()).unwrap(); // the unseen value first
    assert!(block_on(rx.changed()).is_err());
    assert_eq!(*rx.borrow(), 1);
}

#[test]
fn watch_no_receivers_send_fails_with_value() {
    let (tx, rx) = watch::channel(0);
    let mut closed = Task::new(tx.closed());
    closed.pending();
    drop(rx);
    assert!(closed.woken());
    closed.ready();
    assert_eq!(tx.send(5).unwrap_err().0, 5);
    let rx = tx.subscribe();
    assert_eq!(tx.receiver_count(), 1);
    drop(rx);
}

#[test]
fn watch_wait_for() {
    let (tx, rx) = watch::channel(0);
    let t = std::thread::spawn(move || {
        for i in 1..=10 {
            tx.send(i).unwrap_or(());
        }
        tx
    });
    let mut rx = rx;
    let v = *block_on(rx.wait_for(|v| *v >= 10)).unwrap();
    assert_eq!(v, 10);
    drop(t.join().unwrap());
    assert!(block_on(rx.wait_for(|v| *v > 10)).is_err());
}

/// More receivers than one notify shard holds, made every way a receiver
/// is made: a change wakes every one of them.
#[test]
fn watch_change_wakes_receivers_on_every_shard() {
    let (tx, rx) = watch::channel(0);
    let mut receivers = vec![rx];
    for i in 1..300 {
        let rx = if i % 2 == 0 {
            tx.subscribe()
        } else {
            receivers[i - 1].clone()
        };
        receivers.push(rx);
    }
    let mut waiting: Vec<_> = receivers
        .into_iter()
        .map(|mut rx| {
            Task::new(async move {
                rx.changed().await.unwrap();
                let seen = *rx.borrow_and_update();
                seen
            })
        })
        .collect();
    waiting.iter_mut().for_each(Task::pending);
    tx.send(7).unwrap();
    for (i, task) in waiting.iter_mut().enumerate() {
        assert!(task.woken(), "receiver {i} was not woken");
        assert_eq!(task.ready(), 7);
    }
}

// ---- broadcast ----

#[test]
fn broadcast_every_receiver_gets_every_message() {
    let (tx, mut a) = broadcast::channel(8);
    let mut b = tx.subscribe();
    for i in 0..5 {
        assert_eq!(tx.send(i).unwrap(), 2);
    }
    for i in 0..5 {
        assert_eq!(a.try_recv(), Ok(i));
        assert_eq!(block_on(b.recv()), Ok(i));
    }
    assert_eq!(a.try_recv(), Err(broadcast::error::TryRecvError::Empty));
}

/// A message whose clone panics on demand, counting its drops.
struct Touchy {
    panic_on_clone: Arc<std::sync::atomic::AtomicBool>,
    drops: Arc<std::sync::atomic::AtomicUsize>,
}

impl Clone for Touchy {
    fn clone(&self) -> Touchy {
        use std::sync::atomic::Ordering::SeqCst;
        assert!(!self.panic_on_clone.load(SeqCst), "clone refused");
        Touchy {
            panic_on_clone: self.panic_on_clone.clone(),
            drops: self.drops.clone(),
        }
    }
}

impl Drop for Touchy {
    fn drop(&mut self) {
        self.drops.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A receiver whose clone panics has still moved past the message, and
/// leaves the slot unlocked: the other receiver gets it, the sender
/// overwrites the slot, and the message is dropped once the last receiver
/// has seen it.
#[test]
fn broadcast_a_panicking_clone_leaves_the_slot_usable() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    let panic_on_clone = Arc::new(AtomicBool::new(true));
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut a) = broadcast::channel(1);
    let mut b = tx.subscribe();
    let message = Touchy {
        panic_on_clone: panic_on_clone.clone(),
        drops: drops.clone(),
    };
    tx.send(message).map_err(drop).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.try_recv()));
    assert!(caught.is_err(), "the clone panicked");
    assert!(
        matches!(a.try_recv(), Err(broadcast::error::TryRecvError::Empty)),
        "a moved past the message"
    );
    panic_on_clone.store(false, SeqCst);
    let copy = b.try_recv().map_err(drop).unwrap();
    assert_eq!(
        drops.load(SeqCst),
        1,
        "b was the last: the ring's copy dropped"
    );
    drop(copy);
    tx.send(Touchy {
        panic_on_clone: panic_on_clone.clone(),
        drops: drops.clone(),
    })
    .map_err(drop)
    .unwrap();
    assert!(a.try_recv().is_ok() && b.try_recv().is_ok());
}

#[test]
fn broadcast_slow_receiver_lags() {
    let (tx, mut rx) = broadcast::channel(4);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 10, "overwritten messages count as unseen");
    assert_eq!(
        block_on(rx.recv()),
        Err(broadcast::error::RecvError::Lagged(6))
    );
    assert_eq!(rx.len(), 4);
    for i in 6..10 {
        assert_eq!(block_on(rx.recv()), Ok(i));
    }
    assert!(rx.is_empty());
    assert_eq!(
        broadcast::error::RecvError::Lagged(6).to_string(),
        "receiver lagged by 6 messages"
    );
}

#[test]
fn broadcast_close_and_resubscribe() {
    let (tx, mut rx) = broadcast::channel(4);
    tx.send(1).unwrap();
    let mut late = rx.resubscribe();
    let mut waiting = Task::new(async move { late.recv().await });
    waiting.pending();
    assert!(!rx.is_closed());
    drop(tx);
    assert!(rx.is_closed());
    assert!(waiting.woken());
    assert_eq!(waiting.ready(), Err(broadcast::error::RecvError::Closed));
    assert_eq!(block_on(rx.recv()), Ok(1));
    assert_eq!(
        block_on(rx.recv()),
        Err(broadcast::error::RecvError::Closed)
    );

    let (tx, rx) = broadcast::channel(1);
    drop(rx);
    assert_eq!(tx.send(9).unwrap_err().0, 9);
}

/// More receivers than one notify shard holds, made every way a receiver
/// is made: a send wakes every one of them, and so does the close.
#[test]
fn broadcast_send_and_close_wake_receivers_on_every_shard() {
    let (tx, rx) = broadcast::channel(2);
    let mut receivers = vec![rx];
    for i in 1..300 {
        let rx = if i % 2 == 0 {
            tx.subscribe()
        } else {
            receivers[i - 1].resubscribe()
        };
        receivers.push(rx);
    }
    let mut waiting: Vec<_> = receivers
        .into_iter()
        .map(|mut rx| {
            Task::new(async move {
                let first = rx.recv().await;
                (first, rx.recv().await)
            })
        })
        .collect();
    waiting.iter_mut().for_each(Task::pending);
    tx.send(7).unwrap();
    for (i, task) in waiting.iter_mut().enumerate() {
        assert!(task.woken(), "receiver {i} was not woken by the send");
        task.pending();
    }
    drop(tx);
    for (i, task) in waiting.iter_mut().enumerate() {
        assert_eq!(task.wakes(), 2, "receiver {i} was not woken by the close");
        assert_eq!(
            task.ready(),
            (Ok(7), Err(broadcast::error::RecvError::Closed))
        );
    }
}

/// The many-producer test over a small ring: producers take a credit per
/// message and the consumer returns one per message received, so nobody
/// lags while the ring wraps thousands of times.
#[test]
fn broadcast_many_producers_one_consumer_no_loss_no_dup() {
    const RING: usize = 256;
    many_producers(
        || {
            let credits = Arc::new(Semaphore::new(RING));
            let (tx, rx) = broadcast::channel(RING);
            ((tx, credits.clone()), (rx, credits))
        },
        |(tx, credits), v| {
            block_on(credits.acquire()).unwrap().forget();
            tx.send(v).unwrap();
        },
        |(rx, credits)| match block_on(rx.recv()) {
            Ok(v) => {
                credits.add_permits(1);
                Some(v)
            }
            Err(broadcast::error::RecvError::Closed) => None,
            Err(e) => panic!("{e}"),
        },
    );
}

/// Several receivers each get every message of several producers once.
#[test]
fn broadcast_many_producers_no_loss_no_dup() {
    let producers = 4u64;
    let per = if cfg!(miri) { 10 } else { 5_000 };
    // Big enough ring that nobody lags.
    let (tx, rx) = broadcast::channel((producers * per) as usize);
    let rxs: Vec<_> = (0..3).map(|_| rx.resubscribe()).collect();
    drop(rx);
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    tx.send(p * per + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let counts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let readers: Vec<_> = rxs
        .into_iter()
        .map(|mut rx| {
            let counts = counts.clone();
            std::thread::spawn(move || {
                let mut seen = vec![false; (producers * per) as usize];
                let mut n = 0;
                while let Ok(v) = block_on(rx.recv()) {
                    assert!(!std::mem::replace(&mut seen[v as usize], true));
                    n += 1;
                }
                counts.lock().unwrap().push(n);
            })
        })
        .collect();
    for h in handles.into_iter().chain(readers) {
        h.join().unwrap();
    }
    assert_eq!(*counts.lock().unwrap(), vec![producers * per; 3]);
}
