//! tokio-console sees weft's tasks: an instrumented weft program (feature
//! `tracing`) runs with the real `console-subscriber` layer installed, and
//! console's own gRPC client (`console-api`), on a tokio runtime of its
//! own as the `tokio-console` binary would be, reads back each task's name,
//! spawn location, poll count, busy time and wakes, and a sleep as a timer
//! resource whose poll ops belong to its task.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::panic::Location;
use std::task::Poll;
use std::time::{Duration, Instant};

use console_api::field::{Name, Value};
use console_api::instrument::instrument_client::InstrumentClient;
use console_api::instrument::{InstrumentRequest, Update};
use console_api::resources::resource::kind::{Kind, Known};
use console_api::resources::{PollOp, Resource};
use console_api::tasks::Stats;
use console_subscriber::{ConsoleLayer, ServerParts};
use tonic::transport::server::TcpIncoming;
use tracing_subscriber::filter::FilterFn;
use tracing_subscriber::prelude::*;

/// The weft tasks, by name, and how many times each is polled.
const TASKS: [(&str, u64); 3] = [
    ("console-alpha", 1),
    ("console-beta", 4),
    ("console-gamma", 9),
];

/// The task that sleeps.
const SLEEPER: &str = "console-sleeper";

/// How long each poll keeps its worker busy, so busy time has a floor.
const SPIN: Duration = Duration::from_micros(300);

