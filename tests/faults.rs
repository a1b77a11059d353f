//! The runtime under injected faults (`weft::fault`, feature
//! `fault-injection`): one test per fault, each on both I/O backends and
//! both runtime flavours where the fault concerns the reactor. Each asserts the affected operation's
//! error (or, for the faults that are not errors, its correct result), that
//! the runtime still serves afterwards (a new echo round trip), that
//! nothing else was lost (tasks and a connection made before the fault all
//! finish their work), and that nothing hung (everything runs under a
//! generous `timeout` that only a bug reaches).
//!
//! Faults are process-wide: every test holds `fault::exclusive()`, so the
//! tests of this binary run one at a time however the harness schedules
//! them, and every fault is disarmed when a test ends, passed or failed.

#![cfg(all(unix, not(loom)))]

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft::fault::{self, Fault};
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use weft::runtime::{Builder, IoBackend, Runtime};
use weft::sync::oneshot;
use weft::task::JoinHandle;

/// Longer than any of these tests takes by far: reaching it is a hang.
const LIMIT: Duration = Duration::from_secs(30);

const BACKENDS: [IoBackend; 2] = [IoBackend::Native, IoBackend::Portable];

fn runtime(backend: IoBackend, multi_thread: bool) -> Runtime {
    let mut builder = if multi_thread {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        Builder::new_current_thread()
    };
    builder.enable_all().io_backend(backend).build().unwrap()
}

/// Runs `test` on a fresh runtime of each backend and flavour, under
/// [`LIMIT`].
fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(IoBackend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in BACKENDS {
        for multi_thread in [true, false] {
            runtime(backend, multi_thread).block_on(async {
                weft::time::timeout(LIMIT, test(backend))
                    .await
                    .unwrap_or_else(|_| {
                        panic!("{backend:?} (multi-thread: {multi_thread}): hung for {LIMIT:?}")
                    });
            });
        }
    }
}

/// Waits until `done` says so, looking every millisecond (each condition
/// here is a count the faults move; the caller's `timeout` bounds it).
async fn until(done: impl Fn() -> bool) {
    while !done() {
        weft::time::sleep(Duration::from_millis(1)).await;
    }
}

/// An echo server for any number of connections; its address.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            weft::spawn(async move {
                let (mut reader, mut writer) = stream.split();
                let _ = weft::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    addr
}

/// One message to the echo server at `addr` and back, on `stream`.
async fn echo_on(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(message).await.unwrap();
    let mut reply = vec![0; message.len()];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply, message);
}

/// A new connection to the echo server at `addr`, and a round trip on it.
async fn fresh_round_trip(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    echo_on(&mut stream, b"still serving").await;
}

/// Work in flight when a fault strikes: tasks waiting for a value, and an
/// open connection to the echo server. [`check`](Self::check) shows none
/// of it was lost.
struct Bystanders {
    senders: Vec<oneshot::Sender<u32>>,
    tasks: Vec<JoinHandle<u32>>,
    connection: TcpStream,
    addr: SocketAddr,
}

impl Bystanders {
    async fn start() -> Bystanders {
        let addr = echo_server().await;
        let mut connection = TcpStream::connect(addr).await.unwrap();
        echo_on(&mut connection, b"before").await;
        let (senders, tasks) = (0..8u32)
            .map(|i| {
                let (tx, rx) = oneshot::channel::<u32>();
                (tx, weft::spawn(async move { rx.await.unwrap() * 10 + i }))
            })
            .unzip();
        Bystanders {
            senders,
            tasks,
            connection,
            addr,
        }
    }

    async fn check(mut self) {
        for (i, tx) in self.senders.into_iter().enumerate() {
            tx.send(i as u32).unwrap();
        }
        for (i, task) in self.tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), i as u32 * 11, "bystander task {i}");
        }
        echo_on(&mut self.connection, b"after").await;
        fresh_round_trip(self.addr).await;
    }
}

/// Sources live in the reactor now (registered minus deregistered).
fn live_sources() -> u64 {
    let metrics = weft::runtime::Handle::current().metrics();
    metrics.io_driver_fd_registered_count() - metrics.io_driver_fd_deregistered_count()
}

fn is_closed(fd: i32) -> bool {
    // SAFETY: `F_GETFD` only reads the descriptor's flags; a closed one is
    // `EBADF`, not undefined behaviour.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
}

