//! `weft::net` on the runtime: TCP round trips, errors of the right kind,
//! and tasks woken when their peer goes away.

use std::io;
use std::net::{Shutdown, SocketAddr};

use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{lookup_host, TcpListener, TcpStream};

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_round_trips_in_order() {
    let (listener, addr) = listener().await;
    let server = weft::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            stream.write_all(&buf[..n]).await.unwrap();
        }
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.set_nodelay(true).unwrap();
    for i in 0..200u32 {
        let message = i.to_le_bytes();
        client.write_all(&message).await.unwrap();
        let mut reply = [0u8; 4];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, message);
    }
    client.shutdown().await.unwrap();
    server.await.unwrap();
}

#[weft::test]
async fn many_concurrent_connections_on_the_current_thread_runtime() {
    let (listener, addr) = listener().await;
    let server = weft::spawn(async move {
        let mut set = weft::task::JoinSet::new();
        for _ in 0..50 {
            let (mut stream, _) = listener.accept().await.unwrap();
            set.spawn(async move {
                let mut buf = [0u8; 64];
                let n = stream.read(&mut buf).await.unwrap();
                stream.write_all(&buf[..n]).await.unwrap();
            });
        }
        set.join_all().await;
    });
    let mut set = weft::task::JoinSet::new();
    for i in 0..50u8 {
        set.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(&[i; 10]).await.unwrap();
            let mut reply = [0u8; 10];
            stream.read_exact(&mut reply).await.unwrap();
            assert_eq!(reply, [i; 10]);
        });
    }
    set.join_all().await;
    server.await.unwrap();
}

