//! A TCP server that shuts down gracefully on SIGTERM or Ctrl-C.
//!
//! ```text
//! cargo run -p weft-examples --bin graceful_shutdown [ADDR] [DRAIN_MS]
//! ```
//!
//! The protocol is a download: a client sends a byte count on a line and
//! gets that many bytes back, then may ask again. Prints the address it
//! listens on. On SIGTERM or SIGINT it stops accepting (it drops its
//! listener, so new connections are refused) and says so; idle
//! connections are closed at once, and one in the middle of a reply
//! finishes that reply first. When every connection is done, or after the
//! drain deadline (default 10 s) cuts those still busy, it exits 0.

use std::io;
use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{TcpListener, TcpStream};
use weft::signal::unix::{signal, SignalKind};
use weft::sync::watch;
use weft::task::JoinSet;

/// The most one request may ask for.
const MAX_REQUEST: u64 = 1 << 32;
/// The bytes a reply is made of.
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

#[weft::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let drain = match args.next() {
        Some(ms) => Duration::from_millis(ms.parse().map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("DRAIN_MS {ms:?}: {err}"),
            )
        })?),
        None => Duration::from_secs(10),
    };

    // Listening before the first connection: a signal from then on is
    // ours, not the default "terminate at once".
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);

    let (shutting_down, shutdown) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        // The signals first: a steady stream of connections must not keep
        // the server from noticing it has been told to stop.
        let accepted = weft::select! {
            biased;
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {} // forget finished ones
        match accepted {
            Ok((stream, peer)) => {
                let shutdown = shutdown.clone();
                connections.spawn(async move {
                    if let Err(err) = serve(stream, shutdown).await {
                        eprintln!("{peer}: {err}");
                    }
                });
            }
            Err(err) => {
                eprintln!("accept: {err}");
                weft::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    drop(listener);
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    let _ = shutting_down.send(true);
    println!("shutting down: no longer accepting, draining {open} connection(s)");
    let drained = weft::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    match drained {
        Ok(()) => println!("drained"),
        Err(_) => {
            println!(
                "drain deadline passed: cutting {} connection(s)",
                connections.len()
            );
            connections.shutdown().await;
        }
    }
    Ok(())
}

/// Serves requests until the client leaves, or until shutdown finds the
/// connection between two exchanges.
async fn serve(stream: TcpStream, mut shutdown: watch::Receiver<bool>) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    loop {
        // Idle: a request, or shutdown, whichever comes first; shutdown
        // first when both are there, so a client with requests queued up
        // gets no more exchanges once it has begun.
        let line = weft::select! {
            biased;
            _ = shutdown.wait_for(|&down| down) => return Ok(()),
            line = lines.next_line() => match line? {
                Some(line) => line,
                None => return Ok(()),
            },
        };
        let count = match line.trim().parse::<u64>() {
            Ok(count) if count <= MAX_REQUEST => count,
            _ => {
                let reply = format!("error: want a byte count up to {MAX_REQUEST}, got {line:?}\n");
                writer.write_all(reply.as_bytes()).await?;
                continue;
            }
        };
        // The exchange: the whole reply goes out, shutdown or not.
        let mut left = count;
        while left > 0 {
            let n = left.min(CHUNK.len() as u64) as usize;
            writer.write_all(&CHUNK[..n]).await?;
            left -= n as u64;
        }
    }
}
