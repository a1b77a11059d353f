//! Shared test helpers: runtimes of both flavours, drop counters, and a
//! watchdog that turns a hang into a failure.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use weft_runtime::runtime::{Builder, Runtime};

/// A small scale under miri, the real one elsewhere.
pub fn scale(real: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        real
    }
}

pub fn current_thread() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

pub fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// One runtime of each flavour (the multi-thread one with 2 workers).
pub fn both() -> Vec<(&'static str, Runtime)> {
    vec![
        ("current_thread", current_thread()),
        ("multi_thread", multi_thread(2)),
    ]
}

/// Counts drops of the values it hands out.
#[derive(Clone, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

pub struct Tracked(Arc<AtomicUsize>);

impl DropCounter {
    pub fn track(&self) -> Tracked {
        Tracked(self.0.clone())
    }
    pub fn dropped(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Runs `f` on its own thread and fails the test if it does not finish in
/// `secs` (a lost wakeup shows up as a failure, not a hung CI job).
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => {
            worker.join().unwrap();
            out
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: surface its panic.
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {secs} s: a wakeup was lost or a task hangs")
        }
    }
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A future that, on each poll, hands its waker to another thread which
/// wakes it — often while this poll is still running.
struct CrossWake {
    left: usize,
    tx: mpsc::Sender<Waker>,
}

impl Future for CrossWake {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        self.tx.send(cx.waker().clone()).unwrap();
        Poll::Pending
    }
}

/// `tasks` tasks each complete only after `wakes` wakes sent from two other
/// threads; a lost wakeup hangs (use under `within`).
pub fn cross_thread_wakes(rt: &Runtime, tasks: usize, wakes: usize) {
    let (tx, rx) = mpsc::channel::<Waker>();
    let rx = Arc::new(Mutex::new(rx));
    let wakers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || loop {
                let next = rx.lock().unwrap().recv();
                match next {
                    Ok(waker) => waker.wake(),
                    Err(_) => return,
                }
            })
        })
        .collect();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            rt.spawn(CrossWake {
                left: wakes,
                tx: tx.clone(),
            })
        })
        .collect();
    drop(tx);
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    for w in wakers {
        w.join().unwrap();
    }
}

/// Resolves once `done()` is true, re-polling itself (no timer needed).
pub async fn until(mut done: impl FnMut() -> bool) {
    std::future::poll_fn(|cx| {
        if done() {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Spins on this thread, without yielding to the runtime (a task's poll
/// that must not end yet), until `done` says yes or 10 s have passed;
/// returns `done()`. For tests whose point is that another worker acts
/// while this one is busy.
pub fn spin_until(mut done: impl FnMut() -> bool) -> bool {
    let give_up = std::time::Instant::now() + Duration::from_secs(10);
    while !done() && std::time::Instant::now() < give_up {
        std::hint::spin_loop();
    }
    done()
}

/// Polls a future once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

/// Opened once; `wait` completes after that.
#[derive(Default)]
pub struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    pub fn open(&self) {
        self.open.store(true, SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }

    /// Whether a task waits on it (has polled `wait` and not completed).
    pub fn is_waited_on(&self) -> bool {
        self.waker.lock().unwrap().is_some()
    }

    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.open.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}
