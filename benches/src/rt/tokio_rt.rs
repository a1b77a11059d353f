//! tokio's multi-threaded scheduler.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::{Join, Runtime, Spawner, TimedOutAsNone, Unwrapped};

/// A `tokio` multi-thread runtime with N workers.
///
/// `enable_all()` (which, with this package's tokio features, turns on the
/// timer driver) matches how tokio is normally run (`#[tokio::main]`) and how
/// weft always runs: its workers park on a runtime with drivers attached.
pub struct Tokio {
    rt: tokio::runtime::Runtime,
}

/// Spawns with `tokio::spawn`, which finds the runtime through its
/// thread-local context.
#[derive(Clone, Copy)]
pub struct TokioSpawner;

impl Spawner for TokioSpawner {
    type Join<T: Send + 'static> = Unwrapped<tokio::task::JoinHandle<T>>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(tokio::spawn(fut))
    }

    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(fut));
    }
}

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";
    type Spawner = TokioSpawner;

    fn build(workers: usize) -> io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?;
        Ok(Tokio { rt })
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    fn spawn<F>(&self, fut: F) -> Join<Self, F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(self.rt.spawn(fut))
    }

    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.rt.spawn(fut));
    }

    fn spawner(&self) -> TokioSpawner {
        TokioSpawner
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }

    type Sleep = tokio::time::Sleep;

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.reset(tokio::time::Instant::from_std(deadline));
    }

    fn timeout<F>(duration: Duration, future: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
    {
        TimedOutAsNone::new(tokio::time::timeout(duration, future))
    }

    type TcpListener = tokio::net::TcpListener;
    type TcpStream = tokio::net::TcpStream;
    type UdpSocket = tokio::net::UdpSocket;

    async fn tcp_bind(addr: SocketAddr) -> io::Result<(Self::TcpListener, SocketAddr)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok((listener, addr))
    }

    async fn tcp_accept(listener: &Self::TcpListener) -> io::Result<Self::TcpStream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn tcp_connect(addr: SocketAddr) -> io::Result<Self::TcpStream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn read(stream: &mut Self::TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        tokio::io::AsyncReadExt::read(stream, buf).await
    }

    async fn write_all(stream: &mut Self::TcpStream, buf: &[u8]) -> io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(stream, buf).await
    }

    type HyperIo = hyper_util::rt::TokioIo<tokio::net::TcpStream>;

    fn hyper_io(stream: Self::TcpStream) -> Self::HyperIo {
        hyper_util::rt::TokioIo::new(stream)
    }

    async fn udp_bind(addr: SocketAddr) -> io::Result<(Self::UdpSocket, SocketAddr)> {
        let socket = tokio::net::UdpSocket::bind(addr).await?;
        let addr = socket.local_addr()?;
        Ok((socket, addr))
    }

    async fn udp_connect(socket: &Self::UdpSocket, addr: SocketAddr) -> io::Result<()> {
        socket.connect(addr).await
    }

    async fn udp_send(socket: &Self::UdpSocket, buf: &[u8]) -> io::Result<usize> {
        socket.send(buf).await
    }

    async fn udp_recv(socket: &Self::UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
        socket.recv(buf).await
    }

    type File = tokio::fs::File;

    async fn file_open(path: PathBuf) -> io::Result<Self::File> {
        tokio::fs::File::open(path).await
    }

    async fn file_read(file: &mut Self::File, buf: &mut [u8]) -> io::Result<usize> {
        tokio::io::AsyncReadExt::read(file, buf).await
    }
}
