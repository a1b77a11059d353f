//! `weft::io`: the in-memory pipe's backpressure and its ends closing,
//! `copy_bidirectional` with half-closes each way, and the re-exported
//! tokio utilities on weft's TCP streams.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use weft::io::{
    self, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    DuplexStream, ReadBuf,
};
use weft::net::{TcpListener, TcpStream};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counter {
    fn new() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
        (counter.clone(), Waker::from(counter))
    }

    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn poll<F: Future>(future: &mut Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.as_mut().poll(&mut Context::from_waker(waker))
}

/// One read of at most `max` bytes that must be ready.
fn read_now(end: &mut DuplexStream, max: usize) -> Vec<u8> {
    let mut buf = vec![0u8; max];
    let mut buf = ReadBuf::new(&mut buf);
    let (_, waker) = Counter::new();
    match Pin::new(end).poll_read(&mut Context::from_waker(&waker), &mut buf) {
        Poll::Ready(Ok(())) => buf.filled().to_vec(),
        other => panic!("expected a ready read, got {other:?}"),
    }
}

#[test]
fn a_duplex_writer_waits_at_max_buf_size_and_resumes_exactly_when_the_reader_drains() {
    let (mut a, mut b) = io::duplex(4);
    let (writer, waker) = Counter::new();
    let mut write = std::pin::pin!(a.write_all(b"0123456789"));

    assert!(poll(&mut write, &waker).is_pending(), "4 of 10 bytes fit");
    assert!(poll(&mut write, &waker).is_pending(), "still full");
    assert_eq!(writer.wakes(), 0);

    assert_eq!(read_now(&mut b, 3), b"012");
    assert_eq!(writer.wakes(), 1);
    assert!(poll(&mut write, &waker).is_pending(), "3 more fit");
    assert_eq!(read_now(&mut b, 1), b"3");
    assert_eq!(writer.wakes(), 2);
    assert!(poll(&mut write, &waker).is_pending(), "1 more fits");
    assert_eq!(read_now(&mut b, 8), b"4567");
    assert_eq!(writer.wakes(), 3);
    assert!(matches!(poll(&mut write, &waker), Poll::Ready(Ok(()))));
    assert_eq!(read_now(&mut b, 8), b"89");
    assert_eq!(
        writer.wakes(),
        3,
        "a writer that is not waiting is not woken"
    );
}

#[test]
fn dropping_a_duplex_end_wakes_its_peer_with_eof_and_broken_pipe() {
    let (mut a, b) = io::duplex(4);
    let (mut b_read, mut b_write) = io::split(b);
    a.write_all(b"hi").now_or_never_ok();
    b_write.write_all(b"full").now_or_never_ok();

    let (reader, reader_waker) = Counter::new();
    let (writer, writer_waker) = Counter::new();
    let mut received = Vec::new();
    {
        let mut read = std::pin::pin!(b_read.read_to_end(&mut received));
        let mut write = std::pin::pin!(b_write.write_all(b"more"));
        assert!(poll(&mut read, &reader_waker).is_pending());
        assert!(poll(&mut write, &writer_waker).is_pending());

        drop(a);
        assert_eq!((reader.wakes(), writer.wakes()), (1, 1));
        assert!(matches!(poll(&mut read, &reader_waker), Poll::Ready(Ok(2))));
        match poll(&mut write, &writer_waker) {
            Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::BrokenPipe),
            other => panic!("expected BrokenPipe, got {other:?}"),
        }
    }
    assert_eq!(
        received, b"hi",
        "bytes written before the drop still arrive"
    );
}

#[test]
fn closing_a_duplex_end_gives_its_peer_eof_and_leaves_the_other_way_open() {
    let (mut a, mut b) = io::duplex(4);
    let (reader, waker) = Counter::new();
    let mut received = Vec::new();
    {
        let mut read = std::pin::pin!(b.read_to_end(&mut received));
        assert!(poll(&mut read, &waker).is_pending());
        a.write_all(b"bye").now_or_never_ok();
        assert_eq!(reader.wakes(), 1, "woken by the bytes");
        assert!(poll(&mut read, &waker).is_pending(), "no EOF yet");
        a.shutdown().now_or_never_ok();
        assert_eq!(reader.wakes(), 2, "woken by the close");
        assert!(matches!(poll(&mut read, &waker), Poll::Ready(Ok(3))));
    }
    assert_eq!(received, b"bye");

    let err = a.write_all(b"x").now_or_never().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    // b can still talk to a, and a still reads until b closes too.
    b.write_all(b"back").now_or_never_ok();
    b.shutdown().now_or_never_ok();
    let mut back = Vec::new();
    a.read_to_end(&mut back).now_or_never_ok();
    assert_eq!(back, b"back");
}

