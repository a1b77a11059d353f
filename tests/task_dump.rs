//! The task dump (`Handle::dump`): what each live task waits on, its state
//! (running on which worker), and the deadlock hints.
//!
//! Synchronisation: each task says when its first poll has gone `Pending`
//! (through `ReportPending`), and the dumps are taken on a current-thread
//! runtime from its `block_on` future, which runs only between task polls:
//! by then every reported poll has finished and its note is stored. The
//! running-task test blocks the task on a std channel while the test
//! thread dumps from outside.

#![cfg(unix)]

use std::future::Future;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use weft::net::{TcpListener, UnixStream};
use weft::runtime::dump::{Deadlock, Holder, SyncKind, TaskState, WaitsOn};
use weft::runtime::{Builder, Handle, Runtime};
use weft::sync::{mpsc, oneshot, Mutex};
use weft::task::JoinHandle;

/// Polls `fut`; after its first `Pending` poll, sends `()` on `pending`.
struct ReportPending<F> {
    fut: Pin<Box<F>>,
    pending: Option<mpsc::UnboundedSender<()>>,
}

impl<F: Future> Future for ReportPending<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let out = self.fut.as_mut().poll(cx);
        if out.is_pending() {
            if let Some(tx) = self.pending.take() {
                let _ = tx.send(());
            }
        }
        out
    }
}

fn reporting<F: Future>(fut: F, pending: &mpsc::UnboundedSender<()>) -> ReportPending<F> {
    ReportPending {
        fut: Box::pin(fut),
        pending: Some(pending.clone()),
    }
}

