//! Sync workloads: tokio's own `sync_*` benchmark shapes and parameters
//! (mpsc contention and uncontended, oneshot request/reply, notify,
//! semaphore, rwlock, watch, broadcast) plus a mutex contention row and
//! actor-style request/reply between tasks (one server, and four), each
//! column running its own ecosystem's primitives ([`libs`]): weft with
//! `weft::sync`, tokio with `tokio::sync`, smol with `async-lock` /
//! `async-channel` (tokio's notify/watch/broadcast where those crates have
//! none). Every iteration checks what it received or counted.

mod libs;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use libs::{Lib, SmolLib, TokioLib, WeftLib};

use super::{time_iters, Countdown, Timing, Visitor, Workload};
use crate::rt::{Runtime, Spawner};

pub fn register(v: &mut impl Visitor) {
    v.visit(Row(MpscContention {
        name: "sync_mpsc_contention_bounded",
        capacity: Some(1_000_000),
    }));
    v.visit(Row(MpscContention {
        name: "sync_mpsc_contention_bounded_full",
        capacity: Some(100),
    }));
    v.visit(Row(MpscContention {
        name: "sync_mpsc_contention_unbounded",
        capacity: None,
    }));
    v.visit(Row(MpscUncontended {
        name: "sync_mpsc_uncontended_bounded",
        bounded: true,
    }));
    v.visit(Row(MpscUncontended {
        name: "sync_mpsc_uncontended_unbounded",
        bounded: false,
    }));
    v.visit(Row(OneshotRequestReply));
    v.visit(Row(TaskRequestReply {
        name: "sync_request_reply_1_server",
        servers: 1,
    }));
    v.visit(Row(TaskRequestReply {
        name: "sync_request_reply_4_servers",
        servers: 4,
    }));
    for (name, waiters) in [
        ("sync_notify_one_10", 10),
        ("sync_notify_one_100", 100),
        ("sync_notify_one_500", 500),
    ] {
        v.visit(Row(NotifyWaiters {
            name,
            waiters,
            all: false,
        }));
    }
    for (name, waiters) in [
        ("sync_notify_waiters_10", 10),
        ("sync_notify_waiters_100", 100),
        ("sync_notify_waiters_500", 500),
    ] {
        v.visit(Row(NotifyWaiters {
            name,
            waiters,
            all: true,
        }));
    }
    v.visit(Row(SemaphoreRow {
        name: "sync_semaphore_uncontended",
        permits: 10,
        spawned: false,
    }));
    v.visit(Row(SemaphoreRow {
        name: "sync_semaphore_uncontended_multi",
        permits: 10,
        spawned: true,
    }));
    v.visit(Row(SemaphoreRow {
        name: "sync_semaphore_contended_multi",
        permits: 5,
        spawned: true,
    }));
    v.visit(Row(RwLockRow {
        name: "sync_rwlock_read_uncontended",
        mode: RwMode::Sequential,
    }));
    v.visit(Row(RwLockRow {
        name: "sync_rwlock_read_uncontended_multi",
        mode: RwMode::Spawned,
    }));
    v.visit(Row(RwLockRow {
        name: "sync_rwlock_read_contended_multi",
        mode: RwMode::BehindWriter,
    }));
    for (name, receivers) in [
        ("sync_watch_fanout_10", 10),
        ("sync_watch_fanout_100", 100),
        ("sync_watch_fanout_1000", 1_000),
    ] {
        v.visit(Row(WatchFanout { name, receivers }));
    }
    for (name, receivers) in [
        ("sync_broadcast_fanout_10", 10),
        ("sync_broadcast_fanout_100", 100),
        ("sync_broadcast_fanout_1000", 1_000),
    ] {
        v.visit(Row(BroadcastFanout { name, receivers }));
    }
    v.visit(Row(MutexContention));
}

/// A workload written once over the sync library.
trait SyncWorkload {
    fn name(&self) -> &'static str;
    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing;
}

/// Picks the column's library, outside the timed region, and runs.
struct Row<W>(W);

impl<W: SyncWorkload> Workload for Row<W> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        match R::NAME {
            "weft" => self.0.run::<R, WeftLib>(rt, iters),
            "tokio" => self.0.run::<R, TokioLib>(rt, iters),
            "smol" => self.0.run::<R, SmolLib>(rt, iters),
            other => panic!("no sync library for runtime {other}"),
        }
    }
}

/// Producers and items per producer in the mpsc rows (tokio's numbers).
const PRODUCERS: usize = 5;
const PER_PRODUCER: usize = 1_000;

