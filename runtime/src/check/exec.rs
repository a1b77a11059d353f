//! The check run's executor: one thread, and every step chosen by the
//! checker.
//!
//! A schedule runs on a fresh current-thread runtime whose clock starts
//! paused and whose reactor refuses sources. The runtime provides the
//! context (`Handle::current`, timers); its own scheduler never runs.
//! Tasks spawned on it, the body first, come here instead
//! (`Services::spawn`), and so do `spawn_blocking` closures, as tasks that
//! run the closure when polled. Woken tasks join `runnable` in wake order;
//! each step the decider picks one of them to poll. When none is runnable
//! the clock jumps to the next timer and fires it; when no timer is
//! pending either, the live tasks are deadlocked.
//!
//! Invariants: the state lock is never held across a poll, a task drop or a
//! wake (each of which may re-enter `schedule`); a schedule ends with every
//! task shut down and `runnable` drained, so no task outlives it.

use std::future::Future;
use std::sync::Arc;

use super::failure::{Event, FailureKind, TaskInfo};
use super::quiet::{self, Watched};
use super::strategy::{self, Decider};
use crate::cell::{self, Header, Id, JoinHandle, Notified, OwnedTasks, Schedule};
use crate::runtime::{handle::start_driving_tasks, Builder};
use weft_base::coop;
use weft_base::loom::Mutex;

/// The tasks of one schedule.
pub(crate) struct Exec {
    state: Mutex<State>,
    owned: OwnedTasks,
}

struct State {
    /// Tasks woken and not yet polled, in wake order.
    runnable: Vec<Notified>,
    /// Every task of the schedule, by ordinal.
    tasks: Vec<Record>,
}

struct Record {
    id: Id,
    name: Option<Arc<String>>,
    live: bool,
    polls: u64,
}

impl Exec {
    fn new() -> Arc<Exec> {
        Arc::new(Exec {
            state: Mutex::new(State {
                runnable: Vec::new(),
                tasks: Vec::new(),
            }),
            owned: OwnedTasks::new(1),
        })
    }

    /// Makes a task of `future` and queues it (`Services::spawn` in a check
    /// run).
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        name: Option<Arc<String>>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = Id::next();
        let (task, notified, join) =
            cell::new(Watched::new(future), self.clone(), id, name.clone());
        self.state.lock().tasks.push(Record {
            id,
            name,
            live: true,
            polls: 0,
        });
        if let Some(notified) = self.owned.bind(task, notified) {
            self.state.lock().runnable.push(notified);
        }
        join
    }

    fn ordinal(state: &State, id: Id) -> usize {
        state
            .tasks
            .iter()
            .position(|record| record.id == id)
            .expect("every task of a check run is recorded at spawn")
    }

    fn info(state: &State, ordinal: usize) -> TaskInfo {
        let record = &state.tasks[ordinal];
        TaskInfo {
            ordinal,
            id: record.id.as_u64(),
            name: record.name.as_deref().cloned(),
            polls: record.polls,
        }
    }

    /// Cancels every task and drops every queue entry.
    fn shut_down(&self) {
        self.owned.close_and_shutdown_all(0);
        loop {
            // Dropping an entry may drop a future whose drop wakes another.
            let entries = std::mem::take(&mut self.state.lock().runnable);
            if entries.is_empty() {
                break;
            }
            drop(entries);
        }
    }
}

impl Schedule for Exec {
    fn schedule(&self, task: Notified) {
        self.state.lock().runnable.push(task);
    }

    fn defer(&self, task: Notified) -> Result<(), Notified> {
        self.schedule(task);
        Ok(())
    }

    fn release(&self, task: &Header) -> bool {
        {
            let mut state = self.state.lock();
            let ordinal = Exec::ordinal(&state, task.id);
            state.tasks[ordinal].live = false;
        }
        self.owned.remove(task)
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

/// Runs the body once, under `decider`'s choices.
pub(crate) fn run_schedule<B, Fut>(body: &B, decider: Box<Decider>, max_steps: usize) -> Outcome
where
    B: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if weft_base::context::is_driving_tasks() {
        return Outcome {
            failure: Some(FailureKind::Setup {
                reason: "weft::check runs its own runtime: call it from a plain `#[test]` \
                         (or `#[weft::check]`), not from inside a runtime or task"
                    .to_string(),
            }),
            decider,
        };
    }
    let rt = match Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            return Outcome {
                failure: Some(FailureKind::Setup {
                    reason: format!("building its runtime failed: {err}"),
                }),
                decider,
            }
        }
    };
    let services = &rt.handle().services;
    let exec = Exec::new();
    let _ = services.check.set(exec.clone());
    services.io().refuse_sources(REAL_IO);
    let time = services.time().clone();
    let start = time.now();

    let _quiet = quiet::quiet();
    let _ = quiet::take_escaped();
    let enter = rt.enter();
    let driving = start_driving_tasks();
    strategy::activate(decider);

    let main = exec.spawn(body(), Some(Arc::new(String::from("main"))));
    let failure = loop {
        if main.is_finished() {
            break None;
        }
        let runnable: Vec<usize> = {
            let state = exec.state.lock();
            state
                .runnable
                .iter()
                .map(|task| Exec::ordinal(&state, task.id()))
                .collect()
        };
        if runnable.is_empty() {
            if time.fire_next() {
                let now = time.now().saturating_duration_since(start);
                strategy::with_active(|d| d.trace.push(Event::Advance(now)));
                continue;
            }
            let state = exec.state.lock();
            let waiting = (0..state.tasks.len())
                .filter(|&i| state.tasks[i].live)
                .map(|i| Exec::info(&state, i))
                .collect();
            break Some(FailureKind::Deadlock { waiting });
        }
        let steps = strategy::with_active(|d| d.steps).unwrap_or(0);
        if steps >= max_steps {
            break Some(FailureKind::StepBound { max_steps });
        }
        let index = strategy::with_active(|d| d.pick_task(&runnable))
            .expect("the decider is active for the whole schedule");
        let task = {
            let mut state = exec.state.lock();
            state.tasks[runnable[index]].polls += 1;
            state.runnable.remove(index)
        };
        coop::budget(|| task.run());
        if let Some(message) = quiet::take_escaped() {
            let state = exec.state.lock();
            break Some(FailureKind::Panic {
                task: Exec::info(&state, runnable[index]),
                message,
            });
        }
    };
    drop(main);
    exec.shut_down();
    let _ = quiet::take_escaped();
    let decider = strategy::deactivate().expect("the decider is active until here");
    drop(driving);
    drop(enter);
    drop(rt);
    // A replay that left its schedule says so, whatever happened after.
    let failure = match decider.diverged.clone() {
        Some(detail) => Some(FailureKind::ReplayDiverged { detail }),
        None => failure,
    };
    Outcome { failure, decider }
}