/// Waits for `n` reports.
async fn reported(rx: &mut mpsc::UnboundedReceiver<()>, n: usize) {
    for _ in 0..n {
        rx.recv().await.expect("a task ended before it was pending");
    }
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn a_thousand_tasks_each_shown_waiting_on_what_it_waits_on() {
    const TIMERS: usize = 250;
    const ACCEPTS: usize = 100;
    const READS: usize = 150;
    const LOCKERS: usize = 250;
    const JOINERS: usize = 250;
    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut expected_fd = std::collections::HashMap::new();

        let mut timers = Vec::new();
        for _ in 0..TIMERS {
            let sleep = weft::time::sleep(Duration::from_secs(3600));
            timers.push(weft::spawn(reporting(sleep, &tx)));
        }

        let mut keep = Vec::new();
        for _ in 0..ACCEPTS {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let fd = listener.as_raw_fd() as u64;
            let task = weft::spawn(reporting(
                async move {
                    let _ = listener.accept().await;
                },
                &tx,
            ));
            expected_fd.insert(task.id(), fd);
            keep.push(task);
        }
        let mut peers = Vec::new();
        for _ in 0..READS {
            let (mut ours, theirs) = UnixStream::pair().unwrap();
            let fd = ours.as_raw_fd() as u64;
            let task = weft::spawn(reporting(
                async move {
                    use weft::io::AsyncReadExt;
                    let _ = ours.read(&mut [0; 8]).await;
                },
                &tx,
            ));
            expected_fd.insert(task.id(), fd);
            keep.push(task);
            peers.push(theirs);
        }

        let mutex = Arc::new(Mutex::new(()));
        let held = mutex.clone().lock_owned().await;
        for _ in 0..LOCKERS {
            let mutex = mutex.clone();
            keep.push(weft::spawn(reporting(
                async move {
                    drop(mutex.lock().await);
                },
                &tx,
            )));
        }

        // A chain: each joiner awaits the previous one, the first a timer.
        let mut expected_join = std::collections::HashMap::new();
        let mut previous: JoinHandle<()> = timers.pop().unwrap();
        for _ in 0..JOINERS {
            let target = previous.id();
            let task = weft::spawn(reporting(
                async move {
                    let _ = previous.await;
                },
                &tx,
            ));
            expected_join.insert(task.id(), target);
            previous = task;
        }

        reported(&mut rx, TIMERS + ACCEPTS + READS + LOCKERS + JOINERS).await;
        let dump = Handle::current().dump();
        assert_eq!(dump.tasks().len(), 1_000, "every live task, no more");
        assert_eq!(dump.count(TaskState::Idle), 1_000);

        let (mut timers_seen, mut fds_seen, mut locks_seen, mut joins_seen) = (0, 0, 0, 0);
        let lock_addrs: std::collections::HashSet<u64> = dump
            .tasks()
            .iter()
            .filter_map(|t| match t.waits_on() {
                WaitsOn::Sync { addr, .. } => Some(addr),
                _ => None,
            })
            .collect();
        assert_eq!(lock_addrs.len(), 1, "one mutex, one address");
        for task in dump.tasks() {
            assert_eq!(task.location().file(), file!());
            assert!(task.since_last_poll().is_some(), "polled at least once");
            assert!(!task.waits_on_more(), "{task:?}");
            match task.waits_on() {
                WaitsOn::Timer { deadline, now } => {
                    let left = deadline - now;
                    assert!(left > Duration::from_secs(3590), "{left:?}");
                    // Deadlines round up to the millisecond, readings down.
                    assert!(left <= Duration::from_millis(3_600_001), "{left:?}");
                    timers_seen += 1;
                }
                WaitsOn::Readable { fd } => {
                    assert_eq!(expected_fd.get(&task.id()), Some(&fd), "{task:?}");
                    fds_seen += 1;
                }
                WaitsOn::Sync { kind, holder, .. } => {
                    assert_eq!(kind, SyncKind::Mutex);
                    // Locked by `block_on`'s own future: not a task.
                    assert_eq!(holder, Some(Holder::NotATask));
                    locks_seen += 1;
                }
                WaitsOn::Join { task: target } => {
                    assert_eq!(expected_join.get(&task.id()), Some(&target), "{task:?}");
                    joins_seen += 1;
                }
                other => panic!("unexpected wait {other:?} of {task:?}"),
            }
        }
        // One timer task is awaited by the first joiner, and still counts.
        assert_eq!(timers_seen, TIMERS);
        assert_eq!(fds_seen, ACCEPTS + READS);
        assert_eq!(locks_seen, LOCKERS);
        assert_eq!(joins_seen, JOINERS);
        assert!(dump.deadlocks().is_empty(), "{:?}", dump.deadlocks());

        let text = dump.to_string();
        assert_eq!(text.lines().count(), 1 + 1_000 + 1, "header, rows, summary");
        assert!(text.contains("1000 tasks: 0 running, 0 scheduled, 1000 idle"));
        assert!(text.contains("timer due in 59m"), "{text}");
        assert!(text.contains("Mutex::lock 0x"));
        assert!(text.contains(" (held outside any task)"));
        drop(held);
        drop(peers);
    });
}

#[test]
fn a_two_task_join_handle_cycle_is_reported_as_a_cycle() {
    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (give_a, take_a) = oneshot::channel::<JoinHandle<()>>();
        let (give_b, take_b) = oneshot::channel::<JoinHandle<()>>();
        let spawn_waiting = |name: &str, take: oneshot::Receiver<JoinHandle<()>>| {
            let tx = tx.clone();
            weft::task::Builder::new()
                .name(name)
                .spawn(async move {
                    let other = take.await.unwrap();
                    let _ = reporting(other, &tx).await;
                })
                .unwrap()
        };
        let alpha = spawn_waiting("alpha", take_b);
        let beta = spawn_waiting("beta", take_a);
        let (alpha_id, beta_id) = (alpha.id(), beta.id());
        let alpha_abort = alpha.abort_handle();
        let beta_abort = beta.abort_handle();
        give_b.send(beta).unwrap();
        give_a.send(alpha).unwrap();
        reported(&mut rx, 2).await;

        let dump = Handle::current().dump();
        let shown = dump.task(alpha_id).unwrap();
        assert_eq!(shown.waits_on(), WaitsOn::Join { task: beta_id });
        assert_eq!(shown.name(), Some("alpha"));
        assert_eq!(shown.location().file(), file!(), "task::Builder's caller");
        assert_eq!(
            dump.deadlocks(),
            [Deadlock::Cycle {
                tasks: vec![alpha_id, beta_id]
            }]
        );
        let text = dump.to_string();
        let cycle = format!(
            "deadlock: a cycle of 2 idle tasks, each waiting on the next: \
             task {alpha_id} 'alpha' -> task {beta_id} 'beta' -> task {alpha_id} 'alpha'"
        );
        assert!(text.contains(&cycle), "{text}");
        assert!(text.contains(&format!("the JoinHandle of task {beta_id} 'beta'")));
        alpha_abort.abort();
        beta_abort.abort();
    });
}

