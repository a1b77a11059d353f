//! The task dump: every live task of a runtime, what state it is in, how
//! much it has run, and what it waits on, with hints at deadlocks.
//!
//! [`Handle::dump`](super::Handle::dump) walks the runtime's owned-task list
//! (and a `LocalRuntime`'s local set) under the list's shard locks, reading
//! each task's header words (`cell::TaskView`): no task is stopped, polled
//! or woken. Everything read is a relaxed snapshot taken task by task, so a
//! busy runtime's dump is a little blurred in time (a task may be shown one
//! poll behind), never torn.
//!
//! What a task waits on is the note its last `Pending` poll left
//! (`weft_base::wait`): weft's timers, sockets, sync primitives and
//! `JoinHandle`s leave one; a poll that left none was waiting on a future
//! weft cannot see. Lock holders come from `weft_base::holders`, read by
//! the lock's address, never through it.
//!
//! Not in a dump: `spawn_blocking` jobs (cells, but not in the owned list;
//! a task awaiting one is shown waiting on "a blocking job"), and the tasks
//! of a free-standing [`LocalSet`](crate::task::LocalSet), which no handle
//! reaches (`LocalSet::dump` lists those).
//!
//! Deadlock hints (see [`Deadlock`]): among idle tasks that wait on exactly
//! one thing, each waiting on another task's `JoinHandle`, or on a `Mutex`
//! (or an `RwLock` write) recorded as held by another task, is an edge
//! from waiter to the task waited on; a cycle of such edges can never make
//! progress by itself, and a waiter on a lock held by an idle task that is
//! not in a cycle is named with that holder. A task with more than one
//! note (`timeout(d, handle)`, `select!`) is left out: another branch may
//! still end its wait.

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use super::services::Services;
use crate::cell::{Header, Id, TaskView};
use crate::scheduler::stats::{NOT_POLLING, POLLING_BLOCK_ON};
use weft_base::coarse;
use weft_base::holders;
pub use weft_base::wait::SyncKind;
use weft_base::wait::Waiting;

/// A snapshot of a runtime's live tasks; print it for a table, or read it
/// through its methods.
///
/// ```
/// use std::time::Duration;
/// use weft_runtime::runtime::Builder;
///
/// let rt = Builder::new_current_thread().enable_all().build().unwrap();
/// rt.block_on(async {
///     let sleeper = weft_runtime::spawn(weft_timer::sleep(Duration::from_secs(60)));
///     weft_runtime::task::yield_now().await;
///     let dump = weft_runtime::runtime::Handle::current().dump();
///     let task = dump.task(sleeper.id()).unwrap();
///     assert!(matches!(task.waits_on(), weft_runtime::runtime::dump::WaitsOn::Timer { .. }));
///     println!("{dump}");
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Dump {
    /// Sorted: running first, then by id.
    tasks: Vec<TaskDump>,
    deadlocks: Vec<Deadlock>,
}

/// One live task as the dump saw it.
#[derive(Clone, Debug)]
pub struct TaskDump {
    id: Id,
    name: Option<Arc<String>>,
    location: &'static Location<'static>,
    type_name: &'static str,
    state: TaskState,
    since_last_poll: Option<Duration>,
    age: Duration,
    waits_on: WaitsOn,
    more: bool,
    local: bool,
}

/// Where a task stands in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Queued to run (woken, or just spawned).
    Scheduled,
    /// Being polled now: on the worker with this index, or (`None`) on a
    /// thread that is not one of the runtime's workers (a local set's
    /// thread, a worker given up by `block_in_place`).
    Running {
        /// The worker's index (as `runtime::worker_index` numbers them).
        worker: Option<usize>,
    },
    /// Waiting to be woken.
    Idle,
    /// Aborted, and queued for its future to be dropped.
    Cancelling,
    /// Finished; leaving the runtime's list.
    Completing,
}