/// 5 producer tasks send 1,000 items each to the bench thread's receiver.
struct MpscContention {
    name: &'static str,
    /// `None`: unbounded.
    capacity: Option<usize>,
}

impl SyncWorkload for MpscContention {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        let expected = PRODUCERS * (0..PER_PRODUCER).sum::<usize>();
        time_iters(iters, || {
            let sum = match self.capacity {
                Some(cap) => {
                    let (tx, mut rx) = L::bounded::<usize>(cap);
                    for _ in 0..PRODUCERS {
                        let tx = tx.clone();
                        rt.spawn_detached(async move {
                            for i in 0..PER_PRODUCER {
                                L::send(&tx, i).await;
                            }
                        });
                    }
                    drop(tx);
                    rt.block_on(async move {
                        let mut sum = 0;
                        while let Some(v) = L::recv(&mut rx).await {
                            sum += v;
                        }
                        sum
                    })
                }
                None => {
                    let (tx, mut rx) = L::unbounded::<usize>();
                    for _ in 0..PRODUCERS {
                        let tx = tx.clone();
                        rt.spawn_detached(async move {
                            for i in 0..PER_PRODUCER {
                                L::usend(&tx, i);
                            }
                        });
                    }
                    drop(tx);
                    rt.block_on(async move {
                        let mut sum = 0;
                        while let Some(v) = L::urecv(&mut rx).await {
                            sum += v;
                        }
                        sum
                    })
                }
            };
            assert_eq!(sum, expected, "{}: messages lost", self.name);
        })
    }
}

/// One task sends 5,000 items, then receives them (tokio's uncontended).
struct MpscUncontended {
    name: &'static str,
    bounded: bool,
}

impl SyncWorkload for MpscUncontended {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        const N: usize = PRODUCERS * PER_PRODUCER;
        let bounded = self.bounded;
        time_iters(iters, || {
            let sum = rt.block_on(async move {
                let mut sum = 0;
                if bounded {
                    let (tx, mut rx) = L::bounded::<usize>(1_000_000);
                    for i in 0..N {
                        L::send(&tx, i).await;
                    }
                    for _ in 0..N {
                        sum += L::recv(&mut rx).await.expect("message");
                    }
                } else {
                    let (tx, mut rx) = L::unbounded::<usize>();
                    for i in 0..N {
                        L::usend(&tx, i);
                    }
                    for _ in 0..N {
                        sum += L::urecv(&mut rx).await.expect("message");
                    }
                }
                sum
            });
            assert_eq!(sum, (0..N).sum::<usize>(), "{}: messages lost", self.name);
        })
    }
}

/// 1,000 round trips: a request (carrying a oneshot sender) over a bounded
/// mpsc to a server task, the reply back on the oneshot.
struct OneshotRequestReply;

impl SyncWorkload for OneshotRequestReply {
    fn name(&self) -> &'static str {
        "sync_oneshot_request_reply"
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        let (tx, mut rx) = L::bounded::<(u64, L::OTx<u64>)>(10);
        let server = rt.spawn(async move {
            while let Some((v, reply)) = L::recv(&mut rx).await {
                L::osend(reply, v + 1);
            }
        });
        let elapsed = time_iters(iters, || {
            let tx = tx.clone();
            rt.block_on(async move {
                for i in 0..1_000u64 {
                    let (o_tx, o_rx) = L::oneshot();
                    L::send(&tx, (i, o_tx)).await;
                    assert_eq!(L::orecv(o_rx).await, i + 1, "oneshot: wrong reply");
                }
            });
        });
        drop(tx);
        rt.block_on(server);
        elapsed
    }
}

/// Client tasks, and requests per client, in the task request/reply rows.
const RR_CLIENTS: usize = 100;
const RR_REQUESTS: usize = 50;
/// Each server's mailbox (a bounded mpsc) holds this many requests.
const RR_MAILBOX: usize = 32;

/// Request/reply between tasks, as actor-style servers do it: `servers`
/// server tasks each own a bounded mpsc mailbox and answer every request
/// on the oneshot it carries; 100 client tasks each make 50 requests, one
/// at a time (send, then await the reply), client `c`'s request `r` going
/// to server `(c + r) % servers`. Neither side is the bench thread: a
/// driver task spawns the clients and awaits them, and the bench thread
/// only waits for the driver. Every reply is checked against its request,
/// and the servers' count of requests against the clients'.
struct TaskRequestReply {
    name: &'static str,
    servers: usize,
}