/// Runs a future that must be ready on its first poll.
trait NowOrNever: Future + Sized {
    fn now_or_never(self) -> Self::Output {
        let (_, waker) = Counter::new();
        let mut future = std::pin::pin!(self);
        match future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }
}

impl<F: Future> NowOrNever for F {}

trait NowOrNeverOk<T>: NowOrNever<Output = io::Result<T>> {
    fn now_or_never_ok(self) -> T {
        self.now_or_never().unwrap()
    }
}

impl<T, F: Future<Output = io::Result<T>>> NowOrNeverOk<T> for F {}

/// Bytes that do not repeat with any small period, so a lost, repeated or
/// reordered chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The writer runs on a plain thread under another executor; the reader
/// is a weft task: the pipe belongs to no runtime.
#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_mib_copy_through_duplex_matches_byte_for_byte() {
    const LEN: usize = 4 << 20;
    let (mut tx, mut rx) = io::duplex(16 * 1024);
    let writer = std::thread::spawn(move || {
        futures_executor::block_on(async {
            let data = pattern(LEN);
            for chunk in data.chunks(10_007) {
                tx.write_all(chunk).await.unwrap();
            }
            tx.shutdown().await.unwrap();
        })
    });
    let mut received = Vec::new();
    let copied = io::copy(&mut rx, &mut received).await.unwrap();
    writer.join().unwrap();
    assert_eq!(copied, LEN as u64);
    assert!(
        received == pattern(LEN),
        "the copy differs from what was sent"
    );
}

