//! The report: one table on stdout, and the raw samples as JSON.

use std::fmt::Write as _;

use crate::http::{self, HttpResult};
use crate::measure::{Config, WorkloadResult};
use crate::rt::Kind;
use crate::stats::{ratio, Summary};
use crate::svg;
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

/// The narrowest the name column gets; it widens to the longest name.
const NAME_WIDTH: usize = 24;
const CELL_WIDTH: usize = 15;
const RATIO_WIDTH: usize = 10;

/// What the CPU block's rows add to a workload's name.
const CPU_SUFFIX: &str = " cpu";

/// One line of a table before layout.
enum Line {
    /// A row: its name, one cell per runtime (in [`Kind::ALL`] order), and
    /// the values its ratios are taken of.
    Row {
        name: String,
        cells: [String; 3],
        values: [Option<f64>; 3],
    },
    /// A line under a row (why a runtime has no number), printed as is.
    Note(String),
}

/// The table, as printed: the wall-time rows (and the rows measured
/// apart), then the CPU-time rows, then the notes on the rows.
///
/// `others_load` is the share of CPU time other processes used while the
/// workloads ran (see [`crate::load`]).
pub fn table(
    cfg: &Config,
    results: &[WorkloadResult],
    extras: &Extras,
    others_load: Option<f64>,
) -> String {
    let main = main_lines(results, extras);
    let cpu = cpu_lines(results, extras);
    let name_width = main
        .iter()
        .chain(&cpu)
        .filter_map(|line| match line {
            Line::Row { name, .. } => Some(name.chars().count() + 1),
            Line::Note(_) => None,
        })
        .fold(NAME_WIDTH, usize::max);

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
    let header = header_line("workload", name_width);
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
    render(&mut out, &main, name_width);

    if !cpu.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "(cpu time: user + system of the whole process, every thread, over the same iterations as the wall time; \
             median per iteration ±IQR; ratios: of medians)"
        );
        let header = header_line("cpu time", name_width);
        let _ = writeln!(out, "{header}");
        let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
        render(&mut out, &cpu, name_width);
    }

    for result in results {
        if let Some(why) = result.wall_is_fixed {
            let _ = writeln!(out, "({}: {why}; its cpu row is the measure)", result.name);
        }
        if result.unsettled > 0 {
            let _ = writeln!(
                out,
                "({}: {} samples started before the process had gone idle; their cpu times may hold another's)",
                result.name, result.unsettled
            );
        }
    }
    notes(&mut out, extras);
    out
}

/// The header line of a block whose name column is headed `first`.
fn header_line(first: &str, name_width: usize) -> String {
    let mut header = format!("{first:<name_width$}");
    for kind in Kind::ALL {
        let _ = write!(header, " {:>CELL_WIDTH$}", kind.name());
    }
    let _ = write!(
        header,
        " {:>RATIO_WIDTH$} {:>RATIO_WIDTH$}",
        "weft/tokio", "weft/smol"
    );
    header
}

/// The main block: each workload's wall time, then the rows measured
/// apart.
fn main_lines(results: &[WorkloadResult], extras: &Extras) -> Vec<Line> {
    let mut lines = Vec::new();
    for result in results {
        let summaries = Kind::ALL.map(|k| result.samples_of(k).and_then(Summary::of));
        lines.push(time_row(result.name, summaries));
    }

    if let Some(lateness) = &extras.lateness {
        for (name, q) in LATENESS_ROWS {
            lines.push(quantile_row(
                name,
                Kind::ALL.map(|k| lateness.quantile(k, q)),
            ));
        }
    }

    if let Some(clients) = &extras.clients {
        lines.push(time_row(
            tcp_clients::NAME,
            Kind::ALL.map(|k| clients.time(k)),
        ));
        for (name, q) in tcp_clients::QUANTILE_ROWS {
            lines.push(quantile_row(
                name,
                Kind::ALL.map(|k| clients.quantile(k, q)),
            ));
        }
    }

    if let Some(memory) = &extras.memory {
        bytes_rows(&mut lines, "memory / pending task", &memory.per_runtime);
        bytes_rows(&mut lines, "memory / pending timer", &memory.per_timer);
    }

    if let Some(idle) = &extras.idle {
        bytes_rows(&mut lines, tcp_idle::NAME, &idle.per_runtime);
    }

    if let Some(http) = &extras.http {
        let rps = Kind::ALL.map(|k| http.stats_of(k).map(|s| s.requests_per_sec));
        lines.push(Line::Row {
            name: "http_hello req/s".to_string(),
            cells: rps.map(|v| v.map_or("-".to_string(), human_rate)),
            values: rps,
        });
        let p99 = Kind::ALL.map(|k| http.stats_of(k).map(|s| s.p99_ns));
        lines.push(quantile_row("http_hello p99", p99));
        for (kind, r) in &http.per_runtime {
            if let Err(e) = r {
                lines.push(Line::Note(format!(
                    "  {}, {}: {e}",
                    http::NAME,
                    kind.name()
                )));
            }
        }
    }
    lines
}

