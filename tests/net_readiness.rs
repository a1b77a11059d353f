//! `weft::net` with tokio's readiness and non-blocking methods: `ready`,
//! `try_*` (vectored, into a `BufMut`), `peek` / `poll_peek`, the split
//! halves' own methods (`weft::net::tcp::*`), socket options, UDP's
//! `try_*` / `peek_sender` / `recv_buf`, and Unix peer credentials.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::time::Duration;

use weft::io::{Interest, Ready};
use weft::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

async fn connected() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Reads with `try_read` until `want` bytes came, waiting for readiness
/// in between.
async fn read_all(stream: &TcpStream, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        stream.readable().await.unwrap();
        let mut buf = [0; 256];
        match stream.try_read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("{err}"),
        }
    }
    got
}

#[weft::test]
async fn vectored_and_buf_mut_try_methods_round_trip() {
    let (client, server) = connected().await;
    client.writable().await.unwrap();
    let n = client
        .try_write_vectored(&[IoSlice::new(b"hel"), IoSlice::new(b"lo")])
        .unwrap();
    assert_eq!(n, 5);

    let mut received = Vec::with_capacity(16);
    while received.len() < 5 {
        server.ready(Interest::READABLE).await.unwrap();
        match server.try_read_buf(&mut received) {
            Ok(n) => assert!(n > 0),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("{err}"),
        }
    }
    assert_eq!(received, b"hello");

    client.try_write(b"abcd").unwrap();
    let (mut first, mut second) = ([0; 2], [0; 2]);
    let mut total = 0;
    while total < 4 {
        server.readable().await.unwrap();
        let mut bufs = [IoSliceMut::new(&mut first), IoSliceMut::new(&mut second)];
        match server.try_read_vectored(&mut bufs) {
            Ok(n) => total += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("{err}"),
        }
    }
    assert_eq!((&first, &second), (b"ab", b"cd"));
}

#[weft::test]
async fn ready_reports_read_closed_after_the_peer_goes() {
    let (client, server) = connected().await;
    assert_eq!(
        server.try_read(&mut [0; 1]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(client);
    loop {
        let ready: Ready = server.ready(Interest::READABLE).await.unwrap();
        if ready.is_read_closed() {
            break;
        }
        // Readable without the closed bit (the portable poller): the read
        // says EOF.
        if server.try_read(&mut [0; 1]).ok() == Some(0) {
            break;
        }
    }
}

#[weft::test]
async fn peek_leaves_the_data_and_poll_peek_fills_a_read_buf() {
    let (client, server) = connected().await;
    client.try_write(b"peek").unwrap();
    let mut buf = [0; 16];
    let n = server.peek(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], &b"peek"[..n]);

    let mut storage = [0u8; 16];
    let mut read_buf = weft::io::ReadBuf::new(&mut storage);
    let n = std::future::poll_fn(|cx| server.poll_peek(cx, &mut read_buf))
        .await
        .unwrap();
    assert_eq!(read_buf.filled(), &b"peek"[..n]);
    assert_eq!(read_all(&server, 4).await, b"peek");
}

#[weft::test]
async fn owned_halves_have_addresses_readiness_and_forget() {
    let (client, server) = connected().await;
    let (read, write): (
        weft::net::tcp::OwnedReadHalf,
        weft::net::tcp::OwnedWriteHalf,
    ) = client.into_split();
    assert_eq!(read.peer_addr().unwrap(), server.local_addr().unwrap());
    assert_eq!(write.local_addr().unwrap(), server.peer_addr().unwrap());

    write.writable().await.unwrap();
    write.try_write(b"hi").unwrap();
    assert_eq!(read_all(&server, 2).await, b"hi");

    server.try_write(b"yo").unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        read.readable().await.unwrap();
        let mut buf = [0; 8];
        if let Ok(n) = read.try_read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(got, b"yo");

    // Reunited from the write half's side, the stream writes on.
    let client = write.reunite(read).unwrap();
    let (read, write) = client.into_split();
    write.forget();
    // Forgotten, not shut down: the stream can still write.
    read.as_ref().try_write(b"!").unwrap();
    assert_eq!(read_all(&server, 1).await, b"!");
}

#[weft::test]
async fn borrowed_halves_peek_and_wait() {
    let (mut client, server) = connected().await;
    server.try_write(b"x").unwrap();
    let (mut read, write) = client.split();
    let mut buf = [0; 4];
    assert_eq!(read.peek(&mut buf).await.unwrap(), 1);
    write.ready(Interest::WRITABLE).await.unwrap();
    assert_eq!(write.try_write(b"y").unwrap(), 1);
    assert_eq!(read.try_read(&mut buf).unwrap(), 1);
}

#[weft::test]
async fn socket_options_round_trip() {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_keepalive(true).unwrap();
    assert!(socket.keepalive().unwrap());
    socket.set_nodelay(true).unwrap();
    assert!(socket.nodelay().unwrap());
    socket.set_zero_linger().unwrap();
    assert_eq!(socket.linger().unwrap(), Some(Duration::ZERO));
    assert!(socket.take_error().unwrap().is_none());

    let (client, _server) = connected().await;
    client.set_zero_linger().unwrap();
    assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
    client.set_ttl(42).unwrap();
    assert_eq!(client.ttl().unwrap(), 42);
    assert!(client.take_error().unwrap().is_none());

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listener: TcpListener = listener.try_into().unwrap();
    let std_client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let converted: TcpStream = std_client.try_into().unwrap();
    let (accepted, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, converted.local_addr().unwrap());
    drop(accepted);
}

async fn udp_pair() -> (UdpSocket, UdpSocket, SocketAddr, SocketAddr) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    a.connect(b_addr).await.unwrap();
    b.connect(a_addr).await.unwrap();
    (a, b, a_addr, b_addr)
}

