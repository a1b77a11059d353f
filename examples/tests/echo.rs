//! Runs the `echo` server and the `client` against it, as a user would:
//! lines typed into the client come back in order.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn echo_server() -> (common::Killed, String) {
    common::start_server(env!("CARGO_BIN_EXE_echo"))
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