/// Ready on the `polls`-th poll; before that pending, waking itself. Each
/// poll spins for `SPIN`.
fn polled(polls: u64) -> impl Future<Output = ()> {
    let mut left = polls;
    poll_fn(move |cx| {
        let start = Instant::now();
        while start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        left -= 1;
        if left == 0 {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// What the console client learnt about one task.
#[derive(Debug, Default)]
struct SeenTask {
    id: u64,
    fields: HashMap<String, String>,
    file: Option<String>,
    line: Option<u32>,
    stats: Option<Stats>,
}

impl SeenTask {
    fn polls(&self) -> u64 {
        self.stats
            .and_then(|stats| stats.poll_stats)
            .map_or(0, |poll| poll.polls)
    }

    fn busy(&self) -> Duration {
        self.stats
            .and_then(|stats| stats.poll_stats)
            .and_then(|poll| poll.busy_time)
            .map_or(Duration::ZERO, |busy| {
                Duration::new(busy.seconds as u64, busy.nanos as u32)
            })
    }

    fn done(&self) -> bool {
        self.stats.is_some_and(|stats| stats.dropped_at.is_some())
    }

    fn name(&self) -> Option<&str> {
        self.fields.get("task.name").map(String::as_str)
    }
}

/// Everything the console client has been told so far.
#[derive(Debug, Default)]
struct Seen {
    tasks: HashMap<u64, SeenTask>,
    resources: HashMap<u64, Resource>,
    poll_ops: Vec<PollOp>,
}

impl Seen {
    fn add(&mut self, update: Update) {
        if let Some(update) = update.task_update {
            for task in update.new_tasks {
                let id = task.id.unwrap().id;
                let seen = self.tasks.entry(id).or_default();
                seen.id = id;
                for field in task.fields {
                    let (Some(Name::StrName(name)), Some(value)) = (field.name, field.value) else {
                        continue;
                    };
                    let value = match value {
                        Value::DebugVal(v) | Value::StrVal(v) => v,
                        Value::U64Val(v) => v.to_string(),
                        Value::I64Val(v) => v.to_string(),
                        Value::BoolVal(v) => v.to_string(),
                    };
                    seen.fields.insert(name, value);
                }
                if let Some(location) = task.location {
                    seen.file = location.file;
                    seen.line = location.line;
                }
            }
            for (id, stats) in update.stats_update {
                self.tasks.entry(id).or_default().stats = Some(stats);
            }
        }
        if let Some(update) = update.resource_update {
            for resource in update.new_resources {
                self.resources.insert(resource.id.unwrap().id, resource);
            }
            self.poll_ops.extend(update.new_poll_ops);
        }
    }

    /// The task named `name`, if it has arrived.
    fn find(&self, name: &str) -> Option<&SeenTask> {
        self.tasks.values().find(|task| task.name() == Some(name))
    }

    fn task(&self, name: &str) -> &SeenTask {
        self.find(name)
            .unwrap_or_else(|| panic!("no task {name:?}"))
    }

    /// Every task done with its final poll count, and the sleep's last poll
    /// op (ready) in.
    fn complete(&self) -> bool {
        let tasks = TASKS.iter().all(|(name, polls)| {
            self.find(name)
                .is_some_and(|task| task.done() && task.polls() == *polls)
        });
        let slept = self
            .find(SLEEPER)
            .is_some_and(|task| task.done() && self.poll_ops.iter().any(|op| op.is_ready));
        tasks && slept
    }
}

/// Spawns a named weft task and says from which line (the caller's): the
/// location console must show, if the spawn path passes it down.
#[track_caller]
fn spawn_named<F>(name: &str, future: F) -> (weft::task::JoinHandle<()>, u32)
where
    F: Future<Output = ()> + Send + 'static,
{
    let handle = weft::task::Builder::new().name(name).spawn(future).unwrap();
    (handle, Location::caller().line())
}

/// A weft `Sleep`, and the caller's line.
#[track_caller]
fn sleep_here(duration: Duration) -> (weft::time::Sleep, u32) {
    (weft::time::sleep(duration), Location::caller().line())
}

/// The filter `ConsoleLayer::builder().spawn()` puts on its layer: spans
/// named `runtime.*`, events with `runtime` or `tokio` targets.
fn console_filter(meta: &tracing::Metadata<'_>) -> bool {
    if meta.is_event() {
        return meta.target().starts_with("runtime") || meta.target().starts_with("tokio");
    }
    meta.name().starts_with("runtime.") || meta.target().starts_with("tokio")
}

#[test]
fn weft_tasks_and_sleeps_reach_a_console_client() {
    // The console side: its layer in the global subscriber, its aggregator
    // and gRPC server on a tokio runtime of their own, on a loopback port
    // the OS picks.
    let (layer, server) = ConsoleLayer::builder()
        .publish_interval(Duration::from_millis(20))
        .retention(Duration::from_secs(600))
        .build();
    tracing_subscriber::registry()
        .with(layer.with_filter(FilterFn::new(console_filter)))
        .init();
    let console = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr: SocketAddr = console.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ServerParts {
            instrument_server,
            aggregator,
            ..
        } = server.into_parts();
        tokio::spawn(aggregator.run());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(instrument_server)
                .serve_with_incoming(TcpIncoming::from(listener)),
        );
        addr
    });

    // The viewer attaches first, as tokio-console would to a running
    // program: console's client on the console's runtime.
    let mut updates = console.block_on(async {
        let mut client = InstrumentClient::connect(format!("http://{addr}"))
            .await
            .expect("connect to console-subscriber's server");
        client
            .watch_updates(InstrumentRequest {})
            .await
            .unwrap()
            .into_inner()
    });

    // The weft program: named tasks polled a known number of times, and
    // one that sleeps.
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (spawn_line, sleep_line) = rt.block_on(async {
        let mut handles = Vec::new();
        let mut line = 0;
        for (name, polls) in TASKS {
            let (handle, at) = spawn_named(name, polled(polls));
            handles.push(handle);
            line = at;
        }
        for handle in handles {
            handle.await.unwrap();
        }
        let (sleep, sleep_line) = sleep_here(Duration::from_millis(50));
        let (sleeper, _) = spawn_named(SLEEPER, sleep);
        sleeper.await.unwrap();
        (line, sleep_line)
    });
    drop(rt);

    // Read updates until every task has arrived complete with its stats,
    // and the sleep's last poll op.
    let seen = console.block_on(async {
        let mut seen = Seen::default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !seen.complete() {
            let update = match tokio::time::timeout_at(deadline, updates.message()).await {
                Ok(update) => update.unwrap().expect("the update stream ended"),
                Err(_) => panic!("timed out; the console client saw {seen:#?}"),
            };
            seen.add(update);
        }
        seen
    });

    let sleeper = seen.task(SLEEPER);
    let resource = seen
        .resources
        .values()
        .find(|resource| resource.concrete_type == "Sleep")
        .expect("no Sleep resource");
    assert_eq!(
        resource.kind.as_ref().and_then(|kind| kind.kind.clone()),
        Some(Kind::Known(Known::Timer as i32))
    );
    let location = resource.location.as_ref().unwrap();
    assert!(location.file.as_deref().unwrap().ends_with("console.rs"));
    assert_eq!(location.line, Some(sleep_line));
    // Its poll ops were made inside the sleeper's task span, on this
    // resource; the last one found it elapsed.
    let resource_id = resource.id.unwrap().id;
    let ops: Vec<&PollOp> = seen
        .poll_ops
        .iter()
        .filter(|op| op.resource_id.map(|id| id.id) == Some(resource_id))
        .collect();
    // (Usually pending then ready; on a loaded machine the first poll may
    // come after the deadline and find it elapsed at once.)
    let (last, before) = ops.split_last().expect("no poll ops on the Sleep");
    assert!(ops.iter().all(|op| op.name == "poll_elapsed"));
    let in_sleeper = |op: &&PollOp| op.task_id.map(|id| id.id) == Some(sleeper.id);
    assert!(ops.iter().all(in_sleeper), "{ops:?}");
    assert!(
        last.is_ready && before.iter().all(|op| !op.is_ready),
        "{ops:?}"
    );

    for (name, polls) in TASKS {
        let task = seen.task(name);
        assert_eq!(task.fields["kind"], "task", "{task:?}");
        assert!(task.fields["task.id"].parse::<u64>().is_ok(), "{task:?}");
        assert!(
            task.file
                .as_deref()
                .is_some_and(|file| file.ends_with("console.rs")),
            "{task:?}"
        );
        assert_eq!(task.line, Some(spawn_line), "{task:?}");
        assert_eq!(task.polls(), polls, "{task:?}");
        // Every poll spun for `SPIN` inside the entered span.
        assert!(
            task.busy() >= SPIN * polls as u32,
            "{name}: busy {:?} for {polls} polls",
            task.busy()
        );
        // Each pending poll woke the task by reference from inside its own
        // poll: console counts those as wakes and self-wakes.
        let stats = task.stats.unwrap();
        assert_eq!(
            (stats.wakes, stats.self_wakes),
            (polls - 1, polls - 1),
            "{task:?}"
        );
    }
}
