//! The check run's executor: one thread, and every step chosen by the
//! checker.
//!
//! A check run owns one [`Session`]: a current-thread runtime whose clock
//! is paused and whose reactor refuses sources. The runtime provides the
//! context (`Handle::current`, timers); its own scheduler never runs.
//! Tasks spawned on it, the body first, come to the session's [`Exec`]
//! instead (`Services::spawn`), and so do `spawn_blocking` closures, as
//! tasks that run the closure when polled. Woken tasks join `runnable` in
//! wake order; each step the decider picks one of them to poll. When none
//! is runnable the clock jumps to the next timer and fires it (the tasks it
//! wakes are queued in spawn order, so the order is the same whatever the
//! clock's absolute reading); when no timer is pending either, the live
//! tasks are deadlocked.
//!
//! Schedules reuse the session's runtime (building one costs more than a
//! small schedule): each starts with a fresh owned-task list and task
//! table, and its clock paused at a whole millisecond, as a fresh runtime
//! starts, so a schedule runs the same in any session.
//!
//! Invariants: the state lock is never held across a poll, a task drop or a
//! wake (each of which may re-enter `schedule`); a schedule ends with every
//! task shut down and `runnable` drained, so no task outlives it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::failure::{Event, FailureKind, TaskInfo};
use super::quiet::{self, Watched};
use super::strategy::{self, Decider};
use crate::cell::{Header, Id, JoinHandle, Notified, OwnedTasks, Schedule};
use crate::runtime::dump::Dump;
use crate::runtime::services::make_task;
use crate::runtime::{handle::start_driving_tasks, Builder, Runtime};
use weft_base::coop;
use weft_base::loom::Mutex;

/// The tasks of the schedule that runs.
pub(crate) struct Exec {
    state: Mutex<State>,
}

struct State {
    /// Tasks woken and not yet polled, in wake order, with their ordinals.
    runnable: Vec<(usize, Notified)>,
    /// Every task of the schedule, by ordinal.
    tasks: Vec<Record>,
    ordinals: HashMap<Id, usize, BuildHasherDefault<IdHasher>>,
    /// The schedule's live tasks; closed and replaced between schedules.
    owned: Arc<OwnedTasks>,
}

struct Record {
    id: Id,
    name: Option<Arc<String>>,
    live: bool,
    polls: u64,
}

/// Hashes a task id (a distinct 64-bit number) with one multiplication:
/// the ordinal lookup runs on every wake.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Exec {
    fn new() -> Arc<Exec> {
        Arc::new(Exec {
            state: Mutex::new(State {
                runnable: Vec::new(),
                tasks: Vec::new(),
                ordinals: HashMap::default(),
                owned: Arc::new(OwnedTasks::new(1)),
            }),
        })
    }

    /// Makes a task of `future` and queues it (`Services::spawn` in a check
    /// run).
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        name: Option<Arc<String>>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, join) = make_task(
            Watched::new(future),
            self.clone(),
            name.clone(),
            location,
            false,
        );
        let id = join.id();
        let (ordinal, owned) = {
            let mut state = self.state.lock();
            let ordinal = state.tasks.len();
            state.tasks.push(Record {
                id,
                name,
                live: true,
                polls: 0,
            });
            state.ordinals.insert(id, ordinal);
            (ordinal, state.owned.clone())
        };
        // Outside the lock: a closed list cancels the task on the spot.
        if let Some(notified) = owned.bind(task, notified) {
            self.state.lock().runnable.push((ordinal, notified));
        }
        join
    }

    fn info(state: &State, ordinal: usize) -> TaskInfo {
        let record = &state.tasks[ordinal];
        TaskInfo {
            ordinal,
            id: record.id.as_u64(),
            name: record.name.as_deref().cloned(),
            polls: record.polls,
            waits_on: None,
        }
    }

    /// Cancels every task and drops every queue entry, then makes the
    /// state ready for the next schedule.
    fn finish_schedule(&self) {
        let owned = self.state.lock().owned.clone();
        owned.close_and_shutdown_all(0);
        loop {
            // Dropping an entry may drop a future whose drop wakes another.
            let entries = std::mem::take(&mut self.state.lock().runnable);
            if entries.is_empty() {
                break;
            }
            drop(entries);
        }
        let mut state = self.state.lock();
        state.tasks.clear();
        state.ordinals.clear();
        state.owned = Arc::new(OwnedTasks::new(1));
    }
}

impl Schedule for Exec {
    fn schedule(&self, task: Notified) {
        let mut state = self.state.lock();
        // A task of a schedule that has ended (dropped late) has no
        // ordinal; it is cancelled, so its entry only needs dropping.
        match state.ordinals.get(&task.id()).copied() {
            Some(ordinal) => state.runnable.push((ordinal, task)),
            None => {
                drop(state);
                drop(task);
            }
        }
    }

    fn defer(&self, task: Notified) -> Result<(), Notified> {
        let mut state = self.state.lock();
        match state.ordinals.get(&task.id()).copied() {
            Some(ordinal) => {
                state.runnable.push((ordinal, task));
                Ok(())
            }
            // A schedule that has ended: the entry may be carried, which
            // must not be dropped under the poll that made it; the poll
            // ends through the state word, and `schedule` drops what that
            // queues.
            None => Err(task),
        }
    }

    fn release(&self, task: &Header) -> bool {
        let owned = {
            let mut state = self.state.lock();
            if let Some(&ordinal) = state.ordinals.get(&task.id) {
                state.tasks[ordinal].live = false;
            }
            state.owned.clone()
        };
        owned.remove(task)
    }
}

