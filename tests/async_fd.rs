//! `weft::io::unix::AsyncFd` and `weft::io::{Interest, Ready}` as tokio
//! code uses them: guards that clear readiness only when told, `try_io`
//! that runs nothing on a source not ready, any number of tasks waiting on
//! one descriptor, priority and error readiness, and errors once the
//! runtime is gone.
#![cfg(unix)]

use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use weft::io::unix::AsyncFd;
use weft::io::{Interest, Ready};

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn register<T: AsRawFd>(io: T) -> AsyncFd<T> {
    // SAFETY: every `T` here owns its descriptor (or borrows one that
    // outlives the `AsyncFd`), and keeps it open while registered.
    unsafe { AsyncFd::register(io) }.unwrap()
}

/// Polls `future` once with a waker that does nothing: whether it is
/// still pending.
fn pending<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
    future
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending()
}

#[weft::test]
async fn a_guard_keeps_readiness_until_an_operation_would_block() {
    let (a, mut b) = pair();
    let fd = register(a);
    assert!(pending(pin!(fd.readable())), "nothing written yet");

    b.write_all(b"xy").unwrap();
    let mut guard = fd.readable().await.unwrap();
    assert!(guard.ready().is_readable());
    let mut byte = [0];
    let read = guard.try_io(|fd| fd.get_ref().read(&mut byte));
    assert_eq!(read.unwrap().unwrap(), 1);

    // One byte is left and nothing cleared: still readable.
    let mut guard = fd.readable().await.unwrap();
    assert_eq!(
        guard
            .try_io(|fd| fd.get_ref().read(&mut byte))
            .unwrap()
            .unwrap(),
        1
    );
    // Now the read blocks, which clears the readiness.
    assert!(guard.try_io(|fd| fd.get_ref().read(&mut byte)).is_err());
    assert!(pending(pin!(fd.readable())), "cleared by the blocked read");

    b.write_all(b"z").unwrap();
    fd.readable().await.unwrap().retain_ready();
}

#[weft::test]
async fn try_io_runs_nothing_on_a_source_not_ready_and_clears_on_would_block() {
    let (a, mut b) = pair();
    let mut fd = register(a);
    // Writable from the start: wait for the reactor to say so.
    fd.writable().await.unwrap().retain_ready();

    let mut called = false;
    let result = fd.try_io_mut(Interest::READABLE, |_| {
        called = true;
        Ok(())
    });
    assert_eq!(result.unwrap_err().kind(), io::ErrorKind::WouldBlock);
    assert!(!called, "ran although not readable");

    b.write_all(b"!").unwrap();
    fd.readable().await.unwrap().retain_ready();
    let blocked = fd.try_io(Interest::READABLE, |_| {
        io::Result::<()>::Err(io::ErrorKind::WouldBlock.into())
    });
    assert!(blocked.is_err());
    let mut called = false;
    let _ = fd.try_io(Interest::READABLE, |_| {
        called = true;
        Ok(())
    });
    assert!(!called, "the WouldBlock cleared the readiness");
}

#[weft::test]
async fn clear_ready_matching_clears_one_direction() {
    let (a, mut b) = pair();
    let fd = register(a);
    b.write_all(b"0").unwrap();
    let mut guard = loop {
        let guard = fd
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await
            .unwrap();
        if guard.ready() == Ready::READABLE | Ready::WRITABLE {
            break guard;
        }
    };
    guard.clear_ready_matching(Ready::READABLE);
    assert_eq!(guard.ready(), Ready::WRITABLE);
    guard.clear_ready_matching(Ready::WRITABLE);
    assert_eq!(guard.ready(), Ready::EMPTY);
    drop(guard);
    assert!(pending(pin!(fd.readable())));
    assert!(pending(pin!(fd.writable())));
}