#[test]
fn a_mutex_held_by_an_idle_task_is_reported_and_so_is_a_lock_join_cycle() {
    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mutex = Arc::new(Mutex::new(0));

        // The holder locks, then waits on something that never comes.
        let (_release, never) = oneshot::channel::<()>();
        let (locked_tx, locked) = oneshot::channel();
        let holder = weft::task::Builder::new()
            .name("holder")
            .spawn({
                let mutex = mutex.clone();
                async move {
                    let _guard = mutex.lock().await;
                    locked_tx.send(()).unwrap();
                    let _ = never.await;
                }
            })
            .unwrap();
        locked.await.unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let mutex = mutex.clone();
                weft::spawn(reporting(
                    async move {
                        *mutex.lock().await += 1;
                    },
                    &tx,
                ))
            })
            .collect();
        reported(&mut rx, 2).await;

        let dump = Handle::current().dump();
        assert_eq!(
            dump.task(holder.id()).unwrap().waits_on(),
            WaitsOn::Sync {
                kind: SyncKind::OneshotRecv,
                addr: match dump.task(holder.id()).unwrap().waits_on() {
                    WaitsOn::Sync { addr, .. } => addr,
                    other => panic!("{other:?}"),
                },
                holder: None,
            }
        );
        let hints: Vec<_> = dump.deadlocks().to_vec();
        assert_eq!(hints.len(), 2, "{hints:?}");
        for (hint, waiter) in hints.iter().zip(&waiters) {
            match hint {
                Deadlock::HeldByIdle {
                    waiter: w,
                    holder: h,
                    ..
                } => {
                    assert_eq!((*w, *h), (waiter.id(), holder.id()));
                }
                other => panic!("{other:?}"),
            }
            match dump.task(waiter.id()).unwrap().waits_on() {
                WaitsOn::Sync {
                    kind: SyncKind::Mutex,
                    holder: Some(Holder::Task(h)),
                    ..
                } => assert_eq!(h, holder.id()),
                other => panic!("{other:?}"),
            }
        }
        let text = dump.to_string();
        assert!(
            text.contains(&format!(
                "held by task {} 'holder', which is idle",
                holder.id()
            )),
            "{text}"
        );
        holder.abort();
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(*mutex.lock().await, 2);

        // Transitively: A holds the lock and awaits B; B waits on the lock.
        let (give_b, take_b) = oneshot::channel::<JoinHandle<()>>();
        let (locked_tx, locked) = oneshot::channel();
        let a = weft::spawn({
            let (mutex, tx) = (mutex.clone(), tx.clone());
            async move {
                let _guard = mutex.lock().await;
                locked_tx.send(()).unwrap();
                let b = take_b.await.unwrap();
                let _ = reporting(b, &tx).await;
            }
        });
        locked.await.unwrap();
        let b = weft::spawn(reporting(
            {
                let mutex = mutex.clone();
                async move {
                    drop(mutex.lock().await);
                }
            },
            &tx,
        ));
        let (a_id, b_id) = (a.id(), b.id());
        give_b.send(b).unwrap();
        reported(&mut rx, 2).await;
        let dump = Handle::current().dump();
        assert_eq!(
            dump.deadlocks(),
            [Deadlock::Cycle {
                tasks: vec![a_id, b_id]
            }]
        );
        a.abort();
    });
}

