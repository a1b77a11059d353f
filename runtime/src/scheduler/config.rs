//! The scheduler's tunables, fixed when the runtime is built
//! (`runtime::Builder`): how often a worker looks at the injector and at
//! the driver, whether woken tasks take the LIFO slot, and the hooks run
//! around a worker's park.
//!
//! Invariant: both intervals are at least 1 (the builder refuses 0).

use std::sync::Arc;

use super::histogram::Layout;

/// A hook the runtime calls on its own threads.
pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;

/// Injector first every this many ticks (tokio uses 31..61, self-tuned).
pub(crate) const DEFAULT_GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Poll the driver and check for shutdown every this many ticks; on the
/// current-thread flavour, also the most tasks run between two polls of
/// the `block_on` future (tokio's number for both).
pub(crate) const DEFAULT_EVENT_INTERVAL: u32 = 61;

/// What `Builder` tunes in the scheduler.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) event_interval: u32,
    pub(crate) global_queue_interval: u32,
    /// False: every woken task goes to the back of the queue, where other
    /// workers can steal it, and every push asks for a sleeping worker.
    pub(crate) lifo_slot: bool,
    /// Called on a worker just before it parks (with its core in hand, so a
    /// task it spawns is queued on this worker and stops the park).
    pub(crate) before_park: Option<Callback>,
    /// Called on a worker just after it leaves park.
    pub(crate) after_unpark: Option<Callback>,
    /// The poll-time histogram's layout; `None`: no histogram, and no
    /// clock read per poll.
    pub(crate) poll_time_histogram: Option<Layout>,
    /// Which run queues loom and miri builds get.
    #[cfg(any(loom, miri))]
    pub(crate) queues: super::queue::QueueModel,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            event_interval: DEFAULT_EVENT_INTERVAL,
            global_queue_interval: DEFAULT_GLOBAL_QUEUE_INTERVAL,
            lifo_slot: true,
            before_park: None,
            after_unpark: None,
            poll_time_histogram: None,
            #[cfg(any(loom, miri))]
            queues: Default::default(),
        }
    }
}

/// Runs a park hook. A panicking hook is reported by the panic hook and
/// otherwise ignored: it must not take a worker (and its queue) down.
pub(crate) fn run_hook(hook: &Callback) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook()));
}