/// What a task's last poll left it waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitsOn {
    /// Nothing weft can see: a future from outside weft (or one that woke
    /// itself and was never pending on anything).
    Unknown,
    /// A weft timer (`sleep`, `timeout`, `interval`).
    Timer {
        /// Its deadline, on the runtime's timer clock (the one
        /// `time::pause` stops), since that clock started.
        deadline: Duration,
        /// That clock's reading when the dump was taken.
        now: Duration,
    },
    /// A socket or `AsyncFd` becoming readable.
    Readable {
        /// Its file descriptor.
        fd: u64,
    },
    /// A socket or `AsyncFd` becoming writable.
    Writable {
        /// Its file descriptor.
        fd: u64,
    },
    /// A weft sync primitive.
    Sync {
        /// What the task is doing with it.
        kind: SyncKind,
        /// The primitive's address (for a lock or a bounded channel's
        /// sender, the address of the semaphore inside it): equal
        /// addresses are the same primitive.
        addr: u64,
        /// For a `Mutex`, or an `RwLock` held for writing: who holds it,
        /// if recorded (`RwLock` readers are not recorded).
        holder: Option<Holder>,
    },
    /// The `JoinHandle` of a task.
    Join {
        /// The awaited task.
        task: Id,
    },
    /// The `JoinHandle` of a `spawn_blocking` job.
    BlockingJob {
        /// The job's task id.
        task: Id,
    },
    /// A Unix signal (`signal::unix::Signal::recv`, `signal::ctrl_c`, a
    /// child process's exit).
    Signal {
        /// The signal's number.
        signum: i32,
    },
}

/// Who holds a lock, as recorded when it was taken.
///
/// The record names the task that *took* the lock: a guard moved to
/// another task (an owned guard sent into a spawned task, say) is still
/// shown under the task that locked it, until the guard is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Holder {
    /// A task.
    Task(Id),
    /// Code outside any task (`blocking_lock`, another executor).
    NotATask,
}

/// A deadlock hint: see the module doc.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deadlock {
    /// Idle tasks each waiting on the next (the last on the first), by
    /// `JoinHandle` or by a lock the next one holds: none can move unless
    /// something outside the cycle aborts one.
    Cycle {
        /// The tasks in order of waiting.
        tasks: Vec<Id>,
    },
    /// An idle task waits on a lock held by a task that is itself idle
    /// (and not in a cycle): it moves only when the holder is woken.
    HeldByIdle {
        /// The waiting task.
        waiter: Id,
        /// The lock's address.
        lock: u64,
        /// The idle holder.
        holder: Id,
    },
}

/// What a task-list walk calls for each live task (and whether it is a
/// local set's).
pub(crate) type Visit<'a> = dyn FnMut(&Header, bool) + 'a;