#[test]
fn a_running_task_is_shown_running_on_its_worker() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (running_tx, running) = std::sync::mpsc::channel();
    let (go_tx, go) = std::sync::mpsc::channel::<()>();
    let task = rt.spawn(async move {
        running_tx.send(weft::runtime::worker_index()).unwrap();
        // Blocks the worker on purpose, until the test has dumped.
        go.recv().unwrap();
    });
    let worker = running.recv().unwrap();
    assert!(worker.is_some());
    let dump = rt.dump();
    let shown = dump.task(task.id()).expect("listed");
    assert_eq!(shown.state(), TaskState::Running { worker });
    assert_eq!(dump.tasks()[0].id(), task.id(), "running tasks first");
    assert_eq!(shown.waits_on(), WaitsOn::Unknown, "only idle tasks wait");
    let text = dump.to_string();
    assert!(
        text.contains(&format!("running on worker {}", worker.unwrap())),
        "{text}"
    );
    go_tx.send(()).unwrap();
    let id = task.id();
    rt.block_on(task).unwrap();
    // Its handle resolves once the output is stored; the task may not have
    // left the list yet, but it is done running.
    if let Some(done) = rt.dump().task(id) {
        assert_eq!(done.state(), TaskState::Completing);
    }
}

/// A future from outside weft: pending until woken by hand.
struct Outside(Arc<std::sync::Mutex<Option<Waker>>>);

impl Future for Outside {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_task_that_woke_itself_is_shown_scheduled_while_it_waits_its_turn() {
    // Its queue entry keeps the task's RUNNING bit from the poll in which
    // it woke itself: the dump must not take that for a poll in progress.
    let rt = current_thread();
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    let task = rt.spawn(async move {
        loop {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            weft::task::yield_now().await;
        }
    });
    let id = task.id();
    rt.block_on(async {
        while polls.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            weft::task::yield_now().await;
        }
        // One thread: the task is not being polled while this runs.
        let dump = Handle::current().dump();
        let shown = dump.task(id).expect("listed");
        assert_eq!(shown.state(), TaskState::Scheduled, "{dump}");
    });
    task.abort();
    let err = rt.block_on(task).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn a_join_set_waits_on_its_first_task_and_more() {
    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut set = weft::task::JoinSet::new();
        let first = set.spawn(std::future::pending::<()>()).id();
        set.spawn(std::future::pending::<()>());
        let task = weft::spawn(reporting(async move { set.join_next().await }, &tx));
        reported(&mut rx, 1).await;
        let dump = Handle::current().dump();
        let shown = dump.task(task.id()).unwrap();
        assert_eq!(shown.waits_on(), WaitsOn::Join { task: first });
        assert!(shown.waits_on_more());
        task.abort();
    });
}

#[test]
fn a_task_in_a_future_weft_cannot_see_is_shown_as_such() {
    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let slot = Arc::default();
        let task = weft::spawn(reporting(Outside(Arc::clone(&slot)), &tx));
        reported(&mut rx, 1).await;
        let dump = Handle::current().dump();
        let shown = dump.task(task.id()).unwrap();
        assert_eq!(shown.state(), TaskState::Idle);
        assert_eq!(shown.waits_on(), WaitsOn::Unknown);
        assert!(shown.type_name().contains("ReportPending"), "{shown:?}");
        assert!(dump
            .to_string()
            .contains("something weft cannot see (a future from outside weft)"));
        task.abort();
    });
}

