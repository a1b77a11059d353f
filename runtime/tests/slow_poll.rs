//! The slow-poll detector: a blocking poll is reported while it blocks,
//! with the task's name and spawn location, and again with its total when
//! it ends; short polls never are; `block_in_place` and a detector turned
//! off are silent; a current-thread `block_on` future and an I/O driver
//! left unturned are named as such.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use weft_runtime::runtime::{Builder, Runtime, SlowPoll, SlowPollKind};
use weft_runtime::task;

const THRESHOLD: Duration = Duration::from_millis(100);
const BLOCK: Duration = Duration::from_millis(300);
/// The threshold of the test that must see no report.
const SHORT_POLLS_THRESHOLD: Duration = Duration::from_millis(250);
/// Long enough for any report that is coming on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

/// A report, and whether the blocking code had finished when it was made.
type Seen = (SlowPoll, bool);

fn reporting(builder: &mut Builder, finished: &Arc<AtomicBool>) -> mpsc::Receiver<Seen> {
    let (tx, rx) = mpsc::channel();
    let finished = finished.clone();
    builder
        .slow_poll_threshold(Some(THRESHOLD))
        .on_slow_poll(move |report| {
            let _ = tx.send((report.clone(), finished.load(SeqCst)));
        });
    rx
}

#[test]
fn a_blocking_task_is_reported_while_it_blocks_and_again_with_its_total() {
    let finished = Arc::new(AtomicBool::new(false));
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2);
    let reports = reporting(&mut builder, &finished);
    let rt = builder.build().unwrap();
    let blocker = {
        let finished = finished.clone();
        async move {
            std::thread::sleep(BLOCK);
            finished.store(true, SeqCst);
        }
    };
    let named = task::Builder::new().name("sleeper");
    let spawned_at = line!() + 1;
    let handle = named.spawn_on(blocker, rt.handle());
    let id = handle.id();

    let (report, was_finished) = reports.recv_timeout(PATIENCE).unwrap();
    assert!(
        !was_finished,
        "reported only after the poll ended: {report}"
    );
    assert!(report.is_running());
    assert_eq!(report.kind(), SlowPollKind::Task);
    assert_eq!(report.task_id(), Some(id));
    assert_eq!(report.name(), Some("sleeper"));
    let location = report.location().expect("a spawn location");
    assert_eq!((location.file(), location.line()), (file!(), spawned_at));
    assert!(report.worker().is_some_and(|w| w < 2), "{report}");
    assert!(report.duration() >= THRESHOLD, "{report}");
    let text = report.to_string();
    assert!(text.contains("'sleeper'"), "{text}");
    assert!(
        text.contains(&format!("{}:{spawned_at}", file!())),
        "{text}"
    );
    assert!(text.contains("spawn_blocking or block_in_place"), "{text}");

    let (total, was_finished) = reports.recv_timeout(PATIENCE).unwrap();
    assert!(was_finished);
    assert!(!total.is_running());
    assert_eq!(total.task_id(), Some(id));
    assert!(total.duration() >= BLOCK, "{total}");
    rt.block_on(handle).unwrap();
    drop(rt);
    // Nothing more: one report while running, one at the end.
    assert!(reports.try_recv().is_err());
}

