//! `weft_runtime::io::{stdin, stdout, stderr}` in a real process: this
//! test binary, run again as a child with `WEFT_STDIO_CHILD` set, copies
//! its standard input to its standard output and error through weft's
//! handles while the parent feeds and reads the pipes.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use weft_reactor::io::{AsyncReadExt, AsyncWriteExt};

const CHILD_ENV: &str = "WEFT_STDIO_CHILD";
/// The test harness prints to stdout around the test; the copy sits
/// between these.
const BEGIN: &[u8] = b"<<weft-stdio-begin>>";
const END: &[u8] = b"<<weft-stdio-end>>";

fn payload() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i * 7 + i / 256) as u8).collect()
}

#[test]
fn stdin_is_copied_to_stdout_and_stderr() {
    if std::env::var(CHILD_ENV).is_ok() {
        return child();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "stdin_is_copied_to_stdout_and_stderr",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        stdin.write_all(&payload()).unwrap();
        // Dropped: the child reads end of input.
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut out = Vec::new();
        stderr.read_to_end(&mut out).unwrap();
        out
    });
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    let err = errors.join().unwrap();
    assert!(
        status.success(),
        "the child failed: {status}\n{}",
        String::from_utf8_lossy(&err)
    );

    let start = find(&out, BEGIN).expect("no begin marker") + BEGIN.len();
    let end = find(&out, END).expect("no end marker");
    assert!(
        out[start..end] == payload()[..],
        "stdout differs from stdin"
    );
    assert_eq!(&err[..], b"copied 3000000 bytes\n");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Copies stdin to stdout in reads of odd sizes, then reports on stderr.
fn child() {
    let rt = weft_runtime::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut stdin = weft_runtime::io::stdin();
        let mut stdout = weft_runtime::io::stdout();
        stdout.write_all(BEGIN).await.unwrap();
        let mut buf = vec![0u8; 70_001];
        let mut total = 0;
        for size in [1, 4096, 70_001, 13].iter().cycle() {
            let n = stdin.read(&mut buf[..*size]).await.unwrap();
            if n == 0 {
                break;
            }
            stdout.write_all(&buf[..n]).await.unwrap();
            total += n;
        }
        stdout.write_all(END).await.unwrap();
        stdout.flush().await.unwrap();
        let mut stderr = weft_runtime::io::stderr();
        stderr
            .write_all(format!("copied {total} bytes\n").as_bytes())
            .await
            .unwrap();
        stderr.flush().await.unwrap();
    });
}

#[test]
fn the_handles_can_move_between_tasks() {
    fn send_sync<T: Send + Sync + Unpin + 'static>() {}
    send_sync::<weft_runtime::io::Stdin>();
    send_sync::<weft_runtime::io::Stdout>();
    send_sync::<weft_runtime::io::Stderr>();
}
