//! The chat server behind the `chat` binary, a library module so that a
//! test can run it inside its own process and read its runtime's metrics
//! (the soak test does).
//!
//! Every line a client sends reaches every other client, prefixed with the
//! sender's number; a new client is greeted with `welcome <n>` once it is
//! in the room. Each client has a task that reads its lines and one that
//! writes its outbox, a bounded queue, so a broadcast never waits on a
//! socket: the asyncio version's `await writer.drain()` inside the
//! broadcast loop lets one slow reader stall the whole room. A full outbox
//! slows the sender down (backpressure, so nothing is lost), but only for
//! so long: a client that has taken no line for [`GRACE`] has stopped
//! reading, and is disconnected. A client that leaves is removed.
//!
//! Invariant: a client is in the room from before either of its tasks can
//! run until one of them removes it (leaving, or being kicked), so a
//! client's outbox sender, which keeps its writer task alive, never
//! outlives both of its tasks' interest in it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::net::{OwnedWriteHalf, TcpListener, TcpStream};
use weft::sync::mpsc;
use weft::task::AbortHandle;

/// Lines waiting to go out to one client.
pub const OUTBOX: usize = 256;

/// How long a full outbox may hold a broadcast up before its client counts
/// as gone.
pub const GRACE: Duration = Duration::from_secs(2);

/// Who is in the room: each client's outbox and its two tasks, and counts
/// of who came and who was sent away.
#[derive(Default)]
pub struct Room {
    clients: Mutex<HashMap<u64, Client>>,
    joined: AtomicU64,
    kicked: AtomicU64,
    quiet: bool,
}

struct Client {
    outbox: mpsc::Sender<Arc<str>>,
    tasks: [AbortHandle; 2],
}

impl Room {
    /// An empty room that reports each client it disconnects for not
    /// reading on stderr.
    pub fn new() -> Room {
        Room::default()
    }

    /// An empty room that disconnects clients without a word (for a test
    /// that runs thousands of them and counts the disconnections with
    /// [`kicked`](Self::kicked) instead).
    pub fn quiet() -> Room {
        Room {
            quiet: true,
            ..Room::default()
        }
    }

    /// Clients in the room now.
    pub fn len(&self) -> usize {
        self.clients.lock().unwrap().len()
    }

    /// Whether the room has no client.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines waiting in the clients' outboxes now: what the room holds
    /// because its clients read slower than it talks.
    pub fn queued(&self) -> usize {
        let clients = self.clients.lock().unwrap();
        clients
            .values()
            .map(|client| client.outbox.max_capacity() - client.outbox.capacity())
            .sum()
    }

    /// Clients that have joined since the room was made.
    pub fn joined(&self) -> u64 {
        self.joined.load(Ordering::Relaxed)
    }

    /// Clients disconnected for not reading since the room was made.
    pub fn kicked(&self) -> u64 {
        self.kicked.load(Ordering::Relaxed)
    }

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
            self.kicked.fetch_add(1, Ordering::Relaxed);
            if !self.quiet {
                eprintln!("client {id}: disconnected (not reading)");
            }
        }
    }

    fn leave(&self, id: u64) {
        self.clients.lock().unwrap().remove(&id);
    }
}

/// Accepts clients on `listener` into `room` for as long as the task
/// running it lives (it never returns; drop or abort the task to stop
/// accepting). A failed accept (out of file descriptors, say) is reported
/// on stderr and retried a moment later.
pub async fn serve(listener: TcpListener, room: Arc<Room>) {
    for id in 1.. {
        match listener.accept().await {
            Ok((stream, _)) => join(&room, id, stream),
            Err(err) => {
                eprintln!("accept: {err}");
                weft::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Puts a new client in the room: a writer task draining its outbox and a
/// reader task broadcasting its lines.
fn join(room: &Arc<Room>, id: u64, stream: TcpStream) {
    let (reader, writer) = stream.into_split();
    let (outbox, inbox) = mpsc::channel(OUTBOX);
    // The room's lock is held from before the reader task is spawned until
    // the client is in the room and greeted. The reader may run at once on
    // another worker and, for a client that has already hung up, reach
    // `leave` straight away: it must find the client there to remove it;
    // inserted after that, the entry (and the outbox sender in it, which
    // keeps the writer task and its socket alive) would stay for good.
    // Greeted under the same lock, a client that has read its welcome gets
    // every line broadcast after that.
    let mut clients = room.clients.lock().unwrap();
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
    let tasks = [writer_task.abort_handle(), reader_task.abort_handle()];
    clients.insert(
        id,
        Client {
            outbox: outbox.clone(),
            tasks,
        },
    );
    room.joined.fetch_add(1, Ordering::Relaxed);
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
