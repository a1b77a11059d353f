//! hyper 1 on weft (feature `hyper`): the runtime pieces hyper asks its
//! user for.
//!
//! - I/O: weft's [`TcpStream`](crate::net::TcpStream),
//!   [`UnixStream`](crate::net::UnixStream) and their halves implement
//!   `hyper::rt::{Read, Write}` themselves (reads go straight into hyper's
//!   uninitialised buffer), so they are handed to hyper as they are: no
//!   wrapper type.
//! - [`Timer`]: `hyper::rt::Timer` on the runtime's timer wheel and clock,
//!   for hyper's timeouts (`header_read_timeout`, HTTP/2 keep-alive). A
//!   sleep hyper resets is moved in place, not allocated anew, and the time
//!   hyper reads is the runtime's clock, so a paused test clock drives
//!   hyper's deadlines too.
//! - [`Executor`]: `hyper::rt::Executor` spawning onto a weft runtime, for
//!   the tasks hyper starts itself (HTTP/2, hyper-util's pooled client).
//!
//! An HTTP/1 server and a request to it with hyper's client, on one
//! runtime:
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::Incoming;
//! use hyper::service::service_fn;
//! use hyper::{Request, Response};
//! use weft::net::{TcpListener, TcpStream};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("hello from weft"))))
//! }
//!
//! #[weft::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     weft::spawn(async move {
//!         while let Ok((stream, _)) = listener.accept().await {
//!             let conn = hyper::server::conn::http1::Builder::new()
//!                 .timer(weft::hyper::Timer::new())
//!                 .header_read_timeout(Duration::from_secs(10))
//!                 .serve_connection(stream, service_fn(hello));
//!             weft::spawn(conn);
//!         }
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     weft::spawn(conn);
//!     let request = Request::get("/")
//!         .header("host", addr.to_string())
//!         .body(Empty::<Bytes>::new())?;
//!     let response = sender.send_request(request).await?;
//!     let body = response.into_body().collect().await?.to_bytes();
//!     assert_eq!(body, "hello from weft");
//!     Ok(())
//! }
//! ```

pub use weft_runtime::hyper::Executor;
pub use weft_timer::hyper::Timer;
