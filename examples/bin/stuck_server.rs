//! A line server with one accidentally blocking handler: what weft shows
//! when a program is slow or stuck.
//!
//! ```text
//! cargo run -p weft-examples --bin stuck_server [ADDR] BACKEND [--fixed]
//! ```
//!
//! `BACKEND` is the address of a line server this one asks for values (any
//! program that answers a line with a line: `nc -lk 127.0.0.1 9000`).
//! Commands, one per line:
//!
//! - `ping`: `pong`.
//! - `lookup KEY`: asks the backend for KEY and answers `value VALUE`. The
//!   mistake: it uses `legacy_lookup`, a blocking client (`std::net`),
//!   straight from the connection's task, so while the backend is slow the
//!   worker thread running that task is stuck. weft's slow-poll detector
//!   says so on stderr while it happens, naming the task and where it was
//!   spawned, and once more when the poll ends. With `--fixed`, the same
//!   call runs on the blocking pool (`spawn_blocking`) and the detector
//!   stays quiet.
//! - `dump`: the runtime's task dump (every task, its state, where it was
//!   spawned, what it waits on), then a line `end`.
//!
//! Two worker threads: while one is stuck, the other still answers `ping`
//! and `dump`; with one worker, everything would wait.

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{TcpListener, TcpStream};
use weft::runtime::Handle;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let backend: SocketAddr = args
        .next()
        .ok_or_else(|| io::Error::other("usage: stuck_server [ADDR] BACKEND [--fixed]"))?
        .parse()
        .map_err(io::Error::other)?;
    let fixed = args.next().as_deref() == Some("--fixed");
    // The detector is on by default (100 ms); set here to show the knob.
    let runtime = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .slow_poll_threshold(Some(std::time::Duration::from_millis(100)))
        .build()?;
    runtime.block_on(serve_all(addr, backend, fixed))
}

async fn serve_all(addr: String, backend: SocketAddr, fixed: bool) -> io::Result<()> {
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        weft::task::Builder::new()
            .name(&format!("conn {peer}"))
            .spawn(async move {
                if let Err(err) = serve(stream, backend, fixed).await {
                    eprintln!("{peer}: {err}");
                }
            })?;
    }
}

async fn serve(mut stream: TcpStream, backend: SocketAddr, fixed: bool) -> io::Result<()> {
    let (reader, mut writer) = stream.split();
    let mut lines = BufReader::new(reader).lines();
    while let Some(line) = lines.next_line().await? {
        let mut words = line.split_whitespace();
        let reply = match (words.next(), words.next()) {
            (Some("ping"), None) => "pong".to_string(),
            (Some("lookup"), Some(key)) if fixed => {
                let key = key.to_string();
                let value = weft::task::spawn_blocking(move || legacy_lookup(backend, &key));
                format!("value {}", value.await.map_err(io::Error::other)??)
            }
            // The mistake: a blocking call in a task.
            (Some("lookup"), Some(key)) => format!("value {}", legacy_lookup(backend, key)?),
            (Some("dump"), None) => format!("{}end", Handle::current().dump()),
            _ => format!("error: unknown command {line:?}"),
        };
        writer.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    Ok(())
}

/// A blocking client of the backend, as an old library would have it:
/// connects, sends the key, waits for the answer.
fn legacy_lookup(backend: SocketAddr, key: &str) -> io::Result<String> {
    let mut stream = std::net::TcpStream::connect(backend)?;
    writeln!(stream, "{key}")?;
    let mut answer = String::new();
    io::BufReader::new(stream).read_line(&mut answer)?;
    Ok(answer.trim_end().to_string())
}
