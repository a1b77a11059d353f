//! Catalogue entry 7: A `JoinSet` shutdown racing a task's cleanup: workers take a
//! connection from a pool, use it, reset it (an await) and put it back.
//! Shutdown aborts a worker at whichever await it is in, and one aborted
//! between taking and putting back leaks its connection. Fixed: the
//! connection is held by a lease that puts it back when dropped, aborted
//! or not.

use std::sync::{Arc, Mutex as StdMutex};

use weft::task::{yield_now, JoinSet};

type Pool = Arc<StdMutex<Vec<u32>>>;

struct Lease {
    conn: Option<u32>,
    pool: Pool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.lock().unwrap().push(conn);
        }
    }
}

async fn worker_buggy(pool: Pool) {
    let conn = pool.lock().unwrap().pop().expect("a free connection");
    yield_now().await; // the query
    yield_now().await; // cleanup: reset the session
    pool.lock().unwrap().push(conn);
}

async fn worker_fixed(pool: Pool) {
    let conn = pool.lock().unwrap().pop().expect("a free connection");
    let _lease = Lease {
        conn: Some(conn),
        pool: pool.clone(),
    };
    yield_now().await; // the query
    yield_now().await; // cleanup: reset the session
}

async fn run(fixed: bool) {
    let pool: Pool = Arc::new(StdMutex::new(vec![1, 2]));
    let mut set = JoinSet::new();
    for _ in 0..2 {
        if fixed {
            set.spawn(worker_fixed(pool.clone()));
        } else {
            set.spawn(worker_buggy(pool.clone()));
        }
    }
    // Let the first to finish finish; then shut the rest down.
    let _ = set.join_next().await;
    set.shutdown().await;
    assert_eq!(pool.lock().unwrap().len(), 2, "a connection leaked");
}

async fn buggy() {
    run(false).await;
}

async fn fixed() {
    run(true).await;
}

entry!(Expect::Panic("a connection leaked"));