#[test]
fn many_short_polls_are_never_reported() {
    let finished = Arc::new(AtomicBool::new(false));
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2);
    let reports = reporting(&mut builder, &finished);
    // A threshold well above what the OS may hold a worker thread off its
    // core on a loaded machine: only the polls themselves are on trial.
    builder.slow_poll_threshold(Some(SHORT_POLLS_THRESHOLD));
    let rt = builder.build().unwrap();
    rt.block_on(async {
        let start = std::time::Instant::now();
        let handles: Vec<_> = (0..64)
            .map(|_| {
                weft_runtime::spawn(async move {
                    // Busy for several thresholds, in polls of microseconds.
                    while start.elapsed() < 3 * SHORT_POLLS_THRESHOLD {
                        let mut x = 0u64;
                        for i in 0..200 {
                            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
                        }
                        std::hint::black_box(x);
                        task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    drop(rt);
    if let Ok((report, _)) = reports.try_recv() {
        panic!("a short-poll workload was reported: {report}");
    }
}

#[test]
fn block_in_place_is_not_reported() {
    let finished = Arc::new(AtomicBool::new(false));
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2);
    let reports = reporting(&mut builder, &finished);
    let rt = builder.build().unwrap();
    rt.block_on(rt.spawn(async {
        task::block_in_place(|| std::thread::sleep(BLOCK));
    }))
    .unwrap();
    drop(rt);
    if let Ok((report, _)) = reports.try_recv() {
        panic!("block_in_place was reported: {report}");
    }
}

#[test]
fn a_blocking_block_on_future_is_reported_as_the_block_on_future() {
    let finished = Arc::new(AtomicBool::new(false));
    let mut builder = Builder::new_current_thread();
    let reports = reporting(&mut builder, &finished);
    let rt = builder.build().unwrap();
    let called_at = line!() + 1;
    rt.block_on(async {
        std::thread::sleep(BLOCK);
        finished.store(true, SeqCst);
    });
    let (report, was_finished) = reports.recv_timeout(PATIENCE).unwrap();
    assert!(!was_finished, "{report}");
    assert_eq!(report.kind(), SlowPollKind::BlockOn);
    assert_eq!(report.worker(), Some(0));
    assert_eq!(report.task_id(), None);
    let location = report.location().expect("the block_on call");
    assert_eq!((location.file(), location.line()), (file!(), called_at));
    assert!(
        report.type_name().unwrap().contains("slow_poll"),
        "{report}"
    );
    assert!(
        report.to_string().contains("the block_on future"),
        "{report}"
    );
    let (total, was_finished) = reports.recv_timeout(PATIENCE).unwrap();
    assert!(was_finished && !total.is_running());
    assert!(total.duration() >= BLOCK, "{total}");
}

#[test]
fn an_unturned_io_driver_with_events_waiting_is_reported() {
    let finished = Arc::new(AtomicBool::new(false));
    let mut builder = Builder::new_current_thread();
    let reports = reporting(&mut builder, &finished);
    let rt = builder.build().unwrap();
    rt.block_on(async {
        use tokio::io::AsyncWriteExt;
        let (mut a, b) = weft_reactor::net::UnixStream::pair().unwrap();
        a.write_all(b"ready").await.unwrap();
        // `b` is readable and registered, and the only worker blocks here:
        // nobody takes its event.
        std::thread::sleep(BLOCK);
        finished.store(true, SeqCst);
        drop(b);
    });
    drop(rt);
    let reports: Vec<Seen> = reports.try_iter().collect();
    let driver = reports
        .iter()
        .find(|(report, _)| report.kind() == SlowPollKind::IoDriver)
        .unwrap_or_else(|| panic!("no I/O driver report in {reports:?}"));
    assert!(!driver.1 && driver.0.is_running(), "{}", driver.0);
    assert!(driver.0.duration() >= THRESHOLD, "{}", driver.0);
    assert!(driver.0.to_string().contains("I/O driver"), "{}", driver.0);
}

/// Both workers of `rt` parked: one waits in the driver, the other on its
/// own condvar (whichever lost the claim). Waits on the workers' own
/// park counters, which are odd while a worker is parked.
fn until_both_workers_park(rt: &Runtime) {
    let metrics = rt.metrics();
    let deadline = std::time::Instant::now() + PATIENCE;
    while (0..2).any(|worker| metrics.worker_park_unpark_count(worker) % 2 == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the workers never parked"
        );
        std::thread::yield_now();
    }
}

#[test]
fn an_idle_worker_takes_the_driver_over_from_a_worker_stuck_in_a_poll() {
    use std::io::Write;
    use std::os::unix::net::UnixStream as StdUnixStream;
    use tokio::io::AsyncReadExt;

    let finished = Arc::new(AtomicBool::new(false));
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2);
    let _reports = reporting(&mut builder, &finished);
    let rt = builder.build().unwrap();
    let (mut to_stuck, stuck_end) = StdUnixStream::pair().unwrap();
    let (mut to_other, other_end) = StdUnixStream::pair().unwrap();
    let (blocked_tx, blocked) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let (served_tx, served) = mpsc::channel();
    let (listening_tx, listening) = mpsc::channel();
    let listening_too = listening_tx.clone();
    rt.spawn(async move {
        stuck_end.set_nonblocking(true).unwrap();
        let mut stream = weft_reactor::net::UnixStream::from_std(stuck_end).unwrap();
        listening_too.send(()).unwrap();
        stream.read_exact(&mut [0]).await.unwrap();
        blocked_tx.send(()).unwrap();
        // The mistake under test: the worker that the driver woke for this
        // task blocks in its poll.
        released.recv().unwrap();
    });
    rt.spawn(async move {
        other_end.set_nonblocking(true).unwrap();
        let mut stream = weft_reactor::net::UnixStream::from_std(other_end).unwrap();
        listening_tx.send(()).unwrap();
        stream.read_exact(&mut [0]).await.unwrap();
        served_tx.send(()).unwrap();
    });
    listening.recv_timeout(PATIENCE).unwrap();
    listening.recv_timeout(PATIENCE).unwrap();
    // Both tasks wait on their sockets and both workers sleep: the one in
    // the driver is woken for the first byte, runs its task (from its LIFO
    // slot) and blocks there, leaving the other asleep on its condvar.
    until_both_workers_park(&rt);
    to_stuck.write_all(b"x").unwrap();
    blocked.recv_timeout(PATIENCE).unwrap();
    to_other.write_all(b"x").unwrap();
    let outcome = served.recv_timeout(PATIENCE);
    finished.store(true, SeqCst);
    release.send(()).unwrap();
    outcome.expect("the idle worker never turned the driver for the other socket");
}

/// The threads of this process whose name is `name`.
#[cfg(target_os = "linux")]
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// Waits until `threads_named(name)` is `n`: a thread names itself once it
/// runs, and leaves the list once the kernel has reaped it, both a moment
/// after the calls that start and join it.
#[cfg(target_os = "linux")]
fn until_threads_named(name: &str, n: usize) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while threads_named(name) != n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} threads named {name}, not {n}",
            threads_named(name)
        );
        std::thread::yield_now();
    }
}

