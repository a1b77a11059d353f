//! The slow-poll watchdog: one thread per runtime (only when
//! `Builder::slow_poll_threshold` is set) that wakes every quarter
//! threshold and looks at what each worker is doing, so that a worker stuck
//! inside one poll is reported while it is stuck, not only afterwards.
//!
//! It costs the workers nothing they did not already do: each worker
//! publishes its poll count and the id of the task it polls (`stats.rs`,
//! two owner-only stores per poll); the watchdog compares them with its
//! last sample. A worker whose count has not moved while it polls the same
//! task has been in that poll since before the sample that first saw it.
//! Only once the poll is past the threshold does the watchdog look the task
//! up (in its owned-list shard, under that shard's lock) for its name,
//! spawn location and type.
//!
//! It also watches the I/O driver: a turn marks the reactor's counter on
//! the way in and out (odd while a thread is inside), so a counter that is
//! even and has not moved for a threshold, while every worker is inside a
//! poll and the poller has events waiting on two samples in a row, means no
//! thread is serving sockets. (The look at the poller is a system call, made
//! only then.)
//!
//! And it hands the driver over: a worker that leaves the driver to run
//! the task it woke and then blocks in that poll leaves the driver to
//! nobody, while a worker that parked meanwhile sleeps on its own condvar
//! (it found the driver taken). Nothing in the workers' hot paths can see
//! that (a poll that blocks looks like any other until it ends), and
//! waking a sleeper every time a worker leaves the driver would double the
//! wakeups of every idle-to-busy transition. So the watchdog, on a sample
//! that finds a worker in the same poll as the sample before and the
//! driver unturned since, wakes one sleeping worker, which looks for work
//! and then parks in the driver.
//!
//! And it shares a stuck worker's queue: a task queued alone on a worker
//! runs next there, so the push that queued it asks no sleeper for help
//! (a chain of spawns would wake the other worker at every link to find
//! nothing). If the poll that queued it then keeps the thread, a sample
//! that finds the worker in the same poll as the sample before with its
//! queue not empty wakes a sleeping worker, which steals it.
//!
//! Invariants:
//! - While a worker of a multi-thread runtime sleeps, a poll that blocks
//!   another keeps the driver unturned, and the tasks queued behind it
//!   waiting, for at most about two samples.
//! - A stuck poll is reported while it runs at most at doubling ages (the
//!   threshold, then at least a second apart), and once more when it ends,
//!   with its total; a task (or the driver) that was reported less than a
//!   second ago is not reported again for a new poll: never a flood.
//! - Blocking-pool threads are not workers and are never looked at; a
//!   `block_in_place` clears its worker's `polling` before it hands the
//!   worker on, so a poll blocking there by design is not reported.
//! - The thread sleeps on the shim's condvar and is woken and joined at
//!   shutdown (not joined from itself, nor by a shutdown that must not
//!   wait); on its way out it closes the reports of stuck polls that have
//!   ended since its last look.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::slow_poll::{SlowPoll, SlowPollKind};
use crate::scheduler::stats::{NOT_POLLING, POLLING_BLOCK_ON};
use crate::scheduler::{RuntimeFlavor, Scheduler};
use weft_base::coarse;
use weft_base::loom::{thread, wait_timeout, Condvar, Mutex};

/// A user's report handler (`Builder::on_slow_poll`).
pub(crate) type OnSlowPoll = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// Reports of one subject at most this often (a stuck poll's end aside).
const MIN_REPORT_GAP: Duration = Duration::from_secs(1);
/// The watchdog never samples more often than this, whatever the threshold.
const MIN_TICK: Duration = Duration::from_millis(1);
/// The rate-limit key of the I/O driver's reports (task ids never reach it).
const DRIVER_KEY: u64 = u64::MAX - 1;

/// What the detector was configured with.
#[derive(Clone)]
pub(crate) struct DetectorConfig {
    pub(crate) threshold: Duration,
    pub(crate) on_slow_poll: Option<OnSlowPoll>,
}

/// The running watchdog; stopped by [`stop`](Self::stop) or on drop.
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<thread::JoinHandle<()>>,
}

