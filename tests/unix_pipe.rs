//! `weft::net::unix::pipe`: anonymous pipes and FIFO ends on the reactor,
//! with tokio's constructors, checks and errors (not a FIFO, wrong access
//! mode, `ENXIO` for a sender with no reader), end of file when the
//! writers leave (and none for a read-write receiver), the `try_*`
//! methods, readiness waits, and the descriptors handed back blocking or
//! not.
#![cfg(unix)]

use std::fs::File;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use weft::io::{AsyncReadExt, AsyncWriteExt, Interest};
use weft::net::unix::pipe::{self, OpenOptions, Receiver, Sender};

/// A FIFO in a fresh temporary directory, both removed on drop.
struct Fifo {
    dir: PathBuf,
    path: PathBuf,
}

impl Fifo {
    fn new() -> Fifo {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("weft-fifo-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fifo");
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c_path` is a valid NUL-terminated string for the call.
        let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
        assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
        Fifo { dir, path }
    }

    /// An ordinary file next to the FIFO.
    fn regular_file(&self) -> PathBuf {
        let path = self.dir.join("regular");
        File::create(&path).unwrap();
        path
    }
}

impl AsRef<Path> for Fifo {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_nonblocking(fd: &impl AsFd) -> bool {
    // SAFETY: the descriptor is open for the call; F_GETFL takes no
    // argument.
    let flags = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0);
    flags & libc::O_NONBLOCK != 0
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

const DATA: &[u8] = b"this is some data to write to the pipe";

#[weft::test]
async fn an_anonymous_pipe_carries_bytes_then_end_of_file() {
    let (mut tx, mut rx) = pipe::pipe().unwrap();
    let reader = weft::spawn(async move {
        let mut buf = vec![0; DATA.len()];
        rx.read_exact(&mut buf).await.unwrap();
        let mut rest = Vec::new();
        rx.read_to_end(&mut rest).await.unwrap();
        (buf, rest)
    });
    tx.write_all(DATA).await.unwrap();
    drop(tx);
    let (got, rest) = reader.await.unwrap();
    assert_eq!(got, DATA);
    assert!(rest.is_empty());
}

#[weft::test]
async fn a_read_waits_for_the_writer() {
    let (mut tx, mut rx) = pipe::pipe().unwrap();
    let mut buf = [0; 4];
    let mut read = Box::pin(rx.read_exact(&mut buf));
    assert!(poll_once(read.as_mut()).is_pending());
    tx.write_all(b"ping").await.unwrap();
    read.await.unwrap();
    assert_eq!(&buf, b"ping");
}

#[weft::test]
async fn both_ends_use_futures_io_too() {
    use weft::io::futures::{AsyncReadExt as FuturesRead, AsyncWriteExt as FuturesWrite};
    let (mut tx, mut rx) = pipe::pipe().unwrap();
    FuturesWrite::write_all(&mut tx, b"meow").await.unwrap();
    // A no-op on a pipe, as tokio's `shutdown`: the data still flows.
    FuturesWrite::close(&mut tx).await.unwrap();
    FuturesWrite::write_all(&mut tx, b"!").await.unwrap();
    drop(tx);
    let mut got = Vec::new();
    FuturesRead::read_to_end(&mut rx, &mut got).await.unwrap();
    assert_eq!(got, b"meow!");
}

#[weft::test]
async fn a_fifo_receiver_opens_alone_and_reads_what_a_sender_writes() {
    let fifo = Fifo::new();
    let mut rx = OpenOptions::new().open_receiver(&fifo).unwrap();
    let mut tx = OpenOptions::new().open_sender(&fifo).unwrap();
    tx.write_all(DATA).await.unwrap();
    let mut buf = vec![0; DATA.len()];
    rx.read_exact(&mut buf).await.unwrap();
    assert_eq!(buf, DATA);
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[weft::test]
async fn a_sender_with_no_reader_fails_with_enxio_unless_read_write() {
    let fifo = Fifo::new();
    let err = OpenOptions::new().open_sender(&fifo).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENXIO));

    let mut tx = OpenOptions::new()
        .read_write(true)
        .open_sender(&fifo)
        .unwrap();
    tx.write_all(DATA).await.unwrap();
    let mut rx = OpenOptions::new().open_receiver(&fifo).unwrap();
    let mut buf = vec![0; DATA.len()];
    rx.read_exact(&mut buf).await.unwrap();
    assert_eq!(buf, DATA);
}

async fn write_and_close(fifo: &Fifo, data: &[u8]) {
    let mut tx = OpenOptions::new().open_sender(fifo).unwrap();
    tx.write_all(data).await.unwrap();
}

#[weft::test]
async fn a_receiver_sees_end_of_file_after_each_writer_and_reads_on_after_the_next() {
    let fifo = Fifo::new();
    let mut rx = OpenOptions::new().open_receiver(&fifo).unwrap();
    write_and_close(&fifo, DATA).await;
    let ready = rx.ready(Interest::READABLE).await.unwrap();
    assert!(ready.is_readable());
    let mut buf = vec![0; DATA.len()];
    rx.read_exact(&mut buf).await.unwrap();
    let err = rx.read_exact(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

    write_and_close(&fifo, b"second").await;
    let mut second = [0; 6];
    rx.read_exact(&mut second).await.unwrap();
    assert_eq!(&second, b"second");
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[weft::test]
async fn a_read_write_receiver_never_sees_end_of_file_and_waits_for_the_next_writer() {
    let fifo = Fifo::new();
    let mut rx = OpenOptions::new()
        .read_write(true)
        .open_receiver(&fifo)
        .unwrap();
    write_and_close(&fifo, DATA).await;
    let ready = rx.ready(Interest::READABLE).await.unwrap();
    let mut buf = vec![0; DATA.len()];
    rx.read_exact(&mut buf).await.unwrap();
    assert!(!ready.is_read_closed());

    let mut next = Box::pin(rx.read_exact(&mut buf));
    assert!(poll_once(next.as_mut()).is_pending());
    write_and_close(&fifo, DATA).await;
    next.await.unwrap();
    assert_eq!(buf, DATA);
}

#[weft::test]
async fn what_is_not_a_fifo_is_invalid_input_unless_unchecked() {
    let fifo = Fifo::new();
    let regular = fifo.regular_file();
    for err in [
        OpenOptions::new().open_sender(&regular).unwrap_err(),
        OpenOptions::new().open_receiver(&regular).unwrap_err(),
        Sender::from_file(File::options().write(true).open(&regular).unwrap()).unwrap_err(),
        Receiver::from_file(File::open(&regular).unwrap()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }
    // A socket is no pipe either.
    let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let err = Receiver::from_owned_fd(socket.into()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

    // Unchecked, the open is taken at its word: a FIFO opens as ever, and
    // a regular file gets past the check (the reactor may refuse it: epoll
    // does, with `EPERM`).
    let rx = OpenOptions::new()
        .unchecked(true)
        .open_receiver(&fifo)
        .unwrap();
    assert!(is_nonblocking(&rx));
    if let Err(err) = OpenOptions::new().unchecked(true).open_receiver(&regular) {
        assert_ne!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }
}

#[weft::test]
async fn an_end_opened_in_the_wrong_access_mode_is_invalid_input() {
    let fifo = Fifo::new();
    let _reader = OpenOptions::new().open_receiver(&fifo).unwrap();
    let write_only = File::options()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let err = Receiver::from_file(write_only).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("O_RDONLY or O_RDWR"), "{err}");

    let read_only = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let err = Sender::from_file(read_only).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("O_WRONLY or O_RDWR"), "{err}");
}

#[weft::test]
async fn from_file_makes_a_blocking_end_non_blocking_and_it_works() {
    let fifo = Fifo::new();
    // Both ends open, so the blocking opens below return at once.
    let _reader = OpenOptions::new().open_receiver(&fifo).unwrap();
    let _writer = OpenOptions::new().open_sender(&fifo).unwrap();

    let read_only = File::open(&fifo).unwrap();
    assert!(!is_nonblocking(&read_only));
    let mut rx = Receiver::from_file(read_only).unwrap();
    assert!(is_nonblocking(&rx));

    let write_only = File::options().write(true).open(&fifo).unwrap();
    assert!(!is_nonblocking(&write_only));
    let mut tx = Sender::from_file(write_only).unwrap();
    assert!(is_nonblocking(&tx));

    tx.write_all(b"via from_file").await.unwrap();
    let mut buf = [0; 13];
    rx.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"via from_file");
}

#[weft::test]
async fn ends_come_back_as_blocking_or_non_blocking_descriptors() {
    let (tx, rx) = pipe::pipe().unwrap();
    let (tx, rx) = (
        tx.into_nonblocking_fd().unwrap(),
        rx.into_nonblocking_fd().unwrap(),
    );
    assert!(is_nonblocking(&tx) && is_nonblocking(&rx));

    // Registered again from the descriptors, then handed back blocking.
    let tx = Sender::from_owned_fd(tx).unwrap();
    let rx = Receiver::from_owned_fd(rx).unwrap();
    let (tx, rx) = (
        tx.into_blocking_fd().unwrap(),
        rx.into_blocking_fd().unwrap(),
    );
    assert!(!is_nonblocking(&tx) && !is_nonblocking(&rx));

    // Still a working pipe, now with std's blocking I/O.
    use std::io::{Read, Write};
    File::from(tx).write_all(b"still a pipe").unwrap();
    let mut buf = [0; 12];
    File::from(rx).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"still a pipe");
}

/// Fills the pipe with `write` (given the count so far) until it reports
/// `WouldBlock`; how many bytes went in.
fn fill(tx: &Sender, mut write: impl FnMut(&Sender, usize) -> io::Result<usize>) -> usize {
    let mut written = 0;
    loop {
        match write(tx, written) {
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return written,
            Err(err) => panic!("{err}"),
        }
        assert!(written < 64 << 20, "the pipe never filled");
    }
}

/// Byte `i` of the stream `write_pattern` writes: `DATA` over and over.
fn pattern(len: usize) -> Vec<u8> {
    DATA.iter().copied().cycle().take(len).collect()
}

/// Writes the next bytes of the `pattern` stream after `written`.
fn write_pattern(tx: &Sender, written: usize, vectored: bool) -> io::Result<usize> {
    let start = written % DATA.len();
    let chunk: Vec<u8> = DATA[start..].iter().chain(DATA).copied().collect();
    if vectored {
        let slices: Vec<IoSlice<'_>> = chunk.chunks(3).map(IoSlice::new).collect();
        tx.try_write_vectored(&slices)
    } else {
        tx.try_write(&chunk)
    }
}

#[weft::test]
async fn try_methods_fill_and_drain_the_pipe() {
    for (vectored, how) in [(false, "plain"), (true, "vectored"), (false, "buf_mut")] {
        let (tx, rx) = pipe::pipe().unwrap();
        let written = pattern(fill(&tx, |tx, n| write_pattern(tx, n, vectored)));
        assert!(!written.is_empty());
        // Full: a writable wait does not complete now.
        let mut writable = Box::pin(tx.writable());
        assert!(poll_once(writable.as_mut()).is_pending(), "{how}");
        drop(writable);

        let mut read = Vec::with_capacity(written.len());
        while read.len() < written.len() {
            rx.readable().await.unwrap();
            let result = match how {
                "plain" => {
                    let mut buf = vec![0; 7000];
                    rx.try_read(&mut buf).map(|n| read.extend(&buf[..n]))
                }
                "vectored" => {
                    let (mut a, mut b) = (vec![0; 1000], vec![0; 5000]);
                    let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
                    rx.try_read_vectored(&mut bufs).map(|n| {
                        read.extend(a.iter().chain(b.iter()).take(n));
                    })
                }
                _ => rx.try_read_buf(&mut read).map(drop),
            };
            match result {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => panic!("{how}: {err}"),
            }
        }
        assert_eq!(read, written, "{how}");
        // Drained: nothing more, and not the end either.
        let err = rx.try_read(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{how}");
    }
}

#[weft::test]
async fn a_full_pipe_wakes_its_waiting_writer_when_read() {
    let (tx, rx) = pipe::pipe().unwrap();
    fill(&tx, |tx, _| tx.try_write(&[7; 4096]));
    let tx = std::sync::Arc::new(tx);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let tx = tx.clone();
            weft::spawn(async move { tx.writable().await })
        })
        .collect();
    weft::task::yield_now().await;
    // Drain it all: room again.
    let mut buf = vec![0; 1 << 16];
    loop {
        rx.readable().await.unwrap();
        match rx.try_read(&mut buf) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) => panic!("{err}"),
        }
    }
    for waiter in waiters {
        waiter.await.unwrap().unwrap();
    }
    assert!(tx.try_write(b"x").unwrap() == 1);
}

#[weft::test]
async fn the_writers_leaving_is_read_closed_readiness_and_end_of_file() {
    let (tx, rx) = pipe::pipe().unwrap();
    drop(tx);
    let ready = rx.ready(Interest::READABLE).await.unwrap();
    assert!(ready.is_read_closed(), "{ready:?}");
    assert_eq!(rx.try_read(&mut [0; 8]).unwrap(), 0);
}

#[weft::test]
async fn writing_with_no_reader_left_is_broken_pipe() {
    let (mut tx, rx) = pipe::pipe().unwrap();
    drop(rx);
    let err = tx.write_all(b"anyone?").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    let err = tx.try_write(b"anyone?").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[weft::test]
async fn try_io_runs_only_on_readiness_and_a_would_block_clears_it() {
    let (tx, rx) = pipe::pipe().unwrap();
    tx.writable().await.unwrap(); // the reactor has seen the first event

    let mut called = false;
    let _ = tx.try_io(|| {
        called = true;
        Ok(())
    });
    assert!(called, "a fresh pipe is writable");
    let _ = tx.try_io(|| io::Result::<()>::Err(io::ErrorKind::WouldBlock.into()));
    let mut called = false;
    let _ = tx.try_io(|| {
        called = true;
        Ok(())
    });
    assert!(!called, "the WouldBlock cleared the writable readiness");

    let mut called = false;
    let err = rx
        .try_io(|| {
            called = true;
            Ok(())
        })
        .unwrap_err();
    assert!(!called, "an empty pipe is not readable");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

    // `try_write` tries whatever the readiness says (a `write_all` would
    // wait for a new edge: the `WouldBlock` above cleared the readiness).
    assert_eq!(tx.try_write(&[0]).unwrap(), 1);
    rx.readable().await.unwrap();
    let mut called = false;
    let _ = rx.try_io(|| {
        called = true;
        Ok(())
    });
    assert!(called, "a pipe with data is readable");
}

#[weft::test]
async fn poll_ready_methods_say_ready_and_register_the_waker() {
    let (tx, rx) = pipe::pipe().unwrap();
    std::future::poll_fn(|cx| tx.poll_write_ready(cx))
        .await
        .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(rx.poll_read_ready(&mut cx).is_pending());
    tx.try_write(b"x").unwrap();
    std::future::poll_fn(|cx| rx.poll_read_ready(cx))
        .await
        .unwrap();
}

#[weft::test]
async fn a_sender_made_blocking_is_a_child_stdout() {
    let (tx, mut rx) = pipe::pipe().unwrap();
    let status = weft::process::Command::new("printf")
        .arg("%s")
        .arg("to the pipe")
        .stdout(tx.into_blocking_fd().unwrap())
        .status();
    let mut got = String::new();
    // The command holds our only write end: end of file comes once the
    // child exits and the command's copy is dropped.
    let (status, read) = weft::join!(status, rx.read_to_string(&mut got));
    assert!(status.unwrap().success());
    read.unwrap();
    assert_eq!(got, "to the pipe");
    assert_eq!(rx.try_read(&mut []).unwrap(), 0);
}

#[test]
fn a_pipe_outside_a_runtime_is_a_panic_naming_the_fix() {
    let panic = std::panic::catch_unwind(pipe::pipe).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("no weft runtime"), "{message}");
}

/// tokio's Send/Sync/Unpin of the pipe types and their futures.
#[allow(dead_code)]
fn send_sync_unpin() {
    fn send_sync_unpin<T: Send + Sync + Unpin>(_: &T) {}
    fn send_sync<T: Send + Sync>(_: &T) {}
    let check = |options: OpenOptions, tx: Sender, rx: Receiver| {
        send_sync_unpin(&options);
        send_sync(&tx.writable());
        send_sync(&tx.ready(Interest::WRITABLE));
        send_sync(&rx.readable());
        send_sync(&rx.ready(Interest::READABLE));
        send_sync_unpin(&tx);
        send_sync_unpin(&rx);
    };
    let _ = check;
}
