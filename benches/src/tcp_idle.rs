//! The `tcp_idle_connections` row: resident bytes per idle TCP connection
//! held by a server.
//!
//! Each runtime is measured in its own child process (this binary re-run
//! with the hidden `--tcp-idle-child NAME` flag), as the memory rows are
//! (`memory.rs`). The child builds the runtime, binds a loopback listener
//! and spawns an accept loop that spawns, per connection, a task that
//! sends a one-byte greeting and then reads into a small buffer: a real
//! server (one that greets, as SMTP's do) whose clients say nothing yet.
//! It warms that path with a few connections of its own (closed again),
//! reads its resident set size and prints the listener's address.
//!
//! The clients are plain std sockets in the parent (the bench) process, so
//! the child's memory is the server's alone, and each process needs one
//! descriptor per connection rather than one process two. The parent
//! opens N connections, one after another, each after the last one's
//! greeting came: faster, it would overflow the listener's backlog (128
//! for std's, which weft and smol bind with), and a dropped SYN is only
//! retried a second later. The child waits until each has a task parked in
//! its read (polled, so registered with the reactor), reads the RSS again,
//! prints `(after - before) / N` and exits without teardown; only then
//! does the parent close its ends.
//!
//! Both processes raise their soft `RLIMIT_NOFILE` to the hard limit, and
//! fail saying so if N connections do not fit under it.

use std::future::{poll_fn, Future};
use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::pin::pin;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use crate::memory::rss_bytes;
use crate::rt::{Kind, Runtime, Spawner, WithRuntime};
use crate::workloads::net::loopback;

/// The name `--filter` matches, and the row's.
pub const NAME: &str = "tcp_idle_connections";

/// The hidden flag that makes this binary an idle-connection child.
pub const CHILD_FLAG: &str = "--tcp-idle-child";

/// The flag for the number of connections (given to the child as well).
pub const CONNECTIONS_FLAG: &str = "--idle-connections";

/// What the child prints before the listener's address, and before the
/// number.
const LISTENING_KEY: &str = "listening=";
const RESULT_KEY: &str = "bytes_per_connection=";

/// What each connection's task sends first.
const GREETING: &[u8; 1] = b"+";

/// Connections the child opens and closes itself before the baseline.
const WARM_UP: usize = 64;

/// Descriptors a process needs besides one per connection: stdio, the
/// listener, the reactors' epoll and wake-up descriptors, the warm-up.
const FD_SLACK: usize = 2 * WARM_UP + 64;

/// Each connection task's read buffer: small, so that what the row shows is
/// the runtime's cost per connection, not the application's buffer.
const READ_BUFFER: usize = 64;

/// Connection tasks parked in their read, and those that ended, in the
/// child.
static PARKED: AtomicUsize = AtomicUsize::new(0);
static CLOSED: AtomicUsize = AtomicUsize::new(0);

/// The row's results.
pub struct IdleResult {
    /// Idle connections each child held.
    pub connections: usize,
    /// Per runtime: bytes per idle connection, or why there is no number.
    pub per_runtime: Vec<(Kind, Result<f64, String>)>,
}