/// A client and a server, each in its own task, talking through a proxy
/// that runs `copy_bidirectional`. The side that `client_first` names
/// sends and closes its sending direction first; the other reads to EOF
/// and only then answers, so each must see EOF while it can still send.
/// Returns what each heard: (the request, the response).
async fn talk_through_proxy<C, S>(
    mut client: C,
    mut server: S,
    client_first: bool,
) -> (Vec<u8>, Vec<u8>)
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let request = pattern(100_000);
    let response = b"an answer to what came before EOF".to_vec();
    let server = {
        let response = response.clone();
        weft::spawn(async move {
            let mut heard = Vec::new();
            if client_first {
                server.read_to_end(&mut heard).await.unwrap();
            }
            server.write_all(&response).await.unwrap();
            server.shutdown().await.unwrap();
            if !client_first {
                server.read_to_end(&mut heard).await.unwrap();
            }
            heard
        })
    };
    let mut heard_by_client = Vec::new();
    if !client_first {
        client.read_to_end(&mut heard_by_client).await.unwrap();
    }
    client.write_all(&request).await.unwrap();
    client.shutdown().await.unwrap();
    if client_first {
        client.read_to_end(&mut heard_by_client).await.unwrap();
    }
    let heard_by_server = server.await.unwrap();
    assert!(heard_by_server == request, "the request arrived changed");
    assert_eq!(heard_by_client, response);
    (heard_by_server, heard_by_client)
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_bidirectional_over_duplex_pairs_half_closes_each_way_and_counts() {
    for client_first in [true, false] {
        let (client, mut front) = io::duplex(1024);
        let (mut back, server) = io::duplex(1024);
        let proxy = weft::spawn(async move { io::copy_bidirectional(&mut front, &mut back).await });
        let (request, response) = talk_through_proxy(client, server, client_first).await;
        let counts = proxy.await.unwrap().unwrap();
        assert_eq!(counts, (request.len() as u64, response.len() as u64));
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_bidirectional_over_tcp_streams_half_closes_each_way_and_counts() {
    for client_first in [true, false] {
        let (front, front_addr) = listener().await;
        let (back, back_addr) = listener().await;
        let proxy = weft::spawn(async move {
            let (mut inbound, _) = front.accept().await.unwrap();
            let mut outbound = TcpStream::connect(back_addr).await.unwrap();
            io::copy_bidirectional(&mut inbound, &mut outbound).await
        });
        let client = TcpStream::connect(front_addr).await.unwrap();
        let (server, _) = back.accept().await.unwrap();
        let (request, response) = talk_through_proxy(client, server, client_first).await;
        let counts = proxy.await.unwrap().unwrap();
        assert_eq!(counts, (request.len() as u64, response.len() as u64));
    }
}

#[weft::test]
async fn copy_bidirectional_ends_with_the_first_error_either_way() {
    // The server is gone, and the client has sent bytes it can no longer
    // take. Whichever side the server is on, the copy fails.
    for server_is_b in [true, false] {
        let (mut client, mut front) = io::duplex(64);
        let (mut back, server) = io::duplex(64);
        drop(server);
        client.write_all(b"too late").await.unwrap();
        let copied = if server_is_b {
            io::copy_bidirectional(&mut front, &mut back).await
        } else {
            io::copy_bidirectional(&mut back, &mut front).await
        };
        assert_eq!(copied.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        if !server_is_b {
            // Server to client was copied first: its EOF reached the client.
            let mut buf = [0u8; 8];
            assert_eq!(client.read(&mut buf).await.unwrap(), 0);
        }
    }

    // A writer that takes nothing would loop forever; it is an error.
    struct TakesNothing;
    impl AsyncRead for TakesNothing {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    impl AsyncWrite for TakesNothing {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    let (mut client, mut front) = io::duplex(64);
    client.write_all(b"data").await.unwrap();
    let err = io::copy_bidirectional(&mut front, &mut TakesNothing)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WriteZero);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_reader_lines_over_a_tcp_stream() {
    let (listener, addr) = listener().await;
    let server = weft::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        // Split across writes, with a CRLF and no final newline.
        for piece in [&b"first\nsec"[..], b"ond\r\n", b"\nlast"] {
            stream.write_all(piece).await.unwrap();
        }
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut lines = BufReader::new(stream).lines();
    let mut got = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        got.push(line);
    }
    assert_eq!(got, ["first", "second", "", "last"]);
    server.await.unwrap();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn ext_traits_read_line_read_to_end_and_write_all_on_a_tcp_stream() {
    let (listener, addr) = listener().await;
    let server = weft::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = String::new();
        BufReader::new(&mut stream)
            .read_line(&mut request)
            .await
            .unwrap();
        stream.write_all(&pattern(300_000)).await.unwrap();
        request
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /\n").await.unwrap();
    let mut body = Vec::new();
    let n = stream.read_to_end(&mut body).await.unwrap();
    assert_eq!(n, 300_000);
    assert!(body == pattern(300_000), "the body arrived changed");
    assert_eq!(server.await.unwrap(), "GET /\n");
}

/// `io::split` halves of a TCP stream in two tasks: the reader waits for
/// the echo while the writer is still writing, so neither half may hold
/// the stream across a pending poll.
#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_of_a_tcp_stream_work_from_two_tasks_and_reunite() {
    const LEN: usize = 200_000;
    let (listener, addr) = listener().await;
    let echo = weft::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (mut read, mut write) = stream.into_split();
        io::copy(&mut read, &mut write).await.unwrap()
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = io::split(stream);
    let reader = weft::spawn(async move {
        let mut echoed = vec![0u8; LEN];
        read.read_exact(&mut echoed).await.unwrap();
        (read, echoed)
    });
    let writer = weft::spawn(async move {
        for chunk in pattern(LEN).chunks(4096) {
            write.write_all(chunk).await.unwrap();
        }
        write
    });
    let write = writer.await.unwrap();
    let (read, echoed) = reader.await.unwrap();
    assert!(echoed == pattern(LEN), "the echo differs");

    let mut stream = read.unsplit(write);
    stream.shutdown().await.unwrap(); // the echo server's copy ends
    assert_eq!(echo.await.unwrap(), LEN as u64);
}

/// Always-ready readers and writers spend the cooperative budget: a task
/// looping on one still lets a `select!` against `yield_now` finish (on a
/// current-thread runtime, where nothing else would run it).
#[weft::test]
async fn looping_on_repeat_empty_or_sink_yields_after_the_budget() {
    let mut buf = [0u8; 16];
    let mut repeat = io::repeat(b'r');
    let mut empty = io::empty();
    let mut sink = io::sink();
    let mut rounds = 0u64;
    weft::select! {
        biased; // the endless loop first: only its budget can end it
        _ = async {
            loop {
                repeat.read_exact(&mut buf).await.unwrap();
                assert_eq!(empty.read(&mut buf).await.unwrap(), 0);
                sink.write_all(&buf).await.unwrap();
                rounds += 1;
            }
        } => unreachable!("the loop never ends"),
        _ = weft::task::yield_now() => {}
    }
    assert!(rounds > 0, "the loop ran until its budget was spent");
    assert_eq!(buf, [b'r'; 16]);
}

#[weft::test]
async fn simplex_carries_bytes_one_way_then_eof_after_shutdown() {
    let (mut rx, mut tx) = io::simplex(4);
    let writer = weft::spawn(async move {
        tx.write_all(b"more than four bytes").await.unwrap();
        tx.shutdown().await.unwrap();
    });
    let mut got = String::new();
    rx.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "more than four bytes");
    writer.await.unwrap();
}

/// The copies spend the budget too, even between ends that never do
/// (a slice into a `Vec`).
#[weft::test]
async fn copying_between_always_ready_ends_yields_after_the_budget() {
    let mut copies = 0u64;
    weft::select! {
        biased;
        _ = async {
            loop {
                let mut reader: &[u8] = b"hello";
                let mut writer = Vec::new();
                assert_eq!(io::copy(&mut reader, &mut writer).await.unwrap(), 5);
                let mut reader: &[u8] = b"hello";
                assert_eq!(io::copy_buf(&mut reader, &mut writer).await.unwrap(), 5);
                assert_eq!(writer, b"hellohello");
                copies += 1;
            }
        } => unreachable!("the loop never ends"),
        _ = weft::task::yield_now() => {}
    }
    assert!(copies > 0);
}

#[weft::test]
async fn sink_takes_every_vectored_slice_whole() {
    let mut sink = io::sink();
    assert!(sink.is_write_vectored());
    let bufs = [
        std::io::IoSlice::new(b""),
        std::io::IoSlice::new(b"hello"),
        std::io::IoSlice::new(b"world"),
    ];
    assert_eq!(sink.write_vectored(&bufs).await.unwrap(), 10);
}

#[weft::test]
async fn duplex_takes_vectored_writes_across_slices_up_to_its_room() {
    let (mut a, mut b) = io::duplex(8);
    assert!(a.is_write_vectored());
    let bufs = [
        std::io::IoSlice::new(b"hello "),
        std::io::IoSlice::new(b""),
        std::io::IoSlice::new(b"world"),
    ];
    assert_eq!(a.write_vectored(&bufs).await.unwrap(), 8);
    let mut got = [0u8; 8];
    b.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"hello wo");
}

/// An accepted stream starts out assumed readable and writable: bytes the
/// peer sent before the accept are read at once, with no driver turn in
/// between (`try_read` never waits for one).
#[weft::test]
async fn an_accepted_stream_reads_what_came_before_the_accept_at_once() {
    use std::io::Write as _;
    let (listener, addr) = listener().await;
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.write_all(b"early").unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    // Wait until the bytes are queued without touching weft's readiness.
    let mut peek = [std::mem::MaybeUninit::<u8>::uninit(); 8];
    while socket2::SockRef::from(&stream).peek(&mut peek).unwrap() < 5 {
        std::thread::yield_now();
    }
    let mut buf = [0u8; 8];
    let n = stream.try_read(&mut buf).expect("assumed readable");
    assert_eq!(&buf[..n], b"early");
    assert_eq!(stream.try_write(b"reply").unwrap(), 5);
    assert_eq!(
        stream.try_read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock,
        "the wrong guess costs one WouldBlock, which clears it"
    );
}
