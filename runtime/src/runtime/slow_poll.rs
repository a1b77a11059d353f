//! `SlowPoll`: what the slow-poll watchdog reports (see `watchdog.rs`) —
//! a worker stuck inside one poll, or a runtime whose I/O driver nobody
//! turns while events wait — and the one-line text it prints.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::cell::Id;

/// What a [`SlowPoll`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowPollKind {
    /// A worker polling a task.
    Task,
    /// The thread of a current-thread runtime's `block_on` polling the
    /// future it was given (not a task, but it holds the runtime's only
    /// worker just the same).
    BlockOn,
    /// No thread has turned the runtime's I/O driver for a while although
    /// events wait in it: every worker is busy (or stuck) in polls, so
    /// sockets are not being served.
    IoDriver,
}

/// A report of the slow-poll detector
/// ([`Builder::slow_poll_threshold`](crate::runtime::Builder::slow_poll_threshold)):
/// a poll that has been running longer than the threshold (reported while
/// it runs, [`is_running`](Self::is_running)), the same poll once it ended
/// (with its total), or an I/O driver left unturned.
///
/// Its `Display` is one line, for instance:
///
/// ```text
/// weft: worker 1 has been polling task 17 'db-sync' (src/sync.rs:40:5, my_app::sync::{{closure}}) for 2.1 s; a poll should not block: use spawn_blocking or block_in_place
/// ```
#[derive(Clone, Debug)]
pub struct SlowPoll {
    pub(crate) kind: SlowPollKind,
    pub(crate) worker: Option<usize>,
    pub(crate) task_id: Option<Id>,
    pub(crate) name: Option<Arc<String>>,
    pub(crate) location: Option<&'static Location<'static>>,
    pub(crate) type_name: Option<&'static str>,
    pub(crate) duration: Duration,
    pub(crate) running: bool,
}

impl SlowPoll {
    /// What the report is about.
    pub fn kind(&self) -> SlowPollKind {
        self.kind
    }

    /// The index of the worker that polls (or polled) it, as
    /// [`worker_index`](crate::runtime::worker_index) numbers them; `None`
    /// for an [`IoDriver`](SlowPollKind::IoDriver) report.
    pub fn worker(&self) -> Option<usize> {
        self.worker
    }

    /// The task's id; `None` unless the report is about a task.
    pub fn task_id(&self) -> Option<Id> {
        self.task_id
    }

    /// The name the task was spawned with (`task::Builder::name`), if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(String::as_str)
    }

    /// Where the task was spawned (or the `block_on` called): the
    /// `spawn` call in the caller's code. `None` for an I/O driver report,
    /// or a task that finished before it could be looked up.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }

    /// The type name of the task's future (or the `block_on` future), as
    /// `std::any::type_name` gives it; `None` as for
    /// [`location`](Self::location).
    pub fn type_name(&self) -> Option<&'static str> {
        self.type_name
    }

    /// How long the poll has run so far (while [`is_running`](Self::is_running))
    /// or ran in all (after), or how long the I/O driver has gone unturned.
    /// The watchdog samples every quarter threshold, so this is accurate to
    /// about that much, and never less than the real figure for a finished
    /// poll.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// Whether the poll (or the driver's neglect) was still going on when
    /// the report was made; false for the report made once it ended.
    pub fn is_running(&self) -> bool {
        self.running
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let duration = Seconds(self.duration);
        if self.kind == SlowPollKind::IoDriver {
            let verb = if self.running { "has not" } else { "had not" };
            return write!(
                f,
                "weft: no thread {verb} turned the I/O driver for {duration} while events \
                 waited in it; the workers are busy in polls: a poll should not block, use \
                 spawn_blocking or block_in_place"
            );
        }
        let worker = self.worker.unwrap_or(0);
        if self.running {
            write!(f, "weft: worker {worker} has been polling ")?;
        } else {
            write!(f, "weft: worker {worker} was stuck polling ")?;
        }
        match (self.kind, self.task_id) {
            (SlowPollKind::BlockOn, _) => write!(f, "the block_on future")?,
            (_, Some(id)) => write!(f, "task {id}")?,
            (_, None) => write!(f, "a task")?,
        }
        if let Some(name) = self.name() {
            write!(f, " '{name}'")?;
        }
        match (self.location, self.type_name) {
            (Some(location), Some(type_name)) => write!(f, " ({location}, {type_name})")?,
            (Some(location), None) => write!(f, " ({location})")?,
            (None, Some(type_name)) => write!(f, " ({type_name})")?,
            (None, None) => {}
        }
        if self.running {
            write!(f, " for {duration}")?;
        } else {
            write!(f, " for {duration} in one poll")?;
        }
        write!(
            f,
            "; a poll should not block: use spawn_blocking or block_in_place"
        )
    }
}

/// A duration as a person reads it: "350 ms", "2.1 s".
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis < 1000 {
            write!(f, "{millis} ms")
        } else {
            write!(f, "{:.1} s", self.0.as_secs_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU64;

    #[track_caller]
    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn one_line_names_the_task_where_it_came_from_and_for_how_long() {
        let location = here();
        let report = SlowPoll {
            kind: SlowPollKind::Task,
            worker: Some(1),
            task_id: Some(Id(NonZeroU64::new(17).unwrap())),
            name: Some(Arc::new("db-sync".to_string())),
            location: Some(location),
            type_name: Some("my_app::sync::{{closure}}"),
            duration: Duration::from_millis(2130),
            running: true,
        };
        assert_eq!(
            report.to_string(),
            format!(
                "weft: worker 1 has been polling task 17 'db-sync' ({location}, \
                 my_app::sync::{{{{closure}}}}) for 2.1 s; a poll should not block: use \
                 spawn_blocking or block_in_place"
            )
        );
        let finished = SlowPoll {
            running: false,
            duration: Duration::from_millis(310),
            ..report
        };
        assert!(finished
            .to_string()
            .contains("was stuck polling task 17 'db-sync'"));
        assert!(finished.to_string().contains("for 310 ms in one poll"));
        let block_on = SlowPoll {
            kind: SlowPollKind::BlockOn,
            task_id: None,
            name: None,
            ..finished
        };
        assert!(block_on
            .to_string()
            .starts_with("weft: worker 1 was stuck polling the block_on future ("));
        assert!(!block_on.to_string().contains('\n'));
    }
}
