//! Runs the `graceful_shutdown` server and signals it, as an orchestrator
//! would: it stops accepting, an idle connection is closed, the reply in
//! flight arrives whole, and the process exits 0.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ChildStdout;

/// More than loopback socket buffers hold, so the reply is still being
/// written when the signal comes.
const BIG: usize = 64 << 20;

fn start(args: &[&str]) -> (common::Killed, String, BufReader<ChildStdout>) {
    common::start_server_with(env!("CARGO_BIN_EXE_graceful_shutdown"), args)
}

fn send_signal(server: &common::Killed, signum: libc::c_int) {
    let pid = libc::pid_t::try_from(server.0.id()).unwrap();
    // SAFETY: `kill` has no memory-safety preconditions; `pid` is our
    // child, not yet waited for, so the number is still its own.
    assert_eq!(unsafe { libc::kill(pid, signum) }, 0);
}

fn next_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    line
}

/// Reads until end of stream, checking every byte is a reply byte;
/// returns how many came.
fn read_reply_to_end(stream: &mut TcpStream) -> usize {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            return total;
        }
        assert!(buf[..n].iter().all(|&b| b == b'x'));
        total += n;
    }
}

#[test]
fn on_sigterm_it_stops_accepting_finishes_the_reply_in_flight_and_exits_0() {
    let (mut server, addr, mut stdout) = start(&[]);

    // `busy` is in the middle of a reply: it asked for more than the
    // sockets hold and has read only the start.
    let mut busy = TcpStream::connect(&addr).unwrap();
    busy.write_all(format!("{BIG}\n").as_bytes()).unwrap();
    let mut start = [0u8; 1024];
    busy.read_exact(&mut start).unwrap();
    // `idle` has been served once and waits between exchanges.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"3\n").unwrap();
    let mut three = [0u8; 3];
    idle.read_exact(&mut three).unwrap();
    assert_eq!(&three, b"xxx");

    send_signal(&server, libc::SIGTERM);
    assert_eq!(
        next_line(&mut stdout),
        "shutting down: no longer accepting, draining 2 connection(s)\n"
    );
    // The listener is gone: new connections are refused.
    let refused = TcpStream::connect(&addr).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    // The idle connection is closed without another exchange.
    assert_eq!(read_reply_to_end(&mut idle), 0);
    // The busy one gets all of its reply, then is closed.
    assert_eq!(start.len() + read_reply_to_end(&mut busy), BIG);

    assert_eq!(next_line(&mut stdout), "drained\n");
    let status = server.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn ctrl_c_shuts_an_idle_server_down_too() {
    let (mut server, _addr, mut stdout) = start(&[]);
    send_signal(&server, libc::SIGINT);
    assert_eq!(
        next_line(&mut stdout),
        "shutting down: no longer accepting, draining 0 connection(s)\n"
    );
    assert_eq!(next_line(&mut stdout), "drained\n");
    assert_eq!(server.0.wait().unwrap().code(), Some(0));
}

#[test]
fn the_drain_deadline_cuts_a_client_that_stopped_reading() {
    let (mut server, addr, mut stdout) = start(&["50"]);
    let mut stuck = TcpStream::connect(&addr).unwrap();
    stuck.write_all(format!("{BIG}\n").as_bytes()).unwrap();
    let mut start = [0u8; 1024];
    stuck.read_exact(&mut start).unwrap();
    // ... and reads no more.
    send_signal(&server, libc::SIGTERM);
    assert_eq!(
        next_line(&mut stdout),
        "shutting down: no longer accepting, draining 1 connection(s)\n"
    );
    assert_eq!(
        next_line(&mut stdout),
        "drain deadline passed: cutting 1 connection(s)\n"
    );
    assert_eq!(server.0.wait().unwrap().code(), Some(0));
    // What it got is a prefix of the reply, cut short.
    assert!(start.len() + read_reply_to_end(&mut stuck) < BIG);
}
