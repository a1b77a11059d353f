//! The three runtimes behind one trait, so every workload is written once.
//!
//! [`Runtime`] is what the bench thread holds: build with N workers,
//! `block_on`, spawn from outside. [`Spawner`] is what a task carries to spawn
//! more tasks from inside the runtime: a zero-sized handle that calls
//! `weft::spawn` / `tokio::spawn` (both find the runtime through their
//! thread-local context), and a cloned `Arc<Executor>` for smol, which has no
//! such context. Everything is generic (the join type is a generic associated
//! type), so no runtime pays for boxing or dynamic dispatch in the measured
//! code.

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

mod smol_rt;
mod tokio_rt;
mod weft_rt;

pub use smol_rt::Smol;
pub use tokio_rt::Tokio;
pub use weft_rt::Weft;

/// Spawns tasks from inside a running task (and, through [`Runtime`], from
/// outside).
pub trait Spawner: Clone + Send + Sync + 'static {
    /// A spawned task's handle, awaited to the task's output. A task that
    /// panicked or was cancelled makes the awaiting code panic.
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Spawns `fut` and returns a handle to await its output.
    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `fut` with no handle: the runtime's own way to fire and forget
    /// (dropping a tokio or weft `JoinHandle`, `Task::detach` for smol).
    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static;
}

/// The join type of runtime `R` for a task returning `T`.
pub type Join<R, T> = <<R as Runtime>::Spawner as Spawner>::Join<T>;