#[weft::test]
async fn udp_try_send_and_receive_peek_sender_and_recv_buf() {
    let (a, b, a_addr, _) = udp_pair().await;
    a.writable().await.unwrap();
    assert_eq!(a.try_send(b"one").unwrap(), 3);
    assert_eq!(b.peek_sender().await.unwrap(), a_addr);
    let mut buf = [0; 8];
    assert_eq!(b.peek(&mut buf).await.unwrap(), 3);
    b.readable().await.unwrap();
    assert_eq!(b.try_recv(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"one");
    assert_eq!(
        b.try_recv(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    a.send(b"two").await.unwrap();
    let mut vec = Vec::with_capacity(8);
    assert_eq!(b.recv_buf(&mut vec).await.unwrap(), 3);
    assert_eq!(vec, b"two");

    a.send(b"three").await.unwrap();
    let mut vec = Vec::with_capacity(8);
    let (n, from) = b.recv_buf_from(&mut vec).await.unwrap();
    assert_eq!((n, from, vec.as_slice()), (5, a_addr, &b"three"[..]));

    a.send(b"four").await.unwrap();
    let mut storage = [0u8; 8];
    let mut read_buf = weft::io::ReadBuf::new(&mut storage);
    let from = std::future::poll_fn(|cx| b.poll_recv_from(cx, &mut read_buf))
        .await
        .unwrap();
    assert_eq!((from, read_buf.filled()), (a_addr, &b"four"[..]));
}

#[weft::test]
async fn udp_options_round_trip() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.set_broadcast(true).unwrap();
    assert!(socket.broadcast().unwrap());
    socket.set_multicast_loop_v4(false).unwrap();
    assert!(!socket.multicast_loop_v4().unwrap());
    socket.set_multicast_ttl_v4(7).unwrap();
    assert_eq!(socket.multicast_ttl_v4().unwrap(), 7);
    assert!(socket.take_error().unwrap().is_none());
    let sent = socket
        .async_io(Interest::WRITABLE, || Ok::<_, io::Error>(1))
        .await
        .unwrap();
    assert_eq!(sent, 1);
    socket.writable().await.unwrap();
    assert_eq!(socket.try_io(Interest::WRITABLE, || Ok(7)).unwrap(), 7);
    let blocked = socket.try_io(Interest::WRITABLE, || {
        io::Result::<()>::Err(io::ErrorKind::WouldBlock.into())
    });
    assert!(blocked.is_err());
    let mut called = false;
    let _ = socket.try_io(Interest::WRITABLE, || {
        called = true;
        Ok(())
    });
    assert!(!called, "the WouldBlock cleared the readiness");
}

#[cfg(unix)]
#[weft::test]
async fn unix_peer_credentials_are_this_process() {
    let (a, b) = weft::net::UnixStream::pair().unwrap();
    let (cred_a, cred_b): (weft::net::unix::UCred, _) =
        (a.peer_cred().unwrap(), b.peer_cred().unwrap());
    assert_eq!(cred_a, cred_b);
    // SAFETY: plain getters without arguments.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    assert_eq!((cred_a.uid(), cred_a.gid()), (uid, gid));
    #[cfg(target_os = "linux")]
    assert_eq!(cred_a.pid(), Some(std::process::id() as libc::pid_t));
}

#[cfg(unix)]
#[weft::test]
async fn unix_datagrams_try_send_and_recv_into_a_buf_mut() {
    let (a, b) = weft::net::UnixDatagram::pair().unwrap();
    a.writable().await.unwrap();
    assert_eq!(a.try_send(b"ping").unwrap(), 4);
    b.readable().await.unwrap();
    let mut vec = Vec::with_capacity(8);
    let (n, from) = b.try_recv_buf_from(&mut vec).unwrap();
    assert_eq!((n, vec.as_slice()), (4, &b"ping"[..]));
    assert!(from.is_unnamed());
    assert_eq!(
        b.try_recv(&mut [0; 4]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    a.send(b"pong").await.unwrap();
    let mut vec = Vec::with_capacity(8);
    assert_eq!(b.recv_buf(&mut vec).await.unwrap(), 4);
    assert_eq!(vec, b"pong");
}

#[cfg(unix)]
#[weft::test]
async fn unix_stream_halves_have_the_unix_paths() {
    let (a, b) = weft::net::UnixStream::pair().unwrap();
    let (read, write): (
        weft::net::unix::OwnedReadHalf,
        weft::net::unix::OwnedWriteHalf,
    ) = a.into_split();
    write.try_write(b"z").unwrap();
    b.readable().await.unwrap();
    assert_eq!(b.try_read(&mut [0; 4]).unwrap(), 1);
    assert!(read.local_addr().unwrap().is_unnamed());
    let _a: weft::net::UnixStream = read.reunite(write).unwrap();
}

/// `readable()` on a stream keeps every waiter: two tasks parked on one
/// stream both wake when bytes arrive (a single waker slot loses one).
#[weft::test]
async fn two_tasks_waiting_readable_on_one_stream_both_wake() {
    use std::sync::Arc;
    use weft::io::AsyncWriteExt;

    let (a, mut b) = weft::net::UnixStream::pair().unwrap();
    let a = Arc::new(a);
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let a = a.clone();
            weft::spawn(async move { a.readable().await.unwrap() })
        })
        .collect();
    weft::task::yield_now().await; // both park (current-thread runtime)
    b.write_all(b"x").await.unwrap();
    for waiter in waiters {
        weft::time::timeout(std::time::Duration::from_secs(10), waiter)
            .await
            .expect("every waiter wakes")
            .unwrap();
    }
}
