//! A chat server, like the classic asyncio one but correct.
//!
//! ```text
//! cargo run -p weft-examples --bin chat [ADDR]     # default 127.0.0.1:8080
//! ```
//!
//! Every line a client sends reaches every other client, prefixed with the
//! sender's number; a new client is greeted with `welcome <n>` once it is
//! in the room. A client that stops reading is disconnected rather than
//! allowed to stall the room. The server itself is
//! `weft_examples::chat` (`examples/src/chat.rs`), where the soak test
//! runs it too; this is its `main`.

use std::io;
use std::sync::Arc;

use weft::net::TcpListener;
use weft_examples::chat::{self, Room};

#[weft::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    chat::serve(listener, Arc::new(Room::new())).await;
    Ok(())
}
