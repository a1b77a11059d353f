//! `WEFT_WORKER_THREADS`: a binary of its own, since it sets the variable.

use std::io;

use weft_runtime::runtime::{Builder, WORKER_THREADS_ENV};

#[test]
fn worker_threads_env_var() {
    std::env::set_var(WORKER_THREADS_ENV, "3");
    let rt = Builder::new_multi_thread().build().unwrap();
    assert_eq!(rt.metrics().num_workers(), 3);
    drop(rt);

    // The builder's own setting wins.
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    assert_eq!(rt.metrics().num_workers(), 1);
    drop(rt);

    for bad in ["abc", "0", "-2", ""] {
        std::env::set_var(WORKER_THREADS_ENV, bad);
        let err = Builder::new_multi_thread().build().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        assert!(
            err.to_string().contains(WORKER_THREADS_ENV),
            "{bad:?}: {err}"
        );
    }
    std::env::remove_var(WORKER_THREADS_ENV);
}
