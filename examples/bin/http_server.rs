//! An HTTP/1 server: hyper on weft.
//!
//! ```text
//! cargo run -p weft-examples --bin http_server [ADDR] [--header-timeout-ms MS]
//! ```
//!
//! `ADDR` defaults to 127.0.0.1:8080; it prints the address it listens on,
//! then serves each connection in a task of its own with hyper's HTTP/1
//! server, keep-alive on. A client gets `--header-timeout-ms` (default
//! 10,000) to send each request's head, timed by weft's timer
//! (`weft::hyper::Timer`): a client that stalls halfway through a request
//! line is disconnected, not kept forever.
//!
//! Routes:
//!
//! - `GET /`: `hello, world`
//! - `GET /n/K`: `K`, one line (many requests told apart by their answer)
//! - `GET /delay/MS`: waits MS milliseconds (at most a minute), then says so
//! - `POST /echo`: the request body back (up to 1 MiB; over that, 413)
//! - `GET /stats`: connections accepted, requests served, requests in
//!   flight now and at most at once (not counting `/stats` itself)
//! - anything else: 404; a bad number in a path: 400.

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use weft::net::TcpListener;

/// The largest body `/echo` takes.
const ECHO_LIMIT: usize = 1 << 20;
/// The longest `/delay`.
const MAX_DELAY_MS: u64 = 60_000;

/// What `/stats` reports.
#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// Counts one request in flight while it lives.
struct InFlight<'a>(&'a Stats);

impl<'a> InFlight<'a> {
    fn enter(stats: &'a Stats) -> InFlight<'a> {
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(stats)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn route(
    request: Request<Incoming>,
    stats: Arc<Stats>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    if method == Method::GET && path == "/stats" {
        let body = format!(
            "connections {}\nrequests {}\nin_flight {}\nmax_in_flight {}\n",
            stats.connections.load(Ordering::SeqCst),
            stats.requests.load(Ordering::SeqCst),
            stats.in_flight.load(Ordering::SeqCst),
            stats.max_in_flight.load(Ordering::SeqCst),
        );
        return Ok(text(StatusCode::OK, body));
    }
    stats.requests.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight::enter(&stats);
    let number = |rest: &str| rest.parse::<u64>();
    let response = match (method, path.as_str()) {
        (Method::GET, "/") => text(StatusCode::OK, "hello, world\n"),
        (Method::GET, p) if p.starts_with("/n/") => match number(&p[3..]) {
            Ok(k) => text(StatusCode::OK, format!("{k}\n")),
            Err(_) => text(StatusCode::BAD_REQUEST, "not a number\n"),
        },
        (Method::GET, p) if p.starts_with("/delay/") => match number(&p[7..]) {
            Ok(ms) if ms <= MAX_DELAY_MS => {
                weft::time::sleep(Duration::from_millis(ms)).await;
                text(StatusCode::OK, format!("slept {ms} ms\n"))
            }
            _ => text(
                StatusCode::BAD_REQUEST,
                format!("the delay is a number of milliseconds up to {MAX_DELAY_MS}\n"),
            ),
        },
        (Method::POST, "/echo") => match Limited::new(request.into_body(), ECHO_LIMIT)
            .collect()
            .await
        {
            Ok(body) => text(StatusCode::OK, body.to_bytes()),
            Err(_) => text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {ECHO_LIMIT} bytes, or broke off\n"),
            ),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(response)
}

/// The value of `--flag` in `args`, parsed, or `default`.
fn flag(args: &[String], flag: &str, default: u64) -> io::Result<u64> {
    match args.iter().position(|a| a == flag) {
        None => Ok(default),
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{flag} needs a number"),
            )
        }),
    }
}

#[weft::main]
async fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let header_timeout = Duration::from_millis(flag(&args, "--header-timeout-ms", 10_000)?);
    let addr = match args.first() {
        Some(a) if !a.starts_with("--") => a.clone(),
        _ => "127.0.0.1:8080".to_string(),
    };
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);

    let stats = Arc::new(Stats::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(weft::hyper::Timer::new())
        .header_read_timeout(header_timeout);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, say: not fatal, try again soon.
                eprintln!("accept: {err}");
                weft::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        stats.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        let stats = stats.clone();
        let service = service_fn(move |request| route(request, stats.clone()));
        let conn = http.serve_connection(stream, service);
        weft::spawn(async move {
            if let Err(err) = conn.await {
                // A timed-out head or a client that went away mid-request.
                eprintln!("{peer}: {err}");
            }
        });
    }
}