/// One runtime under test, as the bench thread sees it.
pub trait Runtime: Sized + 'static {
    /// The column name in the report and the `--runtimes` spelling.
    const NAME: &'static str;

    /// What tasks use to spawn from inside the runtime.
    type Spawner: Spawner;

    /// Builds a multi-threaded runtime with `workers` worker threads.
    fn build(workers: usize) -> io::Result<Self>;

    /// Runs `fut` to completion on the calling (bench) thread.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;

    /// Spawns from outside the runtime (the bench thread).
    fn spawn<F>(&self, fut: F) -> Join<Self, F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns from outside the runtime, with no handle.
    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// A spawner for tasks to carry; only valid inside this runtime's tasks.
    fn spawner(&self) -> Self::Spawner;

    /// The runtime's own `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;

    /// The runtime's timer future (tokio's `Sleep`, weft's `Sleep`, smol's
    /// `Timer`). Only valid inside this runtime's tasks.
    type Sleep: Future + Send + 'static;

    /// The runtime's `sleep(duration)`.
    fn sleep(duration: Duration) -> Self::Sleep;

    /// The runtime's sleep until `deadline`.
    fn sleep_until(deadline: Instant) -> Self::Sleep;

    /// Moves a sleep's deadline, the runtime's own way.
    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant);

    /// The runtime's `timeout(duration, future)`: the output, or `None` if
    /// the time ran out first.
    fn timeout<F>(duration: Duration, future: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send;

    /// The runtime's TCP listener, TCP stream and UDP socket. Only valid
    /// inside this runtime's tasks.
    type TcpListener: Send + Sync + 'static;
    type TcpStream: Send + 'static;
    type UdpSocket: Send + Sync + 'static;

    /// Binds a listener to `addr`; returns it and the address it got.
    fn tcp_bind(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(Self::TcpListener, SocketAddr)>> + Send;

    fn tcp_accept(
        listener: &Self::TcpListener,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + '_;

    fn tcp_connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::TcpStream>> + Send;

    /// Reads some bytes (`Ok(0)` at end of stream).
    fn read<'a>(
        stream: &'a mut Self::TcpStream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    fn write_all<'a>(
        stream: &'a mut Self::TcpStream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// A TCP stream as hyper's I/O: weft's stream as it is (it implements
    /// `hyper::rt::{Read, Write}`), tokio's in hyper-util's `TokioIo`,
    /// smol's in a small adapter over its futures-io traits.
    type HyperIo: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;

    fn hyper_io(stream: Self::TcpStream) -> Self::HyperIo;

    /// Binds a UDP socket to `addr`; returns it and the address it got.
    fn udp_bind(
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<(Self::UdpSocket, SocketAddr)>> + Send;

    fn udp_connect(
        socket: &Self::UdpSocket,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<()>> + Send + '_;

    fn udp_send<'a>(
        socket: &'a Self::UdpSocket,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    fn udp_recv<'a>(
        socket: &'a Self::UdpSocket,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// The runtime's async file (weft's and tokio's `fs::File`, smol's
    /// `async_fs::File`). Only valid inside this runtime's tasks.
    type File: Send + 'static;

    /// Opens the file at `path` for reading.
    fn file_open(path: PathBuf) -> impl Future<Output = io::Result<Self::File>> + Send;

    /// Reads some bytes (`Ok(0)` at end of file).
    fn file_read<'a>(
        file: &'a mut Self::File,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
}

/// Turns a `JoinHandle` whose output is `Result<T, JoinError>` into a future
/// of `T`, panicking if the task failed (so a broken runtime cannot pass a
/// workload by losing tasks).
pub struct Unwrapped<H>(H);

impl<H, T, E> Future for Unwrapped<H>
where
    H: Future<Output = Result<T, E>> + Unpin,
    E: Debug,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Ok(value)) => Poll::Ready(value),
            Poll::Ready(Err(err)) => panic!("a spawned task failed: {err:?}"),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project_lite::pin_project! {
    /// A runtime's own timeout future, its `Err(Elapsed)` turned into
    /// `None`. The weft and tokio adapters return their `timeout` wrapped in
    /// this rather than from an `async fn` of their own, as the smol adapter
    /// returns its combinator: an extra `async` layer moves the future in
    /// and out of its state, and those copies (not the timer) were what the
    /// `timer_churn` row measured for whichever layout the compiler split
    /// badly (a store-forwarding stall per call, in `perf annotate`).
    pub struct TimedOutAsNone<F> {
        #[pin]
        timeout: F,
    }
}

impl<F> TimedOutAsNone<F> {
    pub fn new(timeout: F) -> TimedOutAsNone<F> {
        TimedOutAsNone { timeout }
    }
}

impl<F, T, E> Future for TimedOutAsNone<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.project().timeout.poll(cx).map(Result::ok)
    }
}

/// Which runtime, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Weft,
    Tokio,
    Smol,
}

impl Kind {
    /// Every runtime, in column order.
    pub const ALL: [Kind; 3] = [Kind::Weft, Kind::Tokio, Kind::Smol];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Weft => Weft::NAME,
            Kind::Tokio => Tokio::NAME,
            Kind::Smol => Smol::NAME,
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Builds this runtime with `workers` worker threads.
    pub fn build(self, workers: usize) -> io::Result<AnyRuntime> {
        Ok(match self {
            Kind::Weft => AnyRuntime::Weft(Weft::build(workers)?),
            Kind::Tokio => AnyRuntime::Tokio(Tokio::build(workers)?),
            Kind::Smol => AnyRuntime::Smol(Smol::build(workers)?),
        })
    }
}

/// A built runtime of any kind. The orchestration matches on it once per
/// sample, outside the timed region; inside, everything is monomorphic.
pub enum AnyRuntime {
    Weft(Weft),
    Tokio(Tokio),
    Smol(Smol),
}

/// Something generic over the runtime, to be called with whichever
/// [`AnyRuntime`] holds.
pub trait WithRuntime {
    type Output;
    fn call<R: Runtime>(self, rt: &R) -> Self::Output;
}

impl AnyRuntime {
    pub fn kind(&self) -> Kind {
        match self {
            AnyRuntime::Weft(_) => Kind::Weft,
            AnyRuntime::Tokio(_) => Kind::Tokio,
            AnyRuntime::Smol(_) => Kind::Smol,
        }
    }

    /// Calls `f` with the concrete runtime.
    pub fn with<F: WithRuntime>(&self, f: F) -> F::Output {
        match self {
            AnyRuntime::Weft(rt) => f.call(rt),
            AnyRuntime::Tokio(rt) => f.call(rt),
            AnyRuntime::Smol(rt) => f.call(rt),
        }
    }
}
