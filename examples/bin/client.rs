//! A line client: connects, sends each line of stdin, prints what comes
//! back.
//!
//! ```text
//! cargo run -p weft-examples --bin client [ADDR]   # default 127.0.0.1:8080
//! ```
//!
//! Reading stdin blocks, so it happens on the blocking pool, one line at a
//! time; the server's replies are printed by their own task as they come.
//! At the end of stdin the client shuts its sending side down and waits for
//! the server to finish.

use std::io::{self, BufRead};

use weft::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, StreamExt};
use weft::net::TcpStream;

#[weft::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let stream = TcpStream::connect(addr.as_str()).await?;
    let (reader, mut writer) = stream.into_split();

    let printer = weft::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Some(line) = lines.next().await {
            println!("{}", line?);
        }
        io::Result::Ok(())
    });

    loop {
        let line = weft::task::spawn_blocking(|| {
            let mut line = String::new();
            io::stdin().lock().read_line(&mut line).map(|_| line)
        })
        .await??;
        if line.is_empty() {
            break;
        }
        writer.write_all(line.as_bytes()).await?;
    }
    drop(writer);
    printer.await?
}