#[test]
fn a_task_awaiting_a_blocking_job_says_so_and_the_job_is_not_listed() {
    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (go_tx, go) = std::sync::mpsc::channel::<()>();
        let job = weft::task::spawn_blocking(move || go.recv().unwrap());
        let job_id = job.id();
        let task = weft::spawn(reporting(job, &tx));
        reported(&mut rx, 1).await;
        let dump = Handle::current().dump();
        assert_eq!(dump.tasks().len(), 1, "blocking jobs are not in the list");
        assert_eq!(
            dump.task(task.id()).unwrap().waits_on(),
            WaitsOn::BlockingJob { task: job_id }
        );
        assert!(dump
            .to_string()
            .contains(&format!("a blocking job (task {job_id})")));
        go_tx.send(()).unwrap();
        task.await.unwrap().unwrap();
    });
}

#[test]
fn local_tasks_are_in_their_runtimes_dump_and_a_local_sets() {
    let rt = Builder::new_current_thread()
        .enable_all()
        .build_local(Default::default())
        .unwrap();
    let task = rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task =
            weft::task::spawn_local(reporting(weft::time::sleep(Duration::from_secs(60)), &tx));
        reported(&mut rx, 1).await;
        let dump = Handle::current().dump();
        let shown = dump
            .task(task.id())
            .expect("the local runtime's set is reached");
        assert!(shown.is_local());
        assert!(matches!(shown.waits_on(), WaitsOn::Timer { .. }));
        task.abort_handle()
    });
    let dump = rt.dump();
    let shown = dump.task(task.id()).expect("LocalRuntime::dump lists it");
    assert!(shown.is_local());
    task.abort();

    let rt = current_thread();
    rt.block_on(async {
        let local = weft::task::LocalSet::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let notify = Arc::new(weft::sync::Notify::new());
        let task = local.spawn_local(reporting(
            {
                let notify = notify.clone();
                async move { notify.notified().await }
            },
            &tx,
        ));
        local.run_until(async { reported(&mut rx, 1).await }).await;
        assert!(
            Handle::current().dump().task(task.id()).is_none(),
            "a free-standing set is not the runtime's"
        );
        let dump = local.dump();
        let shown = dump.task(task.id()).expect("listed by the set");
        assert!(shown.is_local());
        assert_eq!(
            shown.waits_on(),
            WaitsOn::Sync {
                kind: SyncKind::Notify,
                addr: Arc::as_ptr(&notify) as u64,
                holder: None,
            }
        );
        notify.notify_one();
        local.run_until(task).await.unwrap();
    });
}

#[test]
fn dump_on_signal_runs_as_a_named_task_and_refuses_what_cannot_be_caught() {
    use weft::signal::unix::SignalKind;
    let rt = current_thread();
    rt.block_on(async {
        let task = weft::runtime::dump_on_signal(SignalKind::user_defined1()).unwrap();
        weft::task::yield_now().await;
        let dump = Handle::current().dump();
        let shown = dump.task(task.id()).unwrap();
        assert_eq!(shown.name(), Some("weft dump_on_signal"));
        assert_eq!(
            shown.waits_on(),
            WaitsOn::Signal {
                signum: libc::SIGUSR1
            }
        );
        assert!(dump.to_string().contains("signal SIGUSR1"));
        let err = weft::runtime::dump_on_signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        task.abort();
    });
}

