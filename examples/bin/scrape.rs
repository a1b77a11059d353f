//! Fetch many URLs at once, a few at a time: the asyncio web-scraping
//! example, done right.
//!
//! ```text
//! cargo run -p weft-examples --bin scrape -- [--concurrency K] [--timeout-ms MS] URL...
//! ```
//!
//! Every URL gets a task at once, but at most K (default 8) fetch at the
//! same time: each holds a permit of one `weft::sync::Semaphore` while it
//! connects, sends and reads. Each fetch (connect, request, whole body) has
//! `--timeout-ms` (default 10,000) to finish. The results are printed in
//! the order the URLs were given, one line each, as soon as that URL and
//! every one before it are done:
//!
//! ```text
//! http://127.0.0.1:8080/ 200 13 bytes
//! http://127.0.0.1:1/ error: connecting to 127.0.0.1:1: Connection refused (os error 111)
//! ```
//!
//! A URL that fails (bad URL, refused, timed out, broken response) is
//! reported on its line and does not stop the others; the exit status is
//! 1 if any failed. A response with an error status (404, ...) is a result,
//! not a failure. Plain `http://` only, one HTTP/1 connection per URL
//! (hyper's client on weft).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, StatusCode, Uri};
use weft::net::TcpStream;
use weft::sync::Semaphore;

/// The largest body kept in memory for one URL.
const BODY_LIMIT: usize = 16 << 20;

const USAGE: &str = "usage: scrape [--concurrency K] [--timeout-ms MS] URL...";

struct Args {
    concurrency: usize,
    timeout: Duration,
    urls: Vec<String>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        concurrency: 8,
        timeout: Duration::from_secs(10),
        urls: Vec::new(),
    };
    fn number(flag: &str, value: Option<String>) -> Result<u64, String> {
        value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number"))
    }
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--concurrency" => args.concurrency = number(&arg, it.next())? as usize,
            "--timeout-ms" => args.timeout = Duration::from_millis(number(&arg, it.next())?),
            "-h" | "--help" => return Err(String::new()),
            _ => args.urls.push(arg),
        }
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    if args.urls.is_empty() {
        return Err("no URL given".into());
    }
    Ok(args)
}

/// What one successful fetch got.
struct Fetched {
    status: StatusCode,
    bytes: usize,
}

/// GET `url` on a connection of its own; the status and body size.
async fn fetch(url: &str) -> Result<Fetched, String> {
    let uri: Uri = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// URLs are supported".into());
    }
    let host = uri.host().ok_or("the URL names no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let authority = uri.authority().map_or(host, |a| a.as_str()).to_string();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("building the request: {e}"))?;
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?;
        Ok(Fetched {
            status,
            bytes: body.to_bytes().len(),
        })
    };
    // The connection is driven in this task, beside the exchange, so a
    // timeout that drops the fetch closes the socket too. A connection that
    // ends cleanly has handed the exchange all it will get: its `Ok(())`
    // does not match `Err(e)`, which disables that branch, and the exchange
    // has the last word. `biased;` gives it the last word when both are
    // ready at once, too.
    weft::select! {
        biased;
        fetched = exchange => fetched,
        Err(e) = conn => Err(format!("connection: {e}")),
    }
}

#[weft::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("scrape: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let permits = Arc::new(Semaphore::new(args.concurrency));
    let timeout = args.timeout;
    let tasks: Vec<_> = args
        .urls
        .iter()
        .map(|url| {
            let url = url.clone();
            let permits = permits.clone();
            weft::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("never closed");
                match weft::time::timeout(timeout, fetch(&url)).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
                }
            })
        })
        .collect();

    let mut failed = 0;
    for (url, task) in args.urls.iter().zip(tasks) {
        let result = task
            .await
            .unwrap_or_else(|e| Err(format!("the fetch task failed: {e}")));
        match result {
            Ok(Fetched { status, bytes }) => println!("{url} {} {bytes} bytes", status.as_u16()),
            Err(e) => {
                failed += 1;
                println!("{url} error: {e}");
            }
        }
    }
    if failed > 0 {
        eprintln!("scrape: {failed} of {} failed", args.urls.len());
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn flags_and_urls() {
        let a = parse("--concurrency 3 http://a/ --timeout-ms 250 http://b/").unwrap();
        assert_eq!(a.concurrency, 3);
        assert_eq!(a.timeout, Duration::from_millis(250));
        assert_eq!(a.urls, ["http://a/", "http://b/"]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse("").is_err());
        assert!(parse("--concurrency 0 http://a/").is_err());
        assert!(parse("--timeout-ms soon http://a/").is_err());
        assert!(parse("--concurrency").is_err());
    }
}
