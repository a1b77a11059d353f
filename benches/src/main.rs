//! weft-bench: weft head to head with tokio and smol.
//!
//! Runs tokio's own scheduler benchmark workloads (`spawn_many_local`,
//! `spawn_many_remote_idle`, `spawn_many_remote_busy`, `yield_many`,
//! `ping_pong`, `chained_spawn`, with tokio's parameters) and the timer
//! workloads (`timer_churn`, `timer_fire`, `timer_reset`, and the
//! `timer_lateness` quantiles; see `workloads/timer.rs` and `lateness.rs`),
//! the network workloads (`workloads/net.rs`, and the `tcp_many_clients`
//! latency rows and `tcp_idle_connections` memory row; see `tcp_clients.rs`
//! and `tcp_idle.rs`), the file (`fs_read`, `workloads/fs.rs`) and sync
//! workloads (tokio's `sync_*` shapes, and request/reply between tasks:
//! `sync_request_reply_1_server`, `sync_request_reply_4_servers`) on weft,
//! tokio and smol, each with the same number of worker threads, each on
//! its own timer, socket and file APIs, and prints one table of wall times
//! and one of CPU times, and with `--svg` a chart of the ratios.
//! The workloads are written once, generic over the runtime; every runtime
//! uses the same channel crate (`futures-channel`), so only the schedulers
//! differ; and each workload checks its own result (task counts, values), so
//! a broken runtime cannot win by doing nothing.
//!
//! # Running
//!
//! ```text
//! cargo run --release -p weft-bench                  # full run, under a minute
//! cargo run --release -p weft-bench -- --quick       # smoke run for CI, about a minute
//! cargo run --release -p weft-bench -- --workers 8 --filter spawn --json out.json
//! cargo run --release -p weft-bench -- --svg docs/bench-latest.svg   # and the chart
//! ```
//!
//! Flags:
//!
//! - `--workers N`: worker threads for every runtime (default 2).
//! - `--reps N`: samples per runtime and workload (default 15; 3 with
//!   `--quick`).
//! - `--filter SUBSTR`: only workloads whose name contains SUBSTR; may be
//!   repeated. The memory rows' name is `memory`, the lateness rows'
//!   `timer_lateness`; `tcp_many_clients` and `tcp_idle_connections` are
//!   their rows' names (`--filter tcp` picks them with the other TCP rows).
//! - `--runtimes LIST`: comma-separated subset of `weft,tokio,smol`.
//! - `--json PATH`: also write every sample and summary as JSON (wall and
//!   CPU times, their ratios, the host).
//! - `--svg PATH`: also draw the ratios as an SVG chart (`svg.rs`): a pair
//!   of bars per row of the wall table (weft/tokio, weft/smol) on a log
//!   scale from 1.00, lines at 1.00 and at the 0.75 target, the host and
//!   date in the title. `timer_fire` is drawn with its CPU ratios, and
//!   `http_hello req/s` turned over (`1/(req/s)`), so that left of 1.00
//!   is weft's way on every row.
//! - `--quick`: few reps, short samples, a tenth of the network rows'
//!   round trips and connections, 100,000 tasks for the memory row,
//!   1,000 idle connections, 100 clients of 10 requests each.
//! - `--sample-ms MS`: target wall time of one sample (default 30; 5 quick).
//! - `--memory-tasks N`: pending tasks for the memory row (default 1,000,000).
//! - `--idle-connections N`: connections for the `tcp_idle_connections` row
//!   (default 10,000; 1,000 with `--quick`). The bench and each child
//!   raise their soft `RLIMIT_NOFILE` to the hard limit, and the row fails,
//!   saying so, if N sockets and a few more do not fit under it.
//! - `--timeout-s S`: abort if one sample takes longer (default 60), naming
//!   the workload and runtime that got stuck.
//! - `--http`: also the `http_hello` rows (below); they need `wrk`
//!   (`apt-get install -y wrk`) and take `--http-seconds` per runtime.
//! - `--http-seconds S`: how long wrk loads each server (default 10; 2
//!   with `--quick`).
//!
//! The header names the host (CPU, kernel, cores) and the I/O backend
//! weft's runtimes use: `WEFT_IO_BACKEND=portable weft-bench --filter tcp_`
//! measures weft on the `polling` crate instead of its own epoll backend,
//! the cost of the code path other platforms run.
//!
//! # Method
//!
//! For each workload, all selected runtimes are built (not timed) and warmed
//! up; the warm-up estimates the time per iteration and one iteration count
//! per sample is chosen for all runtimes so a sample takes about
//! `--sample-ms`. Then each repetition takes one sample from every runtime,
//! in an order that rotates (and reverses every other round) between
//! repetitions, so no runtime always goes first or always follows the same
//! other runtime. A sample is the wall time of a batch of iterations divided
//! by the count. Only one runtime runs at a time; the others' workers are
//! parked. The table's header line says how much CPU other processes took
//! while the workloads ran: above a few percent, expect noise.
//!
//! Beside the wall time, each sample reads the process's CPU time (user +
//! system of every thread, `getrusage(RUSAGE_SELF)`, `cpu.rs`) over the
//! same iterations. All three runtimes live in the bench process, so
//! before each sample the bench waits (up to 50 ms) until every thread but
//! its own is idle (under 5% of a core over half a millisecond): the runtime that ran
//! before has parked its workers and dropped its tasks, and costs the
//! sample nothing. A sample's CPU time is then the runtime under test's:
//! the bench thread in `block_on` (spinning included), its workers, its
//! blocking pool and reactor threads.
//!
//! # The table
//!
//! - `weft`, `tokio`, `smol`: the median time per iteration over the
//!   samples, in human units; `±N%` is the interquartile range of the
//!   samples as a percentage of the median: the noise. Compare two runtimes
//!   only where their difference is well above it.
//! - `weft/tokio`, `weft/smol`: ratios of the medians; below 1.00 weft is
//!   faster, above 1.00 slower.
//! - The `cpu time` block: a row `NAME cpu` per workload (and for
//!   `tcp_many_clients`' rounds) with the median CPU time per iteration
//!   ±IQR and the ratios of the medians, laid out as the wall rows. CPU
//!   time over wall time is how many cores the runtime kept busy; a
//!   runtime that spins to answer sooner shows a lower wall ratio and a
//!   higher CPU ratio. `timer_fire`'s wall time is its own 100 ms spread
//!   of deadlines (about 1.00 by construction): its `cpu` row is its
//!   measure. The rows' names differ from the wall rows' (` cpu`), so a
//!   tool that reads ratios by row name (an alternated-rounds
//!   comparison of two builds, say) reads both.
//! - `sync_request_reply_1_server` / `_4_servers`: 100 client tasks each
//!   make 50 requests, one at a time, through a bounded mpsc (32) to
//!   server tasks that answer on the oneshot each request carries (client
//!   `c`'s request `r` to server `(c + r) % servers`), as actor-style
//!   servers do; neither side is the `block_on` thread. The time is per
//!   5,000 request/replies.
//! - `timer_lateness p50 / p99 / max`: quantiles of how late 1,000
//!   concurrent 10 ms sleeps wake, over 20 rounds per runtime (3 with
//!   `--quick`); the ratios are of the quantiles.
//! - `memory / pending task`: resident memory per task with 1,000,000 tasks
//!   (100,000 with `--quick`) spawned and parked forever, each runtime
//!   measured in its own child process; the ratios are of bytes.
//! - `memory / pending timer`: the same with each task waiting on a
//!   registered one-hour sleep, less the plain task's number.
//! - `tcp_many_clients`: 1,000 connections (100 with `--quick`) each make
//!   100 request/replies (10) of 128 bytes to an echo server on the same
//!   runtime, each request after a random 0-2 ms pause on the runtime's
//!   own sleep (a seeded PRNG per client, so every runtime gets the same
//!   pauses); every reply is checked byte for byte. The row is the
//!   round's time, connections already open, as a workload's row (median
//!   ±IQR over `--reps` rounds, at most 5); `tcp_many_clients p50 / p99`
//!   are quantiles of every request's latency over every round, as the
//!   `timer_lateness` rows. On few cores the server saturates, and the
//!   latencies are mostly queueing: how fairly the runtime shares the
//!   cores between the connections.
//! - `tcp_idle_connections`: resident memory per connection of a server
//!   holding 10,000 idle loopback connections (1,000 with `--quick`), a
//!   task per connection parked in a read, each runtime in its own child
//!   process (the clients are plain sockets in the bench process); the
//!   ratios are of bytes.
//! - `http_hello req/s` and `http_hello p99` (with `--http`): hyper's HTTP/1
//!   hello-world server on each runtime in turn (tokio's through
//!   hyper-util's `TokioIo`), loaded by `wrk -t2 -c64 -d10s --latency` on
//!   loopback: requests per second (its ratio above 1.00: weft serves
//!   more) and the 99th-percentile latency (below 1.00: weft answers
//!   sooner). See `http.rs`.

