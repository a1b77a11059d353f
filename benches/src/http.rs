//! The `http_hello` rows (`--http`): hyper's HTTP/1 hello-world server on
//! each runtime, loaded by `wrk` over loopback.
//!
//! One server runs at a time, on its runtime with the bench's worker
//! count: the same hyper code for all three (written once, generic over
//! [`Runtime`]), each on its own sockets: weft's stream as hyper's I/O
//! directly, tokio's through hyper-util's `TokioIo`, smol's through a small
//! futures-io adapter. `wrk -t2 -c64 -dNs --latency` loads it, after an
//! unrecorded one-second run; the rows are wrk's requests per second and
//! its 99th-percentile latency. A run
//! whose responses were not all 200 or that had socket errors has no
//! number, only the reason, so a server cannot win by failing fast.
//!
//! wrk is a separate program (Debian's package `wrk`); [`check_wrk`] says
//! so when it is missing.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use futures_channel::oneshot;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};

use crate::measure::Config;
use crate::rt::{Kind, Runtime, Spawner, WithRuntime};
use crate::watchdog::Watchdog;

/// The name `--filter` matches.
pub const NAME: &str = "http_hello";

/// wrk's threads and connections.
pub const WRK_THREADS: usize = 2;
pub const WRK_CONNECTIONS: usize = 64;

/// The unrecorded wrk run before each measured one.
const WARM_UP: Duration = Duration::from_secs(1);

/// What every server answers.
const HELLO: &[u8] = b"Hello, World!";

/// What wrk measured for one server.
#[derive(Clone, Debug, PartialEq)]
pub struct WrkStats {
    pub requests_per_sec: f64,
    /// The 99th-percentile latency, in ns.
    pub p99_ns: f64,
    pub requests: u64,
}

/// The rows' results.
pub struct HttpResult {
    pub duration: Duration,
    /// Per runtime: wrk's numbers, or why there are none.
    pub per_runtime: Vec<(Kind, Result<WrkStats, String>)>,
}

impl HttpResult {
    pub fn stats_of(&self, kind: Kind) -> Option<&WrkStats> {
        self.per_runtime
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, r)| r.as_ref().ok())
    }
}

/// Whether `wrk` can be run; if not, what to do about it.
pub fn check_wrk() -> Result<(), String> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(
            "--http needs wrk, which is not installed: `apt-get install -y wrk` (Debian's package)"
                .to_string(),
        ),
        Err(e) => Err(format!("--http needs wrk, which did not run: {e}")),
    }
}

/// Serves and loads each selected runtime in turn, `duration` each.
pub fn measure(cfg: &Config, watchdog: &Watchdog, duration: Duration) -> HttpResult {
    let per_runtime = cfg
        .kinds
        .iter()
        .map(|&kind| {
            eprintln!("  {NAME}: {} under wrk for {duration:?}", kind.name());
            // wrk stops itself; the watchdog only catches a server that
            // hangs wrk or will not shut down.
            watchdog.arm(format!("{NAME} on {}", kind.name()));
            let result = kind
                .build(cfg.workers)
                .map_err(|e| format!("building {}: {e}", kind.name()))
                .and_then(|rt| rt.with(Serve { duration }));
            watchdog.disarm();
            (kind, result)
        })
        .collect();
    HttpResult {
        duration,
        per_runtime,
    }
}

/// Starts the server on one runtime, runs wrk against it, stops it.
struct Serve {
    duration: Duration,
}

impl WithRuntime for Serve {
    type Output = Result<WrkStats, String>;

    fn call<R: Runtime>(self, rt: &R) -> Self::Output {
        let (stop, stopped) = oneshot::channel::<()>();
        let (addr, server) = start_server(rt, stopped).map_err(|e| format!("server: {e}"))?;
        // One unrecorded second first: threads started, buffers touched.
        let result = run_wrk(addr, WARM_UP).and_then(|_| run_wrk(addr, self.duration));
        drop(stop);
        rt.block_on(server);
        result
    }
}

