//! Running an example server as a child process for a test.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

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

/// A line client of an example server.
#[allow(dead_code)] // each test binary has its own copy; not all use this
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

#[allow(dead_code)]
impl Client {
    pub fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        // A stalled server fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.writer, "{line}").unwrap();
    }

    pub fn recv(&mut self) -> String {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("no answer: the server is not serving this connection");
        line.trim_end().to_string()
    }

    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.recv()
    }
}
