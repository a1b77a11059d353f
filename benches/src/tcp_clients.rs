//! The `tcp_many_clients` rows: many slow clients on one echo server.
//!
//! A round runs the `tcp_echo` echo server (`workloads/net.rs`) and 1,000
//! clients on the runtime under test, each client on its own loopback
//! connection, opened before the clock starts (opening connections is
//! `tcp_connect`'s row). Each client then makes 100 request/replies of 128
//! bytes, each request after a pause of 0-2 ms on the runtime's own sleep.
//! The pauses and the payloads come from a PRNG seeded with the client's
//! number, so every runtime serves the same clients. Every reply must equal
//! its request byte for byte, so a runtime cannot win by answering wrong.
//!
//! Rounds alternate between the runtimes in the same rotating order as the
//! workloads' samples, after one unrecorded round each. The rows: the
//! round's time, start to last reply (median ±IQR over the rounds, as a
//! workload's row), and the p50 and p99 of every request's latency (write
//! to last reply byte) over every round, as the `timer_lateness` rows.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::cpu;
use crate::measure::{alternate_rounds, build_runtimes, Config};
use crate::rt::{Kind, Runtime, Spawner, WithRuntime};
use crate::stats::{quantile, Summary};
use crate::watchdog::Watchdog;
use crate::workloads::net::{echo_server, read_exact};
use crate::workloads::Timing;

/// The name `--filter` matches, and the time row's.
pub const NAME: &str = "tcp_many_clients";

/// The latency rows: name and quantile.
pub const QUANTILE_ROWS: [(&str, f64); 2] = [
    ("tcp_many_clients p50", 0.5),
    ("tcp_many_clients p99", 0.99),
];

/// Bytes per request (and reply).
pub const MESSAGE: usize = 128;

/// The longest pause before a request, in µs.
pub const MAX_PAUSE_US: u64 = 2_000;

/// The most rounds per runtime: a full round takes a second or more on two
/// cores, and `--reps` (15 by default) of them would make this the longest
/// row by far.
pub const MAX_ROUNDS: usize = 5;

/// How many clients, and how many requests each makes, per round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub connections: usize,
    pub requests: usize,
}

impl Shape {
    /// The full run's round.
    pub const FULL: Shape = Shape {
        connections: 1_000,
        requests: 100,
    };

    /// `--quick`'s round: a smoke test, a few milliseconds.
    pub const QUICK: Shape = Shape {
        connections: 100,
        requests: 10,
    };
}

/// One runtime's samples.
pub struct Samples {
    /// Each round's time, start to last reply, in ns.
    pub rounds_ns: Vec<f64>,
    /// Each round's CPU time (the process's user + system) over the same
    /// span, in ns; empty where there is no CPU clock.
    pub rounds_cpu_ns: Vec<f64>,
    /// The latency of every request of every round, in ns, sorted.
    pub latencies_ns: Vec<f64>,
}

/// The rows' results.
pub struct ClientsResult {
    pub shape: Shape,
    pub rounds: usize,
    pub per_runtime: Vec<(Kind, Samples)>,
}

impl ClientsResult {
    fn samples_of(&self, kind: Kind) -> Option<&Samples> {
        self.per_runtime
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| s)
    }

    /// The summary of `kind`'s round times, in ns.
    pub fn time(&self, kind: Kind) -> Option<Summary> {
        Summary::of(&self.samples_of(kind)?.rounds_ns)
    }

    /// The summary of `kind`'s rounds' CPU times, in ns.
    pub fn cpu_time(&self, kind: Kind) -> Option<Summary> {
        Summary::of(&self.samples_of(kind)?.rounds_cpu_ns)
    }

    /// The `q` quantile of `kind`'s request latencies, in ns.
    pub fn quantile(&self, kind: Kind, q: f64) -> Option<f64> {
        let sorted = &self.samples_of(kind)?.latencies_ns;
        (!sorted.is_empty()).then(|| quantile(sorted, q))
    }
}

/// Runs `rounds` rounds of `shape` on every selected runtime, alternating.
pub fn measure(cfg: &Config, watchdog: &Watchdog, shape: Shape, rounds: usize) -> ClientsResult {
    let runtimes = build_runtimes(cfg);
    let mut samples: Vec<Samples> = runtimes
        .iter()
        .map(|_| Samples {
            rounds_ns: Vec::with_capacity(rounds),
            rounds_cpu_ns: Vec::with_capacity(rounds),
            latencies_ns: Vec::with_capacity(rounds * shape.connections * shape.requests),
        })
        .collect();
    alternate_rounds(
        watchdog,
        NAME,
        runtimes,
        rounds,
        |rt| rt.with(Round { shape }),
        |i, (timing, latencies)| {
            samples[i].rounds_ns.push(timing.wall.as_nanos() as f64);
            if let Some(cpu) = timing.cpu {
                samples[i].rounds_cpu_ns.push(cpu.as_nanos() as f64);
            }
            samples[i].latencies_ns.extend(latencies);
        },
    );
    for s in &mut samples {
        s.latencies_ns.sort_by(f64::total_cmp);
    }
    ClientsResult {
        shape,
        rounds,
        per_runtime: cfg.kinds.iter().copied().zip(samples).collect(),
    }
}

