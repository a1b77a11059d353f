//! A chat server, like the classic asyncio one but correct.
//!
//! ```text
//! cargo run -p weft-examples --bin chat [ADDR]     # default 127.0.0.1:8080
//! ```
//!
//! Every line a client sends reaches every other client, prefixed with the
//! sender's number; a new client is greeted with `welcome <n>` once it is
//! in the room. Each client has a task that reads its lines and one that
//! writes its outbox, a bounded queue, so a broadcast never waits on a
//! socket: the asyncio version's `await writer.drain()` inside the
//! broadcast loop lets one slow reader stall the whole room. A full outbox
//! slows the sender down (backpressure, so nothing is lost), but only for
//! so long: a client that has taken no line for `GRACE` has stopped
//! reading, and is disconnected. A client that leaves is removed.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{OwnedWriteHalf, TcpListener, TcpStream};
use weft::sync::mpsc;
use weft::task::AbortHandle;

/// Lines waiting to go out to one client.
const OUTBOX: usize = 256;
/// How long a full outbox may hold a broadcast up before its client counts
/// as gone.
const GRACE: Duration = Duration::from_secs(2);

/// Who is in the room: each client's outbox and its two tasks.
#[derive(Default)]
struct Room {
    clients: Mutex<HashMap<u64, Client>>,
}

struct Client {
    outbox: mpsc::Sender<Arc<str>>,
    tasks: [AbortHandle; 2],
}

impl Room {
    /// Sends `line` to everyone but `from`: at once to those with room,
    /// then, outside the lock, waiting up to `GRACE` for room with the
    /// others; whoever has none by then is disconnected.
    async fn broadcast(&self, from: u64, line: Arc<str>) {
        let mut full = Vec::new();
        {
            let clients = self.clients.lock().unwrap();
            for (&id, client) in clients.iter().filter(|(&id, _)| id != from) {
                if let Err(mpsc::error::TrySendError::Full(_)) =
                    client.outbox.try_send(line.clone())
                {
                    full.push((id, client.outbox.clone()));
                }
            }
        }
        for (id, outbox) in full {
            if let Err(mpsc::error::SendTimeoutError::Timeout(_)) =
                outbox.send_timeout(line.clone(), GRACE).await
            {
                self.kick(id);
            }
        }
    }

    fn kick(&self, id: u64) {
        let client = self.clients.lock().unwrap().remove(&id);
        if let Some(client) = client {
            client.tasks.iter().for_each(AbortHandle::abort);
            eprintln!("client {id}: disconnected (not reading)");
        }
    }

    fn leave(&self, id: u64) {
        self.clients.lock().unwrap().remove(&id);
    }
}

#[weft::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    let room = Arc::new(Room::default());
    for id in 1.. {
        match listener.accept().await {
            Ok((stream, _)) => join(&room, id, stream),
            Err(err) => {
                eprintln!("accept: {err}");
                weft::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(())
}

/// Puts a new client in the room: a writer task draining its outbox and a
/// reader task broadcasting its lines.
fn join(room: &Arc<Room>, id: u64, stream: TcpStream) {
    let (reader, writer) = stream.into_split();
    let (outbox, inbox) = mpsc::channel(OUTBOX);
    let writer_task = weft::spawn(write_outbox(writer, inbox));
    let reader_task = {
        let room = room.clone();
        weft::spawn(async move {
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                room.broadcast(id, format!("{id}: {line}\n").into()).await;
            }
            room.leave(id);
        })
    };
    // In the room, then greeted, under the room's lock: a client that has
    // read its welcome gets every line broadcast after that.
    let tasks = [writer_task.abort_handle(), reader_task.abort_handle()];
    let mut clients = room.clients.lock().unwrap();
    clients.insert(
        id,
        Client {
            outbox: outbox.clone(),
            tasks,
        },
    );
    let _ = outbox.try_send(format!("welcome {id}\n").into());
}

/// Writes what arrives in `inbox` until the client leaves the room (its
/// outbox sender is dropped) or the connection fails.
async fn write_outbox(mut writer: OwnedWriteHalf<TcpStream>, mut inbox: mpsc::Receiver<Arc<str>>) {
    while let Some(line) = inbox.recv().await {
        if writer.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
}