/// Runs the child for `kind`, holds `connections` connections open to it,
/// and returns the child's bytes per connection.
pub fn measure(
    kind: Kind,
    workers: usize,
    connections: usize,
    timeout: Duration,
) -> Result<f64, String> {
    raise_fd_limit(connections).map_err(|e| format!("in the bench (the clients' side): {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(exe)
        .args([CHILD_FLAG, kind.name()])
        .args(["--workers", &workers.to_string()])
        .args([CONNECTIONS_FLAG, &connections.to_string()])
        .args(["--timeout-s", &timeout.as_secs().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning the {NAME} child: {e}"))?;
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let result = hold_connections(stdout, connections, timeout);
    if result.is_err() {
        // It may still be waiting for connections that will not come.
        let _ = child.kill();
    }
    // The child exits (closing the server's ends) before the clients drop,
    // so the server side, not the bench, is left in TIME_WAIT.
    let status = finish(child);
    match (result, status) {
        (Ok((clients, bytes)), Ok(())) => {
            drop(clients);
            Ok(bytes)
        }
        (Ok(_), Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(child)) => Err(format!("{e}; {child}")),
    }
}

/// The parent's side: reads the child's address, opens `connections`
/// connections to it, and reads the child's number. Returns the open
/// connections (to close once the child is gone) and the number.
fn hold_connections(
    stdout: BufReader<ChildStdout>,
    connections: usize,
    timeout: Duration,
) -> Result<(Vec<TcpStream>, f64), String> {
    let mut lines = stdout.lines();
    let mut value_of = |key: &str| -> Result<String, String> {
        for line in lines.by_ref() {
            let line = line.map_err(|e| format!("reading the child's output: {e}"))?;
            if let Some(v) = line.split_whitespace().find_map(|w| w.strip_prefix(key)) {
                return Ok(v.to_string());
            }
        }
        Err(format!("the child printed no {key:?}"))
    };
    let addr: SocketAddr = value_of(LISTENING_KEY)?
        .parse()
        .map_err(|e| format!("the child's address: {e}"))?;
    let mut clients = Vec::with_capacity(connections);
    for i in 0..connections {
        let stream = connect(addr, timeout)
            .map_err(|e| format!("connection {} of {connections}: {e}", i + 1))?;
        clients.push(stream);
    }
    let bytes = value_of(RESULT_KEY)?
        .parse()
        .map_err(|e| format!("the child's number: {e}"))?;
    Ok((clients, bytes))
}

/// Opens a connection to `addr` and reads the server's greeting.
fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    let mut greeting = [0u8; 1];
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.read_exact(&mut greeting))
        .map_err(|e| format!("reading the greeting: {e}"))?;
    if &greeting != GREETING {
        return Err(format!("the greeting was {greeting:?}, not {GREETING:?}"));
    }
    Ok(stream)
}

/// Waits for the child; an error with its stderr if it failed.
fn finish(child: Child) -> Result<(), String> {
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for the {NAME} child: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{NAME} child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The child's side: measures, prints and exits the process.
pub fn run_child(kind: Kind, workers: usize, connections: usize, timeout: Duration) -> ! {
    let fail = |e: String| -> ! {
        eprintln!("{NAME} on {}: {e}", kind.name());
        std::process::exit(1)
    };
    let rt = raise_fd_limit(connections)
        .and_then(|()| {
            kind.build(workers)
                .map_err(|e| format!("building {}: {e}", kind.name()))
        })
        .unwrap_or_else(|e| fail(e));
    if let Err(e) = rt.with(ChildRun {
        connections,
        timeout,
    }) {
        fail(e);
    }
    // No teardown (`exit` drops nothing): the connections close with the
    // process.
    std::process::exit(0)
}

struct ChildRun {
    connections: usize,
    timeout: Duration,
}

impl WithRuntime for ChildRun {
    type Output = Result<(), String>;

    fn call<R: Runtime>(self, rt: &R) -> Result<(), String> {
        let addr = serve(rt).map_err(|e| format!("bind: {e}"))?;
        warm_up(addr, self.timeout)?;
        let before = rss_bytes()?;
        // Stdout is line-buffered: the parent reads this at once.
        println!("{LISTENING_KEY}{addr}");
        wait_for(
            &PARKED,
            WARM_UP + self.connections,
            self.timeout,
            "connections with a task parked in a read",
        )?;
        let after = rss_bytes()?;
        let per_connection = after.saturating_sub(before) as f64 / self.connections as f64;
        println!(
            "runtime={} connections={} rss_before={before} rss_after={after} {RESULT_KEY}{per_connection}",
            R::NAME,
            self.connections
        );
        Ok(())
    }
}

/// Binds a loopback listener and spawns the accept loop, which spawns a
/// [`hold`] task per connection, from inside the runtime as a server does.
fn serve<R: Runtime>(rt: &R) -> io::Result<SocketAddr> {
    let (listener, addr) = rt.block_on(rt.spawn(async { R::tcp_bind(loopback()).await }))?;
    let sp = rt.spawner();
    rt.spawn_detached(async move {
        loop {
            match R::tcp_accept(&listener).await {
                Ok(stream) => sp.spawn_detached(hold::<R>(stream)),
                Err(e) => {
                    // Out of descriptors, most likely: the count would never
                    // be reached, so say why now.
                    eprintln!(
                        "{NAME} on {}: accept failed after {} connections: {e}",
                        R::NAME,
                        PARKED.load(Ordering::Acquire)
                    );
                    std::process::exit(1);
                }
            }
        }
    });
    Ok(addr)
}

/// A connection's task: a greeting, then a read that waits for a request
/// that never comes.
async fn hold<R: Runtime>(mut stream: R::TcpStream) {
    if let Err(e) = R::write_all(&mut stream, GREETING).await {
        eprintln!("{NAME} on {}: greeting: {e}", R::NAME);
        std::process::exit(1);
    }
    let mut buf = [0u8; READ_BUFFER];
    let mut read = pin!(R::read(&mut stream, &mut buf));
    // Polled once, so registered with the reactor, before it counts.
    poll_fn(|cx| {
        assert!(
            read.as_mut().poll(cx).is_pending(),
            "{NAME}: a client sent data or closed early"
        );
        Poll::Ready(())
    })
    .await;
    PARKED.fetch_add(1, Ordering::Release);
    // Only the warm-up's clients close (end of stream); then the task ends.
    let _ = read.await;
    CLOSED.fetch_add(1, Ordering::Release);
}

/// Opens and closes `WARM_UP` connections, each served as the measured
/// ones will be, so the worker threads, the reactor and the allocator's
/// per-thread state are set up before the baseline.
fn warm_up(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let clients = (0..WARM_UP)
        .map(|_| connect(addr, timeout))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("warm-up connection: {e}"))?;
    wait_for(&PARKED, WARM_UP, timeout, "warm-up connections parked")?;
    drop(clients);
    wait_for(&CLOSED, WARM_UP, timeout, "warm-up connections closed")
}

/// Waits until `counter` reaches `n`, or fails after `timeout`.
fn wait_for(counter: &AtomicUsize, n: usize, timeout: Duration, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while counter.load(Ordering::Acquire) < n {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {n} {what} within {timeout:?}",
                counter.load(Ordering::Acquire)
            ));
        }
        thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit, so it can
/// hold `connections` sockets (plus [`FD_SLACK`]); an error saying what to
/// do if even the hard limit is too low.
fn raise_fd_limit(connections: usize) -> Result<(), String> {
    let needed = (connections + FD_SLACK) as libc::rlim_t;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!(
            "getrlimit(RLIMIT_NOFILE): {}",
            io::Error::last_os_error()
        ));
    }
    if limit.rlim_max != libc::RLIM_INFINITY && limit.rlim_max < needed {
        return Err(format!(
            "{connections} idle connections need {needed} file descriptors in each process, \
             but the hard RLIMIT_NOFILE is {}: raise it (`ulimit -Hn {needed}` as root, or \
             /etc/security/limits.conf) or measure fewer with {CONNECTIONS_FLAG} N",
            limit.rlim_max
        ));
    }
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    // An unlimited hard limit cannot be the soft one (Linux caps it at
    // fs.nr_open): ask for what is needed.
    limit.rlim_cur = if limit.rlim_max == libc::RLIM_INFINITY {
        needed
    } else {
        limit.rlim_max
    };
    // SAFETY: `limit` is a valid rlimit; raising the soft limit up to the
    // hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!(
            "setrlimit(RLIMIT_NOFILE, {}): {}",
            limit.rlim_cur,
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Greets, then parks a task per connection, until the client closes.
    struct Serve;

    impl WithRuntime for Serve {
        type Output = ();

        fn call<R: Runtime>(self, rt: &R) {
            let timeout = Duration::from_secs(10);
            let addr = serve(rt).unwrap();
            // The counters are the process's: count from where they are.
            let (parked, closed) = (
                PARKED.load(Ordering::Acquire),
                CLOSED.load(Ordering::Acquire),
            );
            let clients: Vec<_> = (0..4).map(|_| connect(addr, timeout).unwrap()).collect();
            wait_for(&PARKED, parked + 4, timeout, "parked").unwrap();
            drop(clients);
            wait_for(&CLOSED, closed + 4, timeout, "closed").unwrap();
        }
    }

    #[test]
    fn connections_are_greeted_and_held_on_every_runtime() {
        for kind in Kind::ALL {
            kind.build(2).unwrap().with(Serve);
        }
    }

    #[test]
    fn fd_limit_fits_a_few_connections_and_refuses_too_many() {
        raise_fd_limit(100).unwrap();
        let err = raise_fd_limit(usize::MAX / 2).unwrap_err();
        assert!(err.contains("hard RLIMIT_NOFILE"), "{err}");
    }
}
