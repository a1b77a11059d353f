//! The `tracing` feature: a `runtime.spawn` span per task with tokio's
//! fields (kind, name, id, spawn location), entered once per poll and closed
//! when the task ends, and the task wakers' `runtime::waker` events carrying
//! the span's id. Checked with a small recording `Subscriber` written here.

use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use weft_runtime::runtime::{Builder, Runtime};
use weft_runtime::task::{self, JoinHandle, LocalSet};

/// One span as the subscriber saw it.
#[derive(Clone, Debug, Default)]
struct SpanRecord {
    name: &'static str,
    target: String,
    fields: HashMap<String, String>,
    enters: usize,
    exits: usize,
    /// Live handles on the span (`new_span` and each `clone_span` add one,
    /// each `try_close` takes one away).
    refs: usize,
    closed: bool,
}

/// One event: its target and fields.
#[derive(Clone, Debug)]
struct EventRecord {
    target: String,
    fields: HashMap<String, String>,
}

#[derive(Default)]
struct Log {
    spans: HashMap<u64, SpanRecord>,
    events: Vec<EventRecord>,
}

impl Log {
    /// The fields of every event with `target`, in order.
    fn events_of(&self, target: &str) -> Vec<&HashMap<String, String>> {
        self.events
            .iter()
            .filter(|event| event.target == target)
            .map(|event| &event.fields)
            .collect()
    }
}

/// A current-thread runtime whose clock starts paused.
fn paused_runtime() -> Runtime {
    Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Records every span and event; shared with the test through an `Arc`.
#[derive(Clone, Default)]
struct Recorder {
    next: Arc<AtomicU64>,
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, SeqCst) + 1;
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let record = SpanRecord {
            name: attrs.metadata().name(),
            target: attrs.metadata().target().to_string(),
            fields: fields.0,
            refs: 1,
            ..SpanRecord::default()
        };
        self.log.lock().unwrap().spans.insert(id, record);
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.log.lock().unwrap().events.push(EventRecord {
            target: event.metadata().target().to_string(),
            fields: fields.0,
        });
    }

    fn enter(&self, id: &Id) {
        self.span_mut(id, |span| span.enters += 1);
    }

    fn exit(&self, id: &Id) {
        self.span_mut(id, |span| span.exits += 1);
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.span_mut(id, |span| span.refs += 1);
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let mut closed = false;
        self.span_mut(&id, |span| {
            span.refs -= 1;
            closed = span.refs == 0;
            span.closed |= closed;
        });
        closed
    }
}

impl Recorder {
    fn span_mut(&self, id: &Id, f: impl FnOnce(&mut SpanRecord)) {
        let mut log = self.log.lock().unwrap();
        f(log.spans.get_mut(&id.into_u64()).expect("unknown span id"));
    }

    /// The `runtime.spawn` spans, by their `task.name` field.
    fn task_span(&self, name: &str) -> (u64, SpanRecord) {
        let log = self.log.lock().unwrap();
        let mut found = log.spans.iter().filter(|(_, span)| {
            span.name == "runtime.spawn"
                && span.fields.get("task.name").map(String::as_str) == Some(name)
        });
        let (id, span) = found
            .next()
            .unwrap_or_else(|| panic!("no span for task {name:?}"));
        assert!(found.next().is_none(), "two spans for task {name:?}");
        (*id, span.clone())
    }

    /// The `op`s of the waker events for span `id`, in order.
    fn waker_ops(&self, span_id: u64) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.events
            .iter()
            .filter(|event| event.target == "runtime::waker")
            .filter(|event| event.fields.get("task.id") == Some(&span_id.to_string()))
            .map(|event| event.fields["op"].clone())
            .collect()
    }
}