impl Dump {
    /// The dump of one task list (`tasks` under its locks); `polling[i]`
    /// is what worker `i` polls now; `timer_now` is the timer clock's
    /// reading in milliseconds, where there is one.
    pub(crate) fn collect(
        lists: &mut dyn FnMut(&mut Visit<'_>),
        polling: &[u64],
        timer_now: Option<u64>,
    ) -> Dump {
        coarse::refresh();
        let now = coarse::now();
        let mut views: Vec<(TaskView, bool)> = Vec::new();
        lists(&mut |header, local| views.push((header.view(), local)));
        let tasks = views
            .into_iter()
            .map(|(view, local)| TaskDump::from_view(view, local, polling, now, timer_now))
            .collect();
        Dump::from_tasks(tasks)
    }

    /// The dump of a runtime: its owned tasks, and its `LocalRuntime`'s
    /// local ones.
    pub(crate) fn of_runtime(services: &Services) -> Dump {
        let scheduler = &services.scheduler;
        let polling: Vec<u64> = scheduler
            .remotes
            .iter()
            .map(|remote| remote.metrics.polling())
            .collect();
        let timer_now = services.time().now_millis();
        Dump::collect(
            &mut |f| {
                scheduler.owned.for_each(|header| f(header, false));
                if let Some(local) = services.local.get() {
                    local.for_each_task(|header| f(header, true));
                }
            },
            &polling,
            Some(timer_now),
        )
    }

    fn from_tasks(mut tasks: Vec<TaskDump>) -> Dump {
        tasks.sort_by_key(|t| (!matches!(t.state, TaskState::Running { .. }), t.id));
        let deadlocks = find_deadlocks(&tasks);
        Dump { tasks, deadlocks }
    }

    /// Every live task, running ones first, then by id.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }

    /// The task with this id, if it was live.
    pub fn task(&self, id: Id) -> Option<&TaskDump> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The deadlock hints (empty when none was found).
    pub fn deadlocks(&self) -> &[Deadlock] {
        &self.deadlocks
    }

    /// How many tasks are in `state` (for `Running`, on any thread).
    pub fn count(&self, state: TaskState) -> usize {
        self.tasks
            .iter()
            .filter(|t| match (t.state, state) {
                (TaskState::Running { .. }, TaskState::Running { .. }) => true,
                (a, b) => a == b,
            })
            .count()
    }

    fn label(&self, id: Id) -> String {
        match self.task(id).and_then(|t| t.name()) {
            Some(name) => format!("task {id} '{name}'"),
            None => format!("task {id}"),
        }
    }
}

impl TaskDump {
    fn from_view(
        view: TaskView,
        local: bool,
        polling: &[u64],
        now: coarse::Millis,
        timer_now: Option<u64>,
    ) -> TaskDump {
        let s = view.state;
        let id = view.id;
        let state = if s.is_complete() {
            TaskState::Completing
        } else if s.is_running() {
            let worker = polling
                .iter()
                .position(|&p| p == id.as_u64() && p != NOT_POLLING && p != POLLING_BLOCK_ON);
            if worker.is_none() && view.seen.woke_itself {
                // Queued in a carried entry (`cell/raw.rs`), which keeps
                // `RUNNING` from the poll in which it woke itself.
                if s.is_cancelled() {
                    TaskState::Cancelling
                } else {
                    TaskState::Scheduled
                }
            } else {
                TaskState::Running { worker }
            }
        } else if s.is_notified() && s.is_cancelled() {
            TaskState::Cancelling
        } else if s.is_notified() {
            TaskState::Scheduled
        } else {
            TaskState::Idle
        };
        let wait = view.seen.wait;
        // The note is of the last `Pending` poll: it says nothing of a task
        // that is queued, running or done, nor before its first poll.
        let waiting = matches!(state, TaskState::Idle);
        let waits_on = if waiting {
            decode(wait.waiting(), timer_now)
        } else {
            WaitsOn::Unknown
        };
        TaskDump {
            id,
            name: view.name,
            location: view.location,
            type_name: view.type_name,
            state,
            since_last_poll: view.seen.last_poll.map(|at| at.until(now)),
            age: view.seen.spawned.until(now),
            waits_on,
            more: waiting && wait.and_more(),
            local,
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The name given with `task::Builder::name`, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(String::as_str)
    }

    /// Where it was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The type name of its future (`std::any::type_name`).
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Its state.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// How long since its last poll began (by a clock of millisecond
    /// grain); `None` if it was never polled.
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.since_last_poll
    }

    /// How long since it was spawned (same clock).
    pub fn age(&self) -> Duration {
        self.age
    }

    /// What it waits on: known only for an idle task (see [`WaitsOn`]);
    /// [`WaitsOn::Unknown`] for any other state.
    pub fn waits_on(&self) -> WaitsOn {
        self.waits_on
    }

    /// Whether its last poll was left waiting on more than
    /// [`waits_on`](Self::waits_on) (a `select!`, a `timeout`).
    pub fn waits_on_more(&self) -> bool {
        self.more
    }

