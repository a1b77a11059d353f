//! weft's multi-threaded work-stealing scheduler.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use weft::io::{AsyncReadExt, AsyncWriteExt};

use super::{Join, Runtime, Spawner, TimedOutAsNone, Unwrapped};

/// A weft multi-thread runtime with N workers.
pub struct Weft {
    rt: weft::runtime::Runtime,
}

/// Spawns with `weft::spawn`, which finds the runtime through its
/// thread-local context.
#[derive(Clone, Copy)]
pub struct WeftSpawner;

impl Spawner for WeftSpawner {
    type Join<T: Send + 'static> = Unwrapped<weft::task::JoinHandle<T>>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(weft::spawn(fut))
    }

    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(weft::spawn(fut));
    }
}

impl Runtime for Weft {
    const NAME: &'static str = "weft";
    type Spawner = WeftSpawner;

    fn build(workers: usize) -> io::Result<Self> {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()?;
        Ok(Weft { rt })
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

    fn spawner(&self) -> WeftSpawner {
        WeftSpawner
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        weft::task::yield_now()
    }

    type Sleep = weft::time::Sleep;

    fn sleep(duration: Duration) -> Self::Sleep {
        weft::time::sleep(duration)
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        weft::time::sleep_until(weft::time::Instant::from_std(deadline))
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.reset(weft::time::Instant::from_std(deadline));
    }

    fn timeout<F>(duration: Duration, future: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
    {
        TimedOutAsNone::new(weft::time::timeout(duration, future))
    }

    type TcpListener = weft::net::TcpListener;
    type TcpStream = weft::net::TcpStream;
    type UdpSocket = weft::net::UdpSocket;

    async fn tcp_bind(addr: SocketAddr) -> io::Result<(Self::TcpListener, SocketAddr)> {
        let listener = weft::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok((listener, addr))
    }

    async fn tcp_accept(listener: &Self::TcpListener) -> io::Result<Self::TcpStream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn tcp_connect(addr: SocketAddr) -> io::Result<Self::TcpStream> {
        let stream = weft::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn read(stream: &mut Self::TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        stream.read(buf).await
    }

    async fn write_all(stream: &mut Self::TcpStream, buf: &[u8]) -> io::Result<()> {
        stream.write_all(buf).await
    }

    type HyperIo = weft::net::TcpStream;

    fn hyper_io(stream: Self::TcpStream) -> Self::HyperIo {
        stream
    }

    async fn udp_bind(addr: SocketAddr) -> io::Result<(Self::UdpSocket, SocketAddr)> {
        let socket = weft::net::UdpSocket::bind(addr).await?;
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

    type File = weft::fs::File;

    async fn file_open(path: PathBuf) -> io::Result<Self::File> {
        weft::fs::File::open(path).await
    }

    async fn file_read(file: &mut Self::File, buf: &mut [u8]) -> io::Result<usize> {
        file.read(buf).await
    }
}
