//! Catalogue entry 5: A `select!` that drops a half-finished operation whose cancellation
//! is not safe: a frame reader (one length byte, then the body) races a
//! heartbeat timer in a loop. When the heartbeat wins after the length
//! byte was read, the reader future is dropped with it; the next read takes
//! a body byte as a length, and the message is lost. Fixed: frames are read
//! by a task of their own and handed over on a channel, whose `recv` is
//! cancel-safe.

use std::time::Duration;

use weft::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use weft::sync::mpsc;
use weft::time::sleep;

async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<Vec<u8>> {
    let len = reader.read_u8().await? as usize;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

/// Sends two frames, the first body a while after its length.
fn writer(mut out: DuplexStream) -> weft::task::JoinHandle<()> {
    weft::spawn(async move {
        out.write_all(&[3]).await.unwrap();
        sleep(Duration::from_millis(10)).await;
        out.write_all(b"abc").await.unwrap();
        out.write_all(&[2]).await.unwrap();
        out.write_all(b"de").await.unwrap();
    })
}

async fn buggy() {
    let (out, mut input) = weft::io::duplex(64);
    let writer = writer(out);
    let mut frames = Vec::new();
    loop {
        weft::select! {
            frame = read_frame(&mut input) => match frame {
                Ok(frame) => frames.push(frame),
                Err(_) => break,
            },
            _ = sleep(Duration::from_millis(10)) => {} // heartbeat
        }
    }
    writer.await.unwrap();
    assert_eq!(frames, [b"abc".to_vec(), b"de".to_vec()], "lost a message");
}

async fn fixed() {
    let (out, mut input) = weft::io::duplex(64);
    let writer = writer(out);
    let (tx, mut rx) = mpsc::channel(4);
    let reader = weft::spawn(async move {
        while let Ok(frame) = read_frame(&mut input).await {
            if tx.send(frame).await.is_err() {
                break;
            }
        }
    });
    let mut frames = Vec::new();
    loop {
        weft::select! {
            frame = rx.recv() => match frame {
                Some(frame) => frames.push(frame),
                None => break,
            },
            _ = sleep(Duration::from_millis(10)) => {} // heartbeat
        }
    }
    writer.await.unwrap();
    reader.await.unwrap();
    assert_eq!(frames, [b"abc".to_vec(), b"de".to_vec()], "lost a message");
}

entry!(Expect::Panic("lost a message"));