    /// Whether it is a `!Send` task of a local set.
    pub fn is_local(&self) -> bool {
        self.local
    }
}

/// The note decoded, with what only the runtime knows added.
fn decode(waiting: Waiting, timer_now: Option<u64>) -> WaitsOn {
    let id = |n: u64| std::num::NonZeroU64::new(n).map(Id);
    match waiting {
        Waiting::Unknown => WaitsOn::Unknown,
        Waiting::Timer { deadline } => WaitsOn::Timer {
            deadline: Duration::from_millis(deadline),
            now: Duration::from_millis(timer_now.unwrap_or(0)),
        },
        Waiting::Readable { fd } => WaitsOn::Readable { fd },
        Waiting::Writable { fd } => WaitsOn::Writable { fd },
        Waiting::Sync { kind, addr } => WaitsOn::Sync {
            kind,
            addr,
            holder: match kind {
                // A writer holds an `RwLock` for readers too.
                SyncKind::Mutex | SyncKind::RwLockRead | SyncKind::RwLockWrite => {
                    match holders::holder(addr) {
                        holders::Holder::Task(task) => Some(Holder::Task(Id(task))),
                        holders::Holder::NotATask => Some(Holder::NotATask),
                        holders::Holder::Unknown => None,
                    }
                }
                _ => None,
            },
        },
        Waiting::Join { task } => id(task).map_or(WaitsOn::Unknown, |task| WaitsOn::Join { task }),
        Waiting::BlockingJob { task } => {
            id(task).map_or(WaitsOn::Unknown, |task| WaitsOn::BlockingJob { task })
        }
        Waiting::Signal { signum } => {
            i32::try_from(signum).map_or(WaitsOn::Unknown, |signum| WaitsOn::Signal { signum })
        }
    }
}

/// The task an idle task waits on, and through which lock (if any).
fn waits_for(task: &TaskDump) -> Option<(Id, Option<u64>)> {
    if task.state != TaskState::Idle || task.more {
        return None;
    }
    match task.waits_on {
        WaitsOn::Join { task } => Some((task, None)),
        WaitsOn::Sync {
            addr,
            holder: Some(Holder::Task(holder)),
            ..
        } => Some((holder, Some(addr))),
        _ => None,
    }
}

/// The hints (module doc). Every task has at most one edge, so following
/// edges from each task either ends, or enters a cycle found once.
fn find_deadlocks(tasks: &[TaskDump]) -> Vec<Deadlock> {
    let index: HashMap<Id, usize> = tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let next: Vec<Option<(usize, Option<u64>)>> = tasks
        .iter()
        .map(|t| {
            let (to, lock) = waits_for(t)?;
            Some((*index.get(&to)?, lock))
        })
        .collect();
    // 0: unvisited, 1: on the current walk, 2: done.
    let mut mark = vec![0u8; tasks.len()];
    let mut in_cycle = vec![false; tasks.len()];
    let mut out = Vec::new();
    for start in 0..tasks.len() {
        let mut walk = Vec::new();
        let mut at = start;
        while mark[at] == 0 {
            mark[at] = 1;
            walk.push(at);
            match next[at] {
                Some((to, _)) => at = to,
                None => break,
            }
        }
        if mark[at] == 1 && next[at].is_some() {
            // `at` is on this walk and has an edge: the walk closed a loop.
            let from = walk.iter().position(|&w| w == at).expect("on the walk");
            let cycle = &walk[from..];
            for &c in cycle {
                in_cycle[c] = true;
            }
            // Name it from its lowest id, so the same cycle reads the same.
            let low = (0..cycle.len())
                .min_by_key(|&i| tasks[cycle[i]].id)
                .expect("a cycle has a task");
            let tasks_in = (0..cycle.len())
                .map(|i| tasks[cycle[(low + i) % cycle.len()]].id)
                .collect();
            out.push(Deadlock::Cycle { tasks: tasks_in });
        }
        for w in walk {
            mark[w] = 2;
        }
    }
    for (i, task) in tasks.iter().enumerate() {
        if let Some((to, Some(lock))) = next[i] {
            if !in_cycle[i] && tasks[to].state == TaskState::Idle {
                out.push(Deadlock::HeldByIdle {
                    waiter: task.id,
                    lock,
                    holder: tasks[to].id,
                });
            }
        }
    }
    out
}

/// Prints the current runtime's [`Dump`] to stderr each time the signal
/// `kind` arrives, from a task of its own (named `weft dump_on_signal`),
/// until the runtime shuts down: the "what is it doing?" button of a stuck
/// server (`kill -USR1 <pid>`). Opt-in; Unix only.
///
/// The dump is written with one blocking write to stderr, on whichever
/// worker runs the task. A runtime whose every worker is blocked cannot
/// run it: the slow-poll detector reports that case.
///
/// # Errors
/// If weft's handler for `kind` cannot be installed (a signal that cannot
/// be caught, such as `SIGKILL`), or the runtime is shutting down.
///
/// # Panics
/// Outside a weft runtime.
///
/// ```no_run
/// # weft_runtime::run(async {
/// use weft_runtime::signal::unix::SignalKind;
///
/// weft_runtime::runtime::dump_on_signal(SignalKind::user_defined1()).unwrap();
/// // ... serve; `kill -USR1 <pid>` prints every task and what it waits on.
/// # });
/// ```
#[cfg(all(unix, not(loom)))]
#[track_caller]
pub fn dump_on_signal(
    kind: crate::signal::unix::SignalKind,
) -> std::io::Result<crate::cell::JoinHandle<()>> {
    use std::io::Write;

    let mut signal = crate::signal::unix::signal(kind)?;
    crate::task::Builder::new()
        .name("weft dump_on_signal")
        .spawn(async move {
            while signal.recv().await.is_some() {
                let text = format!("weft task dump:\n{}", super::Handle::current().dump());
                // Nothing better to do with a failed write to stderr.
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
        })
}

/// The usual name of signal `signum`, for the common ones.
fn signal_name(signum: i32) -> Option<&'static str> {
    #[cfg(unix)]
    {
        let names = [
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGINT, "SIGINT"),
            (libc::SIGQUIT, "SIGQUIT"),
            (libc::SIGUSR1, "SIGUSR1"),
            (libc::SIGUSR2, "SIGUSR2"),
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGCHLD, "SIGCHLD"),
            (libc::SIGPIPE, "SIGPIPE"),
            (libc::SIGALRM, "SIGALRM"),
            (libc::SIGWINCH, "SIGWINCH"),
        ];
        names
            .iter()
            .find(|(n, _)| *n == signum)
            .map(|(_, name)| *name)
    }
    #[cfg(not(unix))]
    {
        let _ = signum;
        None
    }
}

