//! Networking at the process's limits: accept with no file descriptors
//! left, and 10,000 concurrent connections.
//!
//! Both need a process of their own: one lowers `RLIMIT_NOFILE`, and the
//! other needs more descriptors than one process may have (the hard limit
//! here is 20,000 and cannot be raised), so the clients run in a child. A
//! child is this test binary run again with `WEFT_NET_CHILD` set, running
//! just its half of the test.

use std::io;
use std::process::{Command, Stdio};

use weft::io::{AsyncReadExt, AsyncWriteExt};

const CHILD_ENV: &str = "WEFT_NET_CHILD";

/// Runs `test` of this binary in a child process with `role` in its
/// environment.
fn child(test: &str, role: &str, extra_env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

fn role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

fn nofile() -> (libc::rlim_t, libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0);
    (limit.rlim_cur, limit.rlim_max)
}

fn set_nofile(soft: libc::rlim_t) {
    let (_, hard) = nofile();
    let limit = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: `limit` is a valid rlimit with soft <= hard.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
}

#[test]
fn accept_out_of_descriptors_is_an_error_and_recovers() {
    if role().as_deref() != Some("emfile") {
        let status = child(
            "accept_out_of_descriptors_is_an_error_and_recovers",
            "emfile",
            &[],
        )
        .status()
        .unwrap();
        assert!(status.success(), "the child failed: {status}");
        return;
    }
    let rt = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The client socket exists before the descriptors run out, so
        // connecting needs no new one.
        let client =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        // Use up every descriptor below a low limit.
        set_nofile(256);
        let mut hogs = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(file) => hogs.push(file),
                Err(err) => {
                    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
                    break;
                }
            }
        }
        client.connect(&addr.into()).unwrap();
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        // Free one descriptor: the pending connection is accepted.
        hogs.pop();
        let (_stream, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap().as_socket().unwrap());
    });
}

const CONNECTIONS: usize = 10_000;
const MESSAGES: u32 = 100;

#[test]
fn ten_thousand_connections_each_echo_a_hundred_messages() {
    match role().as_deref() {
        Some("clients") => return clients(),
        Some(_) => return,
        None => {}
    }
    set_nofile(nofile().1);
    assert!(
        nofile().0 >= CONNECTIONS as libc::rlim_t + 100,
        "RLIMIT_NOFILE too low for the server half: {:?}",
        nofile()
    );
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (listener, addr) = rt.block_on(async {
        let socket = weft::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        (socket.listen(4096).unwrap(), addr)
    });
    let server = rt.spawn(async move {
        let mut set = weft::task::JoinSet::new();
        for _ in 0..CONNECTIONS {
            let (mut stream, _) = listener.accept().await?;
            set.spawn(async move {
                let mut buf = [0u8; 64];
                loop {
                    match stream.read(&mut buf).await? {
                        0 => return io::Result::Ok(()),
                        n => stream.write_all(&buf[..n]).await?,
                    }
                }
            });
        }
        for done in set.join_all().await {
            done?;
        }
        io::Result::Ok(())
    });
    let status = child(
        "ten_thousand_connections_each_echo_a_hundred_messages",
        "clients",
        &[("WEFT_NET_ADDR", addr.to_string())],
    )
    .stdout(Stdio::inherit())
    .status()
    .unwrap();
    assert!(status.success(), "the clients failed: {status}");
    rt.block_on(server).unwrap().unwrap();
}

/// The child's half: 10,000 connections, each sending 100 numbered
/// messages and checking every echo in order. Each keeps its connection
/// open until all are done, so all 10,000 are open at once at the end.
fn clients() {
    set_nofile(nofile().1);
    let addr: std::net::SocketAddr = std::env::var("WEFT_NET_ADDR").unwrap().parse().unwrap();
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let streams = rt.block_on(async move {
        let mut set = weft::task::JoinSet::new();
        for c in 0..CONNECTIONS as u32 {
            set.spawn(async move {
                let mut stream = weft::net::TcpStream::connect(addr).await?;
                for m in 0..MESSAGES {
                    let message = [c.to_le_bytes(), m.to_le_bytes()].concat();
                    stream.write_all(&message).await?;
                    let mut echo = [0u8; 8];
                    stream.read_exact(&mut echo).await?;
                    assert_eq!(&echo[..], &message[..], "connection {c}, message {m}");
                }
                io::Result::Ok(stream)
            });
        }
        set.join_all()
            .await
            .into_iter()
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    });
    assert_eq!(streams.len(), CONNECTIONS);
    drop(streams);
}
