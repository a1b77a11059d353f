//! Dropping a runtime: every future dropped exactly once, threads joined,
//! handles resolved to cancelled, nothing leaked. A binary of its own
//! because it counts every allocation of the process.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;

use support::{poll_once, scale, until};
use weft_runtime::runtime::{Builder, Runtime};
use weft_runtime::task::{self, JoinHandle};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct DropFlag {
    flags: Arc<Vec<AtomicU8>>,
    index: usize,
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.flags[self.index].fetch_add(1, SeqCst);
    }
}

struct Threads {
    started: Arc<AtomicUsize>,
    stopped: Arc<AtomicUsize>,
}

fn build(multi: bool, threads: &Threads) -> Runtime {
    let mut builder = if multi {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        Builder::new_current_thread()
    };
    let (s, t) = (threads.started.clone(), threads.stopped.clone());
    builder
        .on_thread_start(move || {
            s.fetch_add(1, SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap()
}

/// Spawns `n` tasks (a third parked forever, a third yielding forever, a
/// third waiting on an hour-long timer, so idle, running/queued and
/// timer-held tasks all exist), waits until each has run, drops the runtime,
/// and checks what the drop promises. Returns the handles.
fn drop_with_tasks(multi: bool, n: usize) -> Vec<JoinHandle<()>> {
    let threads = Threads {
        started: Arc::default(),
        stopped: Arc::default(),
    };
    let rt = build(multi, &threads);
    let flags: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let running = Arc::new(AtomicUsize::new(0));
    let handles: Vec<JoinHandle<()>> = (0..n)
        .map(|index| {
            let flag = DropFlag {
                flags: flags.clone(),
                index,
            };
            let running = running.clone();
            rt.spawn(async move {
                let _flag = flag;
                running.fetch_add(1, SeqCst);
                match index % 3 {
                    0 => std::future::pending::<()>().await,
                    1 => loop {
                        task::yield_now().await;
                    },
                    _ => weft_timer::sleep(std::time::Duration::from_secs(3600)).await,
                }
            })
        })
        .collect();
    rt.block_on(until(|| running.load(SeqCst) == n));
    assert!(handles.iter().all(|h| !h.is_finished()));

    drop(rt);

    for (i, flag) in flags.iter().enumerate() {
        assert_eq!(
            flag.load(SeqCst),
            1,
            "future {i} dropped {} times",
            flag.load(SeqCst)
        );
    }
    assert_eq!(
        threads.started.load(SeqCst),
        threads.stopped.load(SeqCst),
        "every runtime thread has exited"
    );
    for h in &handles {
        assert!(h.is_finished());
    }
    handles
}

#[test]
fn dropping_a_runtime_cancels_every_task_once_and_leaks_nothing() {
    let n = scale(100_000, 50);
    for multi in [false, true] {
        // Warm up lazily allocated process state (thread-locals, lock tables).
        for h in drop_with_tasks(multi, 100) {
            drop(h);
        }
        let before = LIVE_BYTES.load(SeqCst);

        let handles = drop_with_tasks(multi, n);
        for mut h in handles {
            match poll_once(&mut h) {
                Poll::Ready(Err(err)) => assert!(err.is_cancelled(), "{err}"),
                other => panic!("expected a cancelled JoinError, got {other:?}"),
            }
        }

        let leaked = LIVE_BYTES.load(SeqCst) - before;
        // 100,000 leaked task cells would be megabytes.
        assert!(
            leaked < 64 * 1024,
            "multi={multi}: {leaked} bytes still allocated"
        );
    }
}

#[test]
fn spawn_after_shutdown_resolves_to_cancelled() {
    for multi in [false, true] {
        let threads = Threads {
            started: Arc::default(),
            stopped: Arc::default(),
        };
        let rt = build(multi, &threads);
        let handle = rt.handle().clone();
        drop(rt);
        let flags: Arc<Vec<AtomicU8>> = Arc::new(vec![AtomicU8::new(0)]);
        let flag = DropFlag {
            flags: flags.clone(),
            index: 0,
        };
        let mut jh = handle.spawn(async move {
            let _flag = flag;
            unreachable!("never polled");
        });
        assert!(jh.is_finished());
        match poll_once(&mut jh) {
            Poll::Ready(Err(err)) => assert!(err.is_cancelled()),
            other => panic!("expected cancelled, got {other:?}"),
        }
        assert_eq!(flags[0].load(SeqCst), 1);
        let mut blocking = handle.spawn_blocking(|| unreachable!("never run"));
        assert!(matches!(poll_once(&mut blocking), Poll::Ready(Err(e)) if e.is_cancelled()));
    }
}
