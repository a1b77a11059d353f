//! The report: one table on stdout, and the raw samples as JSON.

use std::fmt::Write as _;

use crate::http::{self, HttpResult};
use crate::measure::{Config, WorkloadResult};
use crate::rt::Kind;
use crate::stats::{ratio, Summary};
use crate::tcp_clients::{self, ClientsResult};
use crate::tcp_idle::{self, IdleResult};

/// The rows measured apart from the workloads' samples, each there if it
/// was selected (and, for `http`, asked for).
#[derive(Default)]
pub struct Extras {
    pub lateness: Option<LatenessResult>,
    pub clients: Option<ClientsResult>,
    pub memory: Option<MemoryResult>,
    pub idle: Option<IdleResult>,
    pub http: Option<HttpResult>,
}

impl Extras {
    /// Whether none of these rows was measured.
    pub fn is_empty(&self) -> bool {
        self.lateness.is_none()
            && self.clients.is_none()
            && self.memory.is_none()
            && self.idle.is_none()
            && self.http.is_none()
    }

    /// Whether a row has no number for some runtime because it failed.
    pub fn any_failed(&self) -> bool {
        let http = self
            .http
            .iter()
            .flat_map(|h| &h.per_runtime)
            .any(|(_, r)| r.is_err());
        let memory = self
            .memory
            .iter()
            .flat_map(|m| m.per_runtime.iter().chain(&m.per_timer))
            .chain(self.idle.iter().flat_map(|i| &i.per_runtime))
            .any(|(_, r)| r.is_err());
        http || memory
    }
}

/// The memory rows' results.
pub struct MemoryResult {
    /// Pending tasks each child parked.
    pub tasks: usize,
    /// Per runtime: bytes per pending task, or why there is no number.
    pub per_runtime: Vec<(Kind, Result<f64, String>)>,
    /// Per runtime: bytes per pending timer (a task waiting on a sleep,
    /// less a plain pending task), or why there is no number.
    pub per_timer: Vec<(Kind, Result<f64, String>)>,
}

impl MemoryResult {
    fn bytes_of(&self, kind: Kind) -> Option<f64> {
        bytes_of(&self.per_runtime, kind)
    }
}

fn bytes_of(per_runtime: &[(Kind, Result<f64, String>)], kind: Kind) -> Option<f64> {
    per_runtime
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, r)| r.as_ref().ok().copied())
}

/// The lateness rows' results.
pub struct LatenessResult {
    /// Concurrent sleeps per round, their length, and rounds per runtime.
    pub sleepers: usize,
    pub sleep: std::time::Duration,
    pub rounds: usize,
    /// Per runtime: the lateness of every sleep of every round, in ns.
    pub per_runtime: Vec<(Kind, Vec<f64>)>,
}

impl LatenessResult {
    /// The `q` quantile of `kind`'s lateness, in ns.
    pub fn quantile(&self, kind: Kind, q: f64) -> Option<f64> {
        let (_, samples) = self.per_runtime.iter().find(|(k, _)| *k == kind)?;
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        Some(crate::stats::quantile(&sorted, q))
    }
}

/// The lateness rows: name and quantile.
const LATENESS_ROWS: [(&str, f64); 3] = [
    ("timer_lateness p50", 0.5),
    ("timer_lateness p99", 0.99),
    ("timer_lateness max", 1.0),
];

/// Above this share of CPU time used by other processes, the table warns.
const NOISY_LOAD: f64 = 0.05;

const NAME_WIDTH: usize = 24;
const CELL_WIDTH: usize = 17;
const RATIO_WIDTH: usize = 11;

