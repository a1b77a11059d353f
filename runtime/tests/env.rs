//! `WEFT_WORKER_THREADS` and `WEFT_IO_BACKEND`: a binary of its own, with
//! one test, since it sets the variables.

use std::io;

use weft_runtime::runtime::{Builder, IoBackend, IO_BACKEND_ENV, WORKER_THREADS_ENV};

#[test]
fn env_vars() {
    worker_threads_env_var();
    io_backend_env_var();
}

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

fn io_backend_env_var() {
    let native = IoBackend::Native.resolve();
    for (value, expected) in [
        ("portable", IoBackend::Portable),
        (" Portable ", IoBackend::Portable),
        ("native", native),
    ] {
        std::env::set_var(IO_BACKEND_ENV, value);
        let rt = Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.handle().io_backend(), expected, "{value:?}");
    }

    // The builder's own setting wins.
    std::env::set_var(IO_BACKEND_ENV, "portable");
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .io_backend(IoBackend::Native)
        .build()
        .unwrap();
    assert_eq!(rt.handle().io_backend(), native);
    drop(rt);

    for bad in ["epoll", "", "nativ"] {
        std::env::set_var(IO_BACKEND_ENV, bad);
        let err = Builder::new_current_thread().build().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        assert!(err.to_string().contains(IO_BACKEND_ENV), "{bad:?}: {err}");
        assert!(err.to_string().contains("portable"), "{bad:?}: {err}");
    }
    std::env::remove_var(IO_BACKEND_ENV);
}