impl SyncWorkload for TaskRequestReply {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        let name = self.name;
        let handled = Arc::new(AtomicU64::new(0));
        let mut mailboxes = Vec::with_capacity(self.servers);
        let mut servers = Vec::with_capacity(self.servers);
        for _ in 0..self.servers {
            let (tx, mut rx) = L::bounded::<(u64, L::OTx<u64>)>(RR_MAILBOX);
            let handled = handled.clone();
            servers.push(rt.spawn(async move {
                let mut count = 0;
                while let Some((v, reply)) = L::recv(&mut rx).await {
                    L::osend(reply, v * 2 + 1);
                    count += 1;
                }
                handled.fetch_add(count, Ordering::Relaxed);
            }));
            mailboxes.push(tx);
        }
        let mailboxes = Arc::new(mailboxes);
        let sp = rt.spawner();
        let elapsed = time_iters(iters, || {
            let (mailboxes, sp) = (mailboxes.clone(), sp.clone());
            let answered = rt.block_on(rt.spawn(async move {
                let clients: Vec<_> = (0..RR_CLIENTS)
                    .map(|c| {
                        let mailboxes = mailboxes.clone();
                        sp.spawn(async move {
                            let mut answered = 0;
                            for r in 0..RR_REQUESTS {
                                let v = (c * RR_REQUESTS + r) as u64;
                                let (o_tx, o_rx) = L::oneshot();
                                let mailbox = &mailboxes[(c + r) % mailboxes.len()];
                                L::send(mailbox, (v, o_tx)).await;
                                assert_eq!(L::orecv(o_rx).await, v * 2 + 1, "{name}: wrong reply");
                                answered += 1;
                            }
                            answered
                        })
                    })
                    .collect();
                let mut answered = 0;
                for client in clients {
                    answered += client.await;
                }
                answered
            }));
            assert_eq!(
                answered,
                RR_CLIENTS * RR_REQUESTS,
                "{name}: replies missing"
            );
        });
        // The last sender goes with the last clone: the servers see their
        // mailboxes close and end.
        drop(mailboxes);
        rt.block_on(async move {
            for server in servers {
                server.await;
            }
        });
        assert_eq!(
            handled.load(Ordering::Relaxed),
            iters * (RR_CLIENTS * RR_REQUESTS) as u64,
            "{name}: the servers' count is off"
        );
        elapsed
    }
}

/// N waiter tasks loop on `notified()`; a notifier task notifies (one, or
/// all waiters), yielding in between, until 500 wakeups were counted
/// (tokio's sync_notify, with the notifier moved onto the runtime).
struct NotifyWaiters {
    name: &'static str,
    waiters: usize,
    all: bool,
}

