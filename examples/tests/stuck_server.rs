//! Runs the `stuck_server` example against a backend this test plays, and
//! checks what weft says about it: the slow-poll detector names the stuck
//! connection task and its spawn line while the task is still stuck (the
//! backend has not answered yet: proved by order, not by timing), and
//! once more when it is over; the task dump taken meanwhile shows the task
//! running on a worker. With `--fixed` the lookup runs on the blocking pool
//! and the detector says nothing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

use common::Client;

/// The server as a child process, killed when the test ends.
struct Server {
    child: Child,
    addr: String,
    stderr: BufReader<ChildStderr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(backend: &TcpListener, fixed: bool) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stuck_server"));
    command
        .arg("127.0.0.1:0")
        .arg(backend.local_addr().unwrap().to_string());
    if fixed {
        command.arg("--fixed");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting stuck_server");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_string();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    Server {
        child,
        addr,
        stderr,
    }
}

/// The lines of a `dump` reply, up to its `end`.
fn dump(client: &mut Client) -> Vec<String> {
    client.send("dump");
    let mut lines = Vec::new();
    loop {
        let line = client.recv();
        if line == "end" {
            return lines;
        }
        lines.push(line);
    }
}

/// The example's spawn line for connection tasks, as the detector and the
/// dump print it.
fn spawn_location() -> String {
    let source = include_str!("../bin/stuck_server.rs");
    let (index, line) = source
        .lines()
        .enumerate()
        .find(|(_, line)| line.trim_start().starts_with(".spawn(async move"))
        .expect("the example spawns its connection tasks with task::Builder");
    // The location of a method call is the method's name, after the dot.
    let column = line.find("spawn").expect("found above") + 1;
    format!("bin/stuck_server.rs:{}:{column}", index + 1)
}

/// Accepts the server's connection to the backend and reads the key.
fn backend_request(backend: &TcpListener) -> (TcpStream, String) {
    let (stream, _) = backend.accept().unwrap();
    let mut key = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut key)
        .unwrap();
    (stream, key.trim_end().to_string())
}

#[test]
fn the_detector_names_the_stuck_task_while_it_is_stuck_and_the_dump_shows_it_running() {
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut server = start(&backend, false);
    let mut stuck = Client::connect(&server.addr);
    stuck.send("lookup alpha");
    let (mut answer, key) = backend_request(&backend);
    assert_eq!(key, "alpha");

    // The backend has not answered: the worker is still inside the poll.
    let mut report = String::new();
    server.stderr.read_line(&mut report).unwrap();
    let location = spawn_location();
    assert!(
        report.starts_with("weft: worker ")
            && report.contains(" has been polling task ")
            && report.contains("'conn 127.0.0.1:")
            && report.contains(&location)
            && report.contains("spawn_blocking"),
        "{report:?} should name the task spawned at {location}"
    );

    // The other worker still serves, and the dump shows the stuck task.
    let mut other = Client::connect(&server.addr);
    other.send("ping");
    assert_eq!(other.recv(), "pong");
    let dump = dump(&mut other);
    let running: Vec<&String> = dump
        .iter()
        .filter(|line| line.contains("running") && line.contains(&location))
        .collect();
    assert_eq!(
        running.len(),
        2,
        "the stuck task and the one dumping both run:\n{}",
        dump.join("\n")
    );

    writeln!(answer, "one").unwrap();
    assert_eq!(stuck.recv(), "value one");
    let mut after = String::new();
    server.stderr.read_line(&mut after).unwrap();
    assert!(
        after.contains(" was stuck polling task ") && after.contains(&location),
        "{after:?}"
    );
}

#[test]
fn on_the_blocking_pool_the_same_lookup_is_not_reported() {
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut server = start(&backend, true);
    let mut client = Client::connect(&server.addr);
    client.send("lookup beta");
    let (mut answer, key) = backend_request(&backend);
    assert_eq!(key, "beta");

    // Hold the answer until the dump itself shows the lookup waiting past
    // the detector's threshold (the dump's clock, not a sleep here).
    let mut other = Client::connect(&server.addr);
    loop {
        let dump = dump(&mut other);
        let waiting = dump
            .iter()
            .find(|line| line.contains("a blocking job"))
            .cloned();
        if let Some(line) = waiting.filter(|line| waited_past(line, Duration::from_millis(300))) {
            assert!(line.contains("idle"), "{line}");
            break;
        }
        other.send("ping");
        assert_eq!(other.recv(), "pong");
    }
    writeln!(answer, "two").unwrap();
    assert_eq!(client.recv(), "value two");

    // Nothing was reported: stop the server and read all it wrote.
    drop(client);
    drop(other);
    let _ = server.child.kill();
    let _ = server.child.wait();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut server.stderr, &mut rest).unwrap();
    assert!(!rest.contains("weft: worker"), "{rest}");
}

/// Whether a dump line says its task last ran at least `at_least` ago.
fn waited_past(line: &str, at_least: Duration) -> bool {
    line.split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|pair| pair[1] == "ago")
        .and_then(|pair| parse_short(pair[0]))
        .is_some_and(|ago| ago >= at_least)
}

/// Parses the dump's short durations ("850ms", "2.1s", "3m05s", "1h02m").
fn parse_short(text: &str) -> Option<Duration> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    if let Some((minutes, rest)) = text.split_once('m') {
        let seconds: u64 = rest.strip_suffix('s')?.parse().ok()?;
        return Some(Duration::from_secs(
            minutes.parse::<u64>().ok()? * 60 + seconds,
        ));
    }
    if let Some((hours, _)) = text.split_once('h') {
        return Some(Duration::from_secs(hours.parse::<u64>().ok()? * 3600));
    }
    text.strip_suffix('s')?
        .parse()
        .ok()
        .map(Duration::from_secs_f64)
}
