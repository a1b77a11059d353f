//! Running an example server as a child process for a test.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A child process killed when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server binary `exe` on a free loopback port and returns it
/// with the address from its first line, `listening on ADDR`.
#[allow(dead_code)] // each test binary has its own copy; not all use this
pub fn start_server(exe: &str) -> (Killed, String) {
    let (server, addr, _) = start_server_with(exe, &[]);
    (server, addr)
}

/// [`start_server`] with more arguments after the address, also handing
/// back the rest of the server's stdout.
pub fn start_server_with(exe: &str, args: &[&str]) -> (Killed, String, BufReader<ChildStdout>) {
    let mut server = Command::new(exe)
        .arg("127.0.0.1:0")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("starting {exe}: {err}"));
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_string();
    (Killed(server), addr, stdout)
}
