//! Runs the `echo` server and the `client` against it, as a user would:
//! lines typed into the client come back in order.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the echo server on a free port and returns it with its address.
fn echo_server() -> (Killed, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_echo"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start echo");
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_string();
    (Killed(server), addr)
}

#[test]
fn client_lines_come_back_from_the_echo_server_in_order() {
    let (_server, addr) = echo_server();
    let lines: Vec<String> = (0..200)
        .map(|i| format!("line {i}: {}", "x".repeat(i)))
        .collect();
    let mut client = Command::new(env!("CARGO_BIN_EXE_client"))
        .arg(&addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start client");
    {
        let mut stdin = client.stdin.take().unwrap();
        for line in &lines {
            writeln!(stdin, "{line}").unwrap();
        }
    } // EOF: the client shuts down its side and waits for the rest
    let out = client.wait_with_output().unwrap();
    assert!(out.status.success(), "client failed: {:?}", out.status);
    let echoed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(echoed, lines);
}

#[test]
fn the_client_reports_a_refused_connection() {
    let (server, addr) = echo_server();
    drop(server); // nobody listens there any more
    let out = Command::new(env!("CARGO_BIN_EXE_client"))
        .arg(&addr)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
}