/// The table, as printed.
///
/// `others_load` is the share of CPU time other processes used while the
/// workloads ran (see [`crate::load`]).
pub fn table(
    cfg: &Config,
    results: &[WorkloadResult],
    extras: &Extras,
    others_load: Option<f64>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "weft-bench: {} worker threads per runtime, {} samples per runtime and workload",
        cfg.workers, cfg.reps
    );
    let _ = writeln!(
        out,
        "host: {}; weft I/O backend: {}",
        crate::host::describe(),
        crate::host::weft_io_backend()
    );
    let _ = writeln!(
        out,
        "cells: median time per iteration, ±IQR as % of the median; ratios: of medians (< 1: weft faster)"
    );
    if let Some(share) = others_load {
        let verdict = if share > NOISY_LOAD {
            "the machine was busy: expect noise"
        } else {
            "the machine was quiet"
        };
        let _ = writeln!(
            out,
            "other processes used {:.0}% of the CPU time during the workloads: {verdict}",
            share * 100.0
        );
    }
    let _ = writeln!(out);
    let mut header = format!("{:<NAME_WIDTH$}", "workload");
    for kind in Kind::ALL {
        let _ = write!(header, " {:>CELL_WIDTH$}", kind.name());
    }
    let _ = write!(
        header,
        " {:>RATIO_WIDTH$} {:>RATIO_WIDTH$}",
        "weft/tokio", "weft/smol"
    );
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.len()));

    for result in results {
        let summaries = Kind::ALL.map(|k| result.samples_of(k).and_then(Summary::of));
        time_row(&mut out, result.name, summaries);
    }

    if let Some(lateness) = &extras.lateness {
        for (name, q) in LATENESS_ROWS {
            let values = Kind::ALL.map(|k| lateness.quantile(k, q));
            quantile_row(&mut out, name, values);
        }
    }

    if let Some(clients) = &extras.clients {
        time_row(
            &mut out,
            tcp_clients::NAME,
            Kind::ALL.map(|k| clients.time(k)),
        );
        for (name, q) in tcp_clients::QUANTILE_ROWS {
            let values = Kind::ALL.map(|k| clients.quantile(k, q));
            quantile_row(&mut out, name, values);
        }
    }

    if let Some(memory) = &extras.memory {
        bytes_row(&mut out, "memory / pending task", &memory.per_runtime);
        bytes_row(&mut out, "memory / pending timer", &memory.per_timer);
    }

    if let Some(idle) = &extras.idle {
        bytes_row(&mut out, tcp_idle::NAME, &idle.per_runtime);
    }

    if let Some(http) = &extras.http {
        let rps = Kind::ALL.map(|k| http.stats_of(k).map(|s| s.requests_per_sec));
        let cells = rps.map(|v| v.map_or("-".to_string(), human_rate));
        row(&mut out, "http_hello req/s", &cells, rps);
        let p99 = Kind::ALL.map(|k| http.stats_of(k).map(|s| s.p99_ns));
        let cells = p99.map(|v| v.map_or("-".to_string(), human_time));
        row(&mut out, "http_hello p99", &cells, p99);
        for (kind, r) in &http.per_runtime {
            if let Err(e) = r {
                let _ = writeln!(out, "  {}, {}: {e}", http::NAME, kind.name());
            }
        }
    }

    if let Some(lateness) = &extras.lateness {
        let _ = writeln!(
            out,
            "(timer_lateness: time from deadline to wake-up of {} concurrent {:?} sleeps, {} rounds per runtime; cells are quantiles over all sleeps)",
            lateness.sleepers, lateness.sleep, lateness.rounds
        );
    }
    if let Some(clients) = &extras.clients {
        let _ = writeln!(
            out,
            "({}: {} connections each make {} request/replies of {} B to an echo server on the same runtime, \
             each after a random 0-{} ms pause on the runtime's sleep; time: the whole round, median ±IQR over {} rounds per runtime; \
             p50/p99: of the latency of every request of every round)",
            tcp_clients::NAME,
            clients.shape.connections,
            clients.shape.requests,
            tcp_clients::MESSAGE,
            tcp_clients::MAX_PAUSE_US / 1000,
            clients.rounds
        );
    }
    if let Some(memory) = &extras.memory {
        let _ = writeln!(
            out,
            "(memory: resident bytes per task with {} tasks parked forever, one child process per runtime; \
             per timer: the same with each task waiting on a registered 1 h sleep, less the plain task)",
            memory.tasks
        );
    }
    if let Some(idle) = &extras.idle {
        let _ = writeln!(
            out,
            "({}: resident bytes per connection of a server holding {} idle loopback connections, \
             each with a task parked in a read, one child process per runtime; the clients are in the bench process)",
            tcp_idle::NAME,
            idle.connections
        );
    }
    if let Some(http) = &extras.http {
        let _ = writeln!(
            out,
            "(http_hello: hyper's HTTP/1 hello world on each runtime in turn, loaded by wrk -t{} -c{} -d{}s over loopback; \
             the req/s ratio above 1 means weft served more, the p99 ratio below 1 that it answered sooner)",
            http::WRK_THREADS,
            http::WRK_CONNECTIONS,
            http.duration.as_secs()
        );
    }
    out
}

