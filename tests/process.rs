//! `weft::process`: children whose pipes and exits the reactor drives.
//! Output larger than a pipe does not deadlock, statuses say how a child
//! ended, and no child is left a zombie, whether waited for, killed or
//! dropped.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::process::Command;
use weft::signal::unix::{signal, SignalKind};

/// Well past the 64 KiB a Linux pipe holds.
const BIG: usize = 8 << 20;

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

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_larger_than_a_pipe_on_both_streams_does_not_deadlock() {
    let script = format!(
        "head -c {BIG} /dev/zero | tr '\\0' e >&2 & head -c {BIG} /dev/zero | tr '\\0' o; wait"
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(out.stdout.len(), BIG);
    assert_eq!(out.stderr.len(), BIG);
    assert!(out.stdout.iter().all(|&b| b == b'o'));
    assert!(out.stderr.iter().all(|&b| b == b'e'));
}

#[weft::test]
async fn output_on_the_current_thread_runtime_reads_both_pipes_while_waiting() {
    let script = format!("head -c {BIG} /dev/zero >&2; head -c {BIG} /dev/zero");
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert_eq!((out.stdout.len(), out.stderr.len()), (BIG, BIG));
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_piped_to_cat_comes_back_on_stdout() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data: Vec<u8> = (0..BIG / 4).map(|i| (i % 251) as u8).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = {
        let data = data.clone();
        weft::spawn(async move {
            stdin.write_all(&data).await.unwrap();
            stdin.shutdown().await.unwrap(); // cat reads end of file
            assert_eq!(
                stdin.write(b"late").await.unwrap_err().kind(),
                io::ErrorKind::BrokenPipe
            );
        })
    };
    let mut echoed = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut echoed)
        .await
        .unwrap();
    writer.await.unwrap();
    assert!(echoed == data, "cat gave back {} bytes", echoed.len());
    assert!(child.wait().await.unwrap().success());
}

#[weft::test]
async fn statuses_carry_exit_codes_and_signals() {
    let success = Command::new("true").status().await.unwrap();
    assert!(success.success());
    assert_eq!(success.code(), Some(0));

    let three = Command::new("sh")
        .args(["-c", "exit 3"])
        .status()
        .await
        .unwrap();
    assert!(!three.success());
    assert_eq!(three.code(), Some(3));

    let terminated = Command::new("sh")
        .args(["-c", "kill -TERM $$"])
        .status()
        .await
        .unwrap();
    assert_eq!(terminated.code(), None);
    assert_eq!(terminated.signal(), Some(libc::SIGTERM));
}

#[weft::test]
async fn kill_then_wait_reaps_the_child() {
    let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = child.id().expect("running");
    assert!(!reaped(pid));
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().await.unwrap();
    assert!(reaped(pid), "pid {pid} is still a child of ours");
    assert_eq!(child.id(), None);
    let status = child.try_wait().unwrap().expect("exited");
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    // Waiting and killing again: the same status, no error.
    assert_eq!(child.wait().await.unwrap(), status);
    child.start_kill().unwrap();
}

#[weft::test]
async fn start_kill_then_wait_reports_the_signal() {
    let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = child.id().unwrap();
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert!(reaped(pid));
}

#[weft::test]
async fn a_dropped_child_with_kill_on_drop_is_killed_and_reaped() {
    // Listening for SIGCHLD ourselves: the runtime reaps orphans before it
    // wakes SIGCHLD listeners, so each wake-up is a moment to look.
    let mut sigchld = signal(SignalKind::child()).unwrap();
    let child = Command::new("sleep")
        .arg("1000")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    drop(child);
    while !reaped(pid) {
        sigchld.recv().await.unwrap();
    }
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_child_is_reaped_when_it_exits_on_its_own() {
    let mut sigchld = signal(SignalKind::child()).unwrap();
    let child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
    let pid = child.id().unwrap();
    assert!(!reaped(pid));
    // Dropping the child drops its stdin too: cat reads end of file and
    // exits after the `Child` is gone.
    drop(child);
    while !reaped(pid) {
        sigchld.recv().await.unwrap();
    }
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_children_at_once() {
    let mut set = weft::task::JoinSet::new();
    for i in 0..100u32 {
        set.spawn(async move {
            let out = Command::new("sh")
                .args(["-c", "echo $1; exit $(($1 % 7))", "sh", &i.to_string()])
                .output()
                .await
                .unwrap();
            assert_eq!(out.stdout, format!("{i}\n").into_bytes());
            assert_eq!(out.status.code(), Some((i % 7) as i32));
        });
    }
    let mut done = 0;
    while let Some(res) = set.join_next().await {
        res.unwrap();
        done += 1;
    }
    assert_eq!(done, 100);
}

#[weft::test]
async fn a_missing_program_is_not_found() {
    let missing = "/nonexistent/weft-no-such-program";
    let err = Command::new(missing).spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = Command::new(missing).output().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = Command::new("weft-no-such-program-in-path")
        .status()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[weft::test]
async fn output_leaves_the_command_as_it_was() {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        "echo out; if [ -z \"$QUIET\" ]; then echo err >&2; fi",
    ]);
    let out = command.output().await.unwrap();
    assert_eq!(
        (&out.stdout[..], &out.stderr[..]),
        (&b"out\n"[..], &b"err\n"[..])
    );
    // spawn's defaults are std's (inherit): no pipes.
    let mut child = command
        .env("QUIET", "1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(child.stdin.is_none() && child.stdout.is_none() && child.stderr.is_none());
    assert!(child.wait().await.unwrap().success());
    // What the caller set wins over output()'s defaults.
    let out = command
        .env_remove("QUIET")
        .stderr(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[weft::test]
async fn environment_and_working_directory_reach_the_child() {
    let dir = std::env::temp_dir();
    let out = Command::new("sh")
        .args(["-c", "echo \"$WEFT_A:$WEFT_B:$HOME:$(pwd)\""])
        .env_clear()
        .envs([("WEFT_A", "a"), ("WEFT_B", "b")])
        .env("HOME", "h")
        .env_remove("WEFT_B")
        .env("PATH", std::env::var_os("PATH").unwrap())
        .current_dir(&dir)
        .output()
        .await
        .unwrap();
    let pwd = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("a::h:{}\n", pwd.display())
    );
}

#[weft::test]
async fn wait_closes_stdin_so_a_reader_can_finish() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(child.wait().await.unwrap().success());
    assert!(child.stdin.is_none());
}

#[weft::test]
async fn child_pipes_speak_tokio_io() {
    use std::future::poll_fn;
    use std::mem::MaybeUninit;
    use std::pin::Pin;
    use weft::io::{AsyncRead, AsyncWrite, ReadBuf};

    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let n = poll_fn(|cx| Pin::new(&mut stdin).poll_write(cx, b"tokio"))
        .await
        .unwrap();
    assert_eq!(n, 5);
    poll_fn(|cx| Pin::new(&mut stdin).poll_shutdown(cx))
        .await
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut storage = [MaybeUninit::uninit(); 16];
    let mut got = Vec::new();
    loop {
        let mut buf = ReadBuf::uninit(&mut storage);
        poll_fn(|cx| Pin::new(&mut stdout).poll_read(cx, &mut buf))
            .await
            .unwrap();
        if buf.filled().is_empty() {
            break;
        }
        got.extend_from_slice(buf.filled());
    }
    assert_eq!(got, b"tokio");
    assert!(child.wait().await.unwrap().success());
}