#[test]
fn spurious_wakeups_make_waiting_tasks_look_again_and_wait_again() {
    let _faults = fault::exclusive();
    on_each_backend(|backend| async move {
        let bystanders = Bystanders::start().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        // Waits with `readable` and `try_read`, counting the wake-ups that
        // found nothing to read.
        let looked = Arc::new(AtomicUsize::new(0));
        let reader = weft::spawn({
            let looked = looked.clone();
            async move {
                let mut buf = [0; 16];
                loop {
                    server.readable().await.unwrap();
                    match server.try_read(&mut buf) {
                        Ok(n) => return buf[..n].to_vec(),
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                            looked.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(err) => panic!("{backend:?}: {err}"),
                    }
                }
            }
        });
        let before = fault::fired(Fault::SpuriousWakeup);
        // One at a time until a spurious wake-up has fooled the reader
        // (the first may come before it waits), then a burst.
        let fooled = looked.load(Ordering::SeqCst);
        loop {
            fault::arm(Fault::SpuriousWakeup, 1);
            until(|| fault::armed(Fault::SpuriousWakeup) == 0).await;
            if looked.load(Ordering::SeqCst) > fooled {
                break;
            }
        }
        fault::arm(Fault::SpuriousWakeup, 50);
        until(|| fault::armed(Fault::SpuriousWakeup) == 0).await;
        assert!(fault::fired(Fault::SpuriousWakeup) - before > 50);
        assert!(!reader.is_finished(), "{backend:?}: read nothing real");
        // The real data still wakes it.
        client.write_all(b"real").await.unwrap();
        assert_eq!(reader.await.unwrap(), b"real");
        bystanders.check().await;
    });
}

#[test]
fn an_interrupted_wait_is_waited_again_and_timers_still_fire() {
    let _faults = fault::exclusive();
    on_each_backend(|backend| async move {
        // Sources are registered, so the driver waits in the poller.
        let bystanders = Bystanders::start().await;
        let before = fault::fired(Fault::WaitInterrupted);
        fault::arm(Fault::WaitInterrupted, 30);
        let start = Instant::now();
        let echo = weft::spawn(fresh_round_trip(bystanders.addr));
        weft::time::sleep(Duration::from_millis(50)).await;
        assert!(
            start.elapsed() >= Duration::from_millis(50),
            "{backend:?}: a sleep ended early"
        );
        until(|| fault::armed(Fault::WaitInterrupted) == 0).await;
        assert_eq!(fault::fired(Fault::WaitInterrupted) - before, 30);
        echo.await.unwrap();
        bystanders.check().await;
    });
}

/// A registration that fails with `fault`'s error: `connect`, `from_std`,
/// a UDP bind, a listener's accept and `AsyncFd::register` each return it,
/// leave no source behind, and close (or hand back) the descriptor.
fn registration_fails_cleanly(fault: Fault) {
    let _faults = fault::exclusive();
    let errno = fault.os_error().unwrap();
    on_each_backend(|backend| async move {
        let bystanders = Bystanders::start().await;
        // Connections nobody accepts: they wait in its backlog.
        let sink = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sink_addr = sink.local_addr().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener_addr = listener.local_addr().unwrap();
        let baseline = live_sources();
        let before = fault::fired(fault);

        fault::arm(fault, 1);
        let err = TcpStream::connect(sink_addr).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(errno), "{backend:?}: connect");

        let std_stream = std::net::TcpStream::connect(sink_addr).unwrap();
        let fd = std_stream.as_raw_fd();
        fault::arm(fault, 1);
        let err = TcpStream::from_std(std_stream).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(errno), "{backend:?}: from_std");
        assert!(is_closed(fd), "{backend:?}: from_std left {fd} open");

        fault::arm(fault, 1);
        let err = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(errno), "{backend:?}: UDP bind");

        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        fault::arm(fault, 1);
        // SAFETY: `a` is owned by the `AsyncFd` (or handed back) and not
        // closed while registered.
        let refused = unsafe { weft::io::unix::AsyncFd::register(a) }.unwrap_err();
        let (a, err) = refused.into_parts();
        assert_eq!(err.raw_os_error(), Some(errno), "{backend:?}: AsyncFd");
        assert!(!is_closed(a.as_raw_fd()), "handed back open");

        let mut client = TcpStream::connect(listener_addr).await.unwrap();
        let with_client = live_sources();
        fault::arm(fault, 1);
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(errno), "{backend:?}: accept");
        assert_eq!(live_sources(), with_client, "{backend:?}: a source leaked");
        // The accepted descriptor was closed: the client sees its end.
        let mut buf = [0; 1];
        match client.read(&mut buf).await {
            Ok(0) => {}
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("{backend:?}: the refused connection is still open: {other:?}"),
        }
        drop(client);
        assert_eq!(fault::fired(fault) - before, 5);
        assert_eq!(live_sources(), baseline, "{backend:?}: a source leaked");

        // The listener serves the next connection.
        let mut client = TcpStream::connect(listener_addr).await.unwrap();
        let (mut served, _) = listener.accept().await.unwrap();
        client.write_all(b"next").await.unwrap();
        let mut got = [0; 4];
        served.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"next");
        bystanders.check().await;
    });
}

#[test]
fn registration_out_of_memory_is_returned_and_leaks_nothing() {
    registration_fails_cleanly(Fault::RegisterNoMemory);
}

#[test]
fn registration_out_of_watches_is_returned_and_leaks_nothing() {
    registration_fails_cleanly(Fault::RegisterNoSpace);
}

