//! TEMPORARY: stands in for weft's API (backed by tokio) until weft compiles.
pub mod runtime {
    pub use tokio::runtime::Runtime;
    pub struct Builder;
    impl Builder {
        pub fn new_multi_thread() -> tokio::runtime::Builder {
            tokio::runtime::Builder::new_multi_thread()
        }
    }
}
pub mod task {
    pub use tokio::task::{yield_now, JoinHandle};
}
pub use tokio::spawn;