/// How one schedule ended: its failure, if any, and the decider with the
/// choices it made.
pub(crate) struct Outcome {
    pub(crate) failure: Option<FailureKind>,
    pub(crate) decider: Box<Decider>,
}

/// The message for real I/O in a check run.
pub(crate) const REAL_IO: &str = "weft::check: real sockets, files, pipes and processes are \
    not available inside a check run (they complete in real time, outside the schedule the \
    checker explores); use `weft::io::duplex` for in-memory streams";

/// The runtime and executor one check run's schedules share.
pub(crate) struct Session {
    rt: Runtime,
    exec: Arc<Exec>,
    time: weft_timer::TimeHandle,
    /// The clock's reading when the session began, a whole millisecond.
    origin: Instant,
}

impl Session {
    /// A session, or why none can be had here.
    pub(crate) fn new() -> Result<Session, FailureKind> {
        if weft_base::context::is_driving_tasks() {
            return Err(FailureKind::Setup {
                reason: "weft::check runs its own runtime: call it from a plain `#[test]` \
                         (or `#[weft::check]`), not from inside a runtime or task"
                    .to_string(),
            });
        }
        let rt = Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(|err| FailureKind::Setup {
                reason: format!("building its runtime failed: {err}"),
            })?;
        let services = &rt.handle().services;
        let exec = Exec::new();
        let _ = services.check.set(exec.clone());
        services.io().refuse_sources(REAL_IO);
        let time = services.time().clone();
        let origin = time.now();
        Ok(Session {
            rt,
            exec,
            time,
            origin,
        })
    }

    /// Puts the clock back on a whole millisecond, paused, as a fresh
    /// runtime's starts; returns the schedule's start.
    fn align_clock(&self) -> Instant {
        // The body may have resumed it.
        let _ = self.time.pause();
        let offset = self.time.now().saturating_duration_since(self.origin);
        let into_ms = offset.as_nanos() % 1_000_000;
        if into_ms != 0 {
            let _ = self
                .time
                .advance(Duration::from_nanos((1_000_000 - into_ms) as u64));
        }
        self.time.now()
    }

    /// Runs the body once, under `decider`'s choices. With `preemption`
    /// set, each poll may be preempted at one of its first `preemption` + 1
    /// budgeted operations (the checker's choice).
    pub(crate) fn run_schedule<B, Fut>(
        &self,
        body: &B,
        decider: Box<Decider>,
        max_steps: usize,
        preemption: Option<u8>,
    ) -> Outcome
    where
        B: Fn() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let exec = &self.exec;
        let time = &self.time;
        let start = self.align_clock();
        let _quiet = quiet::quiet();
        let _ = quiet::take_escaped();
        let enter = self.rt.enter();
        let driving = start_driving_tasks();
        strategy::activate(decider);

        let main = exec.spawn(
            body(),
            Some(Arc::new(String::from("main"))),
            Location::caller(),
        );
        let mut runnable = Vec::new();
        let failure = loop {
            if main.is_finished() {
                break None;
            }
            runnable.clear();
            runnable.extend(exec.state.lock().runnable.iter().map(|(o, _)| *o));
            if runnable.is_empty() {
                if time.fire_next() {
                    // Timers due at one instant fire in wheel order: queue
                    // what they woke in spawn order instead.
                    exec.state.lock().runnable.sort_by_key(|(o, _)| *o);
                    let now = time.now().saturating_duration_since(start);
                    strategy::with_active(|d| d.trace.push(Event::Advance(now)));
                    continue;
                }
                let state = exec.state.lock();
                // What each waits on, as the task dump reads it.
                let dump = Dump::collect(&mut |f| state.owned.for_each(|h| f(h, false)), &[], None);
                let waiting = (0..state.tasks.len())
                    .filter(|&i| state.tasks[i].live)
                    .map(|i| TaskInfo {
                        waits_on: dump.task(state.tasks[i].id).map(|t| t.waits_on()),
                        ..Exec::info(&state, i)
                    })
                    .collect();
                break Some(FailureKind::Deadlock { waiting });
            }
            let steps = strategy::with_active(|d| d.steps).unwrap_or(0);
            if steps >= max_steps {
                break Some(FailureKind::StepBound { max_steps });
            }
            let (index, units) = strategy::with_active(|d| {
                let index = d.pick_task(&runnable);
                (index, preemption.and_then(|max| d.choose_preemption(max)))
            })
            .expect("the decider is active for the whole schedule");
            let task = {
                let mut state = exec.state.lock();
                state.tasks[runnable[index]].polls += 1;
                state.runnable.remove(index).1
            };
            match units {
                Some(units) => coop::budget_of(units, || task.run()),
                None => coop::budget(|| task.run()),
            }
            if let Some(message) = quiet::take_escaped() {
                let state = exec.state.lock();
                break Some(FailureKind::Panic {
                    task: Exec::info(&state, runnable[index]),
                    message,
                });
            }
        };
        drop(main);
        exec.finish_schedule();
        let _ = quiet::take_escaped();
        let decider = strategy::deactivate().expect("the decider is active until here");
        drop(driving);
        drop(enter);
        // A replay that left its schedule says so, whatever happened after.
        let failure = match decider.diverged.clone() {
            Some(detail) => Some(FailureKind::ReplayDiverged { detail }),
            None => failure,
        };
        Outcome { failure, decider }
    }
}
