//! Runs the `chat` server with real TCP clients: every line reaches every
//! other client, a client that leaves is removed, and one that stops
//! reading is disconnected without stalling the rest.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

fn chat_server() -> (common::Killed, String) {
    common::start_server(env!("CARGO_BIN_EXE_chat"))
}

/// A client that has been greeted, so it is in the room.
struct ChatClient {
    id: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl ChatClient {
    fn join(addr: &str) -> ChatClient {
        let stream = TcpStream::connect(addr).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut welcome = String::new();
        reader.read_line(&mut welcome).unwrap();
        let id = welcome.trim().strip_prefix("welcome ").unwrap().to_string();
        ChatClient {
            id,
            reader,
            writer: stream,
        }
    }

    fn say(&mut self, line: &str) {
        writeln!(self.writer, "{line}").unwrap();
    }

    fn hear(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }
}

#[test]
fn every_line_reaches_every_other_client_and_leavers_are_removed() {
    let (_server, addr) = chat_server();
    let mut a = ChatClient::join(&addr);
    let mut b = ChatClient::join(&addr);
    let mut c = ChatClient::join(&addr);
    for i in 0..50 {
        a.say(&format!("a{i}"));
    }
    b.say("hi from b");
    for i in 0..50 {
        assert_eq!(b.hear(), format!("{}: a{i}", a.id));
    }
    // c hears a's 50 lines and b's, with each sender's lines in order.
    let heard: Vec<String> = (0..51).map(|_| c.hear()).collect();
    let from_a: Vec<&String> = heard
        .iter()
        .filter(|l| l.starts_with(&format!("{}: ", a.id)))
        .collect();
    assert_eq!(from_a.len(), 50);
    for (i, line) in from_a.iter().enumerate() {
        assert_eq!(**line, format!("{}: a{i}", a.id));
    }
    assert!(heard.contains(&format!("{}: hi from b", b.id)));
    assert_eq!(a.hear(), format!("{}: hi from b", b.id));

    // c leaves; the room goes on without it.
    drop(c);
    a.say("after c left");
    assert_eq!(b.hear(), format!("{}: after c left", a.id));
}

#[test]
fn a_client_that_stops_reading_does_not_stall_the_room() {
    let (_server, addr) = chat_server();
    let mut a = ChatClient::join(&addr);
    let mut b = ChatClient::join(&addr);
    let mut slow = ChatClient::join(&addr);
    // Far more than the kernel buffers between the server and `slow` hold,
    // so its outbox fills and the server must let it go.
    let lines = 200_000;
    let sender = std::thread::spawn(move || {
        let text = "x".repeat(100);
        for i in 0..lines {
            a.say(&format!("{i} {text}"));
        }
        a
    });
    // b reads everything while `slow` reads nothing.
    for i in 0..lines {
        let line = b.hear();
        assert!(line.contains(&format!(": {i} ")), "line {i}: {line}");
    }
    sender.join().unwrap();
    // `slow` was disconnected: after what was buffered for it, EOF, well
    // before the last line.
    let mut rest = Vec::new();
    let _ = slow.reader.read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        !rest.contains(&format!(": {} ", lines - 1)),
        "the slow client got everything"
    );
}

/// Waits up to `limit` for `done`, checking every millisecond; true if it
/// came.
fn eventually(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    true
}

/// A client that hangs up as soon as it has connected can have its reader
/// task run, read end of stream and leave the room on the other worker
/// before the accepting task has put it in: it must still be removed, and
/// its two tasks and its socket must go. (Before the fix the room took the
/// client in after spawning its tasks, and such a client stayed in the room
/// for good, its writer task and socket with it.)
#[test]
fn clients_that_hang_up_at_once_leave_nothing_behind() {
    use std::sync::Arc;
    use std::time::Duration;
    use weft_examples::chat::{self, Room};

    const CLIENTS: u64 = 3_000;
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let room = Arc::new(Room::quiet());
    let listener = rt
        .block_on(weft::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(chat::serve(listener, room.clone()));
    let metrics = rt.metrics();
    let sources =
        || metrics.io_driver_fd_registered_count() - metrics.io_driver_fd_deregistered_count();
    let sources_before = sources();
    for _ in 0..CLIENTS {
        drop(TcpStream::connect(addr).unwrap());
    }
    assert!(
        eventually(Duration::from_secs(30), || room.joined() == CLIENTS),
        "only {} of {CLIENTS} clients joined",
        room.joined()
    );
    assert!(
        eventually(Duration::from_secs(10), || room.is_empty()
            && metrics.num_alive_tasks() == 1
            && sources() == sources_before),
        "left behind: {} clients in the room, {} tasks besides the server's, {} sockets",
        room.len(),
        metrics.num_alive_tasks() - 1,
        sources() - sources_before
    );
}