#[weft::test]
async fn connection_refused_and_address_in_use_are_io_errors() {
    let (listener, addr) = listener().await;
    let err = TcpListener::bind(addr).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    drop(listener);
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    // An address this host does not have.
    let err = TcpListener::bind("192.0.2.1:0").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
    let err = TcpStream::connect("127.0.0.1").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_is_woken_when_the_peer_closes_or_resets() {
    let (listener, addr) = listener().await;
    let client = TcpStream::connect(addr).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let reader = weft::spawn(async move {
        let mut buf = [0u8; 16];
        server.read(&mut buf).await
    });
    weft::task::yield_now().await;
    drop(client);
    assert_eq!(reader.await.unwrap().unwrap(), 0, "EOF");

    // A reset (linger 0 makes close send RST).
    let client = TcpStream::connect(addr).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    socket2::SockRef::from(&client)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(client);
    let mut buf = [0u8; 16];
    match server.read(&mut buf).await {
        Ok(0) => {}
        Err(err) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset),
        Ok(n) => panic!("read {n} bytes from a reset connection"),
    }
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_read_and_write_from_two_tasks() {
    let (listener, addr) = listener().await;
    let client = TcpStream::connect(addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (mut read, mut write) = server.into_split();
    let echo = weft::spawn(async move {
        let mut buf = [0u8; 256];
        let mut total = 0;
        loop {
            let n = read.read(&mut buf).await.unwrap();
            if n == 0 {
                break total;
            }
            write.write_all(&buf[..n]).await.unwrap();
            total += n;
        }
    });
    let (mut r, mut w) = client.into_split();
    let sender = weft::spawn(async move {
        for _ in 0..100 {
            w.write_all(&[7u8; 100]).await.unwrap();
        }
        drop(w); // FIN: the echo task sees EOF
    });
    let mut got = 0;
    let mut buf = [0u8; 512];
    while got < 10_000 {
        let n = r.read(&mut buf).await.unwrap();
        assert!(n > 0);
        assert!(buf[..n].iter().all(|&b| b == 7));
        got += n;
    }
    sender.await.unwrap();
    assert_eq!(echo.await.unwrap(), 10_000);
}

#[weft::test]
async fn lookup_host_resolves_on_the_blocking_pool() {
    let addrs: Vec<SocketAddr> = lookup_host("localhost:80").await.unwrap().collect();
    assert!(
        addrs.iter().any(|a| a.ip().is_loopback() && a.port() == 80),
        "{addrs:?}"
    );
    let (listener, addr) = listener().await;
    let connect = weft::spawn(async move { TcpStream::connect(("localhost", addr.port())).await });
    let (_server, peer) = listener.accept().await.unwrap();
    assert!(peer.ip().is_loopback());
    connect.await.unwrap().unwrap();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_ping_pong_and_peek() {
    use weft::net::UdpSocket;
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server_addr = server.local_addr().unwrap();
    let echo = weft::spawn(async move {
        let mut buf = [0u8; 64];
        for _ in 0..100 {
            let (n, peek_from) = server.peek_from(&mut buf).await.unwrap();
            let (m, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!((n, peek_from), (m, from));
            server.send_to(&buf[..m], from).await.unwrap();
        }
    });
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.connect(server_addr).await.unwrap();
    assert_eq!(client.peer_addr().unwrap(), server_addr);
    for i in 0..100u32 {
        client.send(&i.to_be_bytes()).await.unwrap();
        let mut buf = [0u8; 64];
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &i.to_be_bytes());
    }
    echo.await.unwrap();
}

#[weft::test]
async fn tcp_socket_options_before_listen_and_connect() {
    use weft::net::TcpSocket;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    assert!(socket.reuseaddr().unwrap());
    socket.set_reuseport(true).unwrap();
    assert!(socket.reuseport().unwrap());
    socket.set_recv_buffer_size(1 << 16).unwrap();
    assert!(socket.recv_buffer_size().unwrap() >= 1 << 16);
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(128).unwrap();
    assert_eq!(listener.local_addr().unwrap(), addr);

    let client = TcpSocket::new_v4().unwrap();
    client.set_nodelay(true).unwrap();
    let stream = client.connect(addr).await.unwrap();
    assert!(stream.nodelay().unwrap());
    let (_accepted, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, stream.local_addr().unwrap());
}

fn socket_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("weft-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_streams_echo_split_and_reunite() {
    use weft::net::{UnixListener, UnixStream};
    let path = socket_path("stream");
    let listener = UnixListener::bind(&path).unwrap();
    let server = weft::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 32];
        let n = stream.read(&mut buf).await.unwrap();
        stream.write_all(&buf[..n]).await.unwrap();
    });
    let mut client = UnixStream::connect(&path).await.unwrap();
    client.write_all(b"over a path").await.unwrap();
    let mut reply = [0u8; 11];
    client.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"over a path");
    server.await.unwrap();

    let (a, b) = UnixStream::pair().unwrap();
    let (a_read, a_write) = a.into_split();
    let (b_read, b_write) = b.into_split();
    let err = a_read.reunite(b_write).unwrap_err();
    assert!(err.to_string().contains("not from the same stream"));
    let weft::net::ReuniteError(a_read, b_write) = err;
    let mut a = a_read.reunite(a_write).unwrap();
    let mut b = b_read.reunite(b_write).unwrap();
    a.write_all(b"pair").await.unwrap();
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pair");
    let _ = std::fs::remove_file(&path);

    let err = UnixStream::connect(socket_path("nobody"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[weft::test]
async fn unix_datagrams_by_path_and_by_pair() {
    use weft::net::UnixDatagram;
    let path_a = socket_path("dgram-a");
    let path_b = socket_path("dgram-b");
    let a = UnixDatagram::bind(&path_a).unwrap();
    let b = UnixDatagram::bind(&path_b).unwrap();
    a.send_to(b"to b", &path_b).await.unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = b.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"to b");
    assert_eq!(from.as_pathname(), Some(path_a.as_path()));

    let (x, y) = UnixDatagram::pair().unwrap();
    x.send(b"paired").await.unwrap();
    let n = y.recv(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"paired");
    let _ = std::fs::remove_file(&path_a);
    let _ = std::fs::remove_file(&path_b);
}

#[weft::test]
async fn a_task_that_always_finds_its_socket_ready_still_yields() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    // One thread: if the spinning task never yielded once its socket is
    // ready, nothing else (this function included) could run again.
    let (a, _b) = weft::net::UnixStream::pair().unwrap();
    let spinning = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let (spinning, stop) = (spinning.clone(), stop.clone());
        weft::spawn(async move {
            a.writable().await.unwrap();
            spinning.store(true, Ordering::Release);
            let mut spins = 0u64;
            while !stop.load(Ordering::Acquire) {
                // Ready every time. A `poll_*` wait spends budget; the
                // `writable()` future spends none, as tokio's (see
                // `readiness_futures_spend_no_budget`).
                std::future::poll_fn(|cx| a.poll_write_ready(cx))
                    .await
                    .unwrap();
                spins += 1;
            }
            spins
        })
    };
    while !spinning.load(Ordering::Acquire) {
        weft::task::yield_now().await;
    }
    let setter = weft::spawn(async move { stop.store(true, Ordering::Release) });
    setter.await.unwrap();
    assert!(spinner.await.unwrap() >= 1);
}