/// A current-thread runtime (no worker threads) whose thread names are
/// counted: the watchdog is its only thread until a blocking task runs.
fn counting_names(name: &'static str, threshold: Option<Duration>) -> (Runtime, Arc<AtomicUsize>) {
    let named = Arc::new(AtomicUsize::new(0));
    let counter = named.clone();
    let rt = Builder::new_current_thread()
        .thread_name_fn(move || {
            counter.fetch_add(1, SeqCst);
            name.to_string()
        })
        .slow_poll_threshold(threshold)
        .build()
        .unwrap();
    (rt, named)
}

#[test]
fn the_watchdog_thread_runs_only_while_the_detector_is_on() {
    let (off, named) = counting_names("wd-test-off", None);
    assert_eq!(named.load(SeqCst), 0, "no thread started");
    let (on, named) = counting_names("wd-test-on", Some(THRESHOLD));
    assert_eq!(named.load(SeqCst), 1, "the watchdog, and only it");
    #[cfg(target_os = "linux")]
    until_threads_named("wd-test-on", 1);
    drop(on);
    // Joined at shutdown.
    #[cfg(target_os = "linux")]
    until_threads_named("wd-test-on", 0);
    drop(off);
    // And the default is on.
    let (_default, named) = {
        let named = Arc::new(AtomicUsize::new(0));
        let counter = named.clone();
        let rt = Builder::new_current_thread()
            .thread_name_fn(move || {
                counter.fetch_add(1, SeqCst);
                "wd-test-default".to_string()
            })
            .build()
            .unwrap();
        (rt, named)
    };
    assert_eq!(named.load(SeqCst), 1);
}

/// Set in the child process that [`without_a_handler_reports_go_to_stderr`]
/// runs.
const CHILD: &str = "WEFT_SLOW_POLL_STDERR_CHILD";

#[test]
fn without_a_handler_reports_go_to_stderr() {
    if std::env::var_os(CHILD).is_some() {
        // The child: a blocking `block_on` future, no handler.
        let rt = Builder::new_current_thread()
            .slow_poll_threshold(Some(THRESHOLD))
            .build()
            .unwrap();
        rt.block_on(async { std::thread::sleep(BLOCK) });
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "without_a_handler_reports_go_to_stderr",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("weft: ")).collect();
    // One line while it blocks, one with the total: no more.
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("weft: worker 0 has been polling the block_on future ("),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("weft: worker 0 was stuck polling the block_on future ("),
        "{stderr}"
    );
}