/// A future that is pending `n` times (waking itself each time), then ready.
fn pending_times(n: usize) -> impl std::future::Future<Output = ()> {
    let mut left = n;
    poll_fn(move |cx| {
        if left == 0 {
            return Poll::Ready(());
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

// Each spawn path through a `#[track_caller]` helper that also returns its
// own caller's line: the span's `loc.line` must be that line, which holds
// only if the spawn path passes the caller's location all the way down.

#[track_caller]
fn spawn_named<F>(name: &str, future: F) -> (JoinHandle<F::Output>, u32)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = task::Builder::new().name(name).spawn(future).unwrap();
    (handle, Location::caller().line())
}

#[track_caller]
fn spawn_plain<F>(future: F) -> (JoinHandle<F::Output>, u32)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    (weft_runtime::spawn(future), Location::caller().line())
}

#[track_caller]
fn spawn_blocking_named<R: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> (JoinHandle<R>, u32) {
    let handle = task::Builder::new().name(name).spawn_blocking(f).unwrap();
    (handle, Location::caller().line())
}

#[track_caller]
fn spawn_local_named<F: Future + 'static>(name: &str, future: F) -> (JoinHandle<F::Output>, u32) {
    let handle = task::Builder::new().name(name).spawn_local(future).unwrap();
    (handle, Location::caller().line())
}

#[track_caller]
fn sleep_here(duration: Duration) -> (weft_timer::Sleep, u32) {
    (weft_timer::sleep(duration), Location::caller().line())
}

#[track_caller]
fn timeout_here<F: Future>(duration: Duration, future: F) -> (weft_timer::Timeout<F>, u32) {
    (
        weft_timer::timeout(duration, future),
        Location::caller().line(),
    )
}

#[test]
fn a_span_per_task_with_tokio_fields_entered_once_per_poll() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    let rt = Builder::new_current_thread().build().unwrap();

    let (alpha_id, line) = rt.block_on(async {
        let (alpha, line) = spawn_named("alpha", pending_times(4));
        let id = alpha.id();
        alpha.await.unwrap();
        (id, line)
    });

    let (span_id, span) = recorder.task_span("alpha");
    assert_eq!(span.target, "runtime::task");
    assert_eq!(span.fields["kind"], "task");
    assert_eq!(span.fields["task.id"], alpha_id.as_u64().to_string());
    assert!(
        span.fields["loc.file"].ends_with("tests/trace.rs"),
        "{:?}",
        span.fields
    );
    assert_eq!(span.fields["loc.line"], line.to_string());
    assert!(span.fields.contains_key("loc.col"));
    assert!(span.fields.contains_key("size.bytes"));
    // Pending four times, ready on the fifth: five polls, each one enter.
    assert_eq!((span.enters, span.exits), (5, 5));
    assert!(span.closed, "the span closes when the task completes");
    // Each self-wake during a poll is one `wake_by_ref` on the task's waker.
    assert_eq!(recorder.waker_ops(span_id), vec!["waker.wake_by_ref"; 4]);
}

#[test]
fn every_spawn_path_reports_its_callers_location_and_kind() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut lines = HashMap::new();

    rt.block_on(async {
        // `weft::spawn` reaches the spawn through a closure: the location
        // must still be the caller's.
        let (plain, line) = spawn_plain(async {});
        lines.insert("plain", line);
        plain.await.unwrap();
        let (blocking, line) = spawn_blocking_named("blocking", || 7);
        lines.insert("blocking", line);
        assert_eq!(blocking.await.unwrap(), 7);
    });
    let local = LocalSet::new();
    local.block_on(&rt, async {
        let (local, line) = spawn_local_named("local", async {});
        lines.insert("local", line);
        local.await.unwrap();
    });

    let spans: Vec<SpanRecord> = {
        let log = recorder.log.lock().unwrap();
        log.spans.values().cloned().collect()
    };
    let at_line = |line: u32| {
        spans
            .iter()
            .find(|span| span.fields.get("loc.line") == Some(&line.to_string()))
            .unwrap_or_else(|| panic!("no span spawned at line {line}: {spans:#?}"))
    };
    let plain = at_line(lines["plain"]);
    assert_eq!(
        (
            plain.fields["kind"].as_str(),
            plain.fields["task.name"].as_str()
        ),
        ("task", "")
    );
    let blocking = at_line(lines["blocking"]);
    assert_eq!(blocking.fields["kind"], "blocking");
    assert_eq!(blocking.fields["task.name"], "blocking");
    assert_eq!((blocking.enters, blocking.exits), (1, 1));
    let local = at_line(lines["local"]);
    assert_eq!(local.fields["kind"], "local");
    assert_eq!(local.fields["task.name"], "local");
    for span in [plain, blocking, local] {
        assert!(
            span.fields["loc.file"].ends_with("tests/trace.rs"),
            "{span:?}"
        );
        assert!(span.closed, "{span:?}");
    }
    // Both `block_on`s are spans of their own, entered at least once.
    let block_ons: Vec<_> = spans
        .iter()
        .filter(|span| span.fields["kind"] == "block_on")
        .collect();
    assert_eq!(block_ons.len(), 2, "{spans:#?}");
    assert!(block_ons
        .iter()
        .all(|span| span.enters >= 1 && span.enters == span.exits));
}

