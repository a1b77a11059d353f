//! Network workloads on loopback, server and client on the runtime under
//! test, each runtime on its own socket types (weft's, tokio's, smol's
//! async-net), with `TCP_NODELAY` on every stream.
//!
//! - `tcp_echo`: 64 connections each make 10,000 round trips of a 64-byte
//!   message to an echo server.
//! - `tcp_echo_1k`: the same with 1 KiB messages.
//! - `tcp_connect`: 10,000 connections opened, accepted and closed.
//! - `udp_pingpong`: 10,000 round trips of a 64-byte datagram.
//!
//! Those are [`Shape::FULL`]; `--quick` runs [`Shape::QUICK`], a tenth of
//! each (an iteration of `tcp_echo` is seconds, and the smoke run takes
//! at least four per runtime).
//!
//! Two more network rows are measured apart, as `timer_lateness` is, since
//! neither is a time per iteration alone:
//!
//! - `tcp_many_clients` (`crate::tcp_clients`): 1,000 connections each
//!   make 100 request/replies of 128 bytes to this module's echo server,
//!   with a random 0-2 ms pause on the runtime's sleep before each; rows
//!   for the round's time and the p50 and p99 of the per-request latency.
//! - `tcp_idle_connections` (`crate::tcp_idle`): resident bytes per idle
//!   connection of a server holding 10,000, a task parked in a read on
//!   each, measured in a child process per runtime like the memory rows.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{time_iters, Countdown, Timing, Visitor, Workload};
use crate::rt::{Runtime, Spawner};

/// How much one iteration of each row does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// `tcp_echo`'s connections.
    pub connections: usize,
    /// `tcp_echo`'s round trips per connection.
    pub round_trips: usize,
    /// `tcp_connect`'s connections.
    pub connects: usize,
    /// `udp_pingpong`'s round trips.
    pub udp_round_trips: usize,
}

impl Shape {
    /// The full run's iterations.
    pub const FULL: Shape = Shape {
        connections: 64,
        round_trips: 10_000,
        connects: 10_000,
        udp_round_trips: 10_000,
    };

    /// `--quick`'s: a smoke test, a tenth of the work.
    pub const QUICK: Shape = Shape {
        connections: 64,
        round_trips: 1_000,
        connects: 1_000,
        udp_round_trips: 1_000,
    };
}

pub fn register(v: &mut impl Visitor, shape: Shape) {
    v.visit(TcpEcho {
        name: "tcp_echo",
        size: 64,
        shape,
    });
    v.visit(TcpEcho {
        name: "tcp_echo_1k",
        size: 1024,
        shape,
    });
    v.visit(TcpConnect { shape });
    v.visit(UdpPingPong { shape });
}

/// 127.0.0.1, any port.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Reads exactly `buf.len()` bytes.
pub async fn read_exact<R: Runtime>(stream: &mut R::TcpStream, buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        let n = R::read(stream, &mut buf[filled..])
            .await
            .expect("read failed");
        assert!(n > 0, "the peer closed early");
        filled += n;
    }
}

/// An echo server on the runtime: each accepted connection echoes until
/// its peer closes. Returns the address it listens on.
pub fn echo_server<R: Runtime>(rt: &R, connections: usize) -> SocketAddr {
    let sp = rt.spawner();
    rt.block_on(rt.spawn(async move {
        let (listener, addr) = R::tcp_bind(loopback()).await.expect("bind");
        let spawner = sp.clone();
        sp.spawn_detached(async move {
            for _ in 0..connections {
                let mut stream = R::tcp_accept(&listener).await.expect("accept");
                spawner.spawn_detached(async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let n = R::read(&mut stream, &mut buf).await.expect("server read");
                        if n == 0 {
                            break;
                        }
                        R::write_all(&mut stream, &buf[..n])
                            .await
                            .expect("server write");
                    }
                });
            }
        });
        addr
    }))
}

pub struct TcpEcho {
    name: &'static str,
    size: usize,
    shape: Shape,
}

impl Workload for TcpEcho {
    fn name(&self) -> &'static str {
        self.name
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        let size = self.size;
        let Shape {
            connections,
            round_trips,
            ..
        } = self.shape;
        time_iters(iters, || {
            let addr = echo_server(rt, connections);
            let (countdown, done) = Countdown::new(connections);
            let countdown = Arc::new(countdown);
            for c in 0..connections {
                let countdown = countdown.clone();
                rt.spawn_detached(async move {
                    let mut stream = R::tcp_connect(addr).await.expect("connect");
                    let message: Vec<u8> = (0..size).map(|i| (i + c) as u8).collect();
                    let mut reply = vec![0u8; size];
                    for _ in 0..round_trips {
                        R::write_all(&mut stream, &message).await.expect("write");
                        read_exact::<R>(&mut stream, &mut reply).await;
                        assert_eq!(reply, message, "tcp_echo: wrong echo");
                    }
                    countdown.tick();
                });
            }
            rt.block_on(done).expect("tcp_echo: completion signal lost");
        })
    }
}

pub struct TcpConnect {
    shape: Shape,
}

impl Workload for TcpConnect {
    fn name(&self) -> &'static str {
        "tcp_connect"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        let connects = self.shape.connects;
        time_iters(iters, || {
            let sp = rt.spawner();
            let accepted = rt.block_on(rt.spawn(async move {
                let (listener, addr) = R::tcp_bind(loopback()).await.expect("bind");
                let server = sp.spawn(async move {
                    for _ in 0..connects {
                        drop(R::tcp_accept(&listener).await.expect("accept"));
                    }
                    connects
                });
                for _ in 0..connects {
                    let mut stream = R::tcp_connect(addr).await.expect("connect");
                    // Wait for the server's close, so the client is not the
                    // side left in TIME_WAIT.
                    let mut buf = [0u8; 1];
                    assert_eq!(R::read(&mut stream, &mut buf).await.expect("read"), 0);
                }
                server.await
            }));
            assert_eq!(accepted, connects, "tcp_connect: connections missing");
        })
    }
}

pub struct UdpPingPong {
    shape: Shape,
}

impl Workload for UdpPingPong {
    fn name(&self) -> &'static str {
        "udp_pingpong"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        let udp_round_trips = self.shape.udp_round_trips;
        time_iters(iters, || {
            let sp = rt.spawner();
            let trips = rt.block_on(rt.spawn(async move {
                let (a, a_addr) = R::udp_bind(loopback()).await.expect("bind");
                let (b, b_addr) = R::udp_bind(loopback()).await.expect("bind");
                R::udp_connect(&a, b_addr).await.expect("connect");
                R::udp_connect(&b, a_addr).await.expect("connect");
                let ponger = sp.spawn(async move {
                    let mut buf = [0u8; 64];
                    for _ in 0..udp_round_trips {
                        let n = R::udp_recv(&b, &mut buf).await.expect("recv");
                        R::udp_send(&b, &buf[..n]).await.expect("send");
                    }
                });
                let mut buf = [0u8; 64];
                let mut trips = 0;
                for i in 0..udp_round_trips {
                    let ping = [i as u8; 64];
                    R::udp_send(&a, &ping).await.expect("send");
                    let n = R::udp_recv(&a, &mut buf).await.expect("recv");
                    assert_eq!(&buf[..n], &ping, "udp_pingpong: wrong pong");
                    trips += 1;
                }
                ponger.await;
                trips
            }));
            assert_eq!(trips, udp_round_trips);
        })
    }
}
