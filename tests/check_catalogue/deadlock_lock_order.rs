//! Catalogue entry 2: Two mutexes taken in opposite orders: a transfer from A to B locks
//! A then B, one from B to A locks B then A; each holds one and waits for
//! the other. Fixed: every transfer locks the lower account first.

use std::sync::Arc;

use weft::sync::Mutex;

struct Account {
    id: u32,
    balance: Mutex<i64>,
}

async fn transfer_buggy(from: Arc<Account>, to: Arc<Account>, amount: i64) {
    let mut a = from.balance.lock().await;
    weft::task::yield_now().await;
    let mut b = to.balance.lock().await;
    *a -= amount;
    *b += amount;
}

async fn transfer_fixed(from: Arc<Account>, to: Arc<Account>, amount: i64) {
    let (first, second) = if from.id < to.id {
        (&from, &to)
    } else {
        (&to, &from)
    };
    let mut first = first.balance.lock().await;
    weft::task::yield_now().await;
    let mut second = second.balance.lock().await;
    let (a, b) = if from.id < to.id {
        (&mut *first, &mut *second)
    } else {
        (&mut *second, &mut *first)
    };
    *a -= amount;
    *b += amount;
}

fn accounts() -> (Arc<Account>, Arc<Account>) {
    let x = Arc::new(Account {
        id: 1,
        balance: Mutex::new(100),
    });
    let y = Arc::new(Account {
        id: 2,
        balance: Mutex::new(100),
    });
    (x, y)
}

async fn buggy() {
    let (x, y) = accounts();
    let a = weft::spawn(transfer_buggy(x.clone(), y.clone(), 10));
    let b = weft::spawn(transfer_buggy(y.clone(), x.clone(), 20));
    let _ = weft::join!(a, b);
}

async fn fixed() {
    let (x, y) = accounts();
    let a = weft::spawn(transfer_fixed(x.clone(), y.clone(), 10));
    let b = weft::spawn(transfer_fixed(y.clone(), x.clone(), 20));
    let _ = weft::join!(a, b);
    assert_eq!(*x.balance.lock().await + *y.balance.lock().await, 200);
    assert_eq!(*x.balance.lock().await, 110);
}

entry!(Expect::Deadlock);