mod cpu;
mod host;
mod http;
mod lateness;
mod load;
mod measure;
mod memory;
mod report;
mod rt;
mod stats;
mod svg;
mod tcp_clients;
mod tcp_idle;
mod watchdog;
mod workloads;

use std::process::ExitCode;
use std::time::Duration;

use measure::{Config, Runner};
use report::{Extras, MemoryResult};
use rt::Kind;
use watchdog::Watchdog;

const USAGE: &str = "\
usage: weft-bench [--workers N] [--reps N] [--filter SUBSTR]... [--runtimes weft,tokio,smol]
                  [--json PATH] [--svg PATH] [--quick] [--sample-ms MS] [--memory-tasks N]
                  [--idle-connections N] [--timeout-s S]
                  [--http [--http-seconds S]]
Runs tokio's scheduler workloads on weft, tokio and smol and prints one table.
--http adds hyper's hello-world server under wrk (needs wrk: apt-get install -y wrk).
See the crate docs (benches/src/main.rs) for what each column means.";

/// The parsed command line.
struct Args {
    workers: usize,
    reps: Option<usize>,
    filters: Vec<String>,
    kinds: Vec<Kind>,
    json: Option<String>,
    svg: Option<String>,
    quick: bool,
    sample_ms: Option<u64>,
    memory_tasks: Option<usize>,
    idle_connections: Option<usize>,
    timeout_s: u64,
    memory_child: Option<Kind>,
    memory_timers: bool,
    idle_child: Option<Kind>,
    http: bool,
    http_seconds: Option<u64>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        workers: 2,
        reps: None,
        filters: Vec::new(),
        kinds: Kind::ALL.to_vec(),
        json: None,
        svg: None,
        quick: false,
        sample_ms: None,
        memory_tasks: None,
        idle_connections: None,
        timeout_s: 60,
        memory_child: None,
        memory_timers: false,
        idle_child: None,
        http: false,
        http_seconds: None,
    };
    fn value(flag: &str, v: Option<String>) -> Result<String, String> {
        v.ok_or_else(|| format!("{flag} needs a value"))
    }
    fn number<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = value(flag, v)?;
        v.replace('_', "")
            .parse()
            .map_err(|_| format!("{flag}: not a number: {v}"))
    }
    fn kind(s: &str) -> Result<Kind, String> {
        Kind::parse(s).ok_or_else(|| format!("unknown runtime {s:?} (weft, tokio or smol)"))
    }
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--workers" => args.workers = number(&flag, it.next())?,
            "--reps" => args.reps = Some(number(&flag, it.next())?),
            "--filter" => args.filters.push(value(&flag, it.next())?),
            "--runtimes" => {
                let list = value(&flag, it.next())?;
                let mut kinds = Vec::new();
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let k = kind(name)?;
                    if !kinds.contains(&k) {
                        kinds.push(k);
                    }
                }
                if kinds.is_empty() {
                    return Err("--runtimes: no runtime named".into());
                }
                // Keep the column order whatever order they were named in.
                args.kinds = Kind::ALL
                    .into_iter()
                    .filter(|k| kinds.contains(k))
                    .collect();
            }
            "--json" => args.json = Some(value(&flag, it.next())?),
            "--svg" => args.svg = Some(value(&flag, it.next())?),
            "--quick" => args.quick = true,
            "--sample-ms" => args.sample_ms = Some(number(&flag, it.next())?),
            "--memory-tasks" => args.memory_tasks = Some(number(&flag, it.next())?),
            tcp_idle::CONNECTIONS_FLAG => args.idle_connections = Some(number(&flag, it.next())?),
            "--timeout-s" => args.timeout_s = number(&flag, it.next())?,
            "--http" => args.http = true,
            "--http-seconds" => args.http_seconds = Some(number(&flag, it.next())?),
            memory::CHILD_FLAG => args.memory_child = Some(kind(&value(&flag, it.next())?)?),
            memory::TIMERS_FLAG => args.memory_timers = true,
            tcp_idle::CHILD_FLAG => args.idle_child = Some(kind(&value(&flag, it.next())?)?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    if args.reps == Some(0) {
        return Err("--reps must be at least 1".into());
    }
    if args.idle_connections == Some(0) {
        return Err(format!("{} must be at least 1", tcp_idle::CONNECTIONS_FLAG));
    }
    if args.http_seconds == Some(0) {
        return Err("--http-seconds must be at least 1".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("weft-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let http_duration =
        Duration::from_secs(args.http_seconds.unwrap_or(if args.quick { 2 } else { 10 }));
    // wrk's run is one "sample" to the watchdog: give it time to finish.
    let mut timeout = Duration::from_secs(args.timeout_s.max(1));
    if args.http {
        timeout = timeout.max(http_duration + Duration::from_secs(30));
    }
    let memory_tasks = args
        .memory_tasks
        .unwrap_or(if args.quick { 100_000 } else { 1_000_000 })
        .max(1);
    let idle_connections = args
        .idle_connections
        .unwrap_or(if args.quick { 1_000 } else { 10_000 });

    if let Some(kind) = args.idle_child {
        tcp_idle::run_child(kind, args.workers, idle_connections, timeout);
    }
    if let Some(kind) = args.memory_child {
        memory::run_child(
            kind,
            args.workers,
            memory_tasks,
            timeout,
            args.memory_timers,
        );
    }

    let cfg = Config {
        workers: args.workers,
        reps: args.reps.unwrap_or(if args.quick { 3 } else { 15 }),
        sample_target: Duration::from_millis(args.sample_ms.unwrap_or(if args.quick {
            5
        } else {
            30
        })),
        warmup: Duration::from_millis(if args.quick { 10 } else { 200 }),
        filters: args.filters,
        kinds: args.kinds,
    };
    eprintln!(
        "weft-bench: {} workers, {} reps, runtimes: {}",
        cfg.workers,
        cfg.reps,
        cfg.kinds
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let http_selected = args.http && cfg.selected(http::NAME);
    if http_selected {
        if let Err(e) = http::check_wrk() {
            eprintln!("weft-bench: {e}");
            return ExitCode::from(2);
        }
    }

    let watchdog = Watchdog::start(timeout);
    let load_before = load::Snapshot::take();
    let mut runner = Runner::new(&cfg, &watchdog);
    let net_shape = if args.quick {
        workloads::net::Shape::QUICK
    } else {
        workloads::net::Shape::FULL
    };
    workloads::visit_all(&mut runner, net_shape);
    let results = runner.results;
    let lateness = cfg.selected(lateness::NAME).then(|| {
        let rounds = if args.quick { 3 } else { 20 };
        eprintln!("  {}: {rounds} rounds per runtime", lateness::NAME);
        lateness::measure(&cfg, &watchdog, rounds)
    });
    let clients = cfg.selected(tcp_clients::NAME).then(|| {
        let shape = if args.quick {
            tcp_clients::Shape::QUICK
        } else {
            tcp_clients::Shape::FULL
        };
        let rounds = cfg.reps.min(tcp_clients::MAX_ROUNDS);
        eprintln!(
            "  {}: {} connections x {} requests, {rounds} rounds per runtime",
            tcp_clients::NAME,
            shape.connections,
            shape.requests,
        );
        tcp_clients::measure(&cfg, &watchdog, shape, rounds)
    });
    let others_load = load_before
        .zip(load::Snapshot::take())
        .and_then(|(before, after)| before.others_share(&after));

    let memory = cfg.selected("memory").then(|| {
        eprintln!("  memory: {memory_tasks} pending tasks (and timers) per runtime, one child process each");
        let per = |timers| -> Vec<_> {
            cfg.kinds
                .iter()
                .map(|&k| (k, memory::measure(k, cfg.workers, memory_tasks, timeout, timers)))
                .collect()
        };
        let per_runtime = per(false);
        let per_timer = per(true)
            .into_iter()
            .zip(&per_runtime)
            .map(|((k, with_timer), (_, plain))| {
                let timer = match (with_timer, plain) {
                    (Ok(a), Ok(b)) => Ok(a - b),
                    (Err(e), _) => Err(e),
                    (_, Err(_)) => Err("no plain-task number to subtract".to_string()),
                };
                (k, timer)
            })
            .collect();
        MemoryResult {
            tasks: memory_tasks,
            per_runtime,
            per_timer,
        }
    });

    let idle = cfg.selected(tcp_idle::NAME).then(|| {
        eprintln!(
            "  {}: {idle_connections} idle connections per runtime, one child process each",
            tcp_idle::NAME
        );
        let per_runtime = cfg
            .kinds
            .iter()
            .map(|&k| {
                let bytes = tcp_idle::measure(k, cfg.workers, idle_connections, timeout);
                (k, bytes)
            })
            .collect();
        tcp_idle::IdleResult {
            connections: idle_connections,
            per_runtime,
        }
    });

    let http = http_selected.then(|| http::measure(&cfg, &watchdog, http_duration));

    let extras = Extras {
        lateness,
        clients,
        memory,
        idle,
        http,
    };
    if results.is_empty() && extras.is_empty() {
        eprintln!("weft-bench: --filter matched no workload");
        return ExitCode::from(2);
    }

    println!();
    print!("{}", report::table(&cfg, &results, &extras, others_load));

    let mut code = ExitCode::SUCCESS;
    if let Some(path) = &args.json {
        match std::fs::write(path, report::json(&cfg, &results, &extras, others_load)) {
            Ok(()) => eprintln!("weft-bench: wrote {path}"),
            Err(e) => {
                eprintln!("weft-bench: writing {path}: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if let Some(path) = &args.svg {
        let chart = report::svg(&cfg, &results, &extras);
        match std::fs::write(path, chart) {
            Ok(()) => eprintln!("weft-bench: wrote {path}"),
            Err(e) => {
                eprintln!("weft-bench: writing {path}: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if extras.any_failed() {
        code = ExitCode::FAILURE;
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults() {
        let a = parse("").unwrap();
        assert_eq!(a.workers, 2);
        assert_eq!(a.kinds, Kind::ALL.to_vec());
        assert!(!a.quick && a.reps.is_none() && a.filters.is_empty());
    }

    #[test]
    fn flags() {
        let a = parse("--workers 8 --reps 5 --filter spawn --filter yield --runtimes tokio,weft --quick --json x.json")
            .unwrap();
        assert_eq!(a.workers, 8);
        assert_eq!(a.reps, Some(5));
        assert_eq!(a.filters, ["spawn", "yield"]);
        assert_eq!(a.kinds, [Kind::Weft, Kind::Tokio]);
        assert!(a.quick);
        assert_eq!(a.json.as_deref(), Some("x.json"));
        assert_eq!(
            parse("--svg docs/x.svg").unwrap().svg.as_deref(),
            Some("docs/x.svg")
        );
        assert_eq!(
            parse("--memory-tasks 1_000").unwrap().memory_tasks,
            Some(1000)
        );
        assert_eq!(
            parse("--idle-connections 5_000").unwrap().idle_connections,
            Some(5000)
        );
        let h = parse("--http --http-seconds 2").unwrap();
        assert!(h.http);
        assert_eq!(h.http_seconds, Some(2));
        assert!(!parse("").unwrap().http);
    }

    #[test]
    fn errors() {
        assert!(parse("--workers").is_err());
        assert!(parse("--svg").is_err());
        assert!(parse("--workers 0").is_err());
        assert!(parse("--runtimes tokio,async-std").is_err());
        assert!(parse("--frobnicate").is_err());
        assert!(parse("--http-seconds 0").is_err());
        assert!(parse("--idle-connections 0").is_err());
        assert_eq!(parse("--help").err().as_deref(), Some(""));
    }
}
