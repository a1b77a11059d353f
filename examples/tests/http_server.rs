//! Runs the `http_server` example (hyper on weft) against real clients:
//! curl makes 10,000 keep-alive requests on one connection and every
//! answer is checked; the routes answer as documented; a client that
//! stalls halfway through its request line is disconnected by hyper's
//! header-read timeout on weft's timer, while the server keeps serving.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["--silent", "--show-error"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running curl (is it installed? apt-get install curl): {e}"))
}

fn curl_ok(args: &[&str]) -> String {
    let out = curl(args);
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One number from the server's `/stats`.
fn stat(addr: &str, name: &str) -> u64 {
    let stats = curl_ok(&[&format!("http://{addr}/stats")]);
    stats
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /stats: {stats}"))
}

#[test]
fn ten_thousand_keep_alive_requests_from_curl_all_answered_right() {
    let (_server, addr) = common::start_server(env!("CARGO_BIN_EXE_http_server"));
    // One curl, 10,000 URLs (curl's globbing): it reuses one connection
    // for all of them as long as the server keeps it alive.
    let body = curl_ok(&[&format!("http://{addr}/n/[1-10000]")]);
    let expected: String = (1..=10_000).map(|k| format!("{k}\n")).collect();
    assert!(
        body == expected,
        "wrong answers: {} bytes, the first difference at byte {:?}",
        body.len(),
        body.bytes().zip(expected.bytes()).position(|(a, b)| a != b)
    );
    // That curl's connection and the one asking for the stats.
    let connections = stat(&addr, "connections");
    assert!(
        connections <= 2,
        "{connections} connections for 10,000 keep-alive requests"
    );
    assert_eq!(stat(&addr, "requests"), 10_000);
}

#[test]
fn the_routes_answer_as_documented() {
    let (_server, addr) = common::start_server(env!("CARGO_BIN_EXE_http_server"));
    let url = |path: &str| format!("http://{addr}{path}");
    let with_status = |args: &[&str]| {
        let mut all = vec!["--write-out", " %{http_code}"];
        all.extend_from_slice(args);
        curl_ok(&all)
    };
    assert_eq!(with_status(&[&url("/")]), "hello, world\n 200");
    assert_eq!(with_status(&[&url("/n/42")]), "42\n 200");
    assert_eq!(with_status(&[&url("/n/forty")]), "not a number\n 400");
    assert_eq!(with_status(&[&url("/delay/5")]), "slept 5 ms\n 200");
    assert_eq!(with_status(&[&url("/nowhere")]), "not found\n 404");
    assert_eq!(
        with_status(&["--data-binary", "round trip", &url("/echo")]),
        "round trip 200"
    );
    // One byte over the limit, sent from curl's stdin.
    let mut upload = Command::new("curl")
        .args(["--silent", "--show-error", "--write-out", " %{http_code}"])
        .args(["--data-binary", "@-", &url("/echo")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let big = vec![b'x'; (1 << 20) + 1];
    // The server may answer 413 and close before taking it all.
    let _ = upload.stdin.take().unwrap().write_all(&big);
    let out = upload.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.ends_with(" 413"), "{out}");
}

#[test]
fn a_stalled_client_is_cut_off_by_the_header_read_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    let (_server, addr, _) = common::start_server_with(
        env!("CARGO_BIN_EXE_http_server"),
        &["--header-timeout-ms", "300"],
    );
    // Before connecting: the server's clock for this client starts after.
    let start = Instant::now();
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled.write_all(b"GET /n/1 HT").unwrap();
    // Not a wait for time to pass: the read returns when the server closes
    // the connection. The bound only turns a broken timeout into a failure
    // instead of a hang.
    stalled
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 256];
    match stalled.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!(
            "answered instead of closing: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
            panic!("the stalled connection was still open after 30 s")
        }
        Err(e) => panic!("reading: {e}"),
    }
    let waited = start.elapsed();
    assert!(waited >= TIMEOUT, "cut off early, after {waited:?}");

    // The server is unharmed: a complete request on a new connection.
    assert_eq!(curl_ok(&[&format!("http://{addr}/n/7")]), "7\n");
}