/// One round on one runtime: its wall and CPU time, and each request's
/// latency in ns.
struct Round {
    shape: Shape,
}

/// How long a round waits, at most, for the process to go idle after its
/// connections are open and before its clock starts.
const SETTLE_LIMIT: Duration = Duration::from_millis(50);

impl WithRuntime for Round {
    type Output = (Timing, Vec<f64>);

    fn call<R: Runtime>(self, rt: &R) -> (Timing, Vec<f64>) {
        let Shape {
            connections,
            requests,
        } = self.shape;
        let addr = echo_server(rt, connections);
        let streams = rt.block_on(rt.spawn(connect_all::<R>(addr, connections)));

        let sp = rt.spawner();
        cpu::wait_idle(SETTLE_LIMIT);
        let (timing, per_client) = Timing::of(|| {
            rt.block_on(rt.spawn(async move {
                let clients: Vec<_> = streams
                    .into_iter()
                    .enumerate()
                    .map(|(id, stream)| sp.spawn(client::<R>(id as u64, stream, requests)))
                    .collect();
                let mut per_client = Vec::with_capacity(clients.len());
                for client in clients {
                    per_client.push(client.await);
                }
                per_client
            }))
        });

        let latencies: Vec<f64> = per_client.into_iter().flatten().collect();
        assert_eq!(
            latencies.len(),
            connections * requests,
            "{NAME}: requests missing"
        );
        (timing, latencies)
    }
}

/// Opens `connections` connections to the echo server at `addr`, one after
/// another, each echoing one byte before the next opens: connecting faster
/// than the server accepts would overflow the listener's backlog (128 for
/// std's, which weft and smol bind with), and a dropped SYN is retried
/// after a second.
async fn connect_all<R: Runtime>(addr: SocketAddr, connections: usize) -> Vec<R::TcpStream> {
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut stream = R::tcp_connect(addr).await.expect("connect");
        let mut echo = [0u8; 1];
        R::write_all(&mut stream, b"!").await.expect("write");
        read_exact::<R>(&mut stream, &mut echo).await;
        assert_eq!(&echo, b"!", "{NAME}: wrong echo");
        streams.push(stream);
    }
    streams
}

/// One client: `requests` request/replies on `stream`, each after a pause.
/// Returns each request's latency in ns. Closes the connection at the end,
/// which ends its server task.
async fn client<R: Runtime>(id: u64, mut stream: R::TcpStream, requests: usize) -> Vec<f64> {
    let mut rng = SplitMix64(id);
    let mut request = [0u8; MESSAGE];
    let mut reply = [0u8; MESSAGE];
    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        // Before the first request too, so the clients do not all start
        // in one burst.
        R::sleep(rng.pause()).await;
        rng.fill(&mut request);
        let sent = Instant::now();
        R::write_all(&mut stream, &request).await.expect("write");
        read_exact::<R>(&mut stream, &mut reply).await;
        latencies.push(sent.elapsed().as_nanos() as f64);
        assert_eq!(reply, request, "{NAME}: wrong echo");
    }
    latencies
}

/// SplitMix64: a tiny seedable PRNG, so each client's pauses and payloads
/// are the same on every runtime and in every round.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A pause of 0 to `MAX_PAUSE_US` µs, both included.
    fn pause(&mut self) -> Duration {
        Duration::from_micros(self.next() % (MAX_PAUSE_US + 1))
    }

    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_is_deterministic_per_seed() {
        let draw = |seed| {
            let mut rng = SplitMix64(seed);
            let mut buf = [0u8; MESSAGE];
            rng.fill(&mut buf);
            (rng.pause(), buf)
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn pauses_span_zero_to_two_ms() {
        let mut rng = SplitMix64(1);
        let pauses: Vec<Duration> = (0..10_000).map(|_| rng.pause()).collect();
        let max = Duration::from_micros(MAX_PAUSE_US);
        assert!(pauses.iter().all(|&p| p <= max));
        // Spread over the range, not stuck at one end.
        assert!(pauses.iter().any(|&p| p < max / 10));
        assert!(pauses.iter().any(|&p| p > max * 9 / 10));
    }

    /// One small round on every runtime: every request answered and timed.
    #[test]
    fn a_round_checks_every_reply_on_every_runtime() {
        let shape = Shape {
            connections: 8,
            requests: 5,
        };
        for kind in Kind::ALL {
            let rt = kind.build(2).unwrap();
            let (timing, latencies) = rt.with(Round { shape });
            assert_eq!(latencies.len(), 40, "{}", kind.name());
            assert!(latencies
                .iter()
                .all(|&l| l > 0.0 && l <= timing.wall.as_nanos() as f64));
            if cpu::process_time().is_some() {
                assert!(timing.cpu.is_some_and(|c| c > Duration::ZERO));
            }
        }
    }
}
