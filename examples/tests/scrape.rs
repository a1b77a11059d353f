//! Runs the `scrape` example against the `http_server` example: never more
//! than K requests in flight at the server, every URL answered, in the
//! order given; and failures (bad URL, refused, timed out) reported on
//! their own lines without stopping the rest.

mod common;

use std::process::{Command, Output};

fn scrape(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scrape"))
        .args(args)
        .output()
        .expect("start scrape")
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The server's `/stats` number `name`, fetched with `scrape`'s own
/// dependencies out of the way: a plain HTTP/1.0 request.
fn stat(addr: &str, name: &str) -> u64 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(b"GET /stats HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /stats: {response}"))
}

#[test]
fn at_most_k_in_flight_and_every_result_in_order() {
    const K: u64 = 3;
    let (_server, addr) = common::start_server(env!("CARGO_BIN_EXE_http_server"));
    // Requests that each take a while, so the limit is what keeps more
    // from running at once; told apart by their query.
    let urls: Vec<String> = (0..24)
        .map(|i| format!("http://{addr}/delay/{}?i={i}", 50 + i % 4 * 10))
        .collect();
    let mut args = vec!["--concurrency".to_string(), K.to_string()];
    args.extend(urls.iter().cloned());
    let out = scrape(&args);
    assert!(
        out.status.success(),
        "scrape failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Vec<String> = (0..24)
        .map(|i| {
            let ms = 50 + i % 4 * 10;
            // "slept NN ms\n"
            format!("{} 200 {} bytes", urls[i], format!("slept {ms} ms\n").len())
        })
        .collect();
    assert_eq!(lines(&out), expected);

    let max = stat(&addr, "max_in_flight");
    assert!(max <= K, "{max} requests in flight at once, limit {K}");
    assert!(
        max >= 2,
        "the fetches never overlapped (at most {max} at once)"
    );
    assert_eq!(stat(&addr, "requests"), 24);
}

#[test]
fn failures_are_reported_per_url_and_the_rest_still_come() {
    let (_server, addr) = common::start_server(env!("CARGO_BIN_EXE_http_server"));
    // A port nobody listens on: bound, then closed.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let urls = [
        format!("http://{addr}/n/1"),
        format!("http://{addr}/delay/60000"),
        "not a url".to_string(),
        format!("https://{addr}/"),
        format!("http://{refused}/"),
        format!("http://{addr}/nowhere"),
        format!("http://{addr}/n/22"),
    ];
    let mut args = vec!["--timeout-ms".to_string(), "300".to_string()];
    args.extend(urls.iter().cloned());
    let out = scrape(&args);
    assert_eq!(out.status.code(), Some(1), "some failed: exit status 1");
    let got = lines(&out);
    assert_eq!(got.len(), urls.len(), "{got:#?}");
    for (line, url) in got.iter().zip(&urls) {
        assert!(
            line.starts_with(&format!("{url} ")),
            "out of order: {got:#?}"
        );
    }
    let outcome = |i: usize| &got[i][urls[i].len() + 1..];
    assert_eq!(outcome(0), "200 2 bytes");
    assert_eq!(outcome(1), "error: timed out after 300 ms");
    assert!(
        outcome(2).starts_with("error: invalid URL"),
        "{}",
        outcome(2)
    );
    assert_eq!(outcome(3), "error: only http:// URLs are supported");
    assert!(
        outcome(4).starts_with(&format!("error: connecting to {}", refused.ip()))
            && outcome(4).contains("refused"),
        "{}",
        outcome(4)
    );
    assert_eq!(outcome(5), "404 10 bytes", "an error status is a result");
    assert_eq!(outcome(6), "200 3 bytes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("4 of 7 failed"), "{stderr}");
}
