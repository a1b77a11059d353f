//! `weft::process::Command`'s Unix settings with tokio's names (`arg0`,
//! `process_group`, `uid` / `gid`, `pre_exec`), its std accessors, and a
//! `Child` killed after it was reaped.
#![cfg(unix)]

use std::io;

use weft::process::Command;

#[weft::test]
async fn arg0_is_what_the_child_sees_itself_run_as() {
    let mut cmd = Command::new("sh");
    cmd.arg0("test_string").arg("-c").arg("echo $0");
    let output = cmd.output().await.unwrap();
    assert_eq!(output.stdout, b"test_string\n");
}

#[cfg(target_os = "linux")]
#[weft::test]
async fn process_group_zero_makes_the_child_a_group_leader() {
    let output = Command::new("sh")
        .args(["-c", "echo $$; cut -d' ' -f5 /proc/$$/stat"])
        .process_group(0)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let (pid, pgid) = (lines.next().unwrap(), lines.next().unwrap());
    assert_eq!(pid, pgid, "{text}");
    // SAFETY: a plain getter without arguments.
    let ours = unsafe { libc::getpgrp() };
    assert_ne!(pgid, ours.to_string());
}

#[weft::test]
async fn uid_and_gid_of_our_own_need_no_privilege() {
    // SAFETY: plain getters without arguments.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let output = Command::new("sh")
        .args(["-c", "id -u; id -g"])
        .uid(uid)
        .gid(gid)
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{uid}\n{gid}\n")
    );
}

#[weft::test]
async fn a_pre_exec_error_fails_the_spawn_with_it() {
    let mut cmd = Command::new("true");
    // SAFETY: the closure only builds an error from a number: no
    // allocation, async-signal-safe.
    unsafe { cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EDOM))) };
    let err = cmd.spawn().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EDOM));

    let mut ok = Command::new("true");
    // SAFETY: as above; this closure does nothing at all.
    unsafe { ok.pre_exec(|| Ok(())) };
    assert!(ok.status().await.unwrap().success());
}

#[weft::test]
async fn std_accessors_and_kill_on_drop_read_back() {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("exit 2").kill_on_drop(true);
    assert!(cmd.get_kill_on_drop());
    assert_eq!(cmd.as_std().get_program(), "sh");
    assert_eq!(cmd.as_std().get_args().count(), 2);

    let mut child = cmd.spawn().unwrap();
    assert!(child.id().is_some());
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_eq!(child.id(), None);
    // Killing a reaped child is fine, as in tokio.
    child.start_kill().unwrap();
    child.kill().await.unwrap();
    assert!(child.try_wait().unwrap().is_some());
    assert_eq!(cmd.into_std().get_program(), "sh");
}