#[test]
fn accept_out_of_descriptors_is_returned_and_the_next_accept_takes_the_connection() {
    let _faults = fault::exclusive();
    on_each_backend(|backend| async move {
        let bystanders = Bystanders::start().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let before = fault::fired(Fault::AcceptTooManyFiles);
        fault::arm(Fault::AcceptTooManyFiles, 3);
        // A server loop that notes the error and accepts again.
        let mut errors = Vec::new();
        let mut served = loop {
            match listener.accept().await {
                Ok((stream, _)) => break stream,
                Err(err) => errors.push(err.raw_os_error()),
            }
        };
        assert_eq!(errors, [Some(libc::EMFILE); 3], "{backend:?}");
        assert_eq!(fault::fired(Fault::AcceptTooManyFiles) - before, 3);
        client.write_all(b"queued").await.unwrap();
        let mut got = [0; 6];
        served.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"queued", "{backend:?}: the pending connection");

        // The Unix listener's accept too.
        let path = std::env::temp_dir().join(format!(
            "weft-faults-{}-{backend:?}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let unix = UnixListener::bind(&path).unwrap();
        let mut client = UnixStream::connect(&path).await.unwrap();
        fault::arm(Fault::AcceptTooManyFiles, 1);
        let err = unix.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{backend:?}");
        let (mut served, _) = unix.accept().await.unwrap();
        client.write_all(b"unix").await.unwrap();
        let mut got = [0; 4];
        served.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"unix");
        std::fs::remove_file(&path).unwrap();
        bystanders.check().await;
    });
}

#[test]
fn short_writes_still_deliver_every_byte_in_order() {
    let _faults = fault::exclusive();
    on_each_backend(|backend| async move {
        let bystanders = Bystanders::start().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut served, _) = listener.accept().await.unwrap();
        let reader = weft::spawn(async move {
            let mut all = Vec::new();
            served.read_to_end(&mut all).await.unwrap();
            all
        });
        let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
        let before = fault::fired(Fault::ShortWrite);
        fault::arm(Fault::ShortWrite, 1000);

        // A vectored write is cut short too...
        let (a, b) = data[..200].split_at(100);
        let n = client
            .write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
            .await
            .unwrap();
        assert!((1..200).contains(&n), "{backend:?}: wrote {n} of 200");
        // ...and `write_all` goes on until every byte is out.
        client.write_all(&data[n..]).await.unwrap();
        client.shutdown().await.unwrap();
        let received = reader.await.unwrap();
        assert!(fault::fired(Fault::ShortWrite) - before > 1);
        assert_eq!(received.len(), data.len(), "{backend:?}");
        assert!(received == data, "{backend:?}: bytes out of order");
        fault::disarm(Fault::ShortWrite);
        bystanders.check().await;
    });
}

#[test]
fn a_blocking_thread_that_cannot_start_fails_its_closure_or_leaves_it_queued() {
    let _faults = fault::exclusive();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        weft::time::timeout(LIMIT, async {
            let bystanders = Bystanders::start().await;
            let metrics = weft::runtime::Handle::current().metrics();
            assert_eq!(metrics.num_blocking_threads(), 0);
            let before = fault::fired(Fault::BlockingSpawnFails);

            // No thread at all: the closure is cancelled with the reason.
            fault::arm(Fault::BlockingSpawnFails, 1);
            let err = weft::task::spawn_blocking(|| 1).await.unwrap_err();
            assert!(err.is_cancelled());
            let source = std::error::Error::source(&err).expect("the OS error");
            let source = source.downcast_ref::<io::Error>().unwrap();
            assert_eq!(source.raw_os_error(), Some(libc::EAGAIN));
            assert!(err.to_string().contains("os error"), "{err}");

            // A host-name lookup, which runs on the pool, fails too.
            fault::arm(Fault::BlockingSpawnFails, 1);
            assert!(weft::net::lookup_host("localhost:1").await.is_err());

            // So does a file operation, with the OS's error (not "the
            // runtime shut down": it did not).
            fault::arm(Fault::BlockingSpawnFails, 1);
            let err = weft::fs::metadata(".").await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "{err}");

            // With a thread, busy: the closure waits for it.
            let (release, held) = std::sync::mpsc::channel::<()>();
            let busy = weft::task::spawn_blocking(move || held.recv().unwrap());
            assert_eq!(metrics.num_blocking_threads(), 1);
            fault::arm(Fault::BlockingSpawnFails, 1);
            let queued = weft::task::spawn_blocking(|| 2);
            assert_eq!(fault::fired(Fault::BlockingSpawnFails) - before, 4);
            assert_eq!(metrics.num_blocking_threads(), 1);
            release.send(()).unwrap();
            busy.await.unwrap();
            assert_eq!(queued.await.unwrap(), 2);

            // The pool serves again.
            assert_eq!(weft::task::spawn_blocking(|| 3).await.unwrap(), 3);
            bystanders.check().await;
        })
        .await
        .expect("hung");
    });
    // Shutdown completes too.
    let (done, dropped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        done.send(()).unwrap();
    });
    dropped
        .recv_timeout(LIMIT)
        .expect("the runtime's drop hung");
}
