//! A line server that keeps answering while it crunches numbers.
//!
//! ```text
//! cargo run -p weft-examples --bin cpu_offload [ADDR]     # default 127.0.0.1:8080
//! ```
//!
//! Commands, one per line, each answered with one line (a job with two):
//!
//! - `ping`: `pong`.
//! - `hash ROUNDS`: hashes ROUNDS blocks of 4 KiB on the blocking pool
//!   (`spawn_blocking`). Answers `started` once the work is running, then
//!   `digest HEX`, or `cancelled after N rounds`.
//! - `hash-here ROUNDS`: the same work, run in the connection's own task
//!   with `block_in_place`, which first hands the worker's other tasks to
//!   a new thread. Here the blocking code writes `started` itself, through
//!   `Handle::block_on`.
//! - `cancel`: stops every job running now (`ok`). A connection reads its
//!   next command only when its job is done, so the cancel comes from
//!   another connection.
//!
//! The runtime has a single worker thread, to make the point: hashing on
//! it directly would stall every connection until the job was done; off
//! the worker, a `ping` on another connection is answered at once.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{TcpListener, TcpStream};
use weft::runtime::Handle;
use weft::sync::oneshot;

/// The bytes hashed per round.
const BLOCK: usize = 4096;

/// Bumped by `cancel`; a job stops when the count differs from the one it
/// started with.
static CANCELS: AtomicU64 = AtomicU64::new(0);

#[weft::main(worker_threads = 1)]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                weft::spawn(async move {
                    if let Err(err) = serve(stream).await {
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
}

enum Command {
    Ping,
    Hash { rounds: u64, in_place: bool },
    Cancel,
}

fn parse(line: &str) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    let command = match words.next() {
        Some("ping") => Command::Ping,
        Some("cancel") => Command::Cancel,
        Some(name @ ("hash" | "hash-here")) => {
            let rounds = words
                .next()
                .ok_or_else(|| format!("{name} needs a round count"))?;
            Command::Hash {
                rounds: rounds
                    .parse()
                    .map_err(|err| format!("{name}: bad round count {rounds:?}: {err}"))?,
                in_place: name == "hash-here",
            }
        }
        Some(name) => return Err(format!("unknown command {name:?}")),
        None => return Err("empty line".to_string()),
    };
    match words.next() {
        None => Ok(command),
        Some(extra) => Err(format!("unexpected {extra:?} in {line:?}")),
    }
}

async fn serve(mut stream: TcpStream) -> io::Result<()> {
    let (reader, mut writer) = stream.split();
    let mut lines = BufReader::new(reader).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = match parse(&line) {
            Ok(Command::Ping) => "pong".to_string(),
            Ok(Command::Cancel) => {
                CANCELS.fetch_add(1, Ordering::SeqCst);
                "ok".to_string()
            }
            Ok(Command::Hash {
                rounds,
                in_place: false,
            }) => {
                let (started_tx, started_rx) = oneshot::channel();
                let job = weft::task::spawn_blocking(move || {
                    hash(rounds, || {
                        let _ = started_tx.send(());
                    })
                });
                if started_rx.await.is_ok() {
                    writer.write_all(b"started\n").await?;
                }
                job.await.map_err(io::Error::other)?
            }
            Ok(Command::Hash {
                rounds,
                in_place: true,
            }) => {
                let handle = Handle::current();
                let mut started = Ok(());
                let reply = weft::task::block_in_place(|| {
                    hash(rounds, || {
                        started = handle.block_on(writer.write_all(b"started\n"));
                    })
                });
                started?;
                reply
            }
            Err(err) => format!("error: {err}"),
        };
        writer.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    Ok(())
}

/// Hashes `rounds` blocks of pseudo-random bytes (FNV-1a, each block drawn
/// from the digest so far), calling `started` once it has begun; stops
/// early when a `cancel` comes in.
fn hash(rounds: u64, started: impl FnOnce()) -> String {
    let generation = CANCELS.load(Ordering::SeqCst);
    started();
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    let mut block = [0u8; BLOCK];
    for round in 0..rounds {
        if CANCELS.load(Ordering::Relaxed) != generation {
            return format!("cancelled after {round} rounds");
        }
        let mut state = digest ^ round;
        for chunk in block.chunks_exact_mut(8) {
            state = splitmix64(state);
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        for &byte in &block {
            digest = (digest ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("digest {digest:016x}")
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