/// Binds a loopback listener and spawns the accept loop, which serves each
/// connection in a task of its own until `stopped` fires. Returns the
/// address and a future that ends with the accept loop.
fn start_server<R: Runtime>(
    rt: &R,
    stopped: oneshot::Receiver<()>,
) -> io::Result<(SocketAddr, impl std::future::Future<Output = ()>)> {
    let sp = rt.spawner();
    let (listener, addr) =
        rt.block_on(rt.spawn(async { R::tcp_bind(SocketAddr::from(([127, 0, 0, 1], 0))).await }))?;
    let server = rt.spawn(futures_lite::future::or(
        async move {
            loop {
                let stream = match R::tcp_accept(&listener).await {
                    Ok(stream) => stream,
                    Err(e) => {
                        // Out of descriptors, say: report, let wrk's
                        // connections drain a little, go on.
                        eprintln!("  {NAME}: {}: accept: {e}", R::NAME);
                        R::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let service = service_fn(|_: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(HELLO))))
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(R::hyper_io(stream), service);
                sp.spawn_detached(async move {
                    // wrk closes its connections mid-request when it stops.
                    let _ = conn.await;
                });
            }
        },
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((addr, server))
}

fn run_wrk(addr: SocketAddr, duration: Duration) -> Result<WrkStats, String> {
    let out = Command::new("wrk")
        .arg(format!("-t{WRK_THREADS}"))
        .arg(format!("-c{WRK_CONNECTIONS}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg(format!("http://{addr}/"))
        .output()
        .map_err(|e| format!("running wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {}{}",
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_wrk(&stdout)
}

/// wrk's requests/s, 99% latency and request count from its `--latency`
/// report; an error if it saw non-200 responses or socket errors.
pub fn parse_wrk(report: &str) -> Result<WrkStats, String> {
    let mut requests_per_sec = None;
    let mut p99_ns = None;
    let mut requests = None;
    for line in report.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            requests_per_sec = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99_ns = parse_latency(rest.trim());
        } else if line.contains(" requests in ") {
            requests = line.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if line.starts_with("Non-2xx or 3xx responses:")
            || line.starts_with("Socket errors:")
        {
            return Err(format!("wrk reported {line:?}"));
        }
    }
    match (requests_per_sec, p99_ns, requests) {
        (Some(requests_per_sec), Some(p99_ns), Some(requests)) if requests > 0 => Ok(WrkStats {
            requests_per_sec,
            p99_ns,
            requests,
        }),
        _ => Err(format!("could not read wrk's report:\n{report}")),
    }
}

/// `1.23ms`, `456.78us`, `2.00s` (wrk's units) in ns.
fn parse_latency(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (value, unit) = s.split_at(split);
    let value: f64 = value.parse().ok()?;
    let scale = match unit {
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
Running 2s test @ http://127.0.0.1:40000/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.34us  200.10us   8.90ms   90.00%
    Req/Sec    60.12k     3.21k   70.00k    75.00%
  Latency Distribution
     50%  480.00us
     75%  600.00us
     90%  750.00us
     99%    1.25ms
  240000 requests in 2.00s, 20.00MB read
Requests/sec: 119876.54
Transfer/sec:     10.00MB
";

    #[test]
    fn reads_wrk_report() {
        assert_eq!(
            parse_wrk(REPORT),
            Ok(WrkStats {
                requests_per_sec: 119876.54,
                p99_ns: 1.25e6,
                requests: 240_000,
            })
        );
    }

    #[test]
    fn errors_in_the_report_mean_no_number() {
        let with_errors = REPORT.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse_wrk(&with_errors)
            .unwrap_err()
            .contains("Socket errors"));
        let non_200 = REPORT.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 12\nRequests/sec",
        );
        assert!(parse_wrk(&non_200).is_err());
        assert!(parse_wrk("wrk: nonsense").is_err());
    }

    #[test]
    fn latency_units() {
        assert_eq!(parse_latency("456.50us"), Some(456_500.0));
        assert_eq!(parse_latency("2.00s"), Some(2e9));
        assert_eq!(parse_latency("1.5m"), Some(90e9));
        assert_eq!(parse_latency("12"), None);
    }
}
