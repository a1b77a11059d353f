//! The `hyper` feature: weft's streams through hyper's I/O traits (reading
//! into uninitialised memory, never zero-filling it), `weft::hyper::Timer`
//! (in-place resets, the runtime's clock), `weft::hyper::Executor`, and a
//! hyper server on weft whose header-read timeout closes a stalled client.
#![cfg(feature = "hyper")]

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::rt::{Read, ReadBuf, Timer as _, Write};
use hyper::service::service_fn;
use hyper::{Request, Response};
use weft::hyper::{Executor, Timer};
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream, UnixStream};
use weft::time::{self, Instant, Sleep};

/// One `hyper::rt::Read::poll_read` into `storage` (uninitialised as far as
/// hyper is concerned); the bytes read.
async fn read_once<R: Read + Unpin>(r: &mut R, storage: &mut [MaybeUninit<u8>]) -> Vec<u8> {
    let mut buf = ReadBuf::uninit(storage);
    poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, buf.unfilled()))
        .await
        .unwrap();
    buf.filled().to_vec()
}

async fn write<W: Write + Unpin>(w: &mut W, data: &[u8]) -> usize {
    poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, data))
        .await
        .unwrap()
}

#[weft::test]
async fn streams_and_halves_speak_hyper_io_without_zero_filling() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    // Marked bytes: a read that zero-filled its buffer first would wipe the
    // mark past the data.
    let mut storage = [MaybeUninit::new(0xAA_u8); 64];
    assert_eq!(write(&mut a, b"through hyper").await, 13);
    assert_eq!(read_once(&mut b, &mut storage).await, b"through hyper");
    // SAFETY: every byte of `storage` was initialised (0xAA) above.
    let after = unsafe { storage[13].assume_init() };
    assert_eq!(after, 0xAA, "the byte past the data was overwritten");

    let (mut read_half, mut write_half) = b.into_split();
    write(&mut write_half, b"half").await;
    assert_eq!(read_once(&mut a, &mut storage).await, b"half");
    write(&mut a, b"back").await;
    assert_eq!(read_once(&mut read_half, &mut storage).await, b"back");
    assert!(Write::is_write_vectored(&write_half));
    poll_fn(|cx| Pin::new(&mut write_half).poll_shutdown(cx))
        .await
        .unwrap();
    assert_eq!(
        read_once(&mut a, &mut storage).await,
        b"",
        "EOF after shutdown"
    );
}

/// The address of a boxed sleep, to tell whether it was replaced.
fn addr(sleep: &Pin<Box<dyn hyper::rt::Sleep>>) -> *const () {
    let sleep: &dyn hyper::rt::Sleep = &**sleep;
    (sleep as *const dyn hyper::rt::Sleep).cast()
}

#[weft::test(start_paused = true)]
async fn timer_reset_moves_weft_sleep_in_place() {
    let timer = Timer::new();
    let start = timer.now();
    let mut sleep = timer.sleep(Duration::from_secs(60));
    assert!(sleep.is::<Sleep>());
    // Registered with the wheel first, as hyper's would be.
    assert!(poll_once(&mut sleep).is_pending());
    let before = addr(&sleep);

    timer.reset(&mut sleep, start + Duration::from_secs(2));
    assert_eq!(addr(&sleep), before, "reset allocated a new sleep");
    let weft_sleep = sleep.as_mut().downcast_mut_pin::<Sleep>().unwrap();
    assert_eq!(
        weft_sleep.deadline().into_std(),
        start + Duration::from_secs(2)
    );

    sleep.as_mut().await;
    assert_eq!(timer.now() - start, Duration::from_secs(2));

    // And later again, after it fired: still the same sleep.
    timer.reset(&mut sleep, start + Duration::from_secs(5));
    assert_eq!(addr(&sleep), before);
    sleep.as_mut().await;
    assert_eq!(timer.now() - start, Duration::from_secs(5));
}

/// A `hyper::rt::Sleep` that is not weft's.
struct Foreign;

impl Future for Foreign {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl hyper::rt::Sleep for Foreign {}

#[weft::test(start_paused = true)]
async fn timer_reset_replaces_a_sleep_it_did_not_make() {
    let timer = Timer::new();
    let start = timer.now();
    let mut sleep: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
    timer.reset(&mut sleep, start + Duration::from_secs(3));
    assert!(sleep.is::<Sleep>(), "the foreign sleep was kept");
    sleep.as_mut().await;
    assert_eq!(timer.now() - start, Duration::from_secs(3));
}

#[weft::test(start_paused = true)]
async fn timer_reads_the_runtime_clock() {
    let timer = Timer::new();
    let start = timer.now();
    assert_eq!(start, Instant::now().into_std());
    time::advance(Duration::from_secs(90)).await;
    assert_eq!(timer.now() - start, Duration::from_secs(90));
    timer.sleep_until(start + Duration::from_secs(100)).await;
    assert_eq!(timer.now() - start, Duration::from_secs(100));
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_spawns_onto_its_runtime_from_any_thread() {
    use hyper::rt::Executor as _;
    let exec = Executor::current();
    let (tx, rx) = weft::sync::oneshot::channel();
    std::thread::spawn(move || {
        exec.execute(async move {
            let on_runtime = weft::runtime::Handle::try_current().is_ok();
            tx.send(on_runtime).unwrap();
        });
    })
    .join()
    .unwrap();
    assert!(rx.await.unwrap(), "the future did not run on the runtime");
}

fn poll_once<F: Future + ?Sized>(future: &mut Pin<Box<F>>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    future.as_mut().poll(&mut cx)
}

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
}

/// A stalled client (half a request line, then nothing) is cut off by
/// hyper's header-read timeout, on weft's timer: with the clock paused, it
/// fires exactly when the timeout is due, once the runtime has nothing else
/// to do, while a client that completes its request is served on the same
/// server.
#[weft::test(start_paused = true)]
async fn header_read_timeout_closes_a_stalled_connection() {
    const TIMEOUT: Duration = Duration::from_secs(30);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = weft::spawn(async move {
        let mut results = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().await.unwrap();
            let started = Instant::now();
            let result = hyper::server::conn::http1::Builder::new()
                .timer(Timer::new())
                .header_read_timeout(TIMEOUT)
                .serve_connection(stream, service_fn(hello))
                .await;
            results.push((result, started.elapsed()));
        }
        results
    });

    // A well-behaved client first: served, then it closes.
    let mut good = TcpStream::connect(addr).await.unwrap();
    good.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match good.read(&mut buf).await.unwrap() {
            0 => break,
            n => response.extend_from_slice(&buf[..n]),
        }
    }
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nhello\n"), "{response}");

    // Then a stalled one.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(b"GET /slow HT").await.unwrap();
    let sent = Instant::now();
    let n = stalled.read(&mut buf).await.unwrap();
    assert_eq!(n, 0, "expected the server to close the connection");
    assert_eq!(sent.elapsed(), TIMEOUT, "closed at the wrong time");

    let results = server.await.unwrap();
    assert!(results[0].0.is_ok(), "{:?}", results[0].0);
    let err = results[1].0.as_ref().unwrap_err();
    assert!(err.is_timeout(), "not a header-read timeout: {err:?}");
    assert_eq!(results[1].1, TIMEOUT);
}
