//! A TCP echo server.
//!
//! ```text
//! cargo run -p weft-examples --bin echo [ADDR]     # default 127.0.0.1:8080
//! ```
//!
//! Prints the address it listens on, then echoes every connection back to
//! itself, one task per connection. Running out of file descriptors (or any
//! other accept error) is reported and retried after a pause, never fatal.

use std::io;
use std::time::Duration;

use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::TcpListener;

#[weft::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("accept: {err}");
                weft::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        weft::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let n = match stream.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) => {
                        eprintln!("{peer}: {err}");
                        break;
                    }
                };
                if let Err(err) = stream.write_all(&buf[..n]).await {
                    eprintln!("{peer}: {err}");
                    break;
                }
            }
        });
    }
}
