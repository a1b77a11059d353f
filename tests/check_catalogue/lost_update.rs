//! Catalogue entry 1: Check-then-act across an await: two withdrawals each read the
//! balance, await (an audit write), then subtract; both see enough money.
//! Fixed: the lock is held from the check through the act.

use std::sync::Arc;

use weft::sync::Mutex;

async fn audit() {
    weft::task::yield_now().await;
}

async fn withdraw_buggy(account: Arc<Mutex<i64>>, amount: i64) {
    let balance = *account.lock().await;
    if balance < amount {
        return;
    }
    audit().await;
    *account.lock().await -= amount;
}

async fn withdraw_fixed(account: Arc<Mutex<i64>>, amount: i64) {
    let mut balance = account.lock().await;
    if *balance < amount {
        return;
    }
    audit().await;
    *balance -= amount;
}

async fn buggy() {
    let account = Arc::new(Mutex::new(100));
    let a = weft::spawn(withdraw_buggy(account.clone(), 60));
    let b = weft::spawn(withdraw_buggy(account.clone(), 60));
    let _ = weft::join!(a, b);
    assert!(*account.lock().await >= 0, "overdrawn");
}

async fn fixed() {
    let account = Arc::new(Mutex::new(100));
    let a = weft::spawn(withdraw_fixed(account.clone(), 60));
    let b = weft::spawn(withdraw_fixed(account.clone(), 60));
    let _ = weft::join!(a, b);
    assert_eq!(*account.lock().await, 40);
}

entry!(Expect::Panic("overdrawn"));
