//! The `tokio-io` feature: weft's streams and halves, and the in-memory
//! `duplex` pipe, through tokio's I/O traits, reading into uninitialised
//! memory.
#![cfg(feature = "tokio-io")]

use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