#[weft::test]
async fn readiness_futures_spend_no_budget() {
    // tokio's `readable()` / `writable()` / `ready()` spend no cooperative
    // budget (its own tests fill a send buffer waiting on `writable()`
    // before each `try_write`, thousands of times in one poll); the
    // operations after them do.
    let (a, _b) = weft::net::UnixStream::pair().unwrap();
    for _ in 0..1000 {
        a.writable().await.unwrap();
        a.ready(weft::io::Interest::WRITABLE).await.unwrap();
    }
    assert!(weft::task::coop::has_budget_remaining());
    // A `poll_*` wait that finds the socket ready spends one unit, so the
    // budget runs out within one poll.
    let mut ready = 0;
    std::future::poll_fn(|cx| {
        while a.poll_write_ready(cx).is_ready() {
            ready += 1;
        }
        std::task::Poll::Ready(())
    })
    .await;
    assert_eq!(ready, 128);
}

/// CI runs this file again with `WEFT_IO_BACKEND=portable`: this test
/// checks that run really is on the other backend.
#[weft::test]
async fn the_runtime_waits_in_the_backend_asked_for() {
    use weft::runtime::{Handle, IoBackend, IO_BACKEND_ENV};
    let expected = match std::env::var(IO_BACKEND_ENV).as_deref() {
        Ok("portable") => IoBackend::Portable,
        _ => IoBackend::Native.resolve(),
    };
    assert_eq!(Handle::current().io_backend(), expected);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_eof_arriving_together_are_both_read() {
    // The peer's data and its FIN reach the reader in one readiness event;
    // a short read of the data must not make the reader miss the EOF.
    let (listener, addr) = listener().await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    client.write_all(b"last words").await.unwrap();
    // On loopback both are in the server's receive queue once these calls
    // return, before the first read.
    client.shutdown().await.unwrap();
    let mut buf = [0u8; 64];
    let n = server.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"last words");
    assert_eq!(server.read(&mut buf).await.unwrap(), 0);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_close_is_one_eof_and_the_other_direction_still_works() {
    // The client half-closes, then waits for the reply: the server sees
    // EOF exactly where the data ends (a read returning 0, and 0 again,
    // never data after it), and the reply still travels the other way.
    let (listener, addr) = listener().await;
    let server = weft::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match stream.read(&mut buf).await.unwrap() {
                0 => break,
                n => request.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        stream.write_all(&request).await.unwrap();
        request.len()
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    let request: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    client.write_all(&request).await.unwrap();
    client.shutdown().await.unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, request);
    assert_eq!(server.await.unwrap(), request.len());
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_racing_closes_never_cross_wires() {
    // Sockets opened and closed from two workers at once reuse descriptor
    // numbers and reactor slots; a late event for a closed one must never
    // reach (or lose the wake-up of) the socket that took its place. Every
    // connection must echo its own bytes.
    let (listener, addr) = listener().await;
    let server = weft::spawn(async move {
        let mut set = weft::task::JoinSet::new();
        for _ in 0..400 {
            let (mut stream, _) = listener.accept().await.unwrap();
            set.spawn(async move {
                let mut buf = [0u8; 8];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf).await.unwrap();
            });
        }
        set.join_all().await;
    });
    let mut clients = weft::task::JoinSet::new();
    for task in 0..4u64 {
        clients.spawn(async move {
            for i in 0..100u64 {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let message = (task << 32 | i).to_le_bytes();
                stream.write_all(&message).await.unwrap();
                let mut reply = [0u8; 8];
                stream.read_exact(&mut reply).await.unwrap();
                assert_eq!(reply, message);
            }
        });
    }
    clients.join_all().await;
    server.await.unwrap();
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_whose_peer_goes_away_mid_write_gets_an_error() {
    let (listener, addr) = listener().await;
    let client = TcpStream::connect(addr).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let writer = weft::spawn(async move {
        let chunk = vec![7u8; 64 * 1024];
        loop {
            if let Err(err) = server.write_all(&chunk).await {
                return err;
            }
        }
    });
    // The client reads a little, then closes with unread data (an RST).
    let mut client = client;
    let mut buf = [0u8; 1024];
    client.read_exact(&mut buf).await.unwrap();
    drop(client);
    let err = writer.await.unwrap();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_is_woken_when_another_task_shuts_its_stream_down() {
    let (listener, addr) = listener().await;
    let client = std::sync::Arc::new(TcpStream::connect(addr).await.unwrap());
    let (_server, _) = listener.accept().await.unwrap();
    let reader = {
        let client = client.clone();
        weft::spawn(async move {
            loop {
                client.readable().await?;
                let mut buf = [0u8; 16];
                match client.try_read(&mut buf) {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                    other => return other,
                }
            }
        })
    };
    weft::task::yield_now().await;
    socket2::SockRef::from(&client)
        .shutdown(Shutdown::Read)
        .unwrap();
    assert_eq!(reader.await.unwrap().unwrap(), 0);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_connect_to_a_full_backlog_waits_for_room_and_connects() {
    use socket2::{Domain, SockAddr, Socket, Type};
    use std::future::Future;
    use std::task::Poll;
    let path = socket_path("full-backlog");
    let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    listener.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    listener.listen(0).unwrap();
    // Fill the backlog with connections nobody has accepted yet.
    let mut queued = Vec::new();
    loop {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        socket.set_nonblocking(true).unwrap();
        match socket.connect(&SockAddr::unix(&path).unwrap()) {
            Ok(()) => queued.push(socket),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) => panic!("{err}"),
        }
        assert!(queued.len() < 1000, "the backlog never filled");
    }
    // Linux says `EAGAIN`: nothing is in progress. The connect must wait
    // for room, not hand back an unconnected socket.
    let mut connect = std::pin::pin!(weft::net::UnixStream::connect(&path));
    let first = std::future::poll_fn(|cx| Poll::Ready(connect.as_mut().poll(cx))).await;
    assert!(first.is_pending(), "{first:?}");
    drop(listener.accept().unwrap()); // room for one
    let mut stream = connect.await.unwrap();
    assert!(stream.peer_addr().is_ok(), "connected");
    stream.write_all(b"in").await.unwrap();
    drop(queued);
}

/// I/O on a source whose runtime was dropped fails with an error that
/// `is_rt_shutdown_err` recognises by its type; the same words in another
/// error do not fool it.
#[test]
fn io_on_a_dropped_runtime_is_a_shutdown_error() {
    let rt = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    drop(rt);
    let other = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = other.block_on(listener.accept()).unwrap_err();
    assert!(weft::runtime::is_rt_shutdown_err(&err), "{err}");
    let quoted = io::Error::other(err.to_string());
    assert!(!weft::runtime::is_rt_shutdown_err(&quoted));
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_a_udp_socket_all_receive() {
    // `recv` takes `&self`: every task waiting on one socket is woken by
    // its readiness, not only the last one to poll (as tokio's).
    use std::future::Future;
    use std::sync::Arc;
    let rx = Arc::new(weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let tx = weft::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    tx.connect(rx.local_addr().unwrap()).await.unwrap();
    let (waiting_tx, mut waiting) = weft::sync::mpsc::unbounded_channel();
    let receivers: Vec<_> = (0..4)
        .map(|_| {
            let (rx, waiting_tx) = (rx.clone(), waiting_tx.clone());
            weft::spawn(async move {
                let mut recv = std::pin::pin!(async {
                    let mut buf = [0; 8];
                    rx.recv(&mut buf).await.unwrap()
                });
                // Polled once (and parked) before anything is sent.
                let first =
                    std::future::poll_fn(|cx| std::task::Poll::Ready(recv.as_mut().poll(cx))).await;
                waiting_tx.send(()).unwrap();
                match first {
                    std::task::Poll::Ready(n) => n,
                    std::task::Poll::Pending => recv.await,
                }
            })
        })
        .collect();
    for _ in 0..4 {
        waiting.recv().await.unwrap();
    }
    for _ in 0..4 {
        tx.send(b"ping").await.unwrap();
    }
    for receiver in receivers {
        assert_eq!(receiver.await.unwrap(), 4);
    }
}

#[weft::test]
async fn shutdown_after_the_peer_reset_is_not_an_error() {
    let (listener, addr) = listener().await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    server.set_zero_linger().unwrap();
    drop(server);
    // Wait until the reset has arrived: the read reports it.
    let mut buf = [0; 1];
    assert_eq!(
        client.read(&mut buf).await.unwrap_err().kind(),
        io::ErrorKind::ConnectionReset
    );
    client.shutdown().await.unwrap();
}
