//! tokio-console sees weft's tasks: an instrumented weft program (feature
//! `tracing`) runs with the real `console-subscriber` layer installed, and
//! console's own gRPC client (`console-api`), on a tokio runtime of its
//! own as the `tokio-console` binary would be, reads back each task's name,
//! spawn location, poll count, busy time and wakes.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::task::Poll;
use std::time::{Duration, Instant};

use console_api::field::{Name, Value};
use console_api::instrument::instrument_client::InstrumentClient;
use console_api::instrument::InstrumentRequest;
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
struct Seen {
    fields: HashMap<String, String>,
    file: Option<String>,
    line: Option<u32>,
    stats: Option<Stats>,
}

impl Seen {
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
fn weft_tasks_reach_a_console_client_with_names_polls_and_busy_time() {
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

    // The weft program: named tasks polled a known number of times.
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let spawn_line = rt.block_on(async {
        let mut handles = Vec::new();
        let mut line = 0;
        for (name, polls) in TASKS {
            line = line!() + 1;
            let handle = weft::task::Builder::new().name(name).spawn(polled(polls));
            handles.push(handle.unwrap());
        }
        for handle in handles {
            handle.await.unwrap();
        }
        line
    });
    drop(rt);

    // The viewer: console's client, reading updates until every task has
    // arrived complete with its stats.
    let seen = console.block_on(async {
        let mut client = InstrumentClient::connect(format!("http://{addr}"))
            .await
            .expect("connect to console-subscriber's server");
        let mut updates = client
            .watch_updates(InstrumentRequest {})
            .await
            .unwrap()
            .into_inner();
        let mut tasks: HashMap<u64, Seen> = HashMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let complete = TASKS.iter().all(|(name, polls)| {
                tasks.values().any(|task| {
                    task.fields.get("task.name").map(String::as_str) == Some(*name)
                        && task.done()
                        && task.polls() == *polls
                })
            });
            if complete {
                break tasks;
            }
            let update = match tokio::time::timeout_at(deadline, updates.message()).await {
                Ok(update) => update.unwrap().expect("the update stream ended"),
                Err(_) => panic!("timed out; the console client saw {tasks:#?}"),
            };
            let Some(update) = update.task_update else {
                continue;
            };
            for task in update.new_tasks {
                let seen = tasks.entry(task.id.unwrap().id).or_default();
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
                tasks.entry(id).or_default().stats = Some(stats);
            }
        }
    });

    for (name, polls) in TASKS {
        let task = seen
            .values()
            .find(|task| task.fields.get("task.name").map(String::as_str) == Some(name))
            .unwrap();
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