/// A row of times: each cell the median ±IQR, the ratios of the medians.
fn time_row(out: &mut String, name: &str, summaries: [Option<Summary>; 3]) {
    let cells = summaries.map(|s| match s {
        Some(s) => format!("{} ±{:.0}%", human_time(s.median), s.iqr_pct()),
        None => "-".to_string(),
    });
    let medians = summaries.map(|s| s.map(|s| s.median));
    row(out, name, &cells, medians);
}

/// A row of quantiles, in ns.
fn quantile_row(out: &mut String, name: &str, values: [Option<f64>; 3]) {
    let cells = values.map(|v| v.map_or("-".to_string(), human_time));
    row(out, name, &cells, values);
}

/// A row of bytes, and under it why any runtime has none.
fn bytes_row(out: &mut String, name: &str, per_runtime: &[(Kind, Result<f64, String>)]) {
    let bytes = Kind::ALL.map(|k| bytes_of(per_runtime, k));
    let cells = Kind::ALL.map(|k| match per_runtime.iter().find(|(kk, _)| *kk == k) {
        Some((_, Ok(b))) => format!("{b:.0} B"),
        Some((_, Err(_))) => "failed".to_string(),
        None => "-".to_string(),
    });
    row(out, name, &cells, bytes);
    for (kind, r) in per_runtime {
        if let Err(e) = r {
            let _ = writeln!(out, "  {name}, {}: {e}", kind.name());
        }
    }
}

fn row(out: &mut String, name: &str, cells: &[String; 3], values: [Option<f64>; 3]) {
    let [weft, tokio, smol] = values;
    let mut line = format!("{name:<NAME_WIDTH$}");
    for cell in cells {
        let _ = write!(line, " {cell:>CELL_WIDTH$}");
    }
    for r in [ratio(weft, tokio), ratio(weft, smol)] {
        let r = r.map_or("-".to_string(), |r| format!("{r:.2}"));
        let _ = write!(line, " {r:>RATIO_WIDTH$}");
    }
    let _ = writeln!(out, "{line}");
}

/// Requests per second, three significant digits.
pub fn human_rate(per_sec: f64) -> String {
    if per_sec < 1e3 {
        format!("{per_sec:.0}/s")
    } else if per_sec < 1e6 {
        format!("{:.1}k/s", per_sec / 1e3)
    } else {
        format!("{:.2}M/s", per_sec / 1e6)
    }
}