#[test]
fn a_stored_waker_reports_clone_wake_and_drop_with_the_span_id() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    let rt = Builder::new_current_thread().build().unwrap();

    rt.block_on(async {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let waiter = {
            let slot = slot.clone();
            let mut registered = false;
            task::Builder::new()
                .name("waiter")
                .spawn(poll_fn(move |cx| {
                    if registered {
                        return Poll::Ready(());
                    }
                    registered = true;
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Pending
                }))
                .unwrap()
        };
        // Let the waiter store its waker, then wake it by value from here.
        while slot.lock().unwrap().is_none() {
            task::yield_now().await;
        }
        let waker = slot.lock().unwrap().take().unwrap();
        waker.wake();
        waiter.await.unwrap();
    });

    let (span_id, span) = recorder.task_span("waiter");
    assert_eq!((span.enters, span.exits), (2, 2));
    // `wake` consumes the waker: its reference goes with it, no `drop` event.
    assert_eq!(
        recorder.waker_ops(span_id),
        vec!["waker.clone", "waker.wake"]
    );

    // And a clone that is dropped unused says so.
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    rt.block_on(async {
        task::Builder::new()
            .name("dropper")
            .spawn(poll_fn(|cx| {
                drop(cx.waker().clone());
                Poll::Ready(())
            }))
            .unwrap()
            .await
            .unwrap();
    });
    let (span_id, _) = recorder.task_span("dropper");
    assert_eq!(
        recorder.waker_ops(span_id),
        vec!["waker.clone", "waker.drop"]
    );
}

#[test]
fn no_subscriber_no_span_and_tasks_still_run() {
    // The no-op default dispatcher: spans are disabled, wakers emit nothing,
    // and tasks behave as without the feature.
    let rt = Builder::new_current_thread().build().unwrap();
    let out = rt.block_on(async {
        let a = weft_runtime::spawn(async {
            pending_times(3).await;
            1
        });
        a.await.unwrap() + 1
    });
    assert_eq!(out, 2);
}

#[test]
fn a_timeout_s_sleep_is_made_at_its_first_pending_poll_but_says_where_the_timeout_was() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    let rt = paused_runtime();

    let line = rt.block_on(async {
        let (timeout, line) = timeout_here(Duration::from_millis(20), std::future::pending::<()>());
        assert!(timeout.await.is_err());
        line
    });

    let log = recorder.log.lock().unwrap();
    let resources: Vec<_> = log
        .spans
        .values()
        .filter(|span| span.name == "runtime.resource")
        .collect();
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0].fields["concrete_type"], "Sleep");
    assert_eq!(resources[0].fields["loc.line"], line.to_string());
    let updates = log.events_of("runtime::resource::state_update");
    assert_eq!(updates.len(), 1, "one update, when the Sleep registers");
    assert_eq!(updates[0]["duration"], "20");
}

#[test]
fn a_sleep_is_a_timer_resource_with_poll_ops_inside_its_task() {
    let recorder = Recorder::default();
    let _default = tracing::subscriber::set_default(recorder.clone());
    let rt = paused_runtime();

    let line = rt.block_on(async {
        let (sleep, line) = sleep_here(Duration::from_millis(1500));
        let (sleeper, _) = spawn_named("sleeper", sleep);
        sleeper.await.unwrap();
        line
    });

    let log = recorder.log.lock().unwrap();
    let (&resource_id, resource) = log
        .spans
        .iter()
        .find(|(_, span)| span.name == "runtime.resource")
        .expect("no resource span");
    assert_eq!(resource.fields["concrete_type"], "Sleep");
    assert_eq!(resource.fields["kind"], "timer");
    assert!(
        resource.fields["loc.file"].ends_with("tests/trace.rs"),
        "{resource:?}"
    );
    assert_eq!(resource.fields["loc.line"], line.to_string());
    // Its async op is entered once per poll only (console counts those as
    // the op's polls), and each poll reports its outcome.
    // Entered once when its async op is made (console ties the op to the
    // resource entered then) and once per poll: twice here (pending, then
    // ready once the paused clock jumps).
    assert_eq!((resource.enters, resource.exits), (3, 3));
    let async_op = log
        .spans
        .values()
        .find(|span| span.name == "runtime.resource.async_op")
        .expect("no async op span");
    assert_eq!(async_op.fields["source"], "Sleep::new_timeout");
    assert_eq!(async_op.enters, 2);
    let poll_ops: Vec<&str> = log
        .events_of("runtime::resource::poll_op")
        .iter()
        .map(|fields| fields["is_ready"].as_str())
        .collect();
    assert_eq!(poll_ops, ["false", "true"]);
    let updates = log.events_of("runtime::resource::state_update");
    assert_eq!(updates.len(), 1, "one update, when the Sleep registers");
    assert_eq!(updates[0]["duration"], "1500");
    assert_eq!(updates[0]["duration.unit"], "ms");
    assert!(resource.closed && resource_id > 0);
}