impl SyncWorkload for NotifyWaiters {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        const WAKEUPS: usize = 500;
        let notify = Arc::new(L::notify());
        let counter = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (countdown, exited) = Countdown::new(self.waiters);
        let countdown = Arc::new(countdown);
        for _ in 0..self.waiters {
            let (notify, counter, stop, countdown) = (
                notify.clone(),
                counter.clone(),
                stop.clone(),
                countdown.clone(),
            );
            rt.spawn_detached(async move {
                loop {
                    L::notified(&notify).await;
                    if stop.load(Ordering::Acquire) {
                        countdown.tick();
                        return;
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let all = self.all;
        let elapsed = time_iters(iters, || {
            counter.store(0, Ordering::Relaxed);
            let (notify, task_counter) = (notify.clone(), counter.clone());
            // The notifier is a task on the runtime, yielding between
            // notifications: tokio's version spins on the bench thread,
            // which on 2 cores with 2 workers measures the OS's time slice
            // (samples of ~150 µs or ~3 ms) rather than the primitive.
            let notifier = rt.spawn(async move {
                loop {
                    if all {
                        L::notify_waiters(&notify);
                    } else {
                        L::notify_one(&notify);
                    }
                    if task_counter.load(Ordering::Relaxed) >= WAKEUPS {
                        break;
                    }
                    R::yield_now().await;
                }
            });
            rt.block_on(notifier);
            assert!(counter.load(Ordering::Relaxed) >= WAKEUPS);
        });
        // Stop the waiters: wake them until every one has seen `stop`.
        stop.store(true, Ordering::Release);
        while countdown.left() > 0 {
            L::notify_waiters(&notify);
            L::notify_one(&notify);
            std::thread::yield_now();
        }
        rt.block_on(exited).expect("notify: waiters did not exit");
        elapsed
    }
}

/// Six acquire/release pairs: in sequence on the bench thread, or as six
/// spawned tasks (tokio's uncontended, uncontended_concurrent_multi and,
/// with 5 permits, contended_concurrent_multi).
struct SemaphoreRow {
    name: &'static str,
    permits: usize,
    spawned: bool,
}

impl SyncWorkload for SemaphoreRow {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        let sem = Arc::new(L::semaphore(self.permits));
        let done = Arc::new(AtomicU64::new(0));
        let spawned = self.spawned;
        let elapsed = time_iters(iters, || {
            if spawned {
                let tasks: Vec<_> = (0..6)
                    .map(|_| {
                        let (sem, done) = (sem.clone(), done.clone());
                        rt.spawn(async move {
                            L::with_permit(&sem, || done.fetch_add(1, Ordering::Relaxed)).await;
                        })
                    })
                    .collect();
                rt.block_on(async move {
                    for t in tasks {
                        t.await;
                    }
                });
            } else {
                let (sem, done) = (sem.clone(), done.clone());
                rt.block_on(async move {
                    for _ in 0..6 {
                        L::with_permit(&sem, || done.fetch_add(1, Ordering::Relaxed)).await;
                    }
                });
            }
        });
        assert_eq!(
            done.load(Ordering::Relaxed),
            6 * iters,
            "{}: acquires lost",
            self.name
        );
        elapsed
    }
}

#[derive(Clone, Copy)]
enum RwMode {
    /// Six reads in sequence on the bench thread.
    Sequential,
    /// Six reads as spawned tasks.
    Spawned,
    /// Five spawned reads queued behind a held write lock, then released.
    BehindWriter,
}

/// tokio's sync_rwlock read rows.
struct RwLockRow {
    name: &'static str,
    mode: RwMode,
}

impl SyncWorkload for RwLockRow {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        let lock = Arc::new(L::rwlock(1u64));
        let mode = self.mode;
        time_iters(iters, || {
            let total = match mode {
                RwMode::Sequential => {
                    let lock = lock.clone();
                    rt.block_on(async move {
                        let mut total = 0;
                        for _ in 0..6 {
                            total += L::with_read(&lock, |v| *v).await;
                        }
                        total
                    })
                }
                RwMode::Spawned => {
                    let tasks: Vec<_> = (0..6)
                        .map(|_| {
                            let lock = lock.clone();
                            rt.spawn(async move { L::with_read(&lock, |v| *v).await })
                        })
                        .collect();
                    rt.block_on(async move {
                        let mut total = 0;
                        for t in tasks {
                            total += t.await;
                        }
                        total
                    })
                }
                RwMode::BehindWriter => {
                    let (locked_tx, locked_rx) = futures_channel::oneshot::channel::<()>();
                    let (release_tx, release_rx) = futures_channel::oneshot::channel::<()>();
                    let writer_lock = lock.clone();
                    let writer = rt.spawn(async move {
                        L::hold_write(&writer_lock, async move {
                            let _ = locked_tx.send(());
                            let _ = release_rx.await;
                        })
                        .await;
                    });
                    rt.block_on(locked_rx).expect("rwlock: writer vanished");
                    // The readers queue behind the held write lock.
                    let readers: Vec<_> = (0..5)
                        .map(|_| {
                            let lock = lock.clone();
                            rt.spawn(async move { L::with_read(&lock, |v| *v).await })
                        })
                        .collect();
                    let _ = release_tx.send(());
                    rt.block_on(async move {
                        writer.await;
                        let mut total = 1;
                        for t in readers {
                            total += t.await;
                        }
                        total
                    })
                }
            };
            assert_eq!(total, 6, "rwlock: reads lost");
        })
    }
}

/// Sends between the bench task and its receivers; rows wait for all
/// receivers to have seen each round.
const FANOUT_SENDS: u64 = 100;

/// N receiver tasks wait on `changed()`; the bench task sends 100 values,
/// each time waiting until all N receivers have seen it (tokio's
/// sync_watch contention shape).
struct WatchFanout {
    name: &'static str,
    receivers: usize,
}

impl SyncWorkload for WatchFanout {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        let n = self.receivers;
        let (tx, rx0) = L::watch(0);
        let seen = Arc::new(AtomicUsize::new(0));
        let round_done = Arc::new(L::notify());
        let (countdown, exited) = Countdown::new(n);
        let countdown = Arc::new(countdown);
        for _ in 0..n {
            let mut rx = L::wsubscribe(&tx);
            let (seen, round_done, countdown) =
                (seen.clone(), round_done.clone(), countdown.clone());
            rt.spawn_detached(async move {
                while L::wchanged(&mut rx).await.is_some() {
                    if seen.fetch_add(1, Ordering::AcqRel) % n == n - 1 {
                        L::notify_one(&round_done);
                    }
                }
                countdown.tick();
            });
        }
        drop(rx0);
        let tx = Arc::new(tx);
        let mut value = 0;
        let elapsed = time_iters(iters, || {
            let (tx, round_done, seen) = (tx.clone(), round_done.clone(), seen.clone());
            let start = value;
            value = rt.block_on(async move {
                let mut v = start;
                for _ in 0..FANOUT_SENDS {
                    v += 1;
                    L::wsend(&tx, v);
                    L::notified(&round_done).await;
                }
                v
            });
            assert_eq!(
                seen.load(Ordering::Acquire),
                value as usize * n,
                "watch: changes missed"
            );
        });
        drop(Arc::into_inner(tx).expect("the one sender"));
        rt.block_on(exited).expect("watch: receivers did not exit");
        elapsed
    }
}

/// N receiver tasks; the bench task broadcasts 100 values (the ring holds
/// them all, nobody lags) and waits until every receiver has all of them.
///
/// Receivers check each value against the one they expect next and report
/// once per round (on the round's last value), not per message: two shared
/// counters bumped by every receiver for every message were two thirds of
/// the CPU time on both runtimes, a measure of cache-line traffic rather
/// than of the channel. The check still covers every message: a lost,
/// duplicated or reordered one is out of sequence, a lost last one stalls
/// the round.
struct BroadcastFanout {
    name: &'static str,
    receivers: usize,
}

impl SyncWorkload for BroadcastFanout {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        let n = self.receivers;
        let (tx, rx0) = L::broadcast(128);
        let finished = Arc::new(AtomicUsize::new(0));
        let out_of_sequence = Arc::new(AtomicBool::new(false));
        let round_done = Arc::new(L::notify());
        let (countdown, exited) = Countdown::new(n);
        let countdown = Arc::new(countdown);
        for _ in 0..n {
            let mut rx = L::bsubscribe(&tx);
            let (finished, out_of_sequence, round_done, countdown) = (
                finished.clone(),
                out_of_sequence.clone(),
                round_done.clone(),
                countdown.clone(),
            );
            rt.spawn_detached(async move {
                let mut expected = 1;
                while let Some(v) = L::brecv(&mut rx).await {
                    if v != expected {
                        out_of_sequence.store(true, Ordering::Relaxed);
                    }
                    expected = v % FANOUT_SENDS + 1;
                    let last_of_round = v == FANOUT_SENDS;
                    if last_of_round && finished.fetch_add(1, Ordering::AcqRel) % n == n - 1 {
                        L::notify_one(&round_done);
                    }
                }
                countdown.tick();
            });
        }
        drop(rx0);
        let mut rounds = 0u64;
        let elapsed = time_iters(iters, || {
            let (tx, round_done) = (tx.clone(), round_done.clone());
            rt.block_on(async move {
                for v in 1..=FANOUT_SENDS {
                    L::bsend(&tx, v);
                }
                L::notified(&round_done).await;
            });
            rounds += 1;
            assert_eq!(
                finished.load(Ordering::Acquire),
                rounds as usize * n,
                "broadcast: a receiver missed a round"
            );
        });
        assert!(
            !out_of_sequence.load(Ordering::Acquire),
            "broadcast: a message lost, duplicated or out of order"
        );
        drop(tx);
        rt.block_on(exited)
            .expect("broadcast: receivers did not exit");
        elapsed
    }
}

/// 8 tasks each take the mutex 10,000 times to bump a counter.
struct MutexContention;

impl SyncWorkload for MutexContention {
    fn name(&self) -> &'static str {
        "sync_mutex_contention"
    }

    fn run<R: Runtime, L: Lib>(&self, rt: &R, iters: u64) -> Timing {
        const TASKS: usize = 8;
        const LOCKS: u64 = 10_000;
        let m = Arc::new(L::mutex(0u64));
        let mut expected = 0;
        time_iters(iters, || {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let m = m.clone();
                    rt.spawn(async move {
                        for _ in 0..LOCKS {
                            L::with_lock(&m, |v| *v += 1).await;
                        }
                    })
                })
                .collect();
            let m = m.clone();
            let total = rt.block_on(async move {
                for t in tasks {
                    t.await;
                }
                L::with_lock(&m, |v| *v).await
            });
            expected += TASKS as u64 * LOCKS;
            assert_eq!(total, expected, "mutex: increments lost");
        })
    }
}