/// A duration the way the table shows it: `850ms`, `12.3s`, `4m05s`,
/// `2h07m`.
struct Short(Duration);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        let text = if ms < 1_000 {
            format!("{ms}ms")
        } else if ms < 60_000 {
            format!("{}.{}s", ms / 1_000, ms % 1_000 / 100)
        } else if ms < 3_600_000 {
            format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1_000)
        } else {
            format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000)
        };
        f.pad(&text)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            TaskState::Scheduled => "scheduled".to_string(),
            TaskState::Running {
                worker: Some(worker),
            } => format!("running on worker {worker}"),
            TaskState::Running { worker: None } => "running".to_string(),
            TaskState::Idle => "idle".to_string(),
            TaskState::Cancelling => "cancelling".to_string(),
            TaskState::Completing => "completing".to_string(),
        };
        f.pad(&text)
    }
}

impl fmt::Display for WaitsOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WaitsOn::Unknown => {
                f.write_str("something weft cannot see (a future from outside weft)")
            }
            WaitsOn::Timer { deadline, now } => match deadline.checked_sub(now) {
                Some(left) => write!(f, "timer due in {}", Short(left)),
                None => write!(f, "timer overdue by {}", Short(now - deadline)),
            },
            WaitsOn::Readable { fd } => write!(f, "fd {fd} to become readable"),
            WaitsOn::Writable { fd } => write!(f, "fd {fd} to become writable"),
            WaitsOn::Sync { kind, addr, holder } => {
                write!(f, "{} {addr:#x}", kind.describe())?;
                match holder {
                    Some(Holder::Task(id)) => write!(f, " (held by task {id})"),
                    Some(Holder::NotATask) => f.write_str(" (held outside any task)"),
                    None => Ok(()),
                }
            }
            WaitsOn::Join { task } => write!(f, "the JoinHandle of task {task}"),
            WaitsOn::BlockingJob { task } => write!(f, "a blocking job (task {task})"),
            WaitsOn::Signal { signum } => match signal_name(signum) {
                Some(name) => write!(f, "signal {name}"),
                None => write!(f, "signal {signum}"),
            },
        }
    }
}

