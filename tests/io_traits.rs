//! Both I/O trait families on weft's types: tokio's (the primary ones),
//! reading into uninitialised memory, on the streams, their halves and the
//! in-memory pipe; and the `futures-io` pair, through `weft::io::futures`'s
//! extension traits, on a stream, a file and the pipe.

use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;

use weft::io::{AsyncRead, AsyncWrite, ReadBuf};
use weft::net::UnixStream;

async fn read_uninit<R: AsyncRead + Unpin>(r: &mut R, storage: &mut [MaybeUninit<u8>]) -> Vec<u8> {
    let mut buf = ReadBuf::uninit(storage);
    poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf))
        .await
        .unwrap();
    buf.filled().to_vec()
}

async fn write<W: AsyncWrite + Unpin>(w: &mut W, data: &[u8]) -> usize {
    poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, data))
        .await
        .unwrap()
}

#[weft::test]
async fn streams_and_halves_speak_tokio_io() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    assert_eq!(write(&mut a, b"through tokio's traits").await, 22);
    let mut storage = [MaybeUninit::uninit(); 64];
    assert_eq!(
        read_uninit(&mut b, &mut storage).await,
        b"through tokio's traits"
    );

    let (mut read_half, mut write_half) = b.into_split();
    write(&mut write_half, b"half").await;
    assert_eq!(read_uninit(&mut a, &mut storage).await, b"half");
    write(&mut a, b"back").await;
    assert_eq!(read_uninit(&mut read_half, &mut storage).await, b"back");
    poll_fn(|cx| Pin::new(&mut write_half).poll_shutdown(cx))
        .await
        .unwrap();
    assert_eq!(
        read_uninit(&mut a, &mut storage).await,
        b"",
        "EOF after shutdown"
    );
}

#[weft::test]
async fn duplex_speaks_tokio_io() {
    let (mut a, mut b) = weft::io::duplex(8);
    assert_eq!(write(&mut a, b"more than eight").await, 8, "bounded");
    let mut storage = [MaybeUninit::uninit(); 5];
    assert_eq!(read_uninit(&mut b, &mut storage).await, b"more ");
    let mut storage = [MaybeUninit::uninit(); 64];
    assert_eq!(read_uninit(&mut b, &mut storage).await, b"tha");
    poll_fn(|cx| Pin::new(&mut a).poll_shutdown(cx))
        .await
        .unwrap();
    assert_eq!(read_uninit(&mut b, &mut storage).await, b"", "EOF");
}

#[weft::test]
async fn streams_files_and_pipes_speak_futures_io() {
    use weft::io::futures::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

    let (mut a, b) = UnixStream::pair().unwrap();
    a.write_all(b"line one\nline two\n").await.unwrap();
    a.close().await.unwrap();
    let mut b = weft::io::futures::BufReader::new(b);
    let mut line = String::new();
    b.read_line(&mut line).await.unwrap();
    assert_eq!(line, "line one\n");
    let mut rest = String::new();
    b.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "line two\n", "then EOF from the half-close");

    let path = std::env::temp_dir().join(format!("weft-futures-io-{}", std::process::id()));
    let mut file = weft::fs::File::create(&path).await.unwrap();
    file.write_all(b"0123456789").await.unwrap();
    file.seek(std::io::SeekFrom::Start(4)).await.unwrap();
    file.write_all(b"xy").await.unwrap();
    file.close().await.unwrap();
    drop(file);
    let mut text = String::new();
    weft::fs::File::open(&path)
        .await
        .unwrap()
        .read_to_string(&mut text)
        .await
        .unwrap();
    assert_eq!(text, "0123xy6789");
    weft::fs::remove_file(&path).await.unwrap();

    let (mut x, mut y) = weft::io::duplex(4);
    x.write_all(b"pipe").await.unwrap();
    x.close().await.unwrap();
    let mut got = Vec::new();
    y.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"pipe");
}

/// A crate written against tokio's I/O traits takes weft's streams as
/// they are: tokio-util's `Framed` with its `LinesCodec`, both ways over a
/// socket pair, and over a TCP connection's owned halves.
#[weft::test]
async fn tokio_util_codecs_frame_weft_streams_unchanged() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

    let (a, b) = UnixStream::pair().unwrap();
    let mut a = Framed::new(a, LinesCodec::new());
    let mut b = Framed::new(b, LinesCodec::new());
    a.send("hello").await.unwrap();
    assert_eq!(b.next().await.unwrap().unwrap(), "hello");
    b.send("back").await.unwrap();
    assert_eq!(a.next().await.unwrap().unwrap(), "back");

    let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = weft::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (_, write) = client.into_split();
    let (read, _keep) = server.into_split();
    let mut lines = FramedWrite::new(write, LinesCodec::new());
    for word in ["one", "two", "three"] {
        lines.send(word).await.unwrap();
    }
    drop(lines); // the write half shuts down: the reader's stream ends
    let got: Vec<String> = FramedRead::new(read, LinesCodec::new())
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(got, ["one", "two", "three"]);
}
