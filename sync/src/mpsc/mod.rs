//! Multi-producer, single-consumer channels, bounded and unbounded.
//!
//! ```
//! use weft_sync::mpsc;
//!
//! futures::executor::block_on(async {
//!     let (tx, mut rx) = mpsc::channel(8);
//!     for i in 0..3 {
//!         tx.send(i).await.unwrap();
//!     }
//!     drop(tx); // dropping every sender ends the stream
//!     let mut got = Vec::new();
//!     while let Some(v) = rx.recv().await {
//!         got.push(v);
//!     }
//!     assert_eq!(got, [0, 1, 2]);
//! });
//! ```

mod bounded;
mod chan;
pub mod error;
mod slots;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, PermitIterator, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