struct Shared {
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Watchdog {
    /// Starts the thread, named `thread_name`, watching `scheduler`.
    pub(crate) fn start(
        scheduler: Arc<Scheduler>,
        config: DetectorConfig,
        thread_name: String,
    ) -> io::Result<Watchdog> {
        let shared = Arc::new(Shared {
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let theirs = shared.clone();
        let thread = thread::Builder::new()
            .name(thread_name)
            .spawn(move || Watch::new(scheduler, config).run(&theirs))?;
        Ok(Watchdog {
            shared,
            thread: Some(thread),
        })
    }

    /// Wakes the thread to exit and, if `join`, waits until it has (not
    /// from the watchdog thread itself: a report handler that drops the
    /// runtime must not wait for itself).
    pub(crate) fn stop(mut self, join: bool) {
        self.signal();
        if let Some(thread) = self.thread.take() {
            if join && thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }

    fn signal(&self) {
        *self.shared.stop.lock() = true;
        self.shared.wake.notify_one();
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.signal();
    }
}

/// The watchdog thread's state.
struct Watch {
    scheduler: Arc<Scheduler>,
    config: DetectorConfig,
    tick: Duration,
    workers: Vec<WorkerWatch>,
    driver: DriverWatch,
    /// When each subject (task id, or `DRIVER_KEY`) was last reported.
    reported: HashMap<u64, Instant>,
    /// When the last sample was taken.
    last_sample: Instant,
}

/// The last sample of one worker.
struct WorkerWatch {
    polls: u64,
    polling: u64,
    /// The sample before the one that first saw this `polls` and
    /// `polling`: the poll began after it.
    began_after: Instant,
    /// The poll, once it has run past the threshold.
    stuck: Option<Stuck>,
}

/// A poll past the threshold.
struct Stuck {
    report: SlowPoll,
    /// When it began, at the latest.
    began: Instant,
    /// Its age when last reported while running (`None`: not reported,
    /// for the rate limit; its end is then not reported either).
    reported_at: Option<Duration>,
}

/// The last sample of the I/O driver.
struct DriverWatch {
    marks: u64,
    since: Instant,
    /// Whether the last sample found events waiting (and the counter still).
    pending: bool,
    /// Whether a report was made for the current stretch.
    reported: bool,
    /// Whether a sleeping worker was woken to take the driver over in the
    /// current stretch.
    handed_over: bool,
}

impl DriverWatch {
    /// A stretch without turns that starts at `since` with `marks`.
    fn new(marks: u64, since: Instant) -> DriverWatch {
        DriverWatch {
            marks,
            since,
            pending: false,
            reported: false,
            handed_over: false,
        }
    }
}

impl Watch {
    fn new(scheduler: Arc<Scheduler>, config: DetectorConfig) -> Watch {
        let now = Instant::now();
        let workers = scheduler
            .remotes
            .iter()
            .map(|remote| WorkerWatch {
                polls: remote.metrics.poll_count(),
                polling: remote.metrics.polling(),
                began_after: now,
                stuck: None,
            })
            .collect();
        let driver = DriverWatch::new(scheduler.drivers.io.turn_marks(), now);
        Watch {
            tick: (config.threshold / 4).max(MIN_TICK),
            scheduler,
            config,
            workers,
            driver,
            reported: HashMap::new(),
            last_sample: now,
        }
    }

    fn run(mut self, shared: &Shared) {
        let mut stop = shared.stop.lock();
        while !*stop {
            wait_timeout(&shared.wake, &mut stop, Some(self.tick));
            if *stop {
                break;
            }
            // Sampling and reporting happen outside the lock, so a stop
            // never waits for a report handler.
            drop(stop);
            self.sample();
            stop = shared.stop.lock();
        }
        drop(stop);
        self.finish();
    }

    /// At shutdown: the stuck polls reported while running that have
    /// ended since the last sample get their closing report (a `block_on`
    /// whose blocking future ended the program, say); nothing new is
    /// reported.
    fn finish(&mut self) {
        let now = coarse::refresh();
        for index in 0..self.workers.len() {
            let metrics = &self.scheduler.remotes[index].metrics;
            let watch = &mut self.workers[index];
            if metrics.poll_count() == watch.polls && metrics.polling() == watch.polling {
                continue;
            }
            if let Some(Stuck {
                mut report,
                began,
                reported_at: Some(_),
            }) = watch.stuck.take()
            {
                report.running = false;
                report.duration = now.saturating_duration_since(began);
                self.emit(report, now);
            }
        }
    }

    fn sample(&mut self) {
        // The watchdog's tick is also a refresh of the coarse clock, which
        // task activity stamps read.
        let now = coarse::refresh();
        self.reported
            .retain(|_, at| now.saturating_duration_since(*at) < MIN_REPORT_GAP);
        let mut any_stuck = false;
        let mut queued_behind_stuck = false;
        for index in 0..self.workers.len() {
            let stuck = self.sample_worker(index, now);
            any_stuck |= stuck;
            queued_behind_stuck |= stuck && !self.scheduler.remotes[index].steal.is_empty();
        }
        // The unturned-driver report is for a runtime whose every worker is
        // inside a poll (with one asleep, the hand-over below wakes it); a
        // current-thread runtime between `block_on` calls has no worker at
        // all, and is left alone (nothing drives it, by design).
        let all_polling = self.workers.iter().all(|w| w.polling != NOT_POLLING);
        let unturned = self.sample_driver(now, all_polling);
        if any_stuck && unturned {
            self.hand_over_driver();
        }
        if queued_behind_stuck {
            self.share_stuck_queue();
        }
        self.last_sample = now;
    }

    /// A worker has been inside one poll since the last sample while tasks
    /// wait in its queue. A push that leaves a task alone there asks no
    /// sleeper for help (it runs next); when the poll keeps the thread
    /// instead, a sleeping worker is woken to steal it. At every such
    /// sample: a queue refilled since is shared again, and a wake that
    /// finds nobody asleep (or a searcher) costs a load.
    fn share_stuck_queue(&self) {
        if self.scheduler.flavor == RuntimeFlavor::MultiThread {
            self.scheduler.notify_parked();
        }
    }

    /// A worker has been inside one poll, and nobody inside the driver,
    /// since the last sample: the worker may be the one that left the
    /// driver to run that poll, while another sleeps on its condvar (it
    /// found the driver taken when it parked). Nothing else would wake the
    /// sleeper, so sockets and timers would wait for the poll to end, maybe
    /// for ever. Waking a sleeping worker makes it look for work (the stuck
    /// worker's queue included) and then park in the driver. Once per
    /// unturned stretch: a sleeper the nudge woke has taken the driver, and
    /// a runtime whose driver cannot be turned (no I/O) is not woken again.
    fn hand_over_driver(&mut self) {
        if self.driver.handed_over || self.scheduler.flavor != RuntimeFlavor::MultiThread {
            return;
        }
        self.driver.handed_over = true;
        self.scheduler.notify_parked();
    }

    /// Samples worker `index`; true when it is inside the same poll as at
    /// the last sample.
    fn sample_worker(&mut self, index: usize, now: Instant) -> bool {
        let metrics = &self.scheduler.remotes[index].metrics;
        let polls = metrics.poll_count();
        let polling = metrics.polling();
        let watch = &mut self.workers[index];
        if polls != watch.polls || polling != watch.polling {
            // The worker moved on: the poll seen last has ended.
            let stuck = watch.stuck.take();
            *watch = WorkerWatch {
                polls,
                polling,
                began_after: self.last_sample,
                stuck: None,
            };
            if let Some(Stuck {
                mut report,
                began,
                reported_at: Some(_),
            }) = stuck
            {
                report.running = false;
                report.duration = now.saturating_duration_since(began);
                self.emit(report, now);
            }
            return false;
        }
        if polling == NOT_POLLING {
            return false;
        }
        // The same poll as at the last sample: it began after the sample
        // before the one that first saw it.
        let began_by_samples = watch.began_after;
        if watch.stuck.is_none() {
            if now.saturating_duration_since(began_by_samples) < self.config.threshold {
                return true;
            }
            let (report, began_by_stamp) = describe(&self.scheduler, index, polling, now);
            // The later of the two estimates of its start is the closer
            // one; both are no later than the real start.
            let began = began_by_stamp.map_or(began_by_samples, |b| b.max(began_by_samples));
            watch.stuck = Some(Stuck {
                report,
                began,
                reported_at: None,
            });
        }
        let Some(stuck) = watch.stuck.as_mut() else {
            return true;
        };
        let age = now.saturating_duration_since(stuck.began);
        if age < self.config.threshold {
            return true;
        }
        let due = match stuck.reported_at {
            // The first report, unless this task was reported a moment ago.
            None => !self.reported.contains_key(&subject_key(&stuck.report)),
            // Then at doubling ages, at least a second apart.
            Some(last) => age >= (last * 2).max(last + MIN_REPORT_GAP),
        };
        if !due {
            return true;
        }
        stuck.reported_at = Some(age);
        let mut report = stuck.report.clone();
        report.running = true;
        report.duration = age;
        self.emit(report, now);
        true
    }

    /// Samples the I/O driver; true when nobody has turned it since the
    /// last sample.
    fn sample_driver(&mut self, now: Instant, all_polling: bool) -> bool {
        let io = &self.scheduler.drivers.io;
        let marks = io.turn_marks();
        let watch = &mut self.driver;
        if marks != watch.marks || marks % 2 == 1 {
            // Turned since, or a thread is inside a turn now (it will take
            // whatever is ready).
            let ended = watch
                .reported
                .then(|| now.saturating_duration_since(watch.since));
            *watch = DriverWatch::new(marks, now);
            if let Some(unturned_for) = ended {
                self.emit(driver_report(unturned_for, false), now);
            }
            return false;
        }
        let idle_for = now.saturating_duration_since(watch.since);
        if !all_polling {
            watch.pending = false;
            return true;
        }
        if idle_for < self.config.threshold {
            return true;
        }
        // Events waiting on two samples in a row: nobody is about to take
        // them (a thread entering its wait would have).
        let pending = io.has_pending_events();
        let was_pending = std::mem::replace(&mut watch.pending, pending);
        if pending && was_pending && !watch.reported && !self.reported.contains_key(&DRIVER_KEY) {
            watch.reported = true;
            self.emit(driver_report(idle_for, true), now);
        }
        true
    }

    /// Sends a report where it goes, and notes it for the rate limit.
    fn emit(&mut self, report: SlowPoll, now: Instant) {
        self.reported.insert(subject_key(&report), now);
        match &self.config.on_slow_poll {
            Some(handler) => {
                // A panicking handler is reported by the panic hook and must
                // not end the watchdog.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handler(&report);
                }));
            }
            None => to_tracing_or_stderr(&report),
        }
    }
}

/// With the `tracing` feature and a subscriber that wants it, a report is
/// a `WARN` event (target `weft::slow_poll`); else a line on stderr, so it
/// is never lost to a build that has the feature and no subscriber.
fn to_tracing_or_stderr(report: &SlowPoll) {
    #[cfg(feature = "tracing")]
    if tracing::event_enabled!(target: "weft::slow_poll", tracing::Level::WARN) {
        tracing::warn!(target: "weft::slow_poll", "{report}");
        return;
    }
    eprintln!("{report}");
}

/// The key a report is rate-limited under.
fn subject_key(report: &SlowPoll) -> u64 {
    match (report.kind, report.task_id, report.worker) {
        (SlowPollKind::IoDriver, ..) => DRIVER_KEY,
        (_, Some(id), _) => id.as_u64(),
        // A `block_on` future, by worker (task ids are far below these).
        (_, None, worker) => u64::MAX - 2 - worker.unwrap_or(0) as u64,
    }
}

/// The report for worker `index` polling `polling`, looked up now, and
/// when the task's own stamp says its poll began (`None` for a `block_on`
/// future, or a task gone in the meantime).
fn describe(
    scheduler: &Scheduler,
    index: usize,
    polling: u64,
    now: Instant,
) -> (SlowPoll, Option<Instant>) {
    let mut report = SlowPoll {
        kind: SlowPollKind::Task,
        worker: Some(index),
        task_id: None,
        name: None,
        location: None,
        type_name: None,
        duration: Duration::ZERO,
        running: true,
    };
    if polling == POLLING_BLOCK_ON {
        report.kind = SlowPollKind::BlockOn;
        if let Some(origin) = scheduler.current_thread.origin() {
            report.location = Some(origin.location);
            report.type_name = Some(origin.type_name);
        }
        return (report, None);
    }
    let Some(view) = scheduler.owned.find(polling, |header| header.view()) else {
        // Finished (or cancelled) between the sample and the look-up.
        report.task_id = std::num::NonZeroU64::new(polling).map(crate::cell::Id);
        return (report, None);
    };
    report.task_id = Some(view.id);
    report.name = view.name;
    report.location = Some(view.location);
    report.type_name = Some(view.type_name);
    // The stamp is the coarse clock at the poll's start, which lags the
    // real one; a millisecond more covers the coarse clock's rounding: the
    // start it gives is no later than the real start.
    let began = view
        .seen
        .last_poll
        .and_then(|stamp| now.checked_sub(stamp.elapsed() + Duration::from_millis(1)));
    (report, began)
}

fn driver_report(duration: Duration, running: bool) -> SlowPoll {
    SlowPoll {
        kind: SlowPollKind::IoDriver,
        worker: None,
        task_id: None,
        name: None,
        location: None,
        type_name: None,
        duration,
        running,
    }
}
