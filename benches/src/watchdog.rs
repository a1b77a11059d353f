//! A watchdog that ends the bench when a runtime stops making progress.
//!
//! A runtime that loses a task (or deadlocks) would otherwise hang the bench
//! forever; with the watchdog, the run stops with a message naming the
//! workload and runtime that got stuck.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

type Armed = Option<(String, Instant)>;

/// Ends the process if one armed step takes longer than its timeout.
pub struct Watchdog {
    armed: Arc<Mutex<Armed>>,
}

impl Watchdog {
    /// Starts the watchdog thread; `timeout` is how long one step may take.
    pub fn start(timeout: Duration) -> Watchdog {
        let armed: Arc<Mutex<Armed>> = Arc::new(Mutex::new(None));
        let watched = armed.clone();
        thread::Builder::new()
            .name("weft-bench-watchdog".into())
            .spawn(move || loop {
                thread::sleep(Duration::from_millis(250));
                if let Some((what, since)) = &*watched.lock().unwrap() {
                    if since.elapsed() > timeout {
                        eprintln!(
                            "weft-bench: {what} took longer than {timeout:?}: a runtime \
                             is probably stuck (lost wakeup or lost task); aborting \
                             (raise --timeout-s if it is only slow)."
                        );
                        std::process::exit(3);
                    }
                }
            })
            .expect("spawning the watchdog thread");
        Watchdog { armed }
    }

    /// Starts timing one step, described by `what`.
    pub fn arm(&self, what: String) {
        *self.armed.lock().unwrap() = Some((what, Instant::now()));
    }

    /// The step finished in time.
    pub fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }
}
