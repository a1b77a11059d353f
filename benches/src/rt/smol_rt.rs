//! smol's executor, set up the way smol documents for many threads.
//!
//! One `async_executor::Executor` (what `smol::Executor` re-exports) is shared
//! by N threads, each running `future::block_on(ex.run(shutdown.recv()))`;
//! dropping the shutdown sender ends them. The bench thread's `block_on` is
//! `futures_lite::future::block_on` and does not run tasks, like tokio's and
//! weft's `block_on` on a multi-threaded runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use async_executor::{Executor, Task};
use futures_lite::{future, AsyncRead, AsyncWrite};

use super::{Join, Runtime, Spawner};

/// N threads running one shared executor.
pub struct Smol {
    ex: Arc<Executor<'static>>,
    shutdown: Option<async_channel::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

/// smol has no thread-local "current executor": tasks carry a clone of the
/// `Arc<Executor>`.
#[derive(Clone)]
pub struct SmolSpawner(Arc<Executor<'static>>);

impl Spawner for SmolSpawner {
    type Join<T: Send + 'static> = Task<T>;

    fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(fut)
    }

    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(fut).detach();
    }
}

impl Runtime for Smol {
    const NAME: &'static str = "smol";
    type Spawner = SmolSpawner;

    fn build(workers: usize) -> io::Result<Self> {
        let ex = Arc::new(Executor::new());
        let (shutdown, signal) = async_channel::unbounded::<()>();
        let threads = (0..workers)
            .map(|i| {
                let ex = ex.clone();
                let signal = signal.clone();
                thread::Builder::new()
                    .name(format!("smol-worker-{i}"))
                    .spawn(move || {
                        // Err(Closed) once the sender is dropped: time to stop.
                        let _ = future::block_on(ex.run(signal.recv()));
                    })
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Smol {
            ex,
            shutdown: Some(shutdown),
            threads,
        })
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        future::block_on(fut)
    }

    fn spawn<F>(&self, fut: F) -> Join<Self, F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.ex.spawn(fut)
    }

    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.ex.spawn(fut).detach();
    }

    fn spawner(&self) -> SmolSpawner {
        SmolSpawner(self.ex.clone())
    }

    fn yield_now() -> impl Future<Output = ()> + Send + 'static {
        future::yield_now()
    }

    /// smol's timer (`smol::Timer`), driven by async-io's reactor.
    type Sleep = async_io::Timer;

    fn sleep(duration: Duration) -> Self::Sleep {
        async_io::Timer::after(duration)
    }

    fn sleep_until(deadline: Instant) -> Self::Sleep {
        async_io::Timer::at(deadline)
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.get_mut().set_at(deadline);
    }

    /// smol has no `timeout`; this is how its users write one.
    fn timeout<F>(duration: Duration, future: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
    {
        future::or(async move { Some(future.await) }, async move {
            async_io::Timer::after(duration).await;
            None
        })
    }

    /// smol's sockets (`smol::net`, the async-net crate).
    type TcpListener = async_net::TcpListener;
    type TcpStream = async_net::TcpStream;
    type UdpSocket = async_net::UdpSocket;

    async fn tcp_bind(addr: SocketAddr) -> io::Result<(Self::TcpListener, SocketAddr)> {
        let listener = async_net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok((listener, addr))
    }

    async fn tcp_accept(listener: &Self::TcpListener) -> io::Result<Self::TcpStream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn tcp_connect(addr: SocketAddr) -> io::Result<Self::TcpStream> {
        let stream = async_net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn read(stream: &mut Self::TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        futures_lite::AsyncReadExt::read(stream, buf).await
    }

    async fn write_all(stream: &mut Self::TcpStream, buf: &[u8]) -> io::Result<()> {
        futures_lite::AsyncWriteExt::write_all(stream, buf).await
    }

    type HyperIo = SmolIo;

    fn hyper_io(stream: Self::TcpStream) -> Self::HyperIo {
        SmolIo(stream)
    }

    async fn udp_bind(addr: SocketAddr) -> io::Result<(Self::UdpSocket, SocketAddr)> {
        let socket = async_net::UdpSocket::bind(addr).await?;
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

    /// smol's files (`smol::fs`, the async-fs crate), on the `blocking`
    /// crate's thread pool.
    type File = async_fs::File;

    async fn file_open(path: PathBuf) -> io::Result<Self::File> {
        async_fs::File::open(path).await
    }

    async fn file_read(file: &mut Self::File, buf: &mut [u8]) -> io::Result<usize> {
        futures_lite::AsyncReadExt::read(file, buf).await
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// smol's TCP stream as hyper's I/O, the way smol's users adapt it (as the
/// `smol-hyper` crate does): through its futures-io traits, which read into
/// initialised memory, so the unfilled part of hyper's buffer is zeroed
/// before each read.
pub struct SmolIo(async_net::TcpStream);

impl hyper::rt::Read for SmolIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(Pin::new(&mut self.0).poll_read(cx, buf.initialize_unfilled()))?;
        // SAFETY: `initialize_unfilled` initialised every unfilled byte, and
        // the read filled the first `n` of them.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for SmolIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