impl fmt::Display for Dump {
    /// A table, one task a line, then a summary and the deadlock hints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["ID", "STATE", "LAST POLL", "AGE", "NAME", "SPAWNED AT"];
        let rows: Vec<[String; 6]> = self
            .tasks
            .iter()
            .map(|t| {
                [
                    t.id.to_string(),
                    t.state.to_string(),
                    t.since_last_poll
                        .map_or_else(|| "never".to_string(), |d| format!("{} ago", Short(d))),
                    Short(t.age).to_string(),
                    t.name().unwrap_or("-").to_string(),
                    t.location.to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 6], rest: &str| {
            for (i, cell) in cells.iter().enumerate() {
                write!(f, "{cell:<width$}  ", width = widths[i])?;
            }
            writeln!(f, "{rest}")
        };
        line(f, header, "WAITS ON / FUTURE")?;
        for (task, row) in self.tasks.iter().zip(&rows) {
            let mut rest = match task.state {
                TaskState::Idle => {
                    // As `WaitsOn`'s own text, with the other task's name.
                    let mut text = match task.waits_on {
                        WaitsOn::Join { task: other } => {
                            format!("the JoinHandle of {}", self.label(other))
                        }
                        WaitsOn::Sync {
                            kind,
                            addr,
                            holder: Some(Holder::Task(holder)),
                        } => format!(
                            "{} {addr:#x} (held by {})",
                            kind.describe(),
                            self.label(holder)
                        ),
                        other => other.to_string(),
                    };
                    if task.more {
                        text.push_str(", and more");
                    }
                    text
                }
                _ => String::from("-"),
            };
            rest.push_str(" / ");
            rest.push_str(task.type_name);
            if task.local {
                rest.push_str(" (local)");
            }
            line(f, row.each_ref().map(String::as_str), &rest)?;
        }
        let count = |state| self.count(state);
        writeln!(
            f,
            "{} tasks: {} running, {} scheduled, {} idle, {} cancelling, {} completing",
            self.tasks.len(),
            count(TaskState::Running { worker: None }),
            count(TaskState::Scheduled),
            count(TaskState::Idle),
            count(TaskState::Cancelling),
            count(TaskState::Completing),
        )?;
        for hint in &self.deadlocks {
            match hint {
                Deadlock::Cycle { tasks } => {
                    let names: Vec<String> = tasks.iter().map(|&id| self.label(id)).collect();
                    writeln!(
                        f,
                        "deadlock: a cycle of {} idle tasks, each waiting on the next: {} -> {}",
                        tasks.len(),
                        names.join(" -> "),
                        names[0],
                    )?;
                }
                Deadlock::HeldByIdle {
                    waiter,
                    lock,
                    holder,
                } => writeln!(
                    f,
                    "stuck: {} waits on the lock {lock:#x} held by {}, which is idle",
                    self.label(*waiter),
                    self.label(*holder),
                )?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u64, state: TaskState, waits_on: WaitsOn) -> TaskDump {
        TaskDump {
            id: Id(std::num::NonZeroU64::new(id).unwrap()),
            name: Some(Arc::new(format!("t{id}"))),
            location: Location::caller(),
            type_name: "F",
            state,
            since_last_poll: Some(Duration::ZERO),
            age: Duration::ZERO,
            waits_on,
            more: false,
            local: false,
        }
    }

    fn id(n: u64) -> Id {
        Id(std::num::NonZeroU64::new(n).unwrap())
    }

    fn join(n: u64) -> WaitsOn {
        WaitsOn::Join { task: id(n) }
    }

    fn mutex(addr: u64, holder: u64) -> WaitsOn {
        WaitsOn::Sync {
            kind: SyncKind::Mutex,
            addr,
            holder: Some(Holder::Task(id(holder))),
        }
    }

    #[test]
    fn cycles_through_joins_and_locks_are_found_once() {
        let dump = Dump::from_tasks(vec![
            task(5, TaskState::Idle, join(3)),
            task(3, TaskState::Idle, mutex(0x40, 5)),
            // Waits on the cycle from outside it: not part of it.
            task(9, TaskState::Idle, join(5)),
            // A lock held by an idle task that is not in a cycle.
            task(11, TaskState::Idle, mutex(0x80, 12)),
            task(12, TaskState::Idle, WaitsOn::Unknown),
            // A lock held by a running task: not stuck.
            task(13, TaskState::Idle, mutex(0x90, 14)),
            task(14, TaskState::Running { worker: Some(0) }, WaitsOn::Unknown),
        ]);
        assert_eq!(
            dump.deadlocks(),
            [
                Deadlock::Cycle {
                    tasks: vec![id(3), id(5)]
                },
                Deadlock::HeldByIdle {
                    waiter: id(11),
                    lock: 0x80,
                    holder: id(12)
                },
            ]
        );
        assert_eq!(dump.tasks()[0].id(), id(14), "running first");
        let text = dump.to_string();
        assert!(
            text.contains("task 3 't3' -> task 5 't5' -> task 3 't3'"),
            "{text}"
        );
        assert!(
            text.contains("7 tasks: 1 running, 0 scheduled, 6 idle"),
            "{text}"
        );
    }

    #[test]
    fn a_task_waiting_on_a_lock_it_holds_is_a_cycle_of_one() {
        let dump = Dump::from_tasks(vec![task(2, TaskState::Idle, mutex(0x10, 2))]);
        assert_eq!(dump.deadlocks(), [Deadlock::Cycle { tasks: vec![id(2)] }]);
    }

    #[test]
    fn short_durations_read_well() {
        let cases = [
            (0, "0ms"),
            (999, "999ms"),
            (12_345, "12.3s"),
            (245_000, "4m05s"),
            (7_620_000, "2h07m"),
        ];
        for (ms, text) in cases {
            assert_eq!(Short(Duration::from_millis(ms)).to_string(), text);
        }
    }
}