#[weft::test]
async fn every_task_waiting_on_one_descriptor_wakes() {
    let (a, mut b) = pair();
    let fd = Arc::new(register(a));
    let woken = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (fd, woken) = (fd.clone(), woken.clone());
        tasks.push(weft::spawn(async move {
            let _guard = fd.readable().await.unwrap();
            woken.fetch_add(1, Ordering::SeqCst);
        }));
    }
    // On this one thread, the yield lets every task run up to its wait.
    weft::task::yield_now().await;
    assert_eq!(woken.load(Ordering::SeqCst), 0);
    b.write_all(b"0").unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 10);
}

#[weft::test]
async fn a_dropped_wait_leaves_the_others_waiting() {
    let (a, mut b) = pair();
    let fd = register(a);
    let mut first = Box::pin(fd.readable());
    let mut second = Box::pin(fd.readable());
    assert!(pending(first.as_mut()));
    assert!(pending(second.as_mut()));
    drop(first);
    b.write_all(b"0").unwrap();
    second.await.unwrap().clear_ready();
}

#[weft::test]
async fn into_inner_keeps_the_descriptor_open_and_it_can_register_again() {
    let (a, mut b) = pair();
    let fd = register(a);
    let a = fd.into_inner();
    b.write_all(b"1").unwrap();
    let fd = register(a);
    let guard = fd.readable().await.unwrap();
    assert!(guard.get_inner().as_raw_fd() >= 0);
}

#[derive(Debug)]
struct Invalid;

impl AsRawFd for Invalid {
    fn as_raw_fd(&self) -> RawFd {
        -1
    }
}

#[weft::test]
async fn a_failed_registration_hands_the_object_back() {
    let original = Arc::new(Invalid);
    // SAFETY: registration fails (no descriptor), so nothing is kept.
    let error = unsafe { AsyncFd::register(original.clone()) }.unwrap_err();
    let (returned, cause) = error.into_parts();
    assert!(Arc::ptr_eq(&original, &returned));
    assert_eq!(cause.raw_os_error(), Some(libc::EBADF));
    #[allow(deprecated)]
    let error = AsyncFd::try_with_interest(original.clone(), Interest::READABLE).unwrap_err();
    assert!(Arc::ptr_eq(&original, &error.into_parts().0));
}

#[cfg(target_os = "linux")]
#[weft::test]
async fn out_of_band_data_is_priority_readiness() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client.set_nonblocking(true).unwrap();
    // SAFETY: the stream owns its descriptor.
    let client = unsafe { AsyncFd::register_with_interest(client, Interest::PRIORITY) }.unwrap();
    let (server, _) = listener.accept().unwrap();
    // SAFETY: a valid buffer of the length given, on an open socket.
    let sent = unsafe { libc::send(server.as_raw_fd(), b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(sent, 1);
    let guard = client.ready(Interest::PRIORITY).await.unwrap();
    assert!(guard.ready().is_priority());
}

#[cfg(target_os = "linux")]
#[weft::test]
async fn an_error_queue_entry_is_error_readiness() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid `c_int` of the length given.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_IP,
            libc::IP_RECVERR,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0);
    // Nobody listens on port 9 of the loopback: the ICMP error lands in
    // the socket's error queue.
    socket.send_to(b"anyone?", "127.0.0.1:9").unwrap();
    let fd = register(socket);
    let guard = fd.ready(Interest::ERROR).await.unwrap();
    assert_eq!(guard.ready(), Ready::ERROR);
}

#[test]
fn waits_fail_once_the_runtime_is_gone() {
    let runtime = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (a, _b) = pair();
    let fd = {
        let _enter = runtime.enter();
        register(a)
    };
    let mut readable = Box::pin(fd.readable());
    assert!(pending(readable.as_mut()));
    drop(runtime);
    let poll = readable
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(poll, Poll::Ready(Err(_))), "{poll:?}");
    drop(readable);
    let poll = std::future::poll_fn(|cx| Poll::Ready(fd.poll_read_ready(cx).map_ok(drop)));
    let poll = futures_executor::block_on(poll);
    assert!(matches!(poll, Poll::Ready(Err(_))), "{poll:?}");
}