/// The CPU block: each workload's CPU time per iteration (and the many
/// clients' per round), where there is a CPU clock.
fn cpu_lines(results: &[WorkloadResult], extras: &Extras) -> Vec<Line> {
    let mut lines = Vec::new();
    for result in results {
        let summaries = Kind::ALL.map(|k| result.cpu_samples_of(k).and_then(Summary::of));
        if summaries.iter().any(Option::is_some) {
            lines.push(time_row(&format!("{}{CPU_SUFFIX}", result.name), summaries));
        }
    }
    if let Some(clients) = &extras.clients {
        let summaries = Kind::ALL.map(|k| clients.cpu_time(k));
        if summaries.iter().any(Option::is_some) {
            lines.push(time_row(
                &format!("{}{CPU_SUFFIX}", tcp_clients::NAME),
                summaries,
            ));
        }
    }
    lines
}

/// The notes on the rows measured apart: what each measured.
fn notes(out: &mut String, extras: &Extras) {
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
}

/// A row of times: each cell the median ±IQR, the ratios of the medians.
fn time_row(name: &str, summaries: [Option<Summary>; 3]) -> Line {
    Line::Row {
        name: name.to_string(),
        cells: summaries.map(|s| match s {
            Some(s) => format!("{} ±{:.0}%", human_time(s.median), s.iqr_pct()),
            None => "-".to_string(),
        }),
        values: summaries.map(|s| s.map(|s| s.median)),
    }
}

/// A row of quantiles, in ns.
fn quantile_row(name: &str, values: [Option<f64>; 3]) -> Line {
    Line::Row {
        name: name.to_string(),
        cells: values.map(|v| v.map_or("-".to_string(), human_time)),
        values,
    }
}

/// A row of bytes, and under it why any runtime has none.
fn bytes_rows(lines: &mut Vec<Line>, name: &str, per_runtime: &[(Kind, Result<f64, String>)]) {
    let cells = Kind::ALL.map(|k| match per_runtime.iter().find(|(kk, _)| *kk == k) {
        Some((_, Ok(b))) => format!("{b:.0} B"),
        Some((_, Err(_))) => "failed".to_string(),
        None => "-".to_string(),
    });
    lines.push(Line::Row {
        name: name.to_string(),
        cells,
        values: Kind::ALL.map(|k| bytes_of(per_runtime, k)),
    });
    for (kind, r) in per_runtime {
        if let Err(e) = r {
            lines.push(Line::Note(format!("  {name}, {}: {e}", kind.name())));
        }
    }
}

/// Lays `lines` out under a header `name_width` wide in its first column.
fn render(out: &mut String, lines: &[Line], name_width: usize) {
    for line in lines {
        match line {
            Line::Row {
                name,
                cells,
                values: [weft, tokio, smol],
            } => {
                let mut text = format!("{name:<name_width$}");
                for cell in cells {
                    let _ = write!(text, " {cell:>CELL_WIDTH$}");
                }
                for r in [ratio(*weft, *tokio), ratio(*weft, *smol)] {
                    let r = r.map_or("-".to_string(), |r| format!("{r:.2}"));
                    let _ = write!(text, " {r:>RATIO_WIDTH$}");
                }
                let _ = writeln!(out, "{text}");
            }
            Line::Note(note) => {
                let _ = writeln!(out, "{note}");
            }
        }
    }
}

