//! A line client: connects, sends stdin to the server, prints what comes
//! back.
//!
//! ```text
//! cargo run -p weft-examples --bin client [ADDR]   # default 127.0.0.1:8080
//! ```
//!
//! The two directions run at once on the main task (`weft::try_join!`):
//! `weft::io::stdin()` is copied to the server (reading stdin blocks, so it
//! happens on the blocking pool), and the server's replies are copied to
//! `weft::io::stdout()` as they come. At the end of stdin the client shuts
//! its sending side down and waits for the server to finish; the first
//! error in either direction ends it.

use std::io;

use weft::io::AsyncWriteExt;
use weft::net::TcpStream;

#[weft::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let stream = TcpStream::connect(addr.as_str()).await?;
    let (mut reader, mut writer) = stream.into_split();

    let send = async {
        weft::io::copy(&mut weft::io::stdin(), &mut writer).await?;
        writer.shutdown().await // the server reads EOF
    };
    let mut stdout = weft::io::stdout();
    let print = weft::io::copy(&mut reader, &mut stdout);
    weft::try_join!(send, print)?;
    Ok(())
}
