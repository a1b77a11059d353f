//! Runs the `cpu_offload` server (one worker thread) with real TCP
//! clients: while a hashing job runs, on the blocking pool or in place,
//! another connection is still served. Proved by order, not by timing: the
//! job has said `started` and cannot finish before the test cancels it, and
//! the `ping` is answered in between.

mod common;

/// More rounds than any machine finishes in a test's lifetime: the job
/// ends when cancelled.
const FOREVER: u64 = 1 << 60;

fn cpu_server() -> (common::Killed, String) {
    common::start_server(env!("CARGO_BIN_EXE_cpu_offload"))
}

/// Starts an endless job with `command` on one connection, then talks to
/// the server on another while it runs.
fn ping_while_a_job_runs(command: &str) {
    let (_server, addr) = cpu_server();
    let mut worker = common::Client::connect(&addr);
    worker.send(&format!("{command} {FOREVER}"));
    assert_eq!(worker.recv(), "started");

    // The job is running and cannot end on its own: this connection is
    // accepted and answered while it does.
    let mut other = common::Client::connect(&addr);
    for _ in 0..3 {
        assert_eq!(other.ask("ping"), "pong");
    }
    assert_eq!(other.ask("cancel"), "ok");

    let outcome = worker.recv();
    assert!(
        outcome.starts_with("cancelled after ") && outcome.ends_with(" rounds"),
        "{outcome}"
    );
    // The connection that ran the job goes on serving.
    assert_eq!(worker.ask("ping"), "pong");
}

#[test]
fn ping_is_answered_while_a_blocking_pool_job_runs() {
    ping_while_a_job_runs("hash");
}

#[test]
fn ping_is_answered_while_a_job_runs_in_place() {
    ping_while_a_job_runs("hash-here");
}

#[test]
fn both_ways_of_offloading_compute_the_same_digest() {
    let (_server, addr) = cpu_server();
    let mut client = common::Client::connect(&addr);
    let mut digest = |command: &str| {
        assert_eq!(client.ask(command), "started");
        let line = client.recv();
        let hex = line
            .strip_prefix("digest ")
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(hex.len(), 16, "{line}");
        hex.to_string()
    };
    let pool = digest("hash 500");
    assert_eq!(digest("hash-here 500"), pool);
    assert_eq!(digest("hash 500"), pool);
    assert_ne!(digest("hash 501"), pool);
}

#[test]
fn bad_commands_get_an_error_and_the_connection_goes_on() {
    let (_server, addr) = cpu_server();
    let mut client = common::Client::connect(&addr);
    for (command, expected) in [
        ("fib 40", "error: unknown command \"fib\""),
        ("", "error: empty line"),
        ("hash", "error: hash needs a round count"),
        ("hash-here -1", "error: hash-here: bad round count \"-1\""),
        ("ping now", "error: unexpected \"now\" in \"ping now\""),
    ] {
        let reply = client.ask(command);
        assert!(reply.starts_with(expected), "{command}: {reply}");
    }
    assert_eq!(client.ask("ping"), "pong");
}