/// Nanoseconds in a human unit, three significant digits.
pub fn human_time(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

/// Everything measured, as JSON: the configuration, then per workload the
/// iterations per sample and, per runtime, every sample (ns per iteration)
/// and its summary; then the rows measured apart.
pub fn json(
    cfg: &Config,
    results: &[WorkloadResult],
    extras: &Extras,
    others_load: Option<f64>,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "{{\"schema\":1,\"workers\":{},\"reps\":{},\"sample_target_ms\":{},\"unit\":\"ns per iteration\",\"others_cpu_share\":{},\"runtimes\":[{}],\"workloads\":[",
        cfg.workers,
        cfg.reps,
        cfg.sample_target.as_millis(),
        others_load.map_or("null".into(), json_num),
        cfg.kinds
            .iter()
            .map(|k| json_str(k.name()))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (i, result) in results.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"name\":{},\"iters_per_sample\":{},\"runtimes\":{{",
            json_str(result.name),
            result.iters_per_sample
        );
        json_samples(
            &mut out,
            result.samples.iter().map(|(k, s)| (*k, s.as_slice())),
        );
        let medians =
            Kind::ALL.map(|k| result.samples_of(k).and_then(Summary::of).map(|s| s.median));
        let _ = write!(out, "}},\"ratios\":{}}}", json_ratios(medians));
    }
    out.push(']');
    if let Some(lateness) = &extras.lateness {
        let _ = write!(
            out,
            ",\"timer_lateness\":{{\"sleepers\":{},\"sleep_ms\":{},\"rounds\":{},\"unit\":\"ns\",\"quantiles\":{{",
            lateness.sleepers,
            lateness.sleep.as_millis(),
            lateness.rounds
        );
        json_quantiles(&mut out, &LATENESS_ROWS, |k, q| lateness.quantile(k, q));
        out.push_str("}}");
    }
    if let Some(clients) = &extras.clients {
        let _ = write!(
            out,
            ",{}:{{\"connections\":{},\"requests\":{},\"message_bytes\":{},\"max_pause_us\":{},\"rounds\":{},\"unit\":\"ns\",\"round_time\":{{",
            json_str(tcp_clients::NAME),
            clients.shape.connections,
            clients.shape.requests,
            tcp_clients::MESSAGE,
            tcp_clients::MAX_PAUSE_US,
            clients.rounds
        );
        json_samples(
            &mut out,
            clients
                .per_runtime
                .iter()
                .map(|(k, s)| (*k, s.rounds_ns.as_slice())),
        );
        let medians = Kind::ALL.map(|k| clients.time(k).map(|s| s.median));
        let _ = write!(
            out,
            "}},\"ratios\":{},\"latency_quantiles\":{{",
            json_ratios(medians)
        );
        json_quantiles(&mut out, &tcp_clients::QUANTILE_ROWS, |k, q| {
            clients.quantile(k, q)
        });
        out.push_str("}}");
    }
    if let Some(memory) = &extras.memory {
        let _ = write!(
            out,
            ",\"memory\":{{\"tasks\":{},\"unit\":\"bytes per pending task\",\"runtimes\":{{",
            memory.tasks
        );
        json_bytes(&mut out, &memory.per_runtime);
        let bytes = Kind::ALL.map(|k| memory.bytes_of(k));
        let _ = write!(out, "}},\"ratios\":{}", json_ratios(bytes));
        let _ = write!(out, ",\"per_timer\":{{");
        json_bytes(&mut out, &memory.per_timer);
        let timer_bytes = Kind::ALL.map(|k| bytes_of(&memory.per_timer, k));
        let _ = write!(
            out,
            "}},\"per_timer_ratios\":{}}}",
            json_ratios(timer_bytes)
        );
    }
    if let Some(idle) = &extras.idle {
        let _ = write!(
            out,
            ",{}:{{\"connections\":{},\"unit\":\"bytes per idle connection\",\"runtimes\":{{",
            json_str(tcp_idle::NAME),
            idle.connections
        );
        json_bytes(&mut out, &idle.per_runtime);
        let bytes = Kind::ALL.map(|k| bytes_of(&idle.per_runtime, k));
        let _ = write!(out, "}},\"ratios\":{}}}", json_ratios(bytes));
    }
    if let Some(http) = &extras.http {
        let _ = write!(
            out,
            ",\"{}\":{{\"wrk\":\"-t{} -c{} -d{}s --latency\",\"runtimes\":{{",
            http::NAME,
            http::WRK_THREADS,
            http::WRK_CONNECTIONS,
            http.duration.as_secs()
        );
        for (j, (kind, r)) in http.per_runtime.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let value = match r {
                Ok(s) => format!(
                    "{{\"requests_per_sec\":{},\"p99_ns\":{},\"requests\":{}}}",
                    json_num(s.requests_per_sec),
                    json_num(s.p99_ns),
                    s.requests
                ),
                Err(e) => format!("{{\"error\":{}}}", json_str(e)),
            };
            let _ = write!(out, "{}:{value}", json_str(kind.name()));
        }
        let rps = Kind::ALL.map(|k| http.stats_of(k).map(|s| s.requests_per_sec));
        let p99 = Kind::ALL.map(|k| http.stats_of(k).map(|s| s.p99_ns));
        let _ = write!(
            out,
            "}},\"requests_per_sec_ratios\":{},\"p99_ratios\":{}}}",
            json_ratios(rps),
            json_ratios(p99)
        );
    }
    out.push_str("}\n");
    out
}