/// The ratio chart (`--svg`): a bar pair per row of the main block, the
/// wall-time ratios except where a row's wall time is fixed (its CPU
/// ratios, the label says so), `http_hello req/s` turned over so that
/// below 1.00 is weft's way on every row.
pub fn svg(cfg: &Config, results: &[WorkloadResult], extras: &Extras) -> String {
    let ratios = |[weft, tokio, smol]: [Option<f64>; 3]| [ratio(weft, tokio), ratio(weft, smol)];
    let mut rows = Vec::new();
    for result in results {
        let by_cpu = result.wall_is_fixed.is_some();
        let label = if by_cpu {
            format!("{}{CPU_SUFFIX}", result.name)
        } else {
            result.name.to_string()
        };
        let medians = Kind::ALL.map(|k| {
            let samples = if by_cpu {
                result.cpu_samples_of(k)
            } else {
                result.samples_of(k)
            };
            samples.and_then(Summary::of).map(|s| s.median)
        });
        rows.push(svg::Row {
            label,
            ratios: ratios(medians),
        });
    }
    for line in main_lines(&[], extras) {
        if let Line::Row { name, values, .. } = line {
            let (label, values) = if name == "http_hello req/s" {
                // Time per request: below 1 is weft's way, as everywhere.
                (
                    "http_hello 1/(req/s)".to_string(),
                    values.map(|v| v.map(|v| 1.0 / v)),
                )
            } else {
                (name, values)
            };
            rows.push(svg::Row {
                label,
                ratios: ratios(values),
            });
        }
    }
    svg::render(&svg::Chart {
        title: "weft-bench: weft/tokio and weft/smol per row (below 1.00: weft faster)".to_string(),
        subtitle: format!(
            "{}; {}; {} workers, {} samples of ~{} ms; wall-time ratios of medians unless the row says otherwise",
            crate::host::describe(),
            crate::host::today_utc(),
            cfg.workers,
            cfg.reps,
            cfg.sample_target.as_millis()
        ),
        rows,
    })
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
        "{{\"schema\":1,\"workers\":{},\"reps\":{},\"sample_target_ms\":{},\"unit\":\"ns per iteration\",\"cpu_unit\":\"ns of process CPU time (user + system) per iteration\",\"host\":{},\"others_cpu_share\":{},\"runtimes\":[{}],\"workloads\":[",
        cfg.workers,
        cfg.reps,
        cfg.sample_target.as_millis(),
        json_str(&crate::host::describe()),
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
        let _ = write!(out, "}},\"ratios\":{},\"cpu\":{{", json_ratios(medians));
        json_samples(
            &mut out,
            result
                .cpu_samples
                .iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(k, s)| (*k, s.as_slice())),
        );
        let cpu_medians = Kind::ALL.map(|k| {
            result
                .cpu_samples_of(k)
                .and_then(Summary::of)
                .map(|s| s.median)
        });
        let _ = write!(
            out,
            "}},\"cpu_ratios\":{},\"unsettled_samples\":{},\"wall_is_fixed\":{}}}",
            json_ratios(cpu_medians),
            result.unsettled,
            result.wall_is_fixed.map_or("null".into(), json_str)
        );
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
            "}},\"ratios\":{},\"round_cpu\":{{",
            json_ratios(medians)
        );
        json_samples(
            &mut out,
            clients
                .per_runtime
                .iter()
                .filter(|(_, s)| !s.rounds_cpu_ns.is_empty())
                .map(|(k, s)| (*k, s.rounds_cpu_ns.as_slice())),
        );
        let cpu_medians = Kind::ALL.map(|k| clients.cpu_time(k).map(|s| s.median));
        let _ = write!(
            out,
            "}},\"cpu_ratios\":{},\"latency_quantiles\":{{",
            json_ratios(cpu_medians)
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
                        rounds_cpu_ns: vec![3e6],
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
        assert!(line("tcp_many_clients cpu").contains("3.00 ms ±0%"));
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
        assert!(json.contains("\"round_cpu\":{\"weft\":{\"median\":3000000,"));
    }

    fn config() -> Config {
        Config {
            workers: 2,
            reps: 3,
            sample_target: std::time::Duration::from_millis(5),
            warmup: std::time::Duration::from_millis(5),
            filters: Vec::new(),
            kinds: Kind::ALL.to_vec(),
        }
    }

    /// A workload's result with these wall and CPU medians (ns) per
    /// runtime, three samples each.
    fn result(
        name: &'static str,
        wall: [f64; 3],
        cpu: [f64; 3],
        wall_is_fixed: Option<&'static str>,
    ) -> WorkloadResult {
        let samples = |medians: [f64; 3]| {
            Kind::ALL
                .iter()
                .zip(medians)
                .map(|(&k, m)| (k, vec![m * 0.9, m, m * 1.1]))
                .collect()
        };
        WorkloadResult {
            name,
            iters_per_sample: 10,
            samples: samples(wall),
            cpu_samples: samples(cpu),
            unsettled: 0,
            wall_is_fixed,
        }
    }

    /// The CPU block has a row per workload with the CPU medians and
    /// ratios; the wall rows stay where the ratio parser of
    /// a row-name ratio reader looks for them (the last two columns,
    /// under `weft/tokio` and `weft/smol`), and a fixed-wall row points
    /// at its CPU row.
    #[test]
    fn cpu_rows_beside_the_wall_rows() {
        let results = [
            result("spawn_many_local", [1e6, 2e6, 4e6], [2e6, 3e6, 8e6], None),
            result(
                "timer_fire",
                [1e8, 1e8, 1e8],
                [5e6, 1e7, 2e7],
                Some("fixed by its deadlines"),
            ),
        ];
        let table = table(&config(), &results, &Extras::default(), None);
        let cells = |name: &str| -> Vec<String> {
            let line = table
                .lines()
                .find(|l| l.split("  ").next() == Some(name))
                .unwrap_or_else(|| panic!("no {name} row in\n{table}"));
            line.split_whitespace().map(String::from).collect()
        };
        let wall = cells("spawn_many_local");
        assert_eq!(wall[wall.len() - 2..], ["0.50", "0.25"]);
        let cpu = cells("spawn_many_local cpu");
        assert_eq!(cpu[cpu.len() - 2..], ["0.67", "0.25"]);
        assert!(cpu.contains(&"2.00".to_string()) && cpu.contains(&"ms".to_string()));
        let fire = cells("timer_fire cpu");
        assert_eq!(fire[fire.len() - 2..], ["0.50", "0.25"]);
        assert!(table.contains("(timer_fire: fixed by its deadlines; its cpu row is the measure)"));
        // One header with the ratio columns last, and every row aligned
        // under it.
        let header = table.lines().find(|l| l.starts_with("workload")).unwrap();
        assert!(header.ends_with("weft/tokio  weft/smol"));
        for name in ["spawn_many_local", "spawn_many_local cpu", "timer_fire cpu"] {
            let line = table
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap();
            assert_eq!(line.chars().count(), header.chars().count(), "{line}");
        }

        let json = json(&config(), &results, &Extras::default(), None);
        assert_eq!(json.matches('{').count(), json.matches('}').count());
        assert!(json.contains("\"cpu_ratios\":{\"weft/tokio\":0.6666"));
        assert!(json.contains("\"wall_is_fixed\":\"fixed by its deadlines\""));
        assert!(json.contains("\"wall_is_fixed\":null"));
    }

    /// The chart has a bar pair per row: wall ratios, CPU ratios for the
    /// fixed-wall row, requests per second turned over.
    #[test]
    fn the_chart_has_every_row() {
        use crate::http::{HttpResult, WrkStats};

        let results = [
            result("spawn_many_local", [1e6, 2e6, 4e6], [2e6, 3e6, 8e6], None),
            result(
                "timer_fire",
                [1e8, 1e8, 1e8],
                [5e6, 1e7, 2e7],
                Some("fixed"),
            ),
        ];
        let stats = |rps: f64| WrkStats {
            requests_per_sec: rps,
            p99_ns: 1e6,
            requests: 1000,
        };
        let extras = Extras {
            http: Some(HttpResult {
                duration: std::time::Duration::from_secs(2),
                per_runtime: vec![
                    (Kind::Weft, Ok(stats(200.0))),
                    (Kind::Tokio, Ok(stats(100.0))),
                    (Kind::Smol, Err("wrk failed".to_string())),
                ],
            }),
            ..Extras::default()
        };
        let chart = svg(&config(), &results, &extras);
        let elements = svg::tests::check_xml(&chart).unwrap_or_else(|e| panic!("{e}\n{chart}"));
        let rows = elements
            .iter()
            .filter(|e| e.attr("class") == Some("row"))
            .count();
        assert_eq!(rows, 4, "two workloads, http req/s and p99");
        let bars = |class: &str| {
            elements
                .iter()
                .filter(|e| e.attr("class") == Some(class))
                .count()
        };
        assert_eq!(bars("bar weft-tokio"), 4);
        assert_eq!(bars("bar weft-smol"), 2, "smol's http run failed");
        assert!(chart.contains("<title>timer_fire cpu weft/tokio 0.50</title>"));
        assert!(chart.contains("<title>http_hello 1/(req/s) weft/tokio 0.50</title>"));
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(json_num(f64::NAN), "null");
        assert_eq!(json_num(1.5), "1.5");
    }
}
