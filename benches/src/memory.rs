//! The memory rows: resident bytes per pending task, and per pending timer.
//!
//! Each runtime is measured in its own child process (this binary re-run with
//! the hidden `--memory-child NAME` flag), so one runtime's allocator state
//! cannot affect another's numbers. The child builds the runtime, reads its
//! resident set size, spawns N tasks that each bump a counter and then wait
//! forever, waits until every task has been polled once (so all are parked),
//! reads the RSS again and prints `(after - before) / N`. It then exits with
//! `std::process::exit` without tearing the runtime down.
//!
//! With `--memory-timers` the tasks wait on a one-hour sleep of the runtime
//! instead (polled, so registered with the timer); a pending timer's cost is
//! the difference between the two numbers: the sleep inside the task plus
//! whatever the timer keeps for it.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use crate::rt::{Kind, Runtime, Spawner, WithRuntime};

/// The hidden flag that makes this binary a memory child.
pub const CHILD_FLAG: &str = "--memory-child";

/// The hidden flag that makes the child's tasks wait on timers.
pub const TIMERS_FLAG: &str = "--memory-timers";

/// What the child prints before the number.
const RESULT_KEY: &str = "bytes_per_task=";

/// Tasks that have been polled (and parked) so far, in the child.
static POLLED: AtomicUsize = AtomicUsize::new(0);

/// Runs the memory child for `kind` and returns bytes per pending task
/// (each waiting on a registered timer if `timers`).
pub fn measure(
    kind: Kind,
    workers: usize,
    tasks: usize,
    timeout: Duration,
    timers: bool,
) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(exe)
        .args([CHILD_FLAG, kind.name()])
        .args(timers.then_some(TIMERS_FLAG))
        .args(["--workers", &workers.to_string()])
        .args(["--memory-tasks", &tasks.to_string()])
        .args(["--timeout-s", &timeout.as_secs().to_string()])
        .output()
        .map_err(|e| format!("spawning the memory child: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "memory child for {} failed ({}): {}{}",
            kind.name(),
            out.status,
            stdout.trim(),
            stderr.trim()
        ));
    }
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix(RESULT_KEY))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            format!(
                "memory child for {} printed no result: {stdout}",
                kind.name()
            )
        })
}

/// The child's side: measures, prints and exits the process.
pub fn run_child(kind: Kind, workers: usize, tasks: usize, timeout: Duration, timers: bool) -> ! {
    let rt = match kind.build(workers) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("building {}: {e}", kind.name());
            std::process::exit(1);
        }
    };
    let code = rt.with(Child {
        tasks,
        timeout,
        timers,
    });
    // No teardown: a million parked tasks are not worth dropping.
    std::process::exit(code)
}

struct Child {
    tasks: usize,
    timeout: Duration,
    timers: bool,
}

impl WithRuntime for Child {
    type Output = i32;

    fn call<R: Runtime>(self, rt: &R) -> i32 {
        // Get the worker threads started and their stacks touched before the
        // baseline, so only the tasks are counted.
        // Both spawn paths are warmed: from outside, and from inside a task.
        let sp = rt.spawner();
        let warm = rt.spawn(async move {
            let inner: Vec<_> = (0..64).map(|i| sp.spawn(async move { i })).collect();
            let mut sum = 0;
            for handle in inner {
                sum += handle.await;
            }
            sum
        });
        assert_eq!(rt.block_on(warm), (0..64).sum::<i32>());
        let before = match rss_bytes() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        };

        for _ in 0..self.tasks {
            if self.timers {
                rt.spawn_detached(async {
                    let mut sleep = pin!(R::sleep(Duration::from_secs(3600)));
                    // Registered with the timer before it counts as parked.
                    poll_fn(|cx| {
                        assert!(sleep.as_mut().poll(cx).is_pending());
                        Poll::Ready(())
                    })
                    .await;
                    POLLED.fetch_add(1, Ordering::Relaxed);
                    sleep.await;
                });
            } else {
                rt.spawn_detached(async {
                    POLLED.fetch_add(1, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                });
            }
        }
        let deadline = Instant::now() + self.timeout;
        while POLLED.load(Ordering::Acquire) < self.tasks {
            if Instant::now() > deadline {
                eprintln!(
                    "{}: only {} of {} tasks were polled within {:?}",
                    R::NAME,
                    POLLED.load(Ordering::Acquire),
                    self.tasks,
                    self.timeout
                );
                return 2;
            }
            thread::sleep(Duration::from_millis(1));
        }

        let after = match rss_bytes() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        };
        let per_task = after.saturating_sub(before) as f64 / self.tasks as f64;
        println!(
            "runtime={} tasks={} rss_before={before} rss_after={after} {RESULT_KEY}{per_task}",
            R::NAME,
            self.tasks
        );
        0
    }
}

/// This process's resident set size in bytes, from `VmRSS` in
/// /proc/self/status (reported in kB there, so no page size is needed).
pub fn rss_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("reading /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| "no VmRSS line in /proc/self/status".to_string())
}
