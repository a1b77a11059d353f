//! `weft::process` as tokio code uses it beyond spawning: the child pipes'
//! `from_std` / `into_owned_fd` / descriptors and their conversion into
//! another child's `Stdio`, the process types' Send/Sync/Unpin, and a
//! child waited for in another runtime than the one that spawned it (that
//! one dropped, or still running).
#![cfg(unix)]

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::process::Stdio;
use std::task::Poll;

use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

fn is_nonblocking(fd: &impl AsFd) -> bool {
    // SAFETY: the descriptor is open for the call; F_GETFL takes no
    // argument.
    let flags = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0);
    flags & libc::O_NONBLOCK != 0
}

/// True once `pid` is no child of ours any more: reaped (or never ours).
/// `WNOWAIT` leaves a zombie as it is, so looking reaps nothing.
fn reaped(pid: u32) -> bool {
    // SAFETY: `siginfo_t` is plain data, valid when zeroed.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid, writable `siginfo_t` for the whole call.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    rc == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
}

#[weft::test]
async fn a_std_childs_pipes_are_taken_over_with_from_std() {
    let mut std_child = std::process::Command::new("sh")
        .args(["-c", "cat; echo done >&2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = ChildStdin::from_std(std_child.stdin.take().unwrap()).unwrap();
    let mut stdout = ChildStdout::from_std(std_child.stdout.take().unwrap()).unwrap();
    let mut stderr = ChildStderr::from_std(std_child.stderr.take().unwrap()).unwrap();
    assert!(is_nonblocking(&stdin) && is_nonblocking(&stdout) && is_nonblocking(&stderr));
    assert_eq!(stdin.as_raw_fd(), stdin.as_fd().as_raw_fd());

    stdin.write_all(b"through cat").await.unwrap();
    drop(stdin);
    let (mut out, mut err) = (String::new(), String::new());
    stdout.read_to_string(&mut out).await.unwrap();
    stderr.read_to_string(&mut err).await.unwrap();
    assert_eq!(out, "through cat");
    assert_eq!(err, "done\n");
    assert!(std_child.wait().unwrap().success());
}

#[weft::test]
async fn one_childs_stdout_is_the_next_childs_stdin() {
    let mut first = Command::new("printf")
        .arg("lower case")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let piped: Stdio = first.stdout.take().unwrap().try_into().unwrap();
    let out = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(piped)
        .output()
        .await
        .unwrap();
    assert!(first.wait().await.unwrap().success());
    assert!(out.status.success());
    assert_eq!(out.stdout, b"LOWER CASE");
}

#[weft::test]
async fn into_owned_fd_hands_back_a_blocking_descriptor() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap().into_owned_fd().unwrap();
    let stdout = child.stdout.take().unwrap().into_owned_fd().unwrap();
    assert!(!is_nonblocking(&stdin) && !is_nonblocking(&stdout));
    // Plain blocking I/O on them now.
    use std::io::{Read, Write};
    std::fs::File::from(stdin).write_all(b"blocking").unwrap(); // closed after
    let mut got = String::new();
    std::fs::File::from(stdout)
        .read_to_string(&mut got)
        .unwrap();
    assert_eq!(got, "blocking");
    assert!(child.wait().await.unwrap().success());
}

#[weft::test]
async fn a_stdin_shut_down_has_no_descriptor_to_hand_back() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    assert!(stdin.as_raw_fd() >= 0);
    stdin.shutdown().await.unwrap(); // weft closes the pipe: cat ends
    assert!(child.wait().await.unwrap().success());
    assert_eq!(stdin.as_raw_fd(), -1);
    let err = stdin.write_all(b"late").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    let err = stdin.into_owned_fd().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn a_child_spawned_in_a_dropped_runtime_is_waited_for_in_another() {
    // tokio's `process_spawned_and_wait_in_different_runtime`.
    let mut child = weft::runtime::Runtime::new().unwrap().block_on(async {
        Command::new("true")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    });
    let status = weft::runtime::Runtime::new()
        .unwrap()
        .block_on(async { child.wait().await })
        .unwrap();
    assert!(status.success());
    assert_eq!(child.id(), None, "reaped");
}

#[test]
fn a_child_still_running_when_its_runtime_drops_is_waited_for_in_another() {
    // `read` holds the child until we close its stdin from the second
    // runtime, so its exit comes after the first runtime is gone.
    let mut child = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            Command::new("sh")
                .args(["-c", "read line; exit 3"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap()
        });
    let stdin = child.stdin.take().unwrap().into_owned_fd().unwrap();
    let second = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let status = second.block_on(async {
        let mut wait = Box::pin(child.wait());
        let polled = std::future::poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "exited before its stdin closed");
        drop(stdin); // now it may exit
        wait.await
    });
    assert_eq!(status.unwrap().code(), Some(3));
}

#[test]
fn a_child_is_waited_for_in_another_runtime_while_its_own_runs() {
    let first = weft::runtime::Runtime::new().unwrap();
    let mut child =
        first.block_on(async { Command::new("sh").args(["-c", "exit 5"]).spawn().unwrap() });
    let second = weft::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let status = second.block_on(child.wait()).unwrap();
    assert_eq!(status.code(), Some(5));
    // And back in the first, the status is kept.
    let again = first.block_on(child.wait()).unwrap();
    assert_eq!(again.code(), Some(5));
}

#[test]
fn a_child_killed_from_another_runtime_is_reaped_there() {
    let mut child = weft::runtime::Runtime::new()
        .unwrap()
        .block_on(async { Command::new("sleep").arg("1000").spawn().unwrap() });
    let pid = child.id().unwrap();
    weft::runtime::Runtime::new()
        .unwrap()
        .block_on(child.kill())
        .unwrap();
    assert_eq!(child.id(), None);
    assert!(reaped(pid));
}

#[test]
fn a_wait_outside_any_runtime_whose_runtime_is_gone_is_an_error() {
    let mut child = weft::runtime::Runtime::new().unwrap().block_on(async {
        Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    });
    let waited = futures_executor::block_on(child.wait());
    let err = waited.unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    // The child is still ours: a runtime can kill and reap it.
    weft::runtime::Runtime::new()
        .unwrap()
        .block_on(child.kill())
        .unwrap();
}

/// tokio's `async_send_sync.rs` for the process types and their futures.
#[allow(dead_code)]
fn send_sync_unpin(mut child: Child, command: Command) {
    fn send_sync_unpin<T: Send + Sync + Unpin>(_: &T) {}
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync_unpin(&command);
    send_sync_unpin(&child.stdin);
    send_sync_unpin(&child.stdout);
    send_sync_unpin(&child.stderr);
    send_sync(&child.kill());
    send_sync(&child.wait());
    send_sync_unpin(&child);
    send_sync(&child.wait_with_output());
}