/// `"name":{"median":..,..,"samples":[..]}` per runtime, comma-separated.
fn json_samples<'a>(out: &mut String, per_runtime: impl Iterator<Item = (Kind, &'a [f64])>) {
    for (j, (kind, samples)) in per_runtime.enumerate() {
        if j > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{{", json_str(kind.name()));
        if let Some(s) = Summary::of(samples) {
            let _ = write!(
                out,
                "\"median\":{},\"min\":{},\"max\":{},\"q1\":{},\"q3\":{},",
                json_num(s.median),
                json_num(s.min),
                json_num(s.max),
                json_num(s.q1),
                json_num(s.q3)
            );
        }
        let samples: Vec<String> = samples.iter().map(|&v| json_num(v)).collect();
        let _ = write!(out, "\"samples\":[{}]}}", samples.join(","));
    }
}

/// `"row name":{"weft":v,..,"ratios":{..}}` per quantile row,
/// comma-separated; `quantile` gives a runtime's value.
fn json_quantiles(
    out: &mut String,
    rows: &[(&str, f64)],
    quantile: impl Fn(Kind, f64) -> Option<f64>,
) {
    for (i, (name, q)) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let values = Kind::ALL.map(|k| quantile(k, *q));
        let cells: Vec<String> = Kind::ALL
            .iter()
            .zip(values)
            .filter_map(|(k, v)| v.map(|v| format!("{}:{}", json_str(k.name()), json_num(v))))
            .collect();
        let _ = write!(
            out,
            "{}:{{{},\"ratios\":{}}}",
            json_str(name),
            cells.join(","),
            json_ratios(values)
        );
    }
}

/// `"name":bytes` (or `"name":{"error":...}`) per runtime, comma-separated.
fn json_bytes(out: &mut String, per_runtime: &[(Kind, Result<f64, String>)]) {
    for (j, (kind, r)) in per_runtime.iter().enumerate() {
        if j > 0 {
            out.push(',');
        }
        let value = match r {
            Ok(b) => json_num(*b),
            Err(e) => format!("{{\"error\":{}}}", json_str(e)),
        };
        let _ = write!(out, "{}:{value}", json_str(kind.name()));
    }
}

fn json_ratios([weft, tokio, smol]: [Option<f64>; 3]) -> String {
    format!(
        "{{\"weft/tokio\":{},\"weft/smol\":{}}}",
        ratio(weft, tokio).map_or("null".into(), json_num),
        ratio(weft, smol).map_or("null".into(), json_num)
    )
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".to_string()
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_time(512.0), "512 ns");
        assert_eq!(human_time(1_234.0), "1.23 µs");
        assert_eq!(human_time(45_600_000.0), "45.6 ms");
        assert_eq!(human_time(2.5e9), "2.50 s");
        assert_eq!(human_rate(950.0), "950/s");
        assert_eq!(human_rate(123_456.0), "123.5k/s");
        assert_eq!(human_rate(2_500_000.0), "2.50M/s");
    }

    /// The rows measured apart show in the table and the JSON, a failed
    /// runtime as "failed" with its reason, and fail the run.
    #[test]
    fn extra_rows_in_table_and_json() {
        use crate::tcp_clients::{Samples, Shape};
        use std::time::Duration;

        let cfg = Config {
            workers: 2,
            reps: 1,
            sample_target: Duration::from_millis(5),
            warmup: Duration::from_millis(5),
            filters: Vec::new(),
            kinds: Kind::ALL.to_vec(),
        };
        let clients = ClientsResult {
            shape: Shape::QUICK,
            rounds: 1,
            per_runtime: Kind::ALL
                .iter()
                .map(|&k| {
                    let samples = Samples {
                        rounds_ns: vec![2e6],
                        latencies_ns: vec![1e3, 2e3, 3e3],
                    };
                    (k, samples)
                })
                .collect(),
        };
        let idle = IdleResult {
            connections: 10,
            per_runtime: vec![
                (Kind::Weft, Ok(500.0)),
                (Kind::Tokio, Ok(1000.0)),
                (Kind::Smol, Err("no descriptors".to_string())),
            ],
        };
        let extras = Extras {
            clients: Some(clients),
            idle: Some(idle),
            ..Extras::default()
        };
        assert!(extras.any_failed());

        let table = table(&cfg, &[], &extras, None);
        let line = |name: &str| {
            table
                .lines()
                .find(|l| l.split("  ").next() == Some(name))
                .unwrap_or_else(|| panic!("no {name} row in\n{table}"))
        };
        assert!(line("tcp_many_clients").contains("2.00 ms ±0%"));
        assert!(line("tcp_many_clients p50").contains("2.00 µs"));
        assert!(line("tcp_many_clients p99").contains("2.98 µs"));
        let idle_row = line("tcp_idle_connections");
        assert!(idle_row.contains("500 B") && idle_row.contains("failed"));
        assert!(idle_row.contains("0.50"));
        assert!(table.contains("tcp_idle_connections, smol: no descriptors"));

        let json = json(&cfg, &[], &extras, None);
        assert_eq!(json.matches('{').count(), json.matches('}').count());
        assert!(json.contains("\"tcp_idle_connections\":{\"connections\":10,"));
        assert!(json.contains("\"smol\":{\"error\":\"no descriptors\"}"));
        assert!(json.contains("\"tcp_many_clients p99\":{\"weft\":2980,"));
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(json_num(f64::NAN), "null");
        assert_eq!(json_num(1.5), "1.5");
    }
}