#[test]
fn every_sync_primitive_and_timer_names_itself() {
    use weft::sync::{broadcast, watch, Barrier, Notify, OnceCell, RwLock, Semaphore};

    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut expect = Vec::new();
        let addr = |p: *const ()| p as u64;

        let rwlock = Arc::new(RwLock::new(0));
        let write = rwlock.write().await;
        for kind in [SyncKind::RwLockRead, SyncKind::RwLockWrite] {
            let rwlock = rwlock.clone();
            let task = weft::spawn(reporting(
                async move {
                    if kind == SyncKind::RwLockRead {
                        drop(rwlock.read().await);
                    } else {
                        drop(rwlock.write().await);
                    }
                },
                &tx,
            ));
            expect.push((task, kind, None));
        }

        let semaphore = Arc::new(Semaphore::new(0));
        let task = weft::spawn(reporting(
            {
                let semaphore = semaphore.clone();
                async move {
                    let _ = semaphore.acquire().await;
                }
            },
            &tx,
        ));
        expect.push((
            task,
            SyncKind::Semaphore,
            Some(addr(Arc::as_ptr(&semaphore).cast())),
        ));

        let notify = Arc::new(Notify::new());
        let task = weft::spawn(reporting(
            {
                let notify = notify.clone();
                async move { notify.notified().await }
            },
            &tx,
        ));
        expect.push((
            task,
            SyncKind::Notify,
            Some(addr(Arc::as_ptr(&notify).cast())),
        ));

        let (full_tx, _full_rx) = mpsc::channel::<u8>(1);
        full_tx.send(0).await.unwrap();
        let task = weft::spawn(reporting(
            async move {
                let _ = full_tx.send(1).await;
            },
            &tx,
        ));
        expect.push((task, SyncKind::MpscSend, None));
        let (_empty_tx, mut empty_rx) = mpsc::channel::<u8>(1);
        let task = weft::spawn(reporting(
            async move {
                let _ = empty_rx.recv().await;
            },
            &tx,
        ));
        expect.push((task, SyncKind::MpscRecv, None));

        let (_one_tx, one_rx) = oneshot::channel::<u8>();
        let task = weft::spawn(reporting(
            async move {
                let _ = one_rx.await;
            },
            &tx,
        ));
        expect.push((task, SyncKind::OneshotRecv, None));
        let (mut closed_tx, _closed_rx) = oneshot::channel::<u8>();
        let task = weft::spawn(reporting(async move { closed_tx.closed().await }, &tx));
        expect.push((task, SyncKind::OneshotClosed, None));

        let (_cast_tx, mut cast_rx) = broadcast::channel::<u8>(4);
        let task = weft::spawn(reporting(
            async move {
                let _ = cast_rx.recv().await;
            },
            &tx,
        ));
        expect.push((task, SyncKind::BroadcastRecv, None));
        let (_watch_tx, mut watch_rx) = watch::channel(0u8);
        let task = weft::spawn(reporting(
            async move {
                let _ = watch_rx.changed().await;
            },
            &tx,
        ));
        expect.push((task, SyncKind::WatchChanged, None));

        let barrier = Arc::new(Barrier::new(2));
        let task = weft::spawn(reporting(
            {
                let barrier = barrier.clone();
                async move {
                    barrier.wait().await;
                }
            },
            &tx,
        ));
        expect.push((
            task,
            SyncKind::Barrier,
            Some(addr(Arc::as_ptr(&barrier).cast())),
        ));

        // One task initialises the cell (and waits inside its initialiser);
        // the next waits for it.
        let cell = Arc::new(OnceCell::<u8>::new());
        let (_init_tx, init_rx) = oneshot::channel::<u8>();
        let initialiser = weft::spawn(reporting(
            {
                let cell = cell.clone();
                async move {
                    cell.get_or_init(|| async { init_rx.await.unwrap() }).await;
                }
            },
            &tx,
        ));
        let task = weft::spawn(reporting(
            {
                let cell = cell.clone();
                async move {
                    cell.get_or_init(|| async { 1 }).await;
                }
            },
            &tx,
        ));
        expect.push((
            task,
            SyncKind::OnceCell,
            Some(addr(Arc::as_ptr(&cell).cast())),
        ));

        // A timeout around a lock: the lock (noted first), and more.
        let mutex = Arc::new(Mutex::new(()));
        let held = mutex.clone().lock_owned().await;
        let timed = weft::spawn(reporting(
            {
                let mutex = mutex.clone();
                async move {
                    let _ = weft::time::timeout(Duration::from_secs(3600), mutex.lock()).await;
                }
            },
            &tx,
        ));
        let ticker = weft::spawn(reporting(
            async move {
                let mut interval = weft::time::interval(Duration::from_secs(7));
                interval.tick().await;
                interval.tick().await;
            },
            &tx,
        ));

        reported(&mut rx, expect.len() + 3).await;
        let dump = Handle::current().dump();
        for (task, kind, at) in &expect {
            match dump.task(task.id()).unwrap().waits_on() {
                WaitsOn::Sync {
                    kind: seen,
                    addr,
                    holder,
                } => {
                    assert_eq!(seen, *kind);
                    if let Some(at) = at {
                        assert_eq!(addr, *at, "{kind:?}");
                    }
                    let expected_holder =
                        matches!(kind, SyncKind::RwLockRead | SyncKind::RwLockWrite)
                            .then_some(Holder::NotATask);
                    assert_eq!(holder, expected_holder, "{kind:?}");
                }
                other => panic!("{kind:?}: {other:?}"),
            }
        }
        assert!(matches!(
            dump.task(initialiser.id()).unwrap().waits_on(),
            WaitsOn::Sync {
                kind: SyncKind::OneshotRecv,
                ..
            }
        ));
        let timed = dump.task(timed.id()).unwrap();
        assert!(matches!(
            timed.waits_on(),
            WaitsOn::Sync {
                kind: SyncKind::Mutex,
                ..
            }
        ));
        assert!(timed.waits_on_more(), "the timeout's timer too");
        assert!(dump.to_string().contains("Mutex::lock 0x"));
        match dump.task(ticker.id()).unwrap().waits_on() {
            WaitsOn::Timer { deadline, now } => {
                let left = deadline - now;
                // Deadlines round up to the millisecond, readings down.
                assert!(left > Duration::from_secs(6), "{left:?}");
                assert!(left <= Duration::from_millis(7_001), "{left:?}");
            }
            other => panic!("{other:?}"),
        }
        drop((write, held));
    });
}

#[test]
fn a_lock_released_or_downgraded_has_no_holder_and_an_owned_guard_stays_with_its_locker() {
    use weft::sync::RwLock;

    let rt = current_thread();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mutex = Arc::new(Mutex::new(()));
        let (guard_tx, guard_rx) = oneshot::channel();
        let locker = weft::spawn({
            let mutex = mutex.clone();
            async move { guard_tx.send(mutex.lock_owned().await).unwrap() }
        });
        let guard = guard_rx.await.unwrap();
        locker.await.unwrap();
        // The guard now lives in another task; the locker has finished.
        let (_never_tx, never) = oneshot::channel::<()>();
        let keeper = weft::spawn(async move {
            let _guard = guard;
            let _ = never.await;
        });
        let waiter = weft::spawn(reporting(
            {
                let mutex = mutex.clone();
                async move { drop(mutex.lock().await) }
            },
            &tx,
        ));
        reported(&mut rx, 1).await;
        let dump = Handle::current().dump();
        let locker_id = match dump.task(waiter.id()).unwrap().waits_on() {
            WaitsOn::Sync {
                holder: Some(Holder::Task(id)),
                ..
            } => id,
            other => panic!("{other:?}"),
        };
        assert_ne!(
            locker_id,
            keeper.id(),
            "recorded under the task that locked"
        );
        assert!(dump.task(locker_id).is_none(), "which has finished");
        assert!(dump.deadlocks().is_empty(), "a finished holder is no hint");
        keeper.abort();
        waiter.await.unwrap();

        let rwlock = Arc::new(RwLock::new(()));
        let write = rwlock.write().await;
        let reader = weft::spawn(reporting(
            {
                let rwlock = rwlock.clone();
                async move { drop(rwlock.write().await) }
            },
            &tx,
        ));
        reported(&mut rx, 1).await;
        let read = write.downgrade();
        let dump = Handle::current().dump();
        match dump.task(reader.id()).unwrap().waits_on() {
            WaitsOn::Sync { holder, .. } => assert_eq!(holder, None, "downgraded"),
            other => panic!("{other:?}"),
        }
        drop(read);
        reader.await.unwrap();
    });
}
